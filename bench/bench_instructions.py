"""The Python path's cost in instructions per span: bench_mapping.py under callgrind.

Why: on a shared host CPU time per span moved by a third between back-to-back runs of one tree
(docs/scale.md "Instruction counts"), which hides a 5-10 % change; callgrind counts the
instructions executed, the same on every run of the same binaries and inputs (with a fixed
hash seed) whatever else the machine does. It runs `bench_mapping.py --rounds 1` and `--rounds 3` under
`valgrind --tool=callgrind` and reports half the difference (two rounds of decode, map, price and
rows, without start-up, corpus generation and the warm-up round) per span. Needs valgrind
(Debian's package). Compare trees by running it in each (e.g. a git worktree with `make native`
run there by deploy/native/build.py, not make). Not a test: counts differ across Python,
protobuf and compiler versions.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def instructions(rounds: int, days: int) -> tuple[int, int]:
    """(instructions collected, spans per round) of one bench_mapping.py run under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(HERE / "bench_mapping.py"),
        "--days",
        str(days),
        "--rounds",
        str(rounds),
    ]
    # A fixed hash seed: string hashes decide dict probing, so counts repeat exactly run to run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE.parent, env=env)
    collected = re.search(r"Collected : ([\d,]+)", result.stderr)
    spans = re.search(r"records=([\d,]+)", result.stdout)
    if not collected or not spans:
        raise SystemExit(f"unexpected output:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return int(collected.group(1).replace(",", "")), int(spans.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=2, help="seeder days in bench_mapping's mix")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found (apt-get install valgrind)")
    one, spans = instructions(1, args.days)
    three, _ = instructions(3, args.days)
    per_round = (three - one) / 2
    print(f"spans per round: {spans:,}")
    print(f"python path: {per_round:,.0f} instructions per round, {per_round / spans:,.0f} per span")


if __name__ == "__main__":
    main()
