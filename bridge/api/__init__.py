"""The read-only JSON API (`agent-spend api`): the reports of bridge/admin/reports.py over HTTP for
internal portals. Off unless started, token-protected, read-only connections (docs/api.md).
"""
