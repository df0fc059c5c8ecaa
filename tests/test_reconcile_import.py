"""`agent-spend reconcile import FILE`: each accepted console export, day replacement, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from bridge.admin.reconcile.csv_import import CsvFormatError, import_csv, parse
from bridge.cli.reconcile import reconcile_group

NOW = datetime(2025, 10, 13, 9, 0, tzinfo=UTC)
LINES = """
    SELECT provider, report, day, model, account, user_ref, line_item, requests, input_tokens,
           output_tokens, cache_read_tokens, cache_write_tokens, cost_usd
    FROM billing_lines ORDER BY provider, report, day, model, account, user_ref, line_item
"""

ANTHROPIC_USAGE = """\ufeffusage_date_utc,model_version,api_key,workspace,usage_type,context_window,usage_input_tokens_no_cache,usage_input_tokens_cache_write_5m,usage_input_tokens_cache_write_1h,usage_input_tokens_cache_read,usage_output_tokens,web_search_count,inference_geo,speed
2025-10-05,claude-sonnet-4-5-20250929,ci-key,Default,message,0-200k,1200,300,100,5000,800,0,not_available,
2025-10-05,claude-sonnet-4-5-20250929,ci-key,Default,message,200k-1M,10,0,0,0,5,0,not_available,
2025-10-07,claude-haiku-4-5-20251001,dev-key,Default,message,0-200k,50,0,0,0,20,0,not_available,
"""  # noqa: E501
ANTHROPIC_COST = """usage_date_utc,model,workspace,api_key,usage_type,context_window,token_type,cost_usd,list_price_usd,cost_type,inference_geo,speed,api_key_id,api_key_status
2025-10-05,Claude Haiku 4.5,Default,demo-key,message,≤ 200k,input_no_cache,0.05,0.05,token,not_available,,apikey_01AAA,active
2025-10-05,Claude Haiku 4.5,Default,demo-key,message,≤ 200k,output,0.02,0.02,token,not_available,,apikey_01AAA,active
2025-10-06,,Default,,web_search,,,0.01,0.01,web_search,,,,
"""  # noqa: E501
OPENAI_USAGE = """start_time,end_time,start_time_iso,end_time_iso,project_id,num_model_requests,user_id,api_key_id,model,batch,service_tier,input_tokens,output_tokens,input_cached_tokens,input_uncached_tokens
1759622400,1759708800,2025-10-05T00:00:00+00:00,2025-10-06T00:00:00+00:00,proj_1,10.0,user-1,key_1,gpt-4o-2024-08-06,FALSE,default,59200.0,10646.0,5760.0,53440.0
1759708800,1759795200,2025-10-06T00:00:00+00:00,2025-10-07T00:00:00+00:00,proj_1,8.0,user-1,key_1,gpt-5-2025-08-07,FALSE,default,46264.0,60000.0,8192.0,38072.0
1759708800,1759795200,2025-10-06T00:00:00+00:00,2025-10-07T00:00:00+00:00,proj_1,1.0,user-1,key_1,gpt-5-2025-08-07,FALSE,default,5783.0,16000.0,0.0,5783.0
1759795200,1759881600,2025-10-07T00:00:00+00:00,2025-10-08T00:00:00+00:00,,,,,,,,,,,
"""  # noqa: E501
OPENAI_COST = """start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item,project_id,organization_id,organization_name
1759622400,1759708800,2025-10-05T00:00:00+00:00,2025-10-06T00:00:00+00:00,0.8958740000000000,usd,"gpt-4o-2024-08-06, input",proj_1,org-1,Personal
1759622400,1759708800,2025-10-05T00:00:00+00:00,2025-10-06T00:00:00+00:00,0.1,usd,Image models,proj_1,org-1,Personal
1759708800,1759795200,2025-10-06T00:00:00+00:00,2025-10-07T00:00:00+00:00,,,,,,
"""  # noqa: E501


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_anthropic_usage_export(conn: psycopg.Connection, tmp_path: Path) -> None:
    result = import_csv(conn, write(tmp_path, "u.csv", ANTHROPIC_USAGE), now=NOW)
    assert (result.provider, result.report, result.format) == ("anthropic", "csv_usage", "anthropic-usage")
    assert (result.first, result.last, result.days, result.rows, result.lines) == (
        date(2025, 10, 5),
        date(2025, 10, 7),
        3,
        3,
        2,
    )
    rows = conn.execute(LINES).fetchall()
    # The two context windows of one key and model on one day are summed into one line.
    assert rows[0] == (
        "anthropic", "csv_usage", date(2025, 10, 5), "claude-sonnet-4-5-20250929", "ci-key", "", "", None,
        1210, 805, 5000, 400, None,
    )  # fmt: skip
    assert rows[1][2:4] == (date(2025, 10, 7), "claude-haiku-4-5-20251001")


def test_anthropic_cost_export_is_dollars(conn: psycopg.Connection, tmp_path: Path) -> None:
    import_csv(conn, write(tmp_path, "c.csv", ANTHROPIC_COST), now=NOW, provider="anthropic", kind="cost")
    rows = conn.execute(
        "SELECT day, model, account, line_item, cost_usd FROM billing_lines ORDER BY 1, 4"
    ).fetchall()
    haiku = (date(2025, 10, 5), "Claude Haiku 4.5", "apikey_01AAA")
    assert rows == [
        (*haiku, "message, token, input_no_cache, ≤ 200k", Decimal("0.0500000000")),
        (*haiku, "message, token, output, ≤ 200k", Decimal("0.0200000000")),
        (date(2025, 10, 6), "", "Default", "web_search, web_search", Decimal("0.0100000000")),
    ]  # fmt: skip


def test_openai_usage_export_with_float_counts_blank_days_and_repeated_keys(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    result = import_csv(conn, write(tmp_path, "u.csv", OPENAI_USAGE), now=NOW)
    assert (result.report, result.days, result.lines) == ("csv_usage", 3, 2)
    rows = conn.execute(LINES).fetchall()
    assert rows == [
        (
            "openai",
            "csv_usage",
            date(2025, 10, 5),
            "gpt-4o-2024-08-06",
            "key_1",
            "user-1",
            "",
            10,
            53440,
            10646,
            5760,
            0,
            None,
        ),
        (
            "openai",
            "csv_usage",
            date(2025, 10, 6),
            "gpt-5-2025-08-07",
            "key_1",
            "user-1",
            "",
            9,
            43855,
            76000,
            8192,
            0,
            None,
        ),
    ]
    sync = conn.execute("SELECT complete_through FROM billing_sync WHERE report = 'csv_usage'").fetchone()
    assert sync == (date(2025, 10, 7),)


def test_openai_cost_export_and_reimport_replaces(conn: psycopg.Connection, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", OPENAI_COST)
    import_csv(conn, path, now=NOW)
    first = conn.execute(LINES).fetchall()
    assert [(r[3], r[6], r[12]) for r in first] == [
        ("", "Image models", Decimal("0.1000000000")),
        ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06, input", Decimal("0.8958740000")),
    ]
    import_csv(conn, path, now=NOW)
    assert conn.execute(LINES).fetchall() == first
    # A newer export of the same days: the corrected figure replaces the old one.
    write(tmp_path, "c.csv", OPENAI_COST.replace("0.1,usd,Image models", "0.25,usd,Image models"))
    import_csv(conn, path, now=NOW)
    costs = conn.execute("SELECT line_item, cost_usd FROM billing_lines ORDER BY 1").fetchall()
    assert costs == [("Image models", Decimal("0.25")), ("gpt-4o-2024-08-06, input", Decimal("0.895874"))]


def test_tab_separated_export_is_read() -> None:
    fmt, lines, days, rows = parse(OPENAI_COST.replace(",", "\t").replace('"gpt-4o-2024-08-06\t input"', "x"))
    assert fmt.name == "openai-cost" and rows == 3 and len(days) == 2 and len(lines) == 2


def test_an_unknown_header_is_named_with_what_is_accepted() -> None:
    with pytest.raises(CsvFormatError) as caught:
        parse("foo,bar\n1,2\n")
    message = str(caught.value)
    assert "unrecognised header (foo, bar)" in message
    assert "usage_input_tokens_no_cache/uncached_input_tokens" in message and "amount_value" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("usage_date_utc,cost_usd\n2025-10-05,lots\n", "line 2, column 'cost_usd': 'lots' is not an amount"),
        ("usage_date_utc,cost_usd\nOctober,1\n", "line 2, column 'usage_date_utc'"),
        (
            "start_time,num_model_requests,input_tokens,output_tokens\n1759622400,1,-5,1\n",
            "line 2, column 'input_tokens': '-5' is not a non-negative whole number",
        ),
        (
            "start_time,amount_value,amount_currency\n1759622400,1,eur\n",
            "line 2, column 'amount_currency': 'eur': only usd is stored",
        ),
        ("", "the file is empty"),
    ],
)
def test_a_bad_value_names_its_line_and_column(text: str, expected: str) -> None:
    with pytest.raises(CsvFormatError, match=None) as caught:
        parse(text)
    assert expected in str(caught.value)


def test_cli_import_checks_the_expected_provider(database_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", OPENAI_COST)
    runner = CliRunner()
    wrong = runner.invoke(
        reconcile_group, ["import", str(path), "--provider", "anthropic", "--database-url", database_url]
    )
    assert wrong.exit_code == 1 and "this is an openai-cost export, not anthropic" in wrong.output
    ok = runner.invoke(
        reconcile_group, ["import", str(path), "--kind", "cost", "--database-url", database_url]
    )
    assert ok.exit_code == 0, ok.output
    assert (
        "openai csv_cost (openai-cost): replaced 2025-10-05..2025-10-06 (2 days, 2 lines from 3 rows)"
        in ok.output
    )
