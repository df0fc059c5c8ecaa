"""Regenerate the committed dashboard JSON: `python -m dashboards.build` (or `--check`).

Output is deterministic (sorted keys, fixed indentation, trailing newline) so a rebuild of
unchanged definitions is byte-identical and a review diff shows only real changes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboards.drilldown import data_quality, developer, models_and_cache
from dashboards.reconcile import reconciliation
from dashboards.spend import burn_rate, by_team, org_overview, repositories

DIRECTORY = Path(__file__).resolve().parent

# File name -> definition. org-overview.json is Grafana's home dashboard (deploy/ points at it).
DASHBOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "org-overview.json": org_overview,
    "by-team.json": by_team,
    "burn-rate.json": burn_rate,
    "developer.json": developer,
    "models-and-cache.json": models_and_cache,
    "repositories.json": repositories,
    "data-quality.json": data_quality,
    "reconciliation.json": reconciliation,
}


def render(definition: dict[str, Any]) -> str:
    return json.dumps(definition, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: render(make()) for name, make in DASHBOARDS.items()}


def stale(directory: Path = DIRECTORY) -> list[str]:
    """Files whose committed text differs from a fresh build, and stray .json files."""
    built = build()
    differing = [name for name, text in built.items() if _read(directory / name) != text]
    strays = [p.name for p in sorted(directory.glob("*.json")) if p.name not in built]
    return differing + strays


def write(directory: Path = DIRECTORY) -> list[str]:
    written = []
    for name, text in build().items():
        path = directory / name
        if _read(path) != text:
            path.write_text(text, encoding="utf-8")
            written.append(name)
    return written


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed JSON is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for name in out_of_date:
            print(f"out of date: dashboards/{name}", file=sys.stderr)
        return 1 if out_of_date else 0
    for name in write():
        print(f"wrote dashboards/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
