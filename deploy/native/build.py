"""Compile the bridge's hot path with mypyc (`make native`; `make lab` and `make test` run it).

Why: the Python path (decode, map, price, build the row) is most of the bridge's CPU per
call. mypyc, the compiler that ships with mypy, turns the same strictly typed modules into C
extensions with no source change: the mapping benchmark runs ~40 % faster and the output is
identical (docs/scale.md "Compiled hot path"). The compiled modules are the ones listed in
NATIVE_MODULES; everything else stays interpreted.

How: the `bridge` package is copied to a temporary directory (setuptools would otherwise read
the project's pyproject.toml), compiled there with `build_ext --inplace`, and the extension
modules are copied back beside their sources: `bridge/.../<module>.cpython-*.so` and the
shared runtime `bridge/_native__mypyc.cpython-*.so`. Python imports an extension module in
preference to the .py beside it, so `bridge/__init__.py` refuses to start when a compiled
module is older than its source (`make native` rebuilds; `--clean` removes them all).

    python deploy/native/build.py           # compile (needs a C compiler and Python headers)
    python deploy/native/build.py --clean   # back to pure Python
    python deploy/native/build.py --list    # the compiled modules' sources
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NATIVE_MODULES = (
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "bridge" / "mapping").glob("*.py")),
    "bridge/model.py",
    "bridge/pricing/catalog.py",
    "bridge/pricing/overrides.py",
    "bridge/pricing/pricer.py",
    "bridge/store/rows.py",
)
GROUP = "bridge._native"  # the shared library: bridge/_native__mypyc.*.so

_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify
setup(name="agent-spend-native", py_modules=[],
      ext_modules=mypycify(sys.argv[1:], opt_level="3", group_name={group!r}),
      script_args=["build_ext", "--inplace"])
"""


def compiled_files(root: Path = ROOT) -> list[Path]:
    """Every extension module under bridge/ (what --clean removes)."""
    return sorted((root / "bridge").rglob("*.so"))


STAMP = ROOT / "build" / "native.stamp"  # Make's record of the last build: gone with --clean


def clean() -> int:
    """Remove the compiled modules and Make's stamp (so `make native` builds again)."""
    for path in compiled_files():
        path.unlink()
    STAMP.unlink(missing_ok=True)
    return len(compiled_files())


def build() -> None:
    clean()
    with tempfile.TemporaryDirectory(prefix="agent-spend-native-") as tmp:
        work = Path(tmp)
        shutil.copytree(
            ROOT / "bridge", work / "bridge", ignore=shutil.ignore_patterns("__pycache__", "*.so")
        )
        (work / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
        (work / "setup.py").write_text(_SETUP.format(group=GROUP))
        result = subprocess.run(
            [sys.executable, "setup.py", *NATIVE_MODULES], cwd=work, capture_output=True, text=True
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
            raise SystemExit(f"mypyc build failed (exit {result.returncode}); the bridge stays pure Python")
        built = compiled_files(work)
        for path in built:
            target = ROOT / path.relative_to(work)
            shutil.copy2(path, target)
        print(f"compiled {len(NATIVE_MODULES)} modules into {len(built)} extension files under bridge/")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clean", action="store_true", help="remove every compiled module (pure Python)")
    parser.add_argument("--list", action="store_true", help="print the compiled modules' sources (for make)")
    args = parser.parse_args()
    if args.list:
        print(" ".join(NATIVE_MODULES))
        return 0
    if args.clean:
        clean()
        print("removed the compiled modules: pure Python")
        return 0
    build()
    return 0


if __name__ == "__main__":
    sys.exit(main())
