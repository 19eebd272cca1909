"""The Reports page in AppTest on the demo data: every report previews, the CLI command carries the
filters, a bad `report` link warns, and the CSV the page offers is byte for byte the CLI's."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from queries import export, reports
from queries.filters import Filters

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SINCE, UNTIL = "2026-10-21", "2026-11-21"
WINDOW = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


def open_reports(**params: str | list[str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    base = {"since": SINCE, "until": UNTIL, **params}
    for k, v in base.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    for k, v in base.items():
        at.query_params[k] = v
    at.switch_page("pages/reports.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Reports"
    return at


def code_text(at: AppTest) -> str:
    return "\n".join(c.value for c in at.code)


def cli_csv(pg_url: str, *args: str) -> bytes:
    env = {**os.environ, "DATABASE_URL": pg_url, "GENLENS_SCHEMA": "demo"}
    out = subprocess.run(
        [sys.executable, "-m", "queries.export", *args], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout


def export_csv(name: str, f: Filters) -> bytes:
    buf = io.StringIO(newline="")
    export.write_report(name, f, buf)
    return buf.getvalue().encode("utf-8")


@pytest.mark.parametrize("name", list(reports.REPORTS))
def test_each_report_previews(demo_db, name):
    at = open_reports(report=name)
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="rp_report").value == name
    assert at.query_params["report"] == name
    table = at.dataframe[0].value
    if name == "metrics":  # one row of some forty metrics, shown one metric per line
        assert list(table["column"]) == reports.COLUMNS[name]
        assert list(table.columns) == ["metric", "value", "column", "unit", "definition"]
    else:
        assert list(table.columns) == reports.COLUMNS[name]
    assert len(table) > 0
    assert f"python -m queries.export {name} --since {SINCE} --until {UNTIL}" in code_text(at)
    assert len(at.download_button) == 1


def test_attempts_preview_is_capped_and_counts_in_sql(demo_db):
    at = open_reports(report="attempts")
    total = int(reports.summary(WINDOW)["attempts"])
    assert total > 1000  # the demo window has more attempts than the preview shows
    assert len(at.dataframe[0].value) == 1000
    captions = " ".join(c.value for c in at.caption)
    assert f"newest 1,000 of {total:,} attempts" in captions


def test_command_carries_filters(demo_db):
    model = reports.fetch_report("by_model", WINDOW)["model_used"].iloc[0]
    at = open_reports(report="daily", model=model, type="hero", status=["failed", "timeout"], tests="1")
    cmd = code_text(at)
    assert "--since 2026-10-21 --until 2026-11-21" in cmd
    assert f"--model {model}" in cmd or f"--model '{model}'" in cmd
    assert "--type hero" in cmd
    assert "--status failed --status timeout" in cmd
    assert cmd.rstrip().endswith("--include-tests")
    # The preview is the report for these filters (statuses included).
    f = Filters(
        since=WINDOW.since,
        until=WINDOW.until,
        models=(model,),
        types=("hero",),
        statuses=("failed", "timeout"),
        include_tests=True,
    )
    expected = reports.fetch_report("daily", f)
    got = at.dataframe[0].value
    assert got["attempts"].sum() == expected["attempts"].sum()
    assert got["successes"].sum() == 0


def test_command_quotes_values(demo_db):
    at = open_reports(report="by_model", model="gpt 4; rm -rf /")
    assert "--model 'gpt 4; rm -rf /'" in code_text(at)


def test_bad_report_warns_and_shows_summary(demo_db):
    at = open_reports(report="bogus")
    assert any("bogus" in w.value for w in at.warning)
    assert at.selectbox(key="rp_report").value == "summary"
    assert list(at.dataframe[0].value.columns) == reports.COLUMNS["summary"]


def test_bad_status_warns(demo_db):
    at = open_reports(report="daily", status="exploded")
    assert any("status" in w.value for w in at.warning)
    assert "--status" not in code_text(at)


def test_switching_report_updates_url_and_command(demo_db):
    at = open_reports(report="summary")
    at.selectbox(key="rp_report").set_value("retries").run()
    assert not at.exception
    assert at.query_params["report"] == "retries"
    assert "queries.export retries" in code_text(at)
    assert list(at.dataframe[0].value.columns) == reports.COLUMNS["retries"]


def test_summary_has_glossary(demo_db):
    at = open_reports(report="summary")
    assert any("summary columns" in e.label for e in at.expander)
    glossary = at.table[0].value
    assert list(glossary["column"]) == reports.COLUMNS["summary"]


def test_empty_window_says_why(demo_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["since"], at.query_params["until"] = "2020-01-01", "2020-01-08"
    at.run()
    at.query_params["since"], at.query_params["until"] = "2020-01-01", "2020-01-08"
    at.switch_page("pages/reports.py")
    at.query_params["report"] = "errors"
    at.run()
    assert not at.exception
    assert any("No generations" in i.value for i in at.info)


def test_by_model_csv_is_the_cli_output(demo_db, pg_url, offered):
    open_reports(report="by_model")
    name = f"genlens_by_model_{WINDOW.describe()}.csv"
    assert name in offered, list(offered)
    page = offered[name]
    assert page == cli_csv(pg_url, "by_model", "--since", SINCE, "--until", UNTIL)
    header = page.decode().splitlines()[0]
    assert header == ",".join(reports.COLUMNS["by_model"])


@pytest.mark.parametrize("name", ["summary", "daily", "retries", "errors"])
def test_small_report_csv_is_the_export(demo_db, offered, name):
    open_reports(report=name)
    assert offered[f"genlens_{name}_{WINDOW.describe()}.csv"] == export_csv(name, WINDOW)


def test_attempts_csv_is_streamed_and_complete(demo_db, offered):
    f = Filters(since=WINDOW.since, until=WINDOW.until, statuses=("failed",))
    open_reports(report="attempts", status="failed")
    build = offered[f"genlens_attempts_{f.describe()}.csv"]
    assert callable(build), "the attempts CSV is built on click, not on every rerun"
    data = build()
    assert data == export_csv("attempts", f)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == reports.COLUMNS["attempts"]
    assert len(rows) == reports.summary(f)["attempts"] + 1
    assert {r[2] for r in rows[1:]} == {"failed"}
