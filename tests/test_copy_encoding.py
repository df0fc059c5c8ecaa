"""The writer's COPY encoding of finish_reasons stores the same text[] psycopg's own list dumper did.

`bridge.store.rows.copy_row` turns a row's finish_reasons (a list of strings) into an array
literal (`text_array`) before COPY, because psycopg's pure-Python list dumper was most of the
writer's client CPU per row. What matters is the stored value: both spellings are COPYed
into two text[] columns, as the writer does, and compared in PostgreSQL (`IS NOT DISTINCT
FROM`, and the element list read back).
"""

from __future__ import annotations

import random
from typing import Any

import psycopg

from bridge.store.rows import COLUMNS, FINISH_REASONS, TEAM, copy_row, text_array

AWKWARD: list[list[str] | None] = [
    None,
    [],
    [""],
    ["stop"],
    ["end_turn", "tool_use"],
    ["NULL"],
    ["null", "NULL", " NULL "],
    ['"quoted"', 'a"b', '"'],
    ["back\\slash", "\\", "\\\\", '\\"'],
    ["{braces}", "{", "}", "{}", "a,b", ","],
    [" leading", "trailing ", "  ", "\t", "new\nline", "\r\n"],
    ["héllo", "日本語", "🚀", "\u2028"],
    ["x" * 300, "y"],
    ["a", "a", "a"],
]
ALPHABET = ['"', "\\", "{", "}", ",", " ", "\t", "\n", "N", "U", "L", "a", "é", "😀", "'", "\x01"]


def _random_lists(count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    return [
        ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8))) for _ in range(rng.randint(0, 5))]
        for _ in range(count)
    ]


def test_text_array_spells_the_literal() -> None:
    assert text_array(None) is None
    assert text_array([]) == "{}"
    assert text_array(["stop", 'a"b', "c\\d"]) == '{"stop","a\\"b","c\\\\d"}'


def test_copy_row_changes_only_finish_reasons() -> None:
    base: tuple[Any, ...] = (*[f"c{i}" for i in range(len(COLUMNS))], "parent", "sender")
    for values in [*AWKWARD, *_random_lists(300, seed=7)]:
        row = (*base[:FINISH_REASONS], values, *base[FINISH_REASONS + 1 :])
        out = copy_row(row)
        assert len(out) == len(COLUMNS)
        assert out[FINISH_REASONS] == text_array(values)
        assert [v for i, v in enumerate(out) if i != FINISH_REASONS] == [
            v for i, v in enumerate(row[: len(COLUMNS)]) if i != FINISH_REASONS
        ]
        teamless = (*row[:TEAM], None, *row[TEAM + 1 :])
        assert copy_row(teamless, "platform")[TEAM] == "platform"
        assert copy_row(row, "platform")[TEAM] == row[TEAM]  # a team already set is kept


def test_stored_arrays_equal_the_list_dumpers(database_url: str) -> None:
    cases: list[list[str] | None] = [*AWKWARD, *_random_lists(2000, seed=11)]
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE fr (i int, listed text[], literal text[])")
        with conn.cursor() as cur, cur.copy("COPY fr (i, listed, literal) FROM STDIN") as copy:
            for i, values in enumerate(cases):
                copy.write_row((i, values, text_array(values)))
        differing = conn.execute(
            "SELECT i, listed, literal FROM fr WHERE listed IS DISTINCT FROM literal ORDER BY i"
        ).fetchall()
        stored: list[Any] = [row[0] for row in conn.execute("SELECT literal FROM fr ORDER BY i")]
    assert differing == []
    assert stored == cases  # element by element, NULL and {} kept apart
