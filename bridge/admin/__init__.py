"""Operator tasks that run beside the bridge, never on its hot path: reprice, retention, rollups,
the reader role.
"""
