"""Reliability: how often generations and attempts succeed, over time and by model or story type,
what retries recover, what failed attempts cost, retries inside the pipeline's phases, and pending
attempts that never finished.

Every figure is a request to the metrics planner (registered metrics by a dimension); stale
pending is a list over `metrics.scope.scoped` (METRICS.md scope and values).
Generation-level rates (success_rate, first_attempt_success_rate) group a generation by its first
attempt: its start time for time buckets, its model and story type for breakdowns. Attempt-level
figures group each attempt by its own created_at, model and story type. So per-bucket and per-group
counts add up to the summary report's generations and attempts.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from data_access.engine import Database, get_database
from metrics import planner
from metrics.filters import Filters
from metrics.scope import inline_att, scoped
from queries.core import fetch

HOURLY_UP_TO = timedelta(days=3)

RATES = (
    "generations",
    "success_rate",
    "first_attempt_success_rate",
    "attempts",
    "successes",
    "failures",
    "timeouts",
    "attempt_success_rate",
)
BY_RATES = (*RATES, "avg_attempts_per_generation", "retry_rate", "recovered_by_retry")
DIMENSIONS = ("model_used", "story_type")
PHASE_RETRIES = (
    "attempts_reporting_retries",
    "attempts_with_phase_retries",
    "phase_retries",
    "phase_retries_per_attempt",
)
FAILED_COST = (
    "failures",
    "timeouts",
    "failed_cost_usd",
    "timeout_cost_usd",
    "lost_cost_usd",
    "failure_cost_share",
    "failed_time_h",
    "timeout_time_h",
    "lost_time_h",
)


def bucket_for(f: Filters) -> str:
    """'hour' for windows of 3 days or less, else 'day'."""
    return "hour" if f.span <= HOURLY_UP_TO else "day"


def rates_over_time(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Success rates per time bucket (hour when the window is 3 days or less, else day; UTC).

    Grain: one row per bucket with any generation or attempt, oldest first. Generation counts and
    success_rate / first_attempt_success_rate sit in the bucket of the generation's first attempt;
    attempts, successes, failures, timeouts and attempt_success_rate in the bucket of each attempt's
    created_at (a retry after `until` may fall in a bucket past the window). Rates are fractions
    0-1, NULL when nothing finished. Columns: bucket (timestamptz), generations, success_rate,
    first_attempt_success_rate, attempts, successes, failures, timeouts, attempt_success_rate.
    """
    return planner.frame(f, RATES, by=(f"{bucket_for(f)}_bucket",), order="bucket", db=db)


def rates_by(f: Filters, dimension: str, db: Database | None = None) -> pd.DataFrame:
    """Success rates per model (`model_used`) or per story type (`story_type`).

    Grain: one row per value of the dimension, most attempts first. Generation-level columns
    (generations, success_rate, first_attempt_success_rate, avg_attempts_per_generation, retry_rate,
    recovered_by_retry) group a generation by its first attempt's value; attempt-level columns
    (attempts, successes, failures, timeouts, attempt_success_rate) group each attempt by its own.
    Rates are fractions 0-1 (NULL when the denominator is empty); avg attempts is attempts per
    generation of that group. Raises KeyError for an unknown dimension.
    """
    if dimension not in DIMENSIONS:
        raise KeyError(dimension)
    return planner.frame(f, BY_RATES, by=(dimension,), order=f"attempts DESC, {dimension} NULLS LAST", db=db)


def failed_attempt_cost(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Money and time spent on attempts that failed or timed out, per model and in total.

    Grain: one row per model (model of the attempt), plus one total row (is_total true, model_used
    NULL) first; then models by money lost, most first. Columns: is_total, model_used, then
    FAILED_COST (failures and timeouts count the failed and the timed-out attempts). Cost is the sum of known cost_usd (USD; 0
    when none known), time the sum of known latency_ms expressed in hours. Failed and timed-out
    attempts are kept in separate columns. failure_cost_share is (failed + timeout cost) / cost of
    all attempts of that row, a fraction 0-1 (NULL when no cost is known).
    """
    total = planner.frame(f, FAILED_COST, db=db)
    total.insert(0, "model_used", None)
    total.insert(0, "is_total", True)
    models = planner.frame(f, FAILED_COST, by=("model_used",), order="lost_cost_usd DESC, model_used", db=db)
    models.insert(0, "is_total", False)
    return pd.concat([total, models], ignore_index=True)


def phase_retries(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Retries inside the pipeline, per phase, from generation_metadata.retry_count.

    Grain: one row per key of retry_count (a phase, e.g. metadata, sections), most retries first.
    A phase's value counts when it is a non-negative JSON number, or a JSON array (the sum of its
    elements that are non-negative numbers; other elements are ignored); anything else is unknown
    and left out. Malformed metadata never raises. Columns: phase, attempts_reporting_retries
    (attempts with a known value), attempts_with_phase_retries (value > 0), phase_retries (sum,
    count), phase_retries_per_attempt (phase_retries / attempts_reporting_retries).
    """
    return planner.frame(f, PHASE_RETRIES, by=("retry_phase",), order="phase_retries DESC, phase", db=db)


def stale_minutes(db: Database | None = None) -> int:
    """GENLENS_STALE_PENDING_MINUTES of the database's settings (default 15)."""
    return (db or get_database()).settings.stale_pending_minutes


def stale_pending(f: Filters, minutes: int | None = None, db: Database | None = None) -> pd.DataFrame:
    """Pending attempts of generations in scope that started more than `minutes` ago (default:
    GENLENS_STALE_PENDING_MINUTES), measured against the database's now().

    Grain: one row per stale attempt, oldest first. Columns: generation_id (text), attempt_number,
    model_used, story_type, created_at, age_minutes (minutes since created_at, float).
    """
    db = db or get_database()
    minutes = stale_minutes(db) if minutes is None else int(minutes)
    s = scoped(f, db)
    # att inlined: the few pending rows come from their partial index, under any filter (10M, two
    # models: materialising att for gen read every attempt of the window, 4.1 s)
    sql = (
        inline_att(s.text)
        + """
SELECT CAST(generation_id AS text) AS generation_id, attempt_number, model_used, story_type, created_at,
       CAST(extract(epoch FROM now() - created_at) / 60 AS float8) AS age_minutes
FROM att
WHERE status = 'pending' AND created_at < now() - CAST(:stale_minutes AS integer) * interval '1 minute'
ORDER BY created_at, generation_id, attempt_number"""
    )
    return fetch(sql, {**s.params, "stale_minutes": minutes}, s.expanding, db)
