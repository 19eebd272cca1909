"""queries/errors.py against a real PostgreSQL: the demo data (cross-checked with the reports) and
the edge-case schema of test_queries_reliability (new signatures built by hand)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pandas as pd
import pytest

from metrics import error_groups
from metrics.signatures import mask
from queries import errors, reports
from queries.filters import Filters
from tests import test_queries_reliability as edge

WINDOW = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


@pytest.fixture
def edge_db(use_schema, admin_engine) -> Filters:
    """The edge-case schema of test_queries_reliability; returns its window."""
    use_schema(edge.EDGE_SCHEMA)
    return edge.load_edge(admin_engine)


FULL = Filters(since=datetime(2026, 9, 1, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
NARROW = Filters(since=datetime(2026, 11, 10, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


def test_failure_summary_matches_daily_report(demo_db):
    row = errors.failure_summary(WINDOW).iloc[0]
    daily = reports.fetch_report("daily", WINDOW)
    s = reports.summary(WINDOW)
    assert row["failures"] == daily["failures"].sum() > 0
    assert row["timeouts"] == daily["timeouts"].sum() > 0
    assert row["lost_attempts"] == row["failures"] + row["timeouts"]
    assert math.isclose(row["failure_rate"], 1 - s["attempt_success_rate"], rel_tol=1e-12)


def test_signature_trends_sum_to_occurrences(demo_db):
    table = reports.fetch_report("errors", WINDOW)
    trends = errors.signature_trends(WINDOW)
    assert list(trends["error_signature"]) == list(table["error_signature"][: errors.TREND_SIGNATURES])
    occurrences = table.set_index("error_signature")["occurrences"]
    for sig, counts in zip(trends["error_signature"], trends["daily_counts"], strict=True):
        assert len(counts) == 31  # one per day of the window, zeros included
        assert sum(counts) == occurrences[sig]
        assert min(counts) >= 0
    assert str(trends["first_day"].iloc[0]) == "2026-10-21"
    assert len(errors.signature_trends(WINDOW, limit=3)) == 3


def test_signature_attempts_lists_that_signature_newest_first(demo_db):
    table = reports.fetch_report("errors", WINDOW)
    sig, occurrences = table["error_signature"].iloc[1], table["occurrences"].iloc[1]
    df = errors.signature_attempts(WINDOW, sig)
    assert len(df) == occurrences
    assert df["created_at"].is_monotonic_decreasing
    assert set(df["status"]) <= {"failed", "timeout"}
    groups = error_groups.groups(demo_db)
    assert all(groups.label(mask(m)) == sig for m in df["error_message"])
    assert list(df.columns) == [
        "generation_id",
        "attempt_number",
        "status",
        "model_used",
        "created_at",
        "latency_ms",
        "error_message",
    ]
    assert len(errors.signature_attempts(WINDOW, sig, limit=5)) == 5
    assert errors.signature_attempts(WINDOW, "no such signature <n>").empty


def test_failure_share_sums_to_one_per_day(demo_db):
    df = errors.failure_share(WINDOW)
    per_day = df.groupby("day").agg(
        share=("share", "sum"), failures=("lost_attempts", "sum"), day=("day_lost_attempts", "first")
    )
    assert ((per_day["share"] - 1).abs() < 1e-9).all()
    assert (per_day["failures"] == per_day["day"]).all()
    assert per_day["failures"].sum() == errors.failure_summary(WINDOW)["lost_attempts"].iloc[0]
    # Every series has every day (zeros filled), in a stable order.
    assert (df.groupby("day").size() == df["series_order"].nunique()).all()
    table = reports.fetch_report("errors", WINDOW)
    top = df[df["series_kind"] == "top"].groupby(["rank", "error_signature"])["lost_attempts"].sum().reset_index()
    assert list(top["error_signature"]) == list(table["error_signature"][: errors.SHARE_SIGNATURES])
    assert list(top["lost_attempts"]) == list(table["occurrences"][: errors.SHARE_SIGNATURES])
    other = df[df["series_kind"] == "other"]["lost_attempts"].sum()
    assert other == table["occurrences"][errors.SHARE_SIGNATURES :].sum()
    assert "no_message" not in set(df["series_kind"])  # every demo failure has a message


def test_new_signatures_full_window_is_every_signature(demo_db):
    # Nothing happened before the demo's first day: every signature of the window is new.
    new = errors.new_signatures(FULL)
    table = reports.fetch_report("errors", FULL)
    assert set(new["error_signature"]) == set(table["error_signature"])
    first = table.set_index("error_signature")["first_seen"]
    for sig, seen in zip(new["error_signature"], new["first_seen_ever"], strict=True):
        assert seen == first[sig]


def test_new_signatures_narrow_window_excludes_those_seen_before(demo_db):
    new = errors.new_signatures(NARROW)
    window = set(reports.fetch_report("errors", NARROW)["error_signature"])
    assert set(new["error_signature"]) <= window
    assert (new["first_seen_ever"] >= NARROW.since).all() and (new["first_seen_ever"] < NARROW.until).all()
    # Signatures seen before `since` (any attempt of a generation started earlier).
    before = reports.fetch_report("attempts", Filters(since=FULL.since, until=NARROW.since))
    before = before[(before["created_at"] < NARROW.since) & before["error_signature"].notna()]
    old = set(before["error_signature"])
    assert "Request timed out after <n> ms" in window and "Request timed out after <n> ms" in old
    assert set(new["error_signature"]).isdisjoint(old)
    assert window - set(new["error_signature"]) == window & old
    # the errors report's state says the same: new exactly for these
    table = reports.fetch_report("errors", NARROW)
    assert set(table[table["state"] == "new"]["error_signature"]) == set(new["error_signature"])
    assert set(table["state"]) <= set(errors.STATES)


def test_new_signatures_hand_made(edge_db):
    new = errors.new_signatures(edge_db).set_index("error_signature")
    # "Boom <n>" was seen 10 days before; "After until <n>" first ran after `until`; "Only tests <n>" was
    # seen before only in a test generation, which does not count unless tests are included.
    assert set(new.index) == {"Fresh error <n>", "Late <n>", "Only tests <n>"}
    assert new.loc["Fresh error <n>", "occurrences"] == 2 and new.loc["Fresh error <n>", "generations"] == 1
    assert new.loc["Fresh error <n>", "models"] == "m2"
    assert new.loc["Fresh error <n>", "first_seen_ever"] == pd.Timestamp(edge_db.since) + pd.Timedelta(hours=4)
    window = set(reports.fetch_report("errors", edge_db)["error_signature"])
    assert {"Boom <n>", "After until <n>"} <= window
    with_tests = Filters(since=edge_db.since, until=edge_db.until, include_tests=True)
    assert set(errors.new_signatures(with_tests)["error_signature"]) == {"Fresh error <n>", "Late <n>"}
    # A model filter narrows the window's signatures, not the history.
    m2 = Filters(since=edge_db.since, until=edge_db.until, models=("m2",))
    assert set(errors.new_signatures(m2)["error_signature"]) == {"Fresh error <n>", "Only tests <n>"}


def test_failure_share_counts_failures_without_message(edge_db):
    df = errors.failure_share(edge_db, top=2)
    kinds = df.groupby("series_kind")["lost_attempts"].sum()
    assert kinds["no_message"] == 1
    assert kinds.sum() == errors.failure_summary(edge_db)["lost_attempts"].iloc[0] == 7
    assert ((df.groupby("day")["share"].sum() - 1).abs() < 1e-9).all()
    assert errors.failure_summary(edge_db)["failures_without_message"].iloc[0] == 1


def test_every_query_on_empty_db(empty_db):
    row = errors.failure_summary(WINDOW).iloc[0]
    assert row["failures"] == 0 and pd.isna(row["failure_rate"])
    assert errors.signature_trends(WINDOW).empty
    assert errors.signature_attempts(WINDOW, "anything").empty
    assert errors.failure_share(WINDOW).empty
    assert errors.new_signatures(WINDOW).empty
