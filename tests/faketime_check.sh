#!/usr/bin/env bash
# Run the test suite with the system clock at instants where wall-clock expectations break:
# the first minute of a year, the last minutes of a month (the run crosses midnight into the
# next month) and a leap day. Needs libfaketime (Debian/Ubuntu: apt-get install faketime).
#
#   tests/faketime_check.sh                      # the whole suite at each instant
#   tests/faketime_check.sh -m unit              # extra arguments go to pytest
#   INSTANTS="2030-12-31 23:59:00" tests/faketime_check.sh   # other instants, comma-separated
#
# Everything started by pytest inherits the fake clock; the shared test server does not
# (see below), so Python's clock and SQL now() disagree by months, which the suite must
# tolerate: expectations come from explicit instants, never from either clock.
#
# FAKETIME_DONT_RESET=1 keeps every process on one timeline: without it each process started
# (PostgreSQL, a bridge) begins again at the instant and lags pytest's clock.
#
# Two details make libfaketime 0.9.10 work with CPython 3.11:
# - FAKETIME_DONT_FAKE_MONOTONIC=1: otherwise lock and condition timeouts (sem_clockwait on
#   CLOCK_MONOTONIC) wait for the fake offset, i.e. forever;
# - tests/faketime/sitecustomize.py (through PYTHONPATH, so in every Python process started):
#   time.sleep sleeps with select(), because libfaketime shifts the absolute monotonic
#   deadline of clock_nanosleep and the sleep fails with EINVAL (seen as OSError [Errno 22]
#   in subprocess.wait).
set -uo pipefail
cd "$(dirname "$0")/.."
command -v faketime >/dev/null || { echo "faketime not found: apt-get install faketime" >&2; exit 2; }
IFS=',' read -r -a instants <<<"${INSTANTS:-2027-01-01 00:01:00,2026-11-30 23:57:00,2028-02-29 12:00:00}"
pytest=${PYTEST:-.venv/bin/pytest}
# The suite's shared PostgreSQL runs outside faketime (SQL now() real, like a database server
# that is not on the test machine): PostgreSQL's own timers (statement_timeout) misfire under
# libfaketime. Clusters that tests start themselves (lab, crash tests) still run faked.
# FAKE_DB=1 fakes the shared server's clock too.
if [[ -z "${TEST_DATABASE_URL:-}" && -z "${FAKE_DB:-}" ]]; then
    pgdir=$(mktemp -d -t agent-spend-faketime-pg-XXXXXX)
    agent_spend=${AGENT_SPEND:-.venv/bin/agent-spend}
    TEST_DATABASE_URL=$("$agent_spend" embedded-db start --data-dir "$pgdir/pg" | tail -n 1) || exit 2
    export TEST_DATABASE_URL
    trap '"$agent_spend" embedded-db stop --data-dir "$pgdir/pg" >/dev/null; rm -rf "$pgdir"' EXIT
fi
failed=()
for instant in "${instants[@]}"; do
    echo "== system clock at $instant UTC"
    if ! TZ=UTC FAKETIME_DONT_RESET=1 FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH="$PWD/tests/faketime${PYTHONPATH:+:$PYTHONPATH}" \
        faketime -f "@$instant" "$pytest" -q -p no:cacheprovider "$@"; then
        failed+=("$instant")
    fi
done
if ((${#failed[@]})); then
    printf 'failed at: %s\n' "${failed[@]}" >&2
    exit 1
fi
echo "passed at every instant"
