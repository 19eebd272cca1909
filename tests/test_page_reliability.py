"""The Reliability page in AppTest: KPIs equal the queries' figures, every table is there with a CSV
named after the filters, hourly buckets on short windows, edge data and an empty database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from queries import reliability, reports
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


def open_page(f: Filters, offered: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    params = {"since": f"{f.since:%Y-%m-%d}", "until": f"{f.until:%Y-%m-%d}"}
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    if offered is not None:
        offered.clear()  # keep only what this page offers, not the Overview's files
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/reliability.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Reliability"
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table_with(at: AppTest, *columns: str):
    found = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert found, f"no table with {columns}"
    return found[0]


def test_reliability_page_on_demo(demo_db, offered):
    at = open_page(WINDOW, offered)
    s = reports.summary(WINDOW)
    stale = reliability.stale_pending(WINDOW)
    cost = reliability.failed_attempt_cost(WINDOW)
    total = cost[cost["is_total"]].iloc[0]
    m = metrics(at)
    assert m["Success rate"] == fmt.pct(s["success_rate"])
    assert m["First-attempt success"] == fmt.pct(s["first_attempt_success_rate"])
    assert m["Attempt success rate"] == fmt.pct(s["attempt_success_rate"])
    assert m["Recovered by retry"] == fmt.count(s["recovered_by_retry"])
    assert m["Retry rate"] == fmt.pct(s["retry_rate"])
    assert m["Cost of failed attempts"] == fmt.usd(total["lost_cost_usd"])
    assert m["Stale pending (> 15 min)"] == fmt.count(len(stale))
    assert all(x.help for x in at.metric)  # every KPI has its tooltip
    assert [h.value for h in at.subheader][:1] == ["Success rates per day"]

    assert len(table_with(at, "bucket", "success_rate", "first_attempt_success_rate", "timeouts")) >= 30
    assert list(table_with(at, "model_used", "first_attempt_success_rate")["model_used"]) == list(
        reliability.rates_by(WINDOW, "model_used")["model_used"]
    )
    assert set(table_with(at, "story_type", "success_rate")["story_type"]) == {"child", "hero", "combined"}
    assert table_with(at, "attempts", "succeeded", "failed_final")["generations"].sum() == s["generations"]
    assert len(table_with(at, "failed_cost_usd", "timeout_cost_usd")) == len(cost) - 1  # models, total on top
    assert set(table_with(at, "phase", "phase_retries")["phase"]) == {"metadata", "sections"}
    if stale.empty:  # the demo's one lost attempt is older than this window
        assert any("No attempt of these generations has been pending" in x.value for x in at.success)
    else:
        assert len(table_with(at, "generation_id", "age_minutes")) == len(stale)

    d = WINDOW.describe()
    assert set(offered) == {
        f"genlens_{name}_{d}.csv"
        for name in (
            "success_rates_per_day",
            "reliability_by_model_used",
            "reliability_by_story_type",
            "retries",
            "failed_attempt_cost_by_model",
            "phase_retries",
        )
        + (() if stale.empty else ("stale_pending",))
    }
    assert offered[f"genlens_retries_{d}.csv"] == dataframe_csv(reports.fetch_report("retries", WINDOW))
    assert offered[f"genlens_reliability_by_model_used_{d}.csv"] == dataframe_csv(
        reliability.rates_by(WINDOW, "model_used")
    )


def test_reliability_page_hourly_on_three_days(demo_db):
    f = Filters(since=datetime(2026, 11, 18, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
    at = open_page(f)
    assert "Success rates per hour" in [h.value for h in at.subheader]
    assert len(table_with(at, "bucket", "success_rate")) == len(reliability.rates_over_time(f)) > 24


def test_reliability_page_on_edge_data(edge_db):
    at = open_page(edge_db)
    m = metrics(at)
    assert m["Stale pending (> 15 min)"] == "1"
    assert m["Cost of failed attempts"] == fmt.usd(0.5)
    assert set(table_with(at, "phase", "phase_retries")["phase"]) == {"metadata", "sections", "validation"}
    assert [str(g) for g in table_with(at, "generation_id", "age_minutes")["generation_id"]] == [
        "00000000-0000-0000-0000-00000000000a"
    ]


def test_reliability_page_on_empty_db(empty_db):
    at = open_page(WINDOW)
    assert any("No generations in this window" in i.value for i in at.info)
    assert not at.metric and not at.dataframe
