"""Cost & Quality queries on the demo data, checked against the reports and against the attempts
report's rows recomputed in Python; every query on the empty database returns nothing."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from queries import cost_quality as cq
from queries import reports
from queries.filters import Filters

W = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


@pytest.fixture
def attempts(demo_db) -> pd.DataFrame:
    return reports.fetch_report("attempts", W)


def test_by_model_agrees_with_reports(demo_db):
    got = cq.by_model(W).set_index("model_used")
    summary = reports.summary(W)
    assert got["total_cost_usd"].sum() == pytest.approx(summary["total_cost_usd"], rel=1e-9)
    assert got["attempts"].sum() == summary["attempts"]
    assert got["total_tokens"].sum() == summary["total_tokens"]
    ref = reports.fetch_report("by_model", W).set_index("model_used")
    assert set(got.index) == set(ref.index)
    for col in ("attempts", "successes", "total_cost_usd", "avg_quality", "p50_latency_ms", "p95_latency_ms"):
        assert np.allclose(got[col].astype(float), ref.loc[got.index, col].astype(float), equal_nan=True), col
    # Highest cost first.
    assert list(got["total_cost_usd"]) == sorted(got["total_cost_usd"], reverse=True)


def test_by_model_averages(attempts):
    got = cq.by_model(W).set_index("model_used")
    for model, part in attempts.groupby("model_used"):
        row = got.loc[model]
        assert row["attempts_with_cost"] == part["cost_usd"].notna().sum()
        assert row["avg_cost_usd"] == pytest.approx(part["cost_usd"].mean())
        successes = (part["status"] == "success").sum()
        assert row["cost_per_success_attempt_usd"] == pytest.approx(part["cost_usd"].sum() / successes)


def test_cost_by_day_sums_to_the_daily_report(demo_db):
    got = cq.cost_by_day(W)
    daily = reports.fetch_report("daily", W).set_index("day")
    per_day = got.groupby("day")[["total_cost_usd", "attempts"]].sum()
    assert list(per_day.index) == list(daily.index)
    assert np.allclose(per_day["total_cost_usd"], daily["total_cost_usd"])
    assert (per_day["attempts"] == daily["attempts"]).all()
    assert got["model_used"].nunique() > 1


def test_cost_by_story_type(attempts):
    got = cq.cost_by_story_type(W).set_index("story_type")
    summary = reports.summary(W)
    assert got["total_cost_usd"].sum() == pytest.approx(summary["total_cost_usd"], rel=1e-9)
    assert got["attempts"].sum() == summary["attempts"]
    assert got["generations"].sum() == summary["generations"]  # a generation has one story type
    for story_type, part in attempts.groupby("story_type"):
        assert got.loc[story_type, "total_cost_usd"] == pytest.approx(part["cost_usd"].sum())
        assert got.loc[story_type, "generations"] == part["generation_id"].nunique()
    row = got.iloc[0]
    assert row["cost_per_success_usd"] == pytest.approx(row["total_cost_usd"] / row["succeeded"])


def test_phase_usage_adds_up_to_total_tokens(demo_db):
    phases = cq.phase_usage(W)
    assert list(phases["phase"]) == ["metadata", "sections", "validation"]
    # The demo generator's phase tokens add up to total_tokens.total on every well-formed attempt.
    assert phases["phase_tokens"].sum() == reports.summary(W)["total_tokens"]
    assert (phases["avg_phase_tokens"] * phases["attempts_with_phase_tokens"]).sum() == pytest.approx(
        phases["phase_tokens"].sum()
    )
    # Sections is where the tokens and the time go.
    by_phase = phases.set_index("phase")
    assert by_phase.loc["sections", "avg_phase_tokens"] > by_phase.loc["metadata", "avg_phase_tokens"]
    assert by_phase.loc["sections", "avg_phase_duration_ms"] > by_phase.loc["validation", "avg_phase_duration_ms"]


def test_phase_usage_per_model_sums_to_the_whole(demo_db):
    whole = cq.phase_usage(W).set_index("phase")
    per_model = cq.phase_usage(W, per_model=True)
    assert per_model["model_used"].nunique() > 1
    sums = per_model.groupby("phase")[["phase_tokens", "attempts_with_phase_duration", "phase_duration_ms"]].sum()
    for col in sums.columns:
        assert np.allclose(sums.loc[whole.index, col], whole[col]), col


def test_phase_usage_follows_filters(demo_db):
    model = cq.by_model(W)["model_used"].iloc[0]
    one = cq.phase_usage(replace(W, models=(model,)))
    per_model = cq.phase_usage(W, per_model=True)
    mine = per_model[per_model["model_used"] == model].set_index("phase")
    assert list(one["phase_tokens"]) == list(mine.loc[one["phase"], "phase_tokens"])


def test_histogram_counts_every_known_quality(attempts):
    hist = cq.quality_histogram(W)
    assert list(hist["bin"]) == list(range(1, 21))
    known = attempts["quality"].dropna()
    assert hist["attempts"].sum() == len(known) > 0
    # The same bins in Python, in exact decimals: [k/20, (k+1)/20), the last one closed at 1.0.
    expected = [0] * 20
    for q in known:
        expected[min(int(Decimal(repr(q)) * 20), 19)] += 1
    assert list(hist["attempts"]) == expected
    assert hist["bin_start"].iloc[0] == 0 and hist["bin_end"].iloc[-1] == 1


def test_histogram_bins_are_bounded():
    with pytest.raises(ValueError):
        cq.quality_histogram(W, bins=0)


@pytest.mark.parametrize("kind,col,threshold", [("expensive", "cost_usd", 0.05), ("low_quality", "quality", 0.7)])
def test_outlier_lists_match_the_attempts(attempts, kind, col, threshold):
    rows = cq.outliers(kind, W, threshold, limit=None)
    values = attempts[col]
    beyond = values > threshold if kind == "expensive" else values < threshold
    assert len(rows) == beyond.sum() > 0
    assert set(zip(rows["generation_id"].astype(str), rows["attempt_number"], strict=True)) == set(
        zip(attempts.loc[beyond, "generation_id"].astype(str), attempts.loc[beyond, "attempt_number"], strict=True)
    )
    # Worst first.
    assert list(rows[col]) == sorted(rows[col], reverse=kind == "expensive")


def test_slow_list_respects_its_threshold(demo_db):
    rows = cq.outliers("slow", W, 30_000, limit=None)
    assert len(rows) > 0
    assert (rows["duration_ms"] > 30_000).all()
    assert list(rows["duration_ms"]) == sorted(rows["duration_ms"], reverse=True)
    stricter = cq.outliers("slow", W, 60_000, limit=None)
    assert 0 < len(stricter) < len(rows)
    assert (stricter["duration_ms"] > 60_000).all()


def test_outlier_limit_and_counts(demo_db):
    t = cq.Thresholds(cost_gt=0.05, slow_ms=30_000, quality_lt=0.7)
    counts = cq.outlier_counts(W, t)
    for kind, threshold in (("expensive", t.cost_gt), ("slow", t.slow_ms), ("low_quality", t.quality_lt)):
        full = cq.outliers(kind, W, threshold, limit=None)
        assert counts[kind] == len(full)
        head = cq.outliers(kind, W, threshold, limit=10)
        assert len(head) == 10
        assert list(head["generation_id"]) == list(full["generation_id"].head(10))
        assert list(head["attempt_number"]) == list(full["attempt_number"].head(10))
    assert counts["with_quality"] == int(cq.quality_histogram(W)["attempts"].sum())


def test_outlier_csv_has_the_full_list(demo_db):
    out = io.BytesIO()
    n = cq.write_outliers_csv("low_quality", W, 0.7, out)
    lines = out.getvalue().decode().splitlines()
    assert lines[0].split(",")[:3] == ["generation_id", "attempt_number", "model_used"]
    assert n == len(lines) - 1 == cq.outlier_counts(W, cq.Thresholds())["low_quality"]


@pytest.mark.parametrize(
    "name,raw,value",
    [
        ("cost_gt", "0.1", 0.1),
        ("cost_gt", " 2 ", 2.0),
        ("slow_ms", "45000", 45000.0),
        ("quality_lt", "1", 1.0),
        ("quality_lt", "0", 0.0),
    ],
)
def test_parse_threshold_accepts(name, raw, value):
    assert cq.parse_threshold(name, raw) == (value, None)


@pytest.mark.parametrize(
    "name,raw",
    [
        ("cost_gt", "abc"),
        ("cost_gt", "-1"),
        ("slow_ms", "nan"),
        ("slow_ms", "inf"),
        ("quality_lt", "1.5"),
        ("quality_lt", ""),
    ],
)
def test_parse_threshold_refuses(name, raw):
    value, warning = cq.parse_threshold(name, raw)
    assert value is None and name in warning


def test_parse_threshold_absent():
    assert cq.parse_threshold("cost_gt", None) == (None, None)


def test_empty_database(empty_db):
    assert cq.by_model(W).empty
    assert cq.cost_by_day(W).empty
    assert cq.cost_by_story_type(W).empty
    assert cq.phase_usage(W).empty
    assert cq.phase_usage(W, per_model=True).empty
    assert cq.quality_histogram(W).empty
    for kind in cq.OUTLIERS:
        assert cq.outliers(kind, W, 0.0).empty
    assert set(cq.outlier_counts(W, cq.Thresholds()).values()) == {0}
    out = io.BytesIO()
    assert cq.write_outliers_csv("expensive", W, 0.0, out) == 0
    assert out.getvalue().decode().count("\n") == 1  # the header alone
