"""Bad data, hostile input and hostile stored text: pages and reports never raise, text stays text."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from queries.csv_format import csv_lines
from queries.filters import Filters
from queries.reports import fetch_report, stream_report, summary
from tests import hostile

APP = str(Path(__file__).resolve().parent.parent / "app.py")
WINDOW = Filters(since=datetime(2026, 5, 1, tzinfo=UTC), until=datetime(2026, 5, 4, tzinfo=UTC))
PAGES = [
    "pages/overview.py",
    "pages/reliability.py",
    "pages/cost_quality.py",
    "pages/errors.py",
    "pages/explorer.py",
    "pages/generation.py",
    "pages/reports.py",
]
# What stored text must never turn into: rendered Markdown/HTML/LaTeX in a text element.
MARKERS = ("<script>", "onerror", "**bold**", "$$", "\\frac", "<b>evil</b>", "\u202e", "javascript:")
HOSTILE_VALUES = [
    "'; DROP TABLE generations; --",
    "1' OR '1'='1",
    "%",
    "_",
    "\\",
    "a\x00b",
    "x" * 10_000,
    "not-a-uuid",
    "2026-13-45",
    "<script>alert(1)</script>",
]
PARAMS = [
    "since",
    "until",
    "model",
    "type",
    "user",
    "tests",
    "generation_id",
    "signature",
    "status",
    "q",
    "sort",
    "dir",
    "cost_gt",
    "slow_ms",
    "quality_lt",
    "report",
    "issues",
    "page_size",
]


def _rendered_text(at) -> list[str]:
    out = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [str(m.label) for m in at.metric]
    return out


def test_reports_never_raise_on_bad_data(hostile_db):
    s = summary(WINDOW)
    # 12 malformed-metadata rows + 5 more attempts (4 generations); every kind counts as an issue.
    assert s["generations"] == 16 and s["attempts"] == 17
    assert s["metadata_issues"] >= 10
    for name in ("by_model", "daily", "retries", "errors"):
        fetch_report(name, WINDOW)
    by_model = fetch_report("by_model", WINDOW)
    assert hostile.HOSTILE_MODEL in set(by_model["model_used"])  # stored as is, unknown stays unknown


def test_attempts_csv_neutralises_formulas(hostile_db):
    out = io.StringIO()
    with stream_report("attempts", WINDOW) as (cols, rows):
        for line in csv_lines(cols, rows):
            out.write(line)
    text = out.getvalue()
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


@pytest.mark.parametrize("page", PAGES)
def test_pages_show_hostile_text_as_text(page, hostile_db):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["since"] = "2026-05-01"
    at.query_params["until"] = "2026-05-04"
    at.run()
    if page != PAGES[0]:
        at.query_params["since"] = "2026-05-01"
        at.query_params["until"] = "2026-05-04"
        if page == "pages/generation.py":
            at.query_params["generation_id"] = hostile.rows()[0]["generation_id"]
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    for shown in _rendered_text(at):
        for marker in MARKERS:
            assert marker not in shown, (page, marker, shown[:200])


@pytest.mark.parametrize("page", PAGES)
def test_hostile_url_parameters_are_bound_or_refused(page, demo_db):
    for value in HOSTILE_VALUES:
        at = AppTest.from_file(APP, default_timeout=60)
        for p in PARAMS:
            at.query_params[p] = value
        at.run()
        if page != PAGES[0]:
            for p in PARAMS:  # the app rewrote the URL without the bad values; the page gets them again
                at.query_params[p] = value
            at.switch_page(page)
            at.run()
        assert not at.exception, (page, repr(value[:30]), at.exception)
        # Bad values are dropped with a visible warning; a database error panel would mean a failure.
        assert not at.error, (page, repr(value[:30]), [e.value for e in at.error])
