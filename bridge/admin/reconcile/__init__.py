"""Reconciliation: what the providers billed, beside what telemetry saw (docs/reconcile.md)."""
