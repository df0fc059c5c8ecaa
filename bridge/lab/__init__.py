"""The developer lab: embedded PostgreSQL and the one-command `agent-spend lab`. Never imported by
the bridge's ingest path.
"""
