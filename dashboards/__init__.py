"""Grafana dashboards for agent-spend, generated from Python (see dashboards/build.py).

The JSON files next to this package are build output, committed so Grafana's file
provisioning can load them straight from the repository.
"""
