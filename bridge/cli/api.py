"""`agent-spend api`: the read-only JSON API (bridge/api/, docs/api.md), off unless this runs."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from bridge import config
from bridge.cli.options import DATABASE_URL

TOKEN_ENV = "AGENT_SPEND_API_TOKEN"


def read_tokens(token_file: Path | None) -> list[str]:
    """The tokens: one per non-blank line of --token-file, else AGENT_SPEND_API_TOKEN (comma-separated)."""
    if token_file is not None:
        try:
            lines = token_file.read_text().splitlines()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {token_file}: {exc.strerror}", param_hint="--token-file"
            ) from None
        tokens = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not tokens:
            raise click.BadParameter(f"{token_file} holds no token", param_hint="--token-file")
        return tokens
    tokens = [t.strip() for t in os.environ.get(TOKEN_ENV, "").split(",") if t.strip()]
    if not tokens:
        raise click.UsageError(
            f"the API never runs open: give --token-file FILE or set {TOKEN_ENV} "
            "(clients send 'Authorization: Bearer TOKEN')"
        )
    return tokens


@click.command("api")
@DATABASE_URL
@click.option("--host", default=config.API_HOST, show_default=True, envvar="AGENT_SPEND_API_HOST")
@click.option(
    "--port",
    default=config.API_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="AGENT_SPEND_API_PORT",
    help="0 picks a free port.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="AGENT_SPEND_API_TOKEN_FILE",
    help=f"File with the bearer token(s), one per line (else env {TOKEN_ENV}, comma-separated).",
)
@click.option("--threads", default=config.API_THREADS, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--statement-timeout",
    default=config.API_STATEMENT_TIMEOUT_SECONDS,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds a query may run before the request gets 503.",
)
def api_command(
    database_url: str, host: str, port: int, token_file: Path | None, threads: int, statement_timeout: float
) -> None:
    """Serve the reports as read-only JSON over HTTP; prints api=HOST:PORT when ready."""
    from bridge.api.server import ApiServer

    tokens = read_tokens(token_file)
    server = ApiServer(database_url, tokens, host, port, threads, statement_timeout)
    try:
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    bound_host, bound_port = server.address
    click.echo(f"api=http://{bound_host}:{bound_port}/api/v1/", err=False)
    stopping.wait()
    server.stop()
