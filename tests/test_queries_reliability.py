"""queries/reliability.py against a real PostgreSQL: the demo data (cross-checked with the reports)
and a small edge-case schema written here (malformed retry_count, stale pending, hand-computed
figures). `edge_db` is shared with the errors tests."""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from queries import reliability, reports
from queries.filters import Filters

WINDOW = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
SHORT = Filters(since=datetime(2026, 11, 18, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
EDGE_SCHEMA = "relerr_edge"


# --- The edge-case schema -------------------------------------------------------------------------


def _gid(n: int) -> str:
    return str(uuid.UUID(int=n))


SECTIONS_MESSY = [1, "x", -1, 2, None, {"a": 1}, True]  # non-negative numbers: 1 + 2 = 3


def edge_rows(since: datetime, until: datetime, now: datetime) -> list[tuple]:
    """(generation, attempt, status, model, created_at, seconds to completion, error, metadata)."""
    h = timedelta(hours=1)
    m = timedelta(minutes=1)
    return [
        # In the window (since = day before yesterday 00:00 UTC, until = tomorrow 00:00 UTC).
        (
            1,
            1,
            "success",
            "m1",
            since + h,
            10,
            None,
            {"retry_count": {"metadata": 2, "sections": SECTIONS_MESSY, "bad": -4, "nested": {"x": 1}}},
        ),
        (
            2,
            1,
            "success",
            "m1",
            since + 2 * h,
            10,
            None,
            {"retry_count": {"metadata": "2", "sections": "3", "validation": 1.5}},
        ),
        (3, 1, "failed", "m2", since + 3 * h, 1, "Boom 22", [1, 2, 3]),
        (3, 2, "success", "m2", since + 3 * h + m, 10, None, {"retry_count": [1, 2]}),
        (4, 1, "timeout", "m2", since + 4 * h, 30, "Fresh error 7", "just text"),
        (4, 2, "failed", "m2", since + 4 * h + 2 * m, 2, "Fresh error 8", None),
        (
            5,
            1,
            "success",
            "m1",
            since + 5 * h,
            10,
            None,
            {"retry_count": {"metadata": -1, "sections": []}, "cost_usd": 0.02},
        ),
        (6, 1, "failed", "m1", since + 6 * h, 1, "Only tests 9", {"test_run_id": "t1"}),  # a test generation
        (7, 1, "failed", "m1", until - m, 3, "Late 5", {"cost_usd": 0.5}),
        (7, 2, "failed", "m1", until + h, 4, "After until 1", {"cost_usd": "0.7"}),  # retry after until
        (8, 1, "failed", "m2", since + 7 * h, 1, "Only tests 11", None),
        (9, 1, "failed", "m1", since + 8 * h, 1, None, None),  # no error message
        (10, 1, "pending", "m1", now - 20 * m, None, None, None),  # stale
        (11, 1, "pending", "m2", now - 5 * m, None, None, None),  # fresh
        # Before the window.
        (20, 1, "failed", "m1", since - timedelta(days=10), 1, "Boom 1", None),
        (21, 1, "failed", "m1", since - timedelta(days=10), 1, "Only tests 5", {"test_run_id": "t0"}),
        (22, 1, "failed", "m2", since - timedelta(days=1), 1, "Old only 3", None),
        (22, 2, "pending", "m2", now - 30 * m, None, None, None),  # pending, but its generation is out of scope
    ]


def load_edge(engine, schema: str = EDGE_SCHEMA) -> Filters:
    """Fill `schema`.generations with edge_rows around the database's now(); return the window."""
    with engine.begin() as conn:
        now = conn.execute(text("SELECT now()")).scalar_one().astimezone(UTC)
        since = datetime.combine(now.date() - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
        until = since + timedelta(days=3)
        conn.execute(text(f'DELETE FROM "{schema}".generations'))
        for gid, n, status, model, created, secs, error, meta in edge_rows(since, until, now):
            conn.execute(
                text(
                    f'INSERT INTO "{schema}".generations (generation_id, attempt_number, status, model_used, '
                    "prompt, user_id, story_type, error_message, generation_metadata, created_at, completed_at) "
                    "VALUES (:g, :n, :s, :m, 'p', :u, :t, :e, CAST(:meta AS jsonb), :c, :done)"
                ),
                {
                    "g": _gid(gid),
                    "n": n,
                    "s": status,
                    "m": model,
                    "u": _gid(1000),
                    "t": "hero" if gid % 2 else "child",
                    "e": error,
                    "meta": None if meta is None else json.dumps(meta),
                    "c": created,
                    "done": None if secs is None else created + timedelta(seconds=secs),
                },
            )
    return Filters(since=since, until=until)


@pytest.fixture
def edge_db(use_schema, admin_engine):
    """The edge-case schema; returns its window (a Filters of 3 days: hourly buckets)."""
    use_schema(EDGE_SCHEMA)
    return load_edge(admin_engine)


# --- Demo data: cross-checks with the reports ------------------------------------------------------


def test_bucket_is_hour_up_to_three_days():
    assert reliability.bucket_for(SHORT) == "hour"
    assert reliability.bucket_for(WINDOW) == "day"
    four = Filters(since=SHORT.since, until=SHORT.until + timedelta(days=1))
    assert reliability.bucket_for(four) == "day"


def test_rates_over_time_daily_adds_up_to_summary_and_daily_report(demo_db):
    df = reliability.rates_over_time(WINDOW)
    s = reports.summary(WINDOW)
    assert len(df) >= 30
    assert df["bucket"].is_monotonic_increasing and df["bucket"].is_unique
    assert (df["bucket"].dt.hour == 0).all()
    assert df["generations"].sum() == s["generations"]
    assert df["attempts"].sum() == s["attempts"]
    daily = reports.fetch_report("daily", WINDOW)
    merged = daily.merge(df.assign(day=df["bucket"].dt.date), on="day", suffixes=("_r", ""))
    assert len(merged) == len(daily)
    for col in ("attempts", "successes", "failures", "timeouts"):
        assert (merged[col] == merged[f"{col}_r"]).all(), col
    assert (merged["attempt_success_rate"] - merged["attempt_success_rate_r"]).abs().max() < 1e-12
    for col in ("success_rate", "first_attempt_success_rate", "attempt_success_rate"):
        assert df[col].dropna().between(0, 1).all()
    # Retries lift the generation success rate above the first-attempt rate, bucket by bucket.
    both = df.dropna(subset=["success_rate", "first_attempt_success_rate"])
    assert (both["success_rate"] >= both["first_attempt_success_rate"]).all()


def test_rates_over_time_hourly_on_short_window(demo_db):
    df = reliability.rates_over_time(SHORT)
    s = reports.summary(SHORT)
    assert len(df) > 24  # hours, not days
    assert (df["bucket"].dt.minute == 0).all() and (df["bucket"].dt.hour != 0).any()
    assert df["generations"].sum() == s["generations"]
    assert df["attempts"].sum() == s["attempts"]


def test_rates_by_model_matches_by_model_report_and_summary(demo_db):
    df = reliability.rates_by(WINDOW, "model_used")
    s = reports.summary(WINDOW)
    assert df["attempts"].sum() == s["attempts"]
    assert df["generations"].sum() == s["generations"]
    assert df["recovered_by_retry"].sum() == s["recovered_by_retry"]
    by_model = reports.fetch_report("by_model", WINDOW).set_index("model_used")
    mine = df.set_index("model_used")
    assert set(mine.index) == set(by_model.index)
    for col in ("attempts", "successes", "failures", "timeouts"):
        assert (mine[col] == by_model.loc[mine.index, col]).all(), col
    assert list(df["model_used"]) == list(by_model.index)  # most attempts first, like the report


def test_rates_by_model_row_equals_summary_filtered_to_that_model(demo_db):
    df = reliability.rates_by(WINDOW, "model_used").set_index("model_used")
    model = "deepseek/deepseek-chat"
    one = reports.summary(Filters(since=WINDOW.since, until=WINDOW.until, models=(model,)))
    row = df.loc[model]
    assert row["generations"] == one["generations"]
    for col in (
        "success_rate",
        "first_attempt_success_rate",
        "attempt_success_rate",
        "avg_attempts_per_generation",
        "retry_rate",
    ):
        assert math.isclose(row[col], one[col], rel_tol=1e-12), col
    assert row["recovered_by_retry"] == one["recovered_by_retry"]


def test_rates_by_story_type(demo_db):
    df = reliability.rates_by(WINDOW, "story_type").set_index("story_type")
    s = reports.summary(WINDOW)
    assert set(df.index) == {"child", "hero", "combined"}
    assert df["generations"].sum() == s["generations"]
    assert df["attempts"].sum() == s["attempts"]
    hero = reports.summary(Filters(since=WINDOW.since, until=WINDOW.until, types=("hero",)))
    assert math.isclose(df.loc["hero", "success_rate"], hero["success_rate"], rel_tol=1e-12)
    assert math.isclose(df.loc["hero", "first_attempt_success_rate"], hero["first_attempt_success_rate"], rel_tol=1e-12)


def test_rates_by_rejects_unknown_dimension(demo_db):
    with pytest.raises(KeyError):
        reliability.rates_by(WINDOW, "user_id; DROP TABLE x")


def test_failed_attempt_cost_matches_attempts(demo_db):
    df = reliability.failed_attempt_cost(WINDOW)
    total = df[df["is_total"]].iloc[0]
    models = df[~df["is_total"]]
    assert bool(df["is_total"].iloc[0]) and df["is_total"].sum() == 1
    by_model = reports.fetch_report("by_model", WINDOW).set_index("model_used")
    assert total["failures"] == by_model["failures"].sum()
    assert total["timeouts"] == by_model["timeouts"].sum()
    assert math.isclose(models["lost_cost_usd"].sum(), total["lost_cost_usd"], rel_tol=1e-9)
    assert math.isclose(total["failed_cost_usd"] + total["timeout_cost_usd"], total["lost_cost_usd"], rel_tol=1e-9)
    att = reports.fetch_report("attempts", WINDOW)
    bad = att[att["status"].isin(["failed", "timeout"])]
    assert math.isclose(total["lost_cost_usd"], bad["cost_usd"].sum(), rel_tol=1e-9)
    assert math.isclose(
        total["failed_time_h"], bad.loc[bad.status == "failed", "latency_ms"].sum() / 3.6e6, rel_tol=1e-9
    )
    assert math.isclose(
        total["timeout_time_h"], bad.loc[bad.status == "timeout", "latency_ms"].sum() / 3.6e6, rel_tol=1e-9
    )
    assert total["timeout_time_h"] > 0 and total["failed_time_h"] > 0
    assert math.isclose(total["failure_cost_share"], total["lost_cost_usd"] / att["cost_usd"].sum(), rel_tol=1e-9)


def _python_phase_retries(metadata: list) -> dict[str, list[float]]:
    """retry_count per phase by the rules, in Python: {phase: [known values]}."""

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0

    out: dict[str, list[float]] = {}
    for meta in metadata:
        rc = meta.get("retry_count") if isinstance(meta, dict) else None
        if not isinstance(rc, dict):
            continue
        for phase, v in rc.items():
            if number(v):
                out.setdefault(phase, []).append(float(v))
            elif isinstance(v, list):
                out.setdefault(phase, []).append(float(sum(e for e in v if number(e))))
    return out


def test_phase_retries_match_python_reading_of_metadata(demo_db, admin_engine):
    df = reliability.phase_retries(WINDOW).set_index("phase")
    keys = reports.fetch_report("attempts", WINDOW)[["generation_id", "attempt_number"]]
    wanted = {(str(g), int(n)) for g, n in keys.itertuples(index=False)}
    with admin_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT generation_id, attempt_number, generation_metadata FROM demo.generations")
        ).fetchall()
    expected = _python_phase_retries([m for g, n, m in rows if (str(g), int(n)) in wanted])
    assert set(df.index) == set(expected) == {"metadata", "sections"}
    for phase, values in expected.items():
        assert df.loc[phase, "attempts_reporting_retries"] == len(values)
        assert df.loc[phase, "attempts_with_phase_retries"] == sum(1 for v in values if v > 0)
        assert math.isclose(df.loc[phase, "phase_retries"], sum(values))
        assert math.isclose(df.loc[phase, "phase_retries_per_attempt"], sum(values) / len(values))


def test_stale_pending_on_demo_is_older_than_threshold(demo_db):
    full = Filters(since=datetime(2026, 9, 1, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
    df = reliability.stale_pending(full)
    assert reliability.stale_minutes() == 15
    assert len(df) >= 1  # the demo's lost attempts, days old by now
    assert (df["age_minutes"] > 15).all()
    assert df["created_at"].is_monotonic_increasing
    assert len(df) <= reports.summary(full)["pending_attempts"]
    assert list(df.columns) == [
        "generation_id",
        "attempt_number",
        "model_used",
        "story_type",
        "created_at",
        "age_minutes",
    ]


# --- Edge cases ---------------------------------------------------------------------------------------


def test_phase_retries_reads_malformed_retry_count_safely(edge_db):
    df = reliability.phase_retries(edge_db).set_index("phase")
    # "bad" (-4) and "nested" (an object) are never valid: no row for them.
    assert set(df.index) == {"metadata", "sections", "validation"}
    assert df.loc[
        "metadata", ["attempts_reporting_retries", "attempts_with_phase_retries", "phase_retries"]
    ].tolist() == [1, 1, 2]
    # sections: [1, "x", -1, 2, null, {}, true] -> 3; [] -> 0 (known, no retry); "3" -> unknown.
    assert df.loc[
        "sections", ["attempts_reporting_retries", "attempts_with_phase_retries", "phase_retries"]
    ].tolist() == [2, 1, 3]
    assert df.loc["validation", "phase_retries"] == 1.5
    assert df.loc["sections", "phase_retries_per_attempt"] == 1.5


def test_stale_pending_edges(edge_db):
    df = reliability.stale_pending(edge_db)
    # Only generation 10: generation 11 is 5 minutes old, generation 22 started before the window.
    assert df["generation_id"].astype(str).tolist() == [_gid(10)]
    assert 19 < df["age_minutes"].iloc[0] < 60
    assert reliability.stale_pending(edge_db, minutes=25).empty
    assert set(reliability.stale_pending(edge_db, minutes=1)["generation_id"].astype(str)) == {_gid(10), _gid(11)}
    with_tests = Filters(since=edge_db.since, until=edge_db.until, include_tests=True)
    assert len(reliability.stale_pending(with_tests)) == 1


def test_edge_rates_and_costs(edge_db):
    s = reports.summary(edge_db)
    over = reliability.rates_over_time(edge_db)
    assert over["generations"].sum() == s["generations"] == 10  # 1-5, 7-11 (6 is a test)
    assert over["attempts"].sum() == s["attempts"] == 13
    by_model = reliability.rates_by(edge_db, "model_used").set_index("model_used")
    # m2: generations 3 (failed, then success), 4 (timeout, then failed), 8 (failed), 11 (pending).
    assert by_model.loc["m2", "generations"] == 4
    assert by_model.loc["m2", "recovered_by_retry"] == 1
    assert math.isclose(by_model.loc["m2", "success_rate"], 1 / 3)
    assert by_model.loc["m2", "first_attempt_success_rate"] == 0
    assert by_model.loc["m2", "timeouts"] == 1 and by_model.loc["m2", "failures"] == 3
    cost = reliability.failed_attempt_cost(edge_db)
    total = cost[cost["is_total"]].iloc[0]
    assert total["failures"] == 6 and total["timeouts"] == 1
    assert total["lost_cost_usd"] == 0.5  # "0.7" is a string: unknown, not counted
    assert math.isclose(total["failed_time_h"], (1 + 2 + 3 + 4 + 1 + 1) / 3600)
    assert math.isclose(total["timeout_time_h"], 30 / 3600)
    assert math.isclose(total["failure_cost_share"], 0.5 / 0.52)


# --- Empty database -------------------------------------------------------------------------------------


def test_every_query_on_empty_db(empty_db):
    assert reliability.rates_over_time(WINDOW).empty
    assert reliability.rates_over_time(SHORT).empty
    assert reliability.rates_by(WINDOW, "model_used").empty
    assert reliability.rates_by(WINDOW, "story_type").empty
    assert reliability.phase_retries(WINDOW).empty
    assert reliability.stale_pending(WINDOW).empty
    cost = reliability.failed_attempt_cost(WINDOW)
    assert len(cost) == 1 and bool(cost["is_total"].iloc[0])
    assert cost["lost_cost_usd"].iloc[0] == 0 and cost["failures"].iloc[0] == 0
    assert pd.isna(cost["failure_cost_share"].iloc[0])
