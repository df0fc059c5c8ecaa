"""Captured harness payloads, shared by the adapter tests and the end-to-end harness tests."""
