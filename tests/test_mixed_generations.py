"""Generations whose attempts have several models or story types (a retry on a fallback model, a
retry as another type): under any model and type filter the rollup counts the pure generations
from its sums and these live, and must equal the raw path on every metric and breakdown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from metrics import planner
from metrics.filters import Filters
from tests.rollups import fold
from tests.test_metrics import _compare

SCHEMA = "mixed_scratch"
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
WINDOW = Filters(since=T0 - timedelta(days=12), until=T0 + timedelta(days=1))
BREAKDOWNS = [
    (),
    ("model_used",),
    ("story_type",),
    ("day",),
    ("day_bucket",),
    ("day", "model_used"),
    ("story_type_each",),
    ("attempts_taken",),  # the retries report: pure generations from the rollup, the others live
]
A, B = "openai/gpt-4o-mini", "deepseek/deepseek-chat"
VARIANTS = {
    "two-models": {"models": (A, B)},
    "one-model": {"models": (A,)},
    "type": {"types": ("hero",)},
    "two-types": {"types": ("hero", "child")},
    "model-and-type": {"models": (A,), "types": ("hero",)},
    "tests": {"models": (A, B), "include_tests": True},
}


@pytest.fixture(scope="module")
def mixed(pg_url, admin_engine):
    """Demo rows in which a third of the retried generations retried on another model and a
    sixth as another story type; GenLens pointed at them."""
    from data_access import demo_data
    from data_access.migrate import apply_migrations
    from tests import conftest

    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    apply_migrations(admin_engine, SCHEMA)
    demo_data.load(admin_engine, SCHEMA, 600, days=12, seed=11, end=T0 + timedelta(hours=20))
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                f"UPDATE {SCHEMA}.generations g SET model_used = CASE WHEN g.model_used = :a THEN :b ELSE :a END"
                f" WHERE g.attempt_number = 2 AND abs(hashtext(CAST(g.generation_id AS text))) % 3 = 0"
            ),
            {"a": A, "b": B},
        )
        conn.execute(
            text(
                f"UPDATE {SCHEMA}.generations g SET story_type = CASE WHEN g.story_type = 'hero' THEN 'child'"
                " ELSE 'hero' END"
                f" WHERE g.attempt_number >= 2 AND abs(hashtext(CAST(g.generation_id AS text))) % 6 = 1"
            )
        )
    fold(admin_engine, SCHEMA)
    conftest._loaded.add(SCHEMA)
    yield
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    conftest._loaded.discard(SCHEMA)


def test_the_scratch_data_has_mixed_generations_of_both_kinds(mixed, admin_engine):
    with admin_engine.connect() as conn:
        models, types = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE nm > 1), count(*) FILTER (WHERE nt > 1) FROM ("
                "SELECT generation_id, count(DISTINCT model_used) AS nm, count(DISTINCT story_type) AS nt"
                f" FROM {SCHEMA}.generations GROUP BY 1) AS s"
            )
        ).one()
        impure = conn.execute(
            text(f"SELECT count(DISTINCT generation_id) FROM {SCHEMA}.genlens_facts WHERE NOT pure")
        ).scalar()
    assert models >= 20 and types >= 5
    assert impure >= models  # every generation with two models (or types) is counted live


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_generation_figures_under_model_and_type_filters_equal_raw(mixed, use_schema, variant):
    use_schema(SCHEMA)
    f = replace(WINDOW, **VARIANTS[variant])
    answered: set[str] = set()
    each: set[str] = set()
    retried: set[str] = set()
    for by in BREAKDOWNS:
        got = set(_compare(f, by).get("rollup", []))
        answered |= got
        if by == ("story_type_each",):
            each = got
        if by == ("attempts_taken",):
            retried = got
    # the retries report (generations per attempt count, by final status), equal to raw above
    assert {"generations", "succeeded", "failed_final"} <= retried, retried
    # generations of each story type (a generation retried as another type under both) too
    assert "generations" in each, each
    # the rollup answered generation figures (success rate among them), so the live part was used
    assert {"generations", "success_rate", "first_attempt_success_rate", "avg_attempts_per_generation"} <= answered
    plan = planner.explain(["success_rate"], f)
    assert plan.source == "rollup", plan
