"""Options shared by several `agent-spend` commands."""

from __future__ import annotations

import click

DATABASE_URL = click.option(
    "--database-url",
    envvar="AGENT_SPEND_DATABASE_URL",
    required=True,
    help="PostgreSQL URL (or set AGENT_SPEND_DATABASE_URL).",
)
