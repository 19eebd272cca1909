"""The Cost & Quality page in AppTest: KPIs and tables from the queries, thresholds in the URL,
the outlier lists and their full CSVs, empty states."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from queries import cost_quality as cq
from queries import reports
from queries.filters import Filters
from ui import format as fmt

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SINCE, UNTIL = "2026-10-21", "2026-11-21"
W = Filters(since=datetime(2026, 10, 21, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))


def open_cost(since: str = SINCE, until: str = UNTIL, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    base = {"since": since, "until": until, **params}
    for k, v in base.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    for k, v in base.items():
        at.query_params[k] = v
    at.switch_page("pages/cost_quality.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Cost & Quality"
    return at


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def tab_labels(at: AppTest) -> list[str]:
    return [t.label for t in at.tabs]


def test_kpis_and_tables_on_demo_data(demo_db):
    at = open_cost()
    summary = reports.summary(W)
    assert metric(at, "Total cost").value == fmt.usd(summary["total_cost_usd"])
    assert metric(at, "Cost per success").value == fmt.usd(summary["cost_per_success_usd"])
    assert metric(at, "Avg quality").value == fmt.score(summary["avg_quality"])
    assert metric(at, "Cost per success").help  # glossary tooltip
    counts = cq.outlier_counts(W, cq.DEFAULT_THRESHOLDS)
    assert metric(at, "Quality below 0.7").value == fmt.pct(counts["low_quality"] / counts["with_quality"])
    tables = [d.value for d in at.dataframe]
    by_model = cq.by_model(W)
    assert any(list(t.columns) == list(by_model.columns) and len(t) == len(by_model) for t in tables)
    assert any("phase" in t.columns and set(t["phase"]) == {"metadata", "sections", "validation"} for t in tables)
    assert any("bin" in t.columns and t["attempts"].sum() == counts["with_quality"] for t in tables)
    # The three lists, each labelled with its full size.
    labels = tab_labels(at)
    for kind, label in (("expensive", "Expensive"), ("slow", "Slow"), ("low_quality", "Low quality")):
        assert f"{label} ({counts[kind]:,})" in labels
    assert not at.warning


def test_thresholds_from_the_url(demo_db):
    at = open_cost(cost_gt="0.1", slow_ms="60000", quality_lt="0.8")
    assert at.number_input(key="cq_cost_gt").value == pytest.approx(0.1)
    assert at.number_input(key="cq_slow_ms").value == pytest.approx(60000)
    assert at.number_input(key="cq_quality_lt").value == pytest.approx(0.8)
    assert at.query_params["cost_gt"] in ("0.1", ["0.1"])
    t = cq.Thresholds(cost_gt=0.1, slow_ms=60000, quality_lt=0.8)
    counts = cq.outlier_counts(W, t)
    labels = tab_labels(at)
    assert f"Expensive ({counts['expensive']:,})" in labels
    assert f"Slow ({counts['slow']:,})" in labels
    assert f"Low quality ({counts['low_quality']:,})" in labels
    low = next(
        d.value for d in at.dataframe if "quality" in d.value.columns and "duration_ms" in d.value.columns
        and d.value["quality"].notna().all() and (d.value["quality"] < 0.8).all() and len(d.value) == 500
    )  # fmt: skip
    assert low["quality"].is_monotonic_increasing


def test_bad_thresholds_warn_and_use_defaults(demo_db):
    at = open_cost(cost_gt="abc", slow_ms="-5", quality_lt="2")
    warnings = " ".join(w.value for w in at.warning)
    assert "cost_gt" in warnings and "slow_ms" in warnings and "quality_lt" in warnings
    assert at.number_input(key="cq_cost_gt").value == pytest.approx(0.05)
    assert at.number_input(key="cq_slow_ms").value == pytest.approx(30000)
    assert at.number_input(key="cq_quality_lt").value == pytest.approx(0.7)
    for p in ("cost_gt", "slow_ms", "quality_lt"):
        assert p not in at.query_params


def test_changing_a_threshold_updates_the_url_and_lists(demo_db):
    at = open_cost()
    at.number_input(key="cq_quality_lt").set_value(0.6).run()
    assert not at.exception
    assert at.query_params["quality_lt"] in ("0.6", ["0.6"])
    counts = cq.outlier_counts(W, cq.Thresholds(quality_lt=0.6))
    assert f"Low quality ({counts['low_quality']:,})" in tab_labels(at)
    assert metric(at, "Quality below 0.6")


def test_outlier_csvs_are_the_full_lists(demo_db, offered):
    open_cost(quality_lt="0.9")
    counts = cq.outlier_counts(W, cq.Thresholds(quality_lt=0.9))
    assert counts["low_quality"] > 500  # more than the table shows
    build = offered[f"genlens_low_quality_{W.describe()}.csv"]
    assert callable(build)
    lines = build().decode().splitlines()
    assert len(lines) == counts["low_quality"] + 1
    assert lines[0].startswith("generation_id,attempt_number,model_used")
    # The small tables offer exactly what they show.
    assert offered[f"genlens_cost_by_model_{W.describe()}.csv"].decode().count("\n") == len(cq.by_model(W)) + 1


def test_per_model_phases(demo_db):
    at = open_cost()
    at.toggle(key="cq_phase_per_model").set_value(True).run()
    assert not at.exception
    phases = next(d.value for d in at.dataframe if "phase" in d.value.columns)
    assert "model_used" in phases.columns
    assert phases["model_used"].nunique() == len(cq.by_model(W))


def test_empty_window(demo_db):
    at = open_cost(since="2020-01-01", until="2020-01-08")
    assert any("No generations in this window" in i.value for i in at.info)
    assert not at.dataframe


def test_empty_database(empty_db):
    at = open_cost(cost_gt="0.2")
    assert any("No generations in this window" in i.value for i in at.info)
