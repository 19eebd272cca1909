"""The metrics layer: one equivalence test generated from the registry, and the registry's own rules.

Every metric with a formula x every dimension x the filter variants below, answered by every
source able to answer it (rollup, facts), must equal the raw path's answer on the demo data and
on the hand-made data (whose raw answers tests/test_reports.py computes by hand).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text

from metrics import planner, registry
from metrics.filters import Filters
from metrics.registry import primitives
from metrics.sources import DIMENSIONS
from tests.conftest import DEMO_END

DEMO_WINDOW = Filters(
    since=(DEMO_END - timedelta(days=30)).replace(hour=0), until=(DEMO_END + timedelta(days=1)).replace(hour=0)
)
WIDE = Filters(since=datetime(2020, 1, 1, tzinfo=UTC), until=datetime(2030, 1, 1, tzinfo=UTC))
BREAKDOWNS = [
    (),
    ("model_used",),
    ("story_type",),
    ("day",),
    ("day_bucket",),
    ("hour_bucket",),
    ("day", "model_used"),
    ("attempts_taken",),
    ("story_type_each",),
    ("phase",),
    ("model_used", "phase"),
    ("quality_bin_20",),
    ("quality_bin_7",),
    ("error_signature",),
    ("error_signature", "day"),
    ("failure_signature", "day"),
    ("retry_phase",),
]
# what no rollup keeps: per-attempt times, model lists, ids
NOT_ROLLED_UP = (registry.Extreme, registry.Joined, registry.Newest)


def _rolled_up(name: str) -> bool:
    return not any(isinstance(p, NOT_ROLLED_UP) for p in primitives(registry.metric(name).formula))


# the bound of each metric that compares a value with one (the outlier counts), near the demo's
# medians so that both sides of each bound hold attempts
BOUNDS = {"cost_gt": 0.004, "slow_ms": 20_000.0, "quality_lt": 0.8}


def _bounds(names) -> dict[str, float]:
    return {b: BOUNDS[b] for n in names for b in registry.metric(n).bounds}


def _prims(name: str) -> tuple:
    return primitives(registry.metric(name).formula)


def _names(by: tuple[str, ...]) -> list[str]:
    """The metrics a breakdown can carry: a generations-only one takes generation counts only."""
    names = registry.computable(by, bounded=True)
    if any(DIMENSIONS[d].att is None for d in by):
        names = [n for n in names if all(p.grain == "generation" for p in primitives(registry.metric(n).formula))]
    each_and_more = any(DIMENSIONS[d].each for d in by) and len(by) > 1
    if each_and_more or any(not DIMENSIONS[d].gen for d in by):  # breakdowns of attempts only
        names = [n for n in names if all(p.grain == "attempt" for p in primitives(registry.metric(n).formula))]
    return names


VARIANTS = {
    "none": {},
    "one-model": {"models": ("openai/gpt-4o-mini",)},
    "two-models": {"models": ("openai/gpt-4o-mini", "deepseek/deepseek-chat")},
    "type": {"types": ("hero",)},
    "user": "user",  # the demo's busiest user, looked up
    "status": {"statuses": ("failed", "timeout")},
    "tests": {"include_tests": True},
    "hour-edges": {"since": DEMO_END - timedelta(days=9, hours=5), "until": DEMO_END - timedelta(hours=3)},
}


def _frame(source: str, f: Filters, names: list[str], by: tuple[str, ...]) -> pd.DataFrame:
    with planner.only(source):
        # one request per source of the family that answers (a bounded count and a sum are not
        # answered by the same rollup), side by side
        parts: dict[str, list[str]] = {}
        for n in names:
            parts.setdefault(planner.explain([n], f, by, bounds=_bounds([n])).source, []).append(n)
        frames = [planner.frame(f, ns, by, bounds=_bounds(ns)) for ns in parts.values()]
    cols = [DIMENSIONS[d].column for d in by]
    df = frames[0]
    for more in frames[1:]:
        df = df.merge(more, on=cols, how="outer") if cols else pd.concat([df, more], axis=1)
    df = df[cols + list(names)]
    cols = [DIMENSIONS[d].column for d in by]
    if cols:
        df = df.sort_values(cols, na_position="last", kind="stable").reset_index(drop=True)
    return df


def _compare(f: Filters, by: tuple[str, ...]) -> dict[str, list[str]]:
    """Each able source against raw, per metric; returns source -> metrics it answered."""
    names = _names(by)
    raw = _frame("raw", f, names, by)
    answered: dict[str, list[str]] = {}
    for source in ("facts", "rollup"):
        able = [n for n in names if source in planner.able([n], f, by, bounds=_bounds([n]))]
        if not able:
            continue
        got = _frame(source, f, able, by)
        keys = [DIMENSIONS[d].column for d in by]
        pd.testing.assert_frame_equal(
            got, raw[keys + able], check_dtype=False, rtol=1e-12, obj=f"{source} by {by or 'nothing'}"
        )
        answered[source] = able
    return answered


def _busiest_user(db) -> str:
    with db.engine.connect() as conn:
        return str(
            conn.execute(
                text(
                    f'SELECT user_id FROM "{db.schema}".generations WHERE user_id IS NOT NULL'
                    " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
                )
            ).scalar()
        )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_metric_by_every_dimension_equals_raw_on_demo_data(demo_db, variant):
    spec = VARIANTS[variant]
    f = replace(DEMO_WINDOW, user=_busiest_user(demo_db)) if spec == "user" else replace(DEMO_WINDOW, **spec)
    seen: dict[str, set[str]] = {}
    for by in BREAKDOWNS:
        for source, names in _compare(f, by).items():
            seen.setdefault(source, set()).update(names)
    # the facts table answers every metric under every filter; the rollup only where it may
    every = {
        n for dim in (None, "phase", "retry_phase") for n in registry.computable((dim,) if dim else (), bounded=True)
    }
    assert seen["facts"] == every
    every = {n for n in every if _rolled_up(n)}
    if variant in ("none", "tests", "one-model", "two-models", "type"):  # every rollup keys model and type
        assert seen["rollup"] == every, sorted(seen["rollup"] ^ every)
    else:
        assert "rollup" not in seen


def test_every_metric_by_every_dimension_equals_raw_on_handmade_data(handmade_db):
    for by in BREAKDOWNS:
        # no rollup has hours; 7 bins do not divide the quality rollup's 100
        only_facts = {"hour_bucket", "quality_bin_7"} & set(by)
        assert set(_compare(WIDE, by)) == ({"facts"} if only_facts else {"facts", "rollup"}), by


def test_the_planner_takes_the_cheapest_able_source_and_says_why(demo_db):
    plan = planner.explain(["success_rate"], DEMO_WINDOW)
    assert plan.source == "rollup" and plan.declined == ()
    # any model and type filter: the pure generations' sums and the others counted live
    plan = planner.explain(["success_rate", "total_cost_usd"], replace(DEMO_WINDOW, types=("hero",)))
    assert plan.source == "rollup" and plan.declined == ()
    # generations of each story type too (a generation under each type its remaining attempts have)
    plan = planner.explain(["succeeded"], replace(DEMO_WINDOW, types=("hero",)), by=("story_type_each",))
    assert plan.source == "rollup" and plan.declined == ()
    # percentiles under a type filter: the latency histogram has a story type key
    plan = planner.explain(["p95_latency_ms"], replace(DEMO_WINDOW, types=("hero",)))
    assert plan.source == "rollup" and plan.declined == ()
    plan = planner.explain(["succeeded"], DEMO_WINDOW, by=("attempts_taken",))
    assert plan.source == "retries_rollup" and plan.declined == ()
    with pytest.raises(ValueError, match="groups generations"):
        planner.explain(["attempts"], DEMO_WINDOW, by=("attempts_taken",))
    plan = planner.explain(["p95_latency_ms"], DEMO_WINDOW, by=("story_type",))
    assert plan.source == "facts"
    assert plan.declined == (("rollup", "percentiles by a dimension other than model"),)
    # attempt sums under several models come from the rollup, generation counts do not
    two = replace(DEMO_WINDOW, models=("openai/gpt-4o-mini", "deepseek/deepseek-chat"))
    assert planner.explain(["total_cost_usd"], two).source == "rollup"
    assert planner.explain(["generations"], two).source == "rollup"  # pure sums + the mixed, live


def test_undeclared_names_are_rejected(demo_db):
    with pytest.raises(registry.UnknownMetric):
        planner.frame(DEMO_WINDOW, ["cost_per_sucess_usd"])
    with pytest.raises(ValueError, match="unknown dimension"):
        planner.frame(DEMO_WINDOW, ["attempts"], by=["model"])
    with pytest.raises(ValueError, match="cannot order by"):
        planner.frame(DEMO_WINDOW, ["attempts"], order="attempts; DROP TABLE generations")
    with pytest.raises(ValueError, match="exists only by phase"):
        planner.frame(DEMO_WINDOW, ["phase_tokens"])
    with pytest.raises(ValueError, match="by phase there is no"):
        planner.frame(DEMO_WINDOW, ["attempts"], by=["phase"])
    with pytest.raises(ValueError, match="computed by"):
        planner.frame(DEMO_WINDOW, ["stale_pending"])


def test_one_name_one_meaning():
    metrics = registry.METRICS
    assert "cost_per_success_usd" in metrics and "cost_per_success_attempt_usd" in metrics
    assert metrics["cost_per_success_usd"].formula != metrics["cost_per_success_attempt_usd"].formula
    # no two names share a formula: a second name for one meaning is as confusing as two meanings
    formulas = [m.formula for m in metrics.values() if m.formula is not None]
    assert len(formulas) == len(set(formulas))
    # and a metric's name is never also a field's (a column means one thing on every table)
    assert not set(metrics) & set(registry.FIELDS)


def test_the_glossary_page_is_the_registry():
    from queries import glossary
    from tests.conftest import ROOT

    path = ROOT / "docs" / "glossary.md"
    assert path.read_text() == glossary.markdown(), "run: python -m queries.glossary > docs/glossary.md"
    assert "`tokens_per_success`" in path.read_text()


def test_a_new_metric_reaches_the_cli_report(demo_db):
    """The `metrics` report holds every metric with a formula, so a registry entry is enough."""
    import io

    from queries import export, reports

    assert reports.COLUMNS["metrics"] == registry.computable()
    buf = io.StringIO()
    export.write_report("metrics", DEMO_WINDOW, buf)
    header, row = buf.getvalue().splitlines()[:2]
    assert header.split(",") == registry.computable()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    summary = reports.summary(DEMO_WINDOW)
    # successful generations from another report's own SQL: the retries report's `succeeded`
    succeeded = reports.fetch_report("retries", DEMO_WINDOW)["succeeded"].sum()
    assert float(values["tokens_per_success"]) == pytest.approx(summary["total_tokens"] / succeeded, rel=1e-12)
    assert float(values["cost_per_success_usd"]) == pytest.approx(summary["cost_per_success_usd"], rel=1e-12)


def test_bounded_counts_take_their_bound_from_the_request(demo_db):
    names = ["expensive_attempts", "slow_attempts", "low_quality_attempts"]
    plan = planner.explain(names, DEMO_WINDOW, bounds=BOUNDS)
    assert plan.source == "value_index"
    # under a model or type filter too: checked on the rows beyond the bound
    plan = planner.explain(names, replace(DEMO_WINDOW, models=("openai/gpt-4o-mini",)), bounds=BOUNDS)
    assert plan.source == "value_index" and not [d for d in plan.declined if d[0] == "value_index"]
    got = planner.row(DEMO_WINDOW, [*names, "attempts"], bounds=BOUNDS)
    # each bound splits the window's attempts (the counts are neither empty nor everything)
    assert all(0 < got[n] < got["attempts"] for n in names), got
    looser = planner.row(DEMO_WINDOW, ["expensive_attempts"], bounds={"cost_gt": BOUNDS["cost_gt"] * 2})
    assert looser["expensive_attempts"] < got["expensive_attempts"]
    with pytest.raises(ValueError, match="needs a bound 'cost_gt'"):
        planner.row(DEMO_WINDOW, ["expensive_attempts"])
    with pytest.raises(ValueError, match="no metric of the request has a bound"):
        planner.row(DEMO_WINDOW, ["attempts"], bounds={"cost_gt": 1.0})
    with pytest.raises(ValueError, match="finite"):
        planner.row(DEMO_WINDOW, ["expensive_attempts"], bounds={"cost_gt": float("nan")})
    # the metrics report (every metric with no bound to supply) leaves them out
    assert not set(names) & set(registry.computable())


@pytest.mark.parametrize("bound", [0.0, 0.05, 0.7, 0.8, 0.99, 0.805, 1.0])
def test_low_quality_counts_from_the_quality_bins_equal_raw(demo_db, bound):
    """On the quality histogram's bin edges (k/100, k < 100) the count below the bound is a sum of
    bins; elsewhere a range of the value index: both equal the raw table under any filter."""
    from metrics import sources

    bounds = {"quality_lt": bound}
    p = registry.metric("low_quality_attempts").formula.of
    assert (sources._quality_bins(p, {"t_quality_lt": bound}) is not None) == (bound in (0.0, 0.05, 0.7, 0.8, 0.99))
    for f in (
        DEMO_WINDOW,
        replace(DEMO_WINDOW, models=("openai/gpt-4o-mini", "deepseek/deepseek-chat")),
        replace(DEMO_WINDOW, types=("hero",), include_tests=True),
    ):
        assert planner.explain(["low_quality_attempts"], f, bounds=bounds).source == "value_index"
        got = planner.row(f, ["low_quality_attempts"], bounds=bounds)
        with planner.only("raw"):
            raw = planner.row(f, ["low_quality_attempts"], bounds=bounds)
        assert got == raw, (f, bound)
    if bound == 0.8:
        assert got["low_quality_attempts"] > 0
