"""The bridge's import graph runs one way: the domain model at the bottom, the CLI at the top.

Read from the source with `ast` (nothing is imported), so a misplaced import fails here
before it becomes a cycle or drags click, the lab or operator code into the ingest path.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

BRIDGE = ROOT / "bridge"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every absolute module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): imports_of(p) for p in sorted(BRIDGE.rglob("*.py"))}


def ours(imported: set[str]) -> set[str]:
    return {m for m in imported if m == "bridge" or m.startswith("bridge.")}


def under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


@pytest.mark.parametrize("bottom", ["bridge.model", "bridge.errors", "bridge.config"])
def test_the_bottom_imports_nothing_of_ours(bottom: str) -> None:
    assert ours(MODULES[bottom]) == set()


def test_only_the_cli_imports_click() -> None:
    offenders = {
        m
        for m, imported in MODULES.items()
        if not under(m, "bridge.cli") and any(under(i, "click") for i in imported)
    }
    assert offenders == set()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        (
            "bridge.pricing",
            ("bridge.mapping", "bridge.receive", "bridge.store", "bridge.admin", "bridge.lab"),
        ),
        (
            "bridge.mapping",
            ("bridge.pricing", "bridge.receive", "bridge.store", "bridge.admin", "bridge.lab"),
        ),
        ("bridge.store", ("bridge.receive", "bridge.mapping", "bridge.admin", "bridge.lab", "bridge.cli")),
        ("bridge.receive", ("bridge.admin", "bridge.lab", "bridge.cli")),
        ("bridge.ingest", ("bridge.receive", "bridge.admin", "bridge.lab", "bridge.cli")),
        ("bridge.server", ("bridge.admin", "bridge.lab", "bridge.cli")),
        ("bridge.admin", ("bridge.receive", "bridge.lab", "bridge.cli", "bridge.api")),
        # The read-only JSON API serves the admin layer's reports; it never ingests.
        ("bridge.api", ("bridge.receive", "bridge.ingest", "bridge.mapping", "bridge.lab", "bridge.cli")),
    ],
)
def test_layers_import_downwards_only(package: str, forbidden: tuple[str, ...]) -> None:
    offenders = {
        (m, i)
        for m, imported in MODULES.items()
        if under(m, package)
        for i in ours(imported)
        if under(i, *forbidden)
    }
    assert offenders == set()


def test_the_ingest_path_loads_without_click_or_operator_code() -> None:
    """What `serve` imports at run time, checked in a fresh interpreter."""
    probe = (
        "import sys, bridge.server, bridge.ingest\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'click'"
        " or m.startswith(('bridge.lab', 'bridge.admin', 'bridge.cli', 'bridge.api'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_classes_say_what_they_are_for() -> None:
    undocumented = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in sorted(BRIDGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and not ast.get_docstring(node)
    ]
    assert undocumented == []
