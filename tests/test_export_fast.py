"""Exports as long jobs: their own statement timeout, the fast CSV path byte for byte the old one,
and the pages' capped downloads.

The reference for "the old output" is the path every export took before the fast one: SQLAlchemy
rows of a server-side cursor written by `csv_format.csv_lines` (kept, and still what
`dataframe_csv` uses), compared byte for byte with what the exports write now.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from data_access.engine import get_database, read_only
from queries import core, explorer, masking, reports
from queries.csv_format import csv_lines
from queries.explorer import ExplorerQuery
from queries.filters import Filters
from tests import handmade
from tests.test_export import ROOT
from tests.test_page_explorer import W, captions, open_explorer

SLEEPY = "SELECT CAST(pg_sleep(0.2) AS text) AS slept, 1 AS n"


def reference(sql: str, params: dict, expanding: tuple[str, ...] = (), policy=None) -> str:
    """The CSV as exports wrote it before the fast path: SQLAlchemy rows through csv_lines."""
    db = get_database()
    with read_only(db, 0) as conn:
        result = conn.execute(core.statement(sql, params, expanding), params)
        columns = list(result.keys())
        return "".join(csv_lines(columns, masking.apply_rows(columns, result, policy)))


def fast(sql: str, params: dict, expanding: tuple[str, ...] = (), limit: int | None = None) -> str:
    out = io.StringIO(newline="")
    core.export_csv(sql, params, expanding, out.write, limit=limit)
    return out.getvalue()


def report_reference(name: str, f: Filters, policy=None) -> str:
    if name in reports.PLANNED:
        with reports.stream_report(name, f) as (columns, rows):
            return "".join(csv_lines(columns, rows))
    s = reports.report_sql(name, f)
    return reference(s.text, s.params, s.expanding, policy)


def report_now(name: str, f: Filters, limit: int | None = None) -> str:
    out = io.StringIO(newline="")
    n = reports.write_report(name, f, out.write, limit=limit)
    text = out.getvalue()
    assert text.count("\n") >= n + 1
    return text


# ---- the statement timeout of exports ---------------------------------------------------------


def test_export_outlives_the_interactive_timeout(handmade_db, monkeypatch):
    monkeypatch.setenv("GENLENS_QUERY_TIMEOUT_MS", "1")
    get_database.cache_clear()
    with pytest.raises(Exception, match="statement timeout"):
        core.fetch(SLEEPY, {})  # a page's query stops at 1 ms
    with pytest.raises(Exception, match="statement timeout"):
        with core.streaming(SLEEPY, {}) as (_, rows):
            list(rows)
    with core.streaming(SLEEPY, {}, export=True) as (_, rows):
        assert list(rows) == [("", 1)]
    assert fast(SLEEPY, {}) == "slept,n\n,1\n"


def test_export_timeout_setting_is_honoured(handmade_db, monkeypatch):
    monkeypatch.setenv("GENLENS_EXPORT_TIMEOUT_MS", "50")
    get_database.cache_clear()
    assert get_database().settings.export_timeout_ms == 50
    with pytest.raises(Exception, match="statement timeout"):
        fast(SLEEPY, {})


def test_cli_export_completes_under_a_1_ms_query_timeout(pg_url, demo_db, monkeypatch):
    f = Filters(since=datetime(2026, 9, 1, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
    monkeypatch.setenv("GENLENS_QUERY_TIMEOUT_MS", "1")
    get_database.cache_clear()
    with pytest.raises(Exception, match="statement timeout"):
        reports.fetch_report("attempts", f)  # the same report, asked interactively
    env = {**os.environ, "DATABASE_URL": pg_url, "GENLENS_SCHEMA": "demo", "GENLENS_QUERY_TIMEOUT_MS": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "queries.export", "attempts", "--since", "2026-09-01", "--until", "2026-11-21"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("GENLENS_QUERY_TIMEOUT_MS", "60000")
    get_database.cache_clear()
    assert r.stdout == report_reference("attempts", f)
    assert r.stdout.count("\n") > 2000


# ---- the fast path writes the same bytes ------------------------------------------------------

HANDMADE = Filters(since=handmade.SINCE, until=handmade.UNTIL)
DEMO = Filters(since=datetime(2026, 9, 1, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


@pytest.mark.parametrize("name", list(reports.REPORTS))
@pytest.mark.parametrize("schema", ["handmade", "demo", "hostile"])
def test_every_report_is_byte_identical_to_the_old_path(use_schema, schema, name):
    use_schema(schema)
    for f in (HANDMADE, DEMO, replace(DEMO, include_tests=True, statuses=("failed", "timeout"))):
        assert report_now(name, f) == report_reference(name, f), (schema, name, f)


def test_masked_attempts_are_byte_identical(demo_db):
    policy = masking.policy_from_settings(True)
    with masking.using(policy):
        now = report_now("attempts", DEMO)
    assert now == report_reference("attempts", DEMO, policy)
    assert now != report_reference("attempts", DEMO)  # masking did change the user ids


EDGE = """
SELECT * FROM (VALUES
  (1, CAST(1e-05 AS float8), CAST('2026-03-02 10:00:00+00' AS timestamptz), CAST('=SUM(A1)' AS text),
   CAST(NULL AS uuid), TRUE, CAST(0.1 AS numeric), CAST('{"a": [1, "x,y"]}' AS jsonb), CAST('2026-03-02' AS date),
   CAST('a' AS varchar(5)), CAST(1.5 AS float4)),
  (2, 1e16, '2026-03-02 10:00:00.5+05:30', 'comma, "quote"', '8a1b7c00-0000-4000-8000-00000000000a', FALSE,
   CAST('NaN' AS numeric), NULL, NULL, '', NULL),
  (3, -0.0, '1999-12-31 23:59:59.999999-08', E'line\\nbreak\\rcr\\ttab', NULL, NULL, 1e30, '[]', NULL,
   '-1', 'Infinity'),
  (4, CAST('NaN' AS float8), NULL, '', NULL, NULL, NULL, '"s"', NULL, NULL, NULL),
  (5, CAST('-Infinity' AS float8), '2026-01-01 00:00:00.000001+00', NULL, NULL, NULL, -0.000001, NULL, NULL,
   '@x', -3.25),
  (6, 0.1 + 0.2, '2026-06-30 12:34:56.789+02', ' +lead', NULL, NULL, 12345678901234567890, NULL, NULL,
   E'\\\\back', 1e-7),
  (7, 5e-324, '0044-03-15 12:00:00+00', E'\\t', NULL, NULL, 0, NULL, NULL, '\"', 3.4e38),
  (8, 123456789012345680000.0, '9999-12-30 23:59:59+00', 'plain', NULL, NULL, 2.50, NULL, NULL, 'x,y', 0)
) AS t(i, f, ts, txt, id, b, num, js, d, vc, f4)
ORDER BY i DESC
"""


@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_edge_values_are_byte_identical(use_schema, monkeypatch, tz):
    monkeypatch.setenv("PGTZ", tz)  # the session's TimeZone: timestamps still leave in UTC
    use_schema("empty")
    expected = reference(EDGE, {})
    assert fast(EDGE, {}) == expected
    assert "'=SUM(A1)" in expected and '"comma, ""quote"""' in expected and "0.00001" in expected
    assert fast(EDGE, {}, limit=3) == "".join(expected.splitlines(keepends=True)[:4])


def test_parameters_and_lists_reach_the_fast_path(handmade_db):
    f = replace(HANDMADE, models=(handmade.MA,), statuses=("success", "failed"))
    assert report_now("attempts", f) == report_reference("attempts", f)
    assert 1 < report_now("attempts", f).count("\n") < report_now("attempts", HANDMADE).count("\n")


@pytest.mark.parametrize(
    "q",
    [
        ExplorerQuery(),
        ExplorerQuery(sort="cost_usd", descending=False),
        ExplorerQuery(sort="quality", text="o"),
        ExplorerQuery(issues_only=True),
    ],
)
def test_explorer_csv_is_byte_identical(demo_db, q):
    s = explorer.explorer_sql(W, q)
    out = io.BytesIO()
    n = explorer.write_csv(W, q, out)
    expected = reference(s.text, s.params, s.expanding)
    assert out.getvalue() == expected.encode("utf-8")
    first = io.BytesIO()
    assert explorer.write_csv(W, q, first, limit=10) == min(10, n)
    assert first.getvalue() == "".join(expected.splitlines(keepends=True)[:11]).encode("utf-8")


def test_explorer_csv_with_sidebar_filters_is_the_cli_attempts_report(demo_db):
    out = io.BytesIO()
    explorer.write_csv(W, ExplorerQuery(), out)
    assert out.getvalue() == report_now("attempts", W).encode("utf-8")


# ---- the Explorer's download ------------------------------------------------------------------


def test_explorer_download_is_capped_with_the_cli_command(demo_db, offered, monkeypatch):
    from ui import downloads

    monkeypatch.setattr(downloads, "BROWSER_MAX_ROWS", 100)
    at = open_explorer()
    total = explorer.explorer_count(W, ExplorerQuery())
    assert total > 100
    assert [b.label for b in at.download_button] == [f"Download CSV (first 100 of {total:,} rows, ~1 MB)"]
    data = offered[f"genlens_attempts_{W.describe()}.csv"]()
    full = report_now("attempts", W).encode("utf-8")
    assert data == b"".join(full.splitlines(keepends=True)[:101])  # the CLI file's first lines
    command = "\n".join(c.value for c in at.code)
    assert "python -m queries.export attempts --since 2026-10-21 --until 2026-11-21 --output attempts.csv" in command
    assert f"All {total:,} rows: run the command below" in captions(at)


def test_explorer_download_under_the_cap_is_the_whole_result(demo_db, offered):
    at = open_explorer(status="failed")
    f = replace(W, statuses=("failed",))
    total = explorer.explorer_count(f, ExplorerQuery())
    label = at.download_button[0].label
    assert label.startswith(f"Download CSV (all {total:,} rows, ~") and label.endswith(" MB)")
    assert not at.code  # no command needed
    data = offered[f"genlens_attempts_{f.describe()}.csv"]()
    assert data == report_now("attempts", f).encode("utf-8")


def test_reports_page_attempts_download_is_capped(demo_db, offered, monkeypatch):
    from tests.test_page_reports import WINDOW, open_reports
    from ui import downloads

    monkeypatch.setattr(downloads, "BROWSER_MAX_ROWS", 50)
    at = open_reports(report="attempts")
    total = int(reports.summary(WINDOW)["attempts"])
    assert at.download_button[0].label == f"Download CSV (first 50 of {total:,} rows, ~1 MB)"
    data = offered[f"genlens_attempts_{WINDOW.describe()}.csv"]()
    assert data == b"".join(report_now("attempts", WINDOW).encode("utf-8").splitlines(keepends=True)[:51])


def test_random_floats_and_decimals_are_byte_identical(use_schema):
    """Floats and decimals are written by PostgreSQL now: the same text as Python's for values of
    every magnitude (random bit patterns, the thresholds where repr() switches to an exponent,
    prices and latencies as pipelines report them), and for numeric of any scale."""
    import random
    import struct

    use_schema("empty")
    rng = random.Random(20261202)
    floats = [struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0] for _ in range(3000)]
    floats += [rng.uniform(0, 0.05) for _ in range(500)] + [rng.lognormvariate(7, 2) for _ in range(500)]
    floats += [
        1e-4,
        9.999999999999999e-05,
        1e16,
        9999999999999998.0,
        1e15,
        123.0,
        -2.5e-9,
        5e-324,
        1.7976931348623157e308,
    ]
    floats = [f for f in floats if f == f]  # NaN is covered by the edge rows
    decimals = [f"{rng.randint(-(10**12), 10**12)}e{rng.randint(-20, 8)}" for _ in range(500)] + ["0.00", "-0.000100"]
    sql = (
        "SELECT i, f, CASE WHEN abs(f) BETWEEN 1e-30 AND 1e30 THEN CAST(f AS float4) END AS f4, d FROM unnest(CAST(:fs AS float8[])) WITH ORDINALITY AS a(f, i)"
        " LEFT JOIN unnest(CAST(:ds AS numeric[])) WITH ORDINALITY AS b(d, j) ON j = i ORDER BY i"
    )
    params = {"fs": floats, "ds": decimals}
    expected = reference(sql, params)
    got = fast(sql, params)
    differ = [(a, b) for a, b in zip(got.splitlines(), expected.splitlines(), strict=True) if a != b]
    assert differ == []
    assert got == expected and expected.count("\n") == len(floats) + 1
