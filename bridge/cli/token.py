"""`agent-spend token hash`: the sha256 digest of an ingest token, for the tokens file."""

from __future__ import annotations

import sys

import click

from bridge.receive.auth import token_digest


@click.group("token")
def token_group() -> None:
    """Ingest tokens: the bridge stores only their sha256 digests."""


@token_group.command("hash")
def token_hash() -> None:
    """Read a token on stdin (one line) and print its sha256, the `sha256:` of a tokens-file entry.

    Same as `printf %s TOKEN | sha256sum`. The token is read from stdin so it stays out of the
    shell history and the process list.
    """
    token = sys.stdin.readline().rstrip("\r\n")
    if not token.strip():
        raise click.ClickException('no token on stdin (e.g. `printf %s "$TOKEN" | agent-spend token hash`)')
    click.echo(token_digest(token))
