"""Storage: the batch writer, the row layout of `agent_spend_logs`, team lookups, and schema
migration.
"""
