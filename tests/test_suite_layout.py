"""The test suite's own layout: helpers live in tests/support, test modules never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TEST_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in `path`, relative ones resolved against its package."""
    package = [*path.relative_to(TESTS.parent).parent.parts]
    found: list[tuple[int, str]] = []
    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from tests import test_x`: each imported name may be a module too.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
            found.append((node.lineno, module))
    return found


def _forbidden(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "tests" and len(parts) > 1 and (parts[1] == "conftest" or parts[1].startswith("test_"))


def test_no_module_imports_a_test_module_or_conftest() -> None:
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line} imports {module}"
        for path in _python_files()
        for line, module in _imported_modules(path)
        if _forbidden(module)
    ]
    assert offenders == [], "import shared helpers from tests.support instead:\n" + "\n".join(offenders)


def test_top_level_modules_are_tests_or_conftest() -> None:
    """Helper modules belong in tests/support, so every other top-level module holds tests."""
    stray = [p.name for p in TESTS.glob("*.py") if p.name != "conftest.py" and not p.name.startswith("test_")]
    assert stray == [], f"move these helper modules into tests/support: {stray}"
    empty = [
        p.name
        for p in TESTS.glob("test_*.py")
        if not any(
            isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and n.name.lower().startswith("test")
            for n in ast.parse(p.read_text()).body
        )
    ]
    assert empty == [], f"test modules without tests (helpers belong in tests/support): {empty}"


def test_support_modules_hold_no_tests() -> None:
    """pytest does not collect tests/support, so a test written there would silently never run."""
    hidden = [
        f"{p.relative_to(TESTS.parent)}::{n.name}"
        for p in (TESTS / "support").rglob("*.py")
        for n in ast.parse(p.read_text()).body
        if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")
    ]
    assert hidden == []


def test_the_check_catches_every_spelling() -> None:
    spellings = {
        "from tests.test_pricing import VERSION": True,
        "from tests.conftest import rows": True,
        "import tests.test_rollups": True,
        "from tests import test_pricing": True,
        "from . import conftest": True,
        "from .test_pricing import usd": True,
        "def f():\n    from tests.test_adapters_codex import RESOURCE": True,
        "from tests.support.pricing import VERSION": False,
        "from tests import support": False,
        "from .support.db import rows": False,
    }
    for source, bad in spellings.items():
        modules = [m for _, m in _imported_modules(TESTS / "test_probe.py", source)]
        assert any(_forbidden(m) for m in modules) is bad, (source, modules)
