"""Database URLs and one-shot queries."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def with_database(url: str, database: str) -> str:
    """`url` with its database name replaced."""
    params = conninfo_to_dict(url)
    params["dbname"] = database
    return make_conninfo(**params)


def rows(database_url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(query, params).fetchall()
