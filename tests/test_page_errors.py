"""The Errors page in AppTest: the signatures table and its trend, the `signature` link (valid: its
attempts; bogus: a warning), new signatures, CSV names, and the empty state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from queries import errors, reports
from queries.csv_format import dataframe_csv
from queries.filters import Filters
from tests import test_queries_reliability as edge
from ui import format as fmt

APP = str(Path(__file__).resolve().parent.parent / "app.py")
WINDOW = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


@pytest.fixture
def edge_db(use_schema, admin_engine) -> Filters:
    """The edge-case schema of test_queries_reliability; returns its window."""
    use_schema(edge.EDGE_SCHEMA)
    return edge.load_edge(admin_engine)


def open_page(f: Filters, offered: dict | None = None, **extra: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    params = {"since": f"{f.since:%Y-%m-%d}", "until": f"{f.until:%Y-%m-%d}"}
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    if offered is not None:
        offered.clear()  # keep only what this page offers, not the Overview's files
    for k, v in {**params, **extra}.items():
        at.query_params[k] = v
    at.switch_page("pages/errors.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Errors"
    return at


def table_with(at: AppTest, *columns: str):
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    return found[0] if found else None


def test_errors_page_on_demo(demo_db, offered):
    at = open_page(WINDOW, offered)
    table = reports.fetch_report("errors", WINDOW)
    summary = errors.failure_summary(WINDOW).iloc[0]
    m = {x.label: x.value for x in at.metric}
    assert m["Failed attempts"] == fmt.count(summary["failures"])
    assert m["Timed-out attempts"] == fmt.count(summary["timeouts"])
    assert m["Error groups"] == fmt.count(len(table))
    assert m["New error groups"] == fmt.count(len(errors.new_signatures(WINDOW)))
    assert all(x.help for x in at.metric)
    shown = table_with(at, "error_signature", "occurrences", "daily_counts")
    assert list(shown["error_signature"]) == list(table["error_signature"])
    assert sum(shown["daily_counts"].iloc[0]) == table["occurrences"].iloc[0]
    # Nothing selected: no attempts table, no signature shown.
    assert table_with(at, "error_message") is None and not at.code
    assert not at.warning
    d = WINDOW.describe()
    assert offered[f"genlens_errors_{d}.csv"] == dataframe_csv(table)
    assert f"genlens_failure_share_per_day_{d}.csv" in offered


def test_errors_page_signature_link_lists_its_attempts(demo_db, offered):
    table = reports.fetch_report("errors", WINDOW)
    sig, occurrences = table["error_signature"].iloc[1], table["occurrences"].iloc[1]
    at = open_page(WINDOW, offered, signature=sig)
    assert not at.warning
    assert [c.value for c in at.code] == [sig]
    attempts = table_with(at, "generation_id", "error_message", "latency_ms")
    assert attempts is not None and len(attempts) == occurrences
    assert attempts["created_at"].is_monotonic_decreasing
    assert at.query_params["signature"] == sig
    assert offered[f"genlens_signature_attempts_{WINDOW.describe()}.csv"] == dataframe_csv(
        errors.signature_attempts(WINDOW, sig)
    )


@pytest.mark.parametrize("bogus", ["Not a signature <n>", "**bold** <b>x</b> $x$", "x" * 500])
def test_errors_page_bogus_signature_warns(demo_db, bogus):
    at = open_page(WINDOW, signature=bogus)
    assert any("Ignored the link's signature" in w.value for w in at.warning)
    assert all(bogus not in w.value for w in at.warning)  # stored/URL text never goes into markdown
    assert not at.code and table_with(at, "error_message") is None
    assert "signature" not in at.query_params
    assert table_with(at, "error_signature", "occurrences") is not None  # the page still works


def test_errors_page_signature_outside_the_window_warns(demo_db):
    # A signature of the whole demo that this one-day window does not have.
    day = Filters(since=datetime(2026, 11, 1, tzinfo=UTC), until=datetime(2026, 11, 2, tzinfo=UTC))
    in_day = set(reports.fetch_report("errors", day)["error_signature"])
    missing = [s for s in reports.fetch_report("errors", WINDOW)["error_signature"] if s not in in_day]
    assert missing
    at = open_page(day, signature=missing[0])
    assert any("Ignored the link's signature" in w.value for w in at.warning)


def test_errors_page_on_edge_data(edge_db):
    at = open_page(edge_db, signature="Fresh error <n>")
    m = {x.label: x.value for x in at.metric}
    assert m["New error groups"] == "3"
    assert len(table_with(at, "generation_id", "error_message", "latency_ms")) == 2
    new = table_with(at, "error_signature", "first_seen_ever")
    assert set(new["error_signature"]) == {"Fresh error <n>", "Late <n>", "Only tests <n>"}
    assert any("no error message" in c.value for c in at.caption)


def test_errors_page_on_empty_db(empty_db):
    at = open_page(WINDOW, signature="anything")
    assert any("No failed or timed-out attempts in this window" in i.value for i in at.info)
    assert not at.metric and not at.dataframe


def test_errors_page_filters_by_state(demo_db):
    table = reports.fetch_report("errors", WINDOW)
    assert {"new", "ongoing"} <= set(table["state"])
    at = open_page(WINDOW, state="new")
    shown = table_with(at, "error_signature", "occurrences", "daily_counts")
    assert list(shown["error_signature"]) == list(table[table["state"] == "new"]["error_signature"])
    assert set(shown["state"]) == {"new"}
    assert at.query_params["state"] == "new"
    # A bogus state in a link is dropped with a warning; the table is then unfiltered.
    at = open_page(WINDOW, state="exploded,<b>x</b>")
    assert any("Ignored unknown states" in w.value for w in at.warning)
    assert len(table_with(at, "error_signature", "occurrences", "daily_counts")) == len(table)


def test_an_admin_marks_a_group_on_the_errors_page(demo_db, admin_engine):
    table = reports.fetch_report("errors", WINDOW)
    sig = table["error_signature"].iloc[0]
    at = open_page(WINDOW, signature=sig)
    next(r for r in at.radio if r.label == "Mark").set_value("ignored")
    next(t for t in at.text_input if t.label == "Note").input("expected: provider timeouts at night")
    next(b for b in at.button if b.label == "Save mark").click()
    at.run()
    assert not at.exception, at.exception
    try:
        row = errors.group_states(WINDOW).set_index("error_signature").loc[sig]
        assert (row["mark"], row["note"]) == ("ignored", "expected: provider timeouts at night")
        shown = table_with(at, "error_signature", "occurrences", "daily_counts").set_index("error_signature")
        assert shown.at[sig, "mark"] == "ignored"
        assert any("Marked ignored: expected: provider timeouts at night" in c.value for c in at.caption)
        with admin_engine.connect() as conn:
            from sqlalchemy import text

            detail = conn.execute(
                text("SELECT detail FROM demo.genlens_audit WHERE action = 'error_mark' ORDER BY id DESC LIMIT 1")
            ).scalar_one()
        assert detail["label"] == sig and detail["mark"] == "ignored"
    finally:
        errors.set_mark(int(row["group_id"]), None, "", "test", "admin", "none")


def test_a_linked_group_hidden_by_the_state_filter_is_not_selected(demo_db):
    table = reports.fetch_report("errors", WINDOW)
    ongoing = table[table["state"] == "ongoing"]["error_signature"].iloc[0]
    at = open_page(WINDOW, state="new", signature=ongoing)
    shown = table_with(at, "error_signature", "occurrences", "daily_counts")
    assert ongoing not in set(shown["error_signature"])
    assert table_with(at, "error_message") is None  # no attempts of a group the table does not show
