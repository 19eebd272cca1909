"""`python -m queries.export` as cron runs it: a subprocess, the hand-made data, exact CSV.

The expected rows are the hand-computed ones of tests/test_reports.py; this file checks that the
CLI writes them with the contract's header and cell rules (plain numbers, ISO UTC times, blanks).
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest

from queries import reports
from queries.core import streaming
from queries.filters import Filters
from tests import handmade
from tests.handmade import MA
from tests.test_reports import (
    ATTEMPTS,
    BY_MODEL,
    CONTRACT,
    DAILY,
    ERRORS,
    RETRIES,
    SIG_FORMULA,
    SUMMARY,
    SUMMARY_MODEL_MA,
    SUMMARY_WITH_TESTS,
)

ROOT = Path(__file__).resolve().parent.parent
WINDOW = ["--since", "2026-03-02", "--until", "2026-03-08"]
PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


_runs: dict[tuple, subprocess.CompletedProcess] = {}


@pytest.fixture
def cli(pg_url, handmade_db):
    """Run the export CLI in a fresh process against the hand-made schema.

    A run that writes only to stdout is remembered: the data is read-only, and each interpreter
    start costs seconds on a loaded machine.
    """

    def run(*args: str, **env: str) -> subprocess.CompletedProcess:
        key = (pg_url, args, tuple(sorted(env.items())))
        if key in _runs:
            return _runs[key]
        full_env = {**os.environ, "DATABASE_URL": pg_url, "GENLENS_SCHEMA": "handmade", **env}
        r = subprocess.run(
            [sys.executable, "-m", "queries.export", *args],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if "--output" not in args:
            _runs[key] = r
        return r

    return run


def parse(out: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(out)))
    return rows[0], rows[1:]


def cell_matches(cell: str, expected) -> bool:
    """A CSV cell against a hand-computed value, by the contract's cell rules."""
    if expected is None:
        return cell == ""
    if isinstance(expected, bool):
        raise TypeError("no booleans in reports")
    if isinstance(expected, float):
        return bool(PLAIN_NUMBER.match(cell)) and float(cell) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if isinstance(expected, int):
        return cell == str(expected)
    if isinstance(expected, datetime):
        return cell == expected.isoformat() and cell.endswith("+00:00")
    if isinstance(expected, date):
        return cell == expected.isoformat()
    text = str(expected)
    # spreadsheets run a cell that starts like a formula: the CSV keeps it text with a leading quote
    return cell == ("'" + text if text.startswith("=") else text)


def assert_csv(out: str, report: str, expected_rows: list[tuple]) -> None:
    header, rows = parse(out)
    assert header == CONTRACT[report]
    assert len(rows) == len(expected_rows), rows
    for row, expected in zip(rows, expected_rows, strict=True):
        bad = [
            (col, cell, exp)
            for col, cell, exp in zip(header, row, expected, strict=True)
            if not cell_matches(cell, exp)
        ]
        assert not bad, f"(column, csv cell, expected): {bad}"


EXPECTED = {
    "summary": [tuple(SUMMARY.values())],
    "by_model": BY_MODEL,
    "daily": DAILY,
    "retries": RETRIES,
    "errors": ERRORS,
    "attempts": ATTEMPTS,
}


@pytest.mark.parametrize("report", list(EXPECTED))
def test_each_report_writes_the_hand_computed_rows(cli, report):
    r = cli(report, *WINDOW)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert_csv(r.stdout, report, EXPECTED[report])


def test_output_file_holds_the_same_csv(cli, tmp_path):
    target = tmp_path / "errors.csv"
    r = cli("errors", *WINDOW, "--output", str(target))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    written = target.read_text(encoding="utf-8")
    assert_csv(written, "errors", ERRORS)
    assert written == cli("errors", *WINDOW).stdout
    assert [p.name for p in tmp_path.iterdir()] == ["errors.csv"]  # no temporary .part left behind


def test_filters_reach_the_query(cli):
    r = cli("summary", *WINDOW, "--model", MA)
    assert r.returncode == 0, r.stderr
    assert_csv(r.stdout, "summary", [tuple(SUMMARY_MODEL_MA.values())])


def test_include_tests_changes_the_summary(cli):
    r = cli("summary", *WINDOW, "--include-tests")
    assert r.returncode == 0, r.stderr
    assert_csv(r.stdout, "summary", [tuple(SUMMARY_WITH_TESTS.values())])
    assert parse(r.stdout)[1][0][0] == "18"  # 17 without tests


def test_empty_window_writes_blank_rates(cli):
    r = cli("summary", "--since", "2025-01-01", "--until", "2025-02-01")
    assert r.returncode == 0, r.stderr
    header, rows = parse(r.stdout)
    row = dict(zip(header, rows[0], strict=True))
    assert row["generations"] == "0" and row["total_cost_usd"] == "0.0" and row["total_tokens"] == "0"
    assert row["success_rate"] == row["cost_per_success_usd"] == row["p95_latency_ms"] == row["avg_quality"] == ""
    r = cli("attempts", "--since", "2025-01-01", "--until", "2025-02-01")
    assert r.returncode == 0 and r.stdout == ",".join(CONTRACT["attempts"]) + "\n"


def assert_one_line_failure(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_bad_date_is_a_one_line_error(cli):
    assert_one_line_failure(cli("summary", "--since", "2026-13-01"), "--since", "2026-13-01")
    assert_one_line_failure(cli("summary", "--since", "2026-03-08", "--until", "2026-03-02"), "--until")


def test_unknown_report_is_a_one_line_error(cli):
    assert_one_line_failure(cli("revenue", *WINDOW), "revenue", "summary")


def test_bad_user_is_a_one_line_error(cli):
    assert_one_line_failure(cli("summary", *WINDOW, "--user", "bob"), "user")


def test_unreachable_database_is_a_one_line_error(cli):
    r = cli("summary", *WINDOW, DATABASE_URL="postgresql://nobody@127.0.0.1:1/x")
    assert_one_line_failure(r, "summary")


def test_formula_in_an_error_message_stays_text(cli):
    errors = parse(cli("errors", *WINDOW).stdout)[1]
    assert ["'" + SIG_FORMULA, "1"] == errors[-1][:2]
    attempts = {row[0]: row for row in parse(cli("attempts", *WINDOW).stdout)[1]}
    g13 = attempts[handmade.gid(13)]
    assert g13[12] == '\'=HYPERLINK("http://evil.example/x1")'
    assert g13[13] == "'" + SIG_FORMULA
    assert not any(cell.startswith(("=", "+", "@")) for row in attempts.values() for cell in row)


def test_attempts_report_streams_from_a_server_side_cursor(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL)
    with reports.stream_report("attempts", f) as (columns, rows):
        assert columns == CONTRACT["attempts"]
        assert not isinstance(rows, (list, tuple))
        assert isinstance(rows.cursor, psycopg.ServerCursor)  # rows stay on the server until read
        assert len(list(rows)) == 24
    # in small batches: after the first row, the client holds at most one batch of the 24 rows
    s = reports.report_sql("attempts", f)
    with streaming(s.text, s.params, s.expanding, batch=5) as (_, rows):
        it = iter(rows)
        first = next(it)
        assert str(first[0]) == handmade.gid(5)  # newest first
        assert rows.cursor.rownumber <= 5
        assert 1 + sum(1 for _ in it) == 24
