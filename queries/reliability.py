"""Reliability: how often generations and attempts succeed, over time and by model or story type,
what retries recover, what failed attempts cost, retries inside the pipeline's phases, and pending
attempts that never finished.

Every function is one SQL statement over `queries.core.scoped` (METRICS.md scope and values).
Generation-level rates (success_rate, first_attempt_success_rate) group a generation by its first
attempt: its start time for time buckets, its model and story type for breakdowns. Attempt-level
figures group each attempt by its own created_at, model and story type. So per-bucket and per-group
counts add up to the summary report's generations and attempts.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from data_access.engine import Database, get_database
from queries.core import TERMINAL, fetch, scoped
from queries.filters import Filters

# Time buckets: an identifier-like SQL literal, so only from this whitelist.
BUCKETS = {"hour": "hour", "day": "day"}
HOURLY_UP_TO = timedelta(days=3)

# Breakdowns: output column -> (per-generation column of `g1`, attempt column of `att`).
DIMENSIONS = {
    "model_used": ("first_model", "model_used"),
    "story_type": ("first_type", "story_type"),
}


def _rate(num: str, den: str) -> str:
    return f"(CAST({num} AS float8) / NULLIF({den}, 0))"


def bucket_for(f: Filters) -> str:
    """'hour' for windows of 3 days or less, else 'day'."""
    return "hour" if f.span <= HOURLY_UP_TO else "day"


def _bucket(column: str, unit: str) -> str:
    # date_trunc in UTC, returned as timestamptz.
    return f"(date_trunc('{BUCKETS[unit]}', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


_GEN_COUNTS = f"""count(*) AS generations,
           count(*) FILTER (WHERE final_status = 'success') AS final_success,
           count(*) FILTER (WHERE final_status IN {TERMINAL}) AS final_terminal,
           count(*) FILTER (WHERE first_status = 'success') AS first_success,
           count(*) FILTER (WHERE first_status IN {TERMINAL}) AS first_terminal,
           count(*) FILTER (WHERE attempts > 1) AS retried,
           count(*) FILTER (WHERE attempts > 1 AND final_status = 'success') AS recovered,
           0 AS attempts, 0 AS successes, 0 AS failures, 0 AS timeouts, 0 AS terminal_attempts,
           sum(attempts) AS gen_attempts"""

_ATT_COUNTS = """0, 0, 0, 0, 0, 0, 0,
           count(*),
           count(*) FILTER (WHERE status = 'success'),
           count(*) FILTER (WHERE status = 'failed'),
           count(*) FILTER (WHERE status = 'timeout'),
           count(*) FILTER (WHERE terminal),
           0"""

_SUMS = ", ".join(
    f"sum({c}) AS {c}"
    for c in (
        "generations",
        "final_success",
        "final_terminal",
        "first_success",
        "first_terminal",
        "retried",
        "recovered",
        "attempts",
        "successes",
        "failures",
        "timeouts",
        "terminal_attempts",
        "gen_attempts",
    )
)

_RATES = f"""CAST(generations AS bigint) AS generations,
       {_rate("final_success", "final_terminal")} AS success_rate,
       {_rate("first_success", "first_terminal")} AS first_attempt_success_rate,
       CAST(attempts AS bigint) AS attempts,
       CAST(successes AS bigint) AS successes,
       CAST(failures AS bigint) AS failures,
       CAST(timeouts AS bigint) AS timeouts,
       {_rate("successes", "terminal_attempts")} AS attempt_success_rate"""


def rates_over_time(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Success rates per time bucket (hour when the window is 3 days or less, else day; UTC).

    Grain: one row per bucket with any generation or attempt, oldest first. Generation counts and
    success_rate / first_attempt_success_rate sit in the bucket of the generation's first attempt;
    attempts, successes, failures, timeouts and attempt_success_rate in the bucket of each attempt's
    created_at (a retry after `until` may fall in a bucket past the window). Rates are fractions
    0-1, NULL when nothing finished. Columns: bucket (timestamptz), generations, success_rate,
    first_attempt_success_rate, attempts, successes, failures, timeouts, attempt_success_rate.
    """
    unit = bucket_for(f)
    from queries import rollup

    if unit == "day" and rollup.usable(f, db, one_model=True):
        return rollup.rates_by_day_frame(f, db)
    s = scoped(f, db)
    sql = (
        s.text
        + s.g1
        + f"""
, parts AS (
    SELECT {_bucket("first_at", unit)} AS bucket, {_GEN_COUNTS}
    FROM g1 GROUP BY 1
    UNION ALL
    SELECT {_bucket("created_at", unit)}, {_ATT_COUNTS}
    FROM att GROUP BY 1
), b AS (
    SELECT bucket, {_SUMS} FROM parts GROUP BY bucket
)
SELECT bucket, {_RATES}
FROM b
ORDER BY bucket"""
    )
    return fetch(sql, s.params, s.expanding, db)


def rates_by(f: Filters, dimension: str, db: Database | None = None) -> pd.DataFrame:
    """Success rates per model (`model_used`) or per story type (`story_type`).

    Grain: one row per value of the dimension, most attempts first. Generation-level columns
    (generations, success_rate, first_attempt_success_rate, avg_attempts_per_generation, retry_rate,
    recovered_by_retry) group a generation by its first attempt's value; attempt-level columns
    (attempts, successes, failures, timeouts, attempt_success_rate) group each attempt by its own.
    Rates are fractions 0-1 (NULL when the denominator is empty); avg attempts is attempts per
    generation of that group. Raises KeyError for an unknown dimension.
    """
    gcol, acol = DIMENSIONS[dimension]
    from queries import rollup

    if rollup.usable(f, db, one_model=True):
        return rollup.rates_by_frame(f, dimension, db)
    s = scoped(f, db)
    sql = (
        s.text
        + s.g1
        + f"""
, parts AS (
    SELECT {gcol} AS k, {_GEN_COUNTS}
    FROM g1 GROUP BY 1
    UNION ALL
    SELECT {acol}, {_ATT_COUNTS}
    FROM att GROUP BY 1
), b AS (
    SELECT k, {_SUMS} FROM parts GROUP BY k
)
{_by_select(dimension)}"""
    )
    return fetch(sql, s.params, s.expanding, db)


def _by_select(dimension: str) -> str:
    """rates_by's output from CTE b (one row of _SUMS per value k); shared with queries.rollup."""
    return f"""SELECT k AS {dimension}, {_RATES},
       {_rate("gen_attempts", "generations")} AS avg_attempts_per_generation,
       {_rate("retried", "generations")} AS retry_rate,
       CAST(recovered AS bigint) AS recovered_by_retry
FROM b
ORDER BY b.attempts DESC, k NULLS LAST"""


def failed_attempt_cost(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Money and time spent on attempts that failed or timed out, per model and in total.

    Grain: one row per model (model of the attempt), plus one total row (is_total true, model_used
    NULL) first; then models by money lost, most first. Cost is the sum of known cost_usd (USD; 0
    when none known), time the sum of known latency_ms expressed in hours. Failed and timed-out
    attempts are kept in separate columns. failure_cost_share is (failed + timeout cost) / cost of
    all attempts of that row, a fraction 0-1 (NULL when no cost is known).
    """
    from queries import rollup

    if rollup.usable(f, db, by_attempt=True):
        return rollup.failed_cost_frame(f, db)
    s = scoped(f, db)
    sql = (
        s.text
        + f"""
SELECT (GROUPING(model_used) = 1) AS is_total,
       model_used,
       count(*) FILTER (WHERE status = 'failed') AS failed_attempts,
       count(*) FILTER (WHERE status = 'timeout') AS timeout_attempts,
       CAST(COALESCE(sum(cost_usd) FILTER (WHERE status = 'failed'), 0) AS float8) AS failed_cost_usd,
       CAST(COALESCE(sum(cost_usd) FILTER (WHERE status = 'timeout'), 0) AS float8) AS timeout_cost_usd,
       CAST(COALESCE(sum(cost_usd) FILTER (WHERE status IN ('failed', 'timeout')), 0) AS float8) AS lost_cost_usd,
       {_rate("sum(cost_usd) FILTER (WHERE status IN ('failed', 'timeout'))", "sum(cost_usd)")}
           AS failure_cost_share,
       COALESCE(sum(latency_ms) FILTER (WHERE status = 'failed'), 0) / 3600000.0 AS failed_time_h,
       COALESCE(sum(latency_ms) FILTER (WHERE status = 'timeout'), 0) / 3600000.0 AS timeout_time_h,
       COALESCE(sum(latency_ms) FILTER (WHERE status IN ('failed', 'timeout')), 0) / 3600000.0 AS lost_time_h
FROM att
GROUP BY GROUPING SETS ((), (model_used))
ORDER BY is_total DESC, lost_cost_usd DESC, model_used"""
    )
    return fetch(sql, s.params, s.expanding, db)


def phase_retries(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Retries inside the pipeline, per phase, from generation_metadata.retry_count.

    Grain: one row per key of retry_count (a phase, e.g. metadata, sections), most retries first.
    A phase's value counts when it is a non-negative JSON number, or a JSON array (the sum of its
    elements that are non-negative numbers; other elements are ignored); anything else is unknown
    and left out. Malformed metadata never raises. Columns: phase, attempts_reporting (attempts
    with a known value), attempts_with_retries (value > 0), retries (sum, count),
    retries_per_attempt (retries / attempts_reporting).
    """
    from queries import rollup

    if rollup.usable(f, db, also=rollup.ROLLUP_PHASE):
        return rollup.phase_retries_frame(f, db)
    s = scoped(f, db, extras=("retry_phases",))
    sql = (
        s.text
        + """
, ph AS (
    SELECT k.key AS phase, CAST(k.value #>> '{}' AS numeric) AS retries
    FROM att CROSS JOIN LATERAL jsonb_each(COALESCE(att.retry_phases, '{}'::jsonb)) AS k(key, value)
)
SELECT phase,
       count(retries) AS attempts_reporting,
       count(*) FILTER (WHERE retries > 0) AS attempts_with_retries,
       CAST(COALESCE(sum(retries), 0) AS float8) AS retries,
       CAST(sum(retries) / NULLIF(count(retries), 0) AS float8) AS retries_per_attempt
FROM ph
GROUP BY phase
HAVING count(retries) > 0
ORDER BY retries DESC, phase"""
    )
    return fetch(sql, s.params, s.expanding, db)


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
    sql = (
        s.text
        + """
SELECT CAST(generation_id AS text) AS generation_id, attempt_number, model_used, story_type, created_at,
       CAST(extract(epoch FROM now() - created_at) / 60 AS float8) AS age_minutes
FROM att
WHERE status = 'pending' AND created_at < now() - CAST(:stale_minutes AS integer) * interval '1 minute'
ORDER BY created_at, generation_id, attempt_number"""
    )
    return fetch(sql, {**s.params, "stale_minutes": minutes}, s.expanding, db)
