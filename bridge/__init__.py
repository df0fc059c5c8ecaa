"""agent-spend's bridge: OTLP in, one priced row per model call in PostgreSQL, and the tools around it.

Importing the package first checks the compiled hot path (deploy/native/build.py): Python
loads an extension module in preference to the .py beside it, so a compiled module older
than its source would silently run old code. That is refused here, before any of them loads.
"""

from __future__ import annotations

from pathlib import Path


class StaleNativeModules(ImportError):
    """A compiled module is older than its source: rebuild it or remove the compiled modules."""


def _check_native(package: Path) -> None:
    stale = []
    for compiled in package.rglob("*.so"):
        source = compiled.with_name(compiled.name.split(".", 1)[0] + ".py")
        if source.exists() and source.stat().st_mtime > compiled.stat().st_mtime:
            stale.append(str(source.relative_to(package.parent)))
    if stale:
        raise StaleNativeModules(
            f"compiled modules are older than their sources ({', '.join(sorted(stale)[:5])}"
            f"{', ...' if len(stale) > 5 else ''}): run `make native` to rebuild them, or "
            "`python deploy/native/build.py --clean` to run pure Python"
        )


_check_native(Path(__file__).resolve().parent)
