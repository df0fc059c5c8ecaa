"""The compiled hot path (deploy/native/build.py): what it compiles, and the guard that keeps a
compiled module from running older code than its source (bridge/__init__.py).

The suite itself runs on whatever `make test` built: compiled where a C compiler exists (CI),
pure Python otherwise; bench/bench_mapping.py --check-against compares the two outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import bridge
from bridge import StaleNativeModules

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "deploy" / "native" / "build.py"


def _package(tmp_path: Path, source_mtime: float, compiled_mtime: float) -> Path:
    package = tmp_path / "bridge"
    (package / "mapping").mkdir(parents=True)
    source = package / "mapping" / "codex.py"
    compiled = package / "mapping" / "codex.cpython-311-x86_64-linux-gnu.so"
    source.write_text("")
    compiled.write_bytes(b"")
    os.utime(source, (source_mtime, source_mtime))
    os.utime(compiled, (compiled_mtime, compiled_mtime))
    return package


def test_a_compiled_module_older_than_its_source_is_refused(tmp_path: Path) -> None:
    package = _package(tmp_path, source_mtime=2_000_000, compiled_mtime=1_000_000)
    with pytest.raises(StaleNativeModules, match=r"bridge/mapping/codex\.py.*make native"):
        bridge._check_native(package)


def test_a_fresh_compiled_module_and_a_pure_package_pass(tmp_path: Path) -> None:
    bridge._check_native(_package(tmp_path, source_mtime=1_000_000, compiled_mtime=2_000_000))
    pure = tmp_path / "pure" / "bridge"
    pure.mkdir(parents=True)
    (pure / "model.py").write_text("")
    bridge._check_native(pure)


def test_the_build_compiles_the_hot_path_and_only_existing_modules() -> None:
    listed = subprocess.run(
        [sys.executable, str(BUILD), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert all((ROOT / path).is_file() for path in listed)
    assert {"bridge/mapping/__init__.py", "bridge/model.py", "bridge/store/rows.py"} <= set(listed)
    assert "bridge/pricing/pricer.py" in listed
    # The build itself imports nothing of the bridge: it must run while the guard refuses.
    assert "import bridge" not in BUILD.read_text() and "from bridge" not in BUILD.read_text()
