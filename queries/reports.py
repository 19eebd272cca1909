"""The reports of METRICS.md: the CLI's CSV, the Reports page and every page download.

Each report is one SQL statement over `queries.core.scoped`; its column names and order are the
contract of METRICS.md. `fetch_report` gives a DataFrame for a page; `stream_report` gives rows for
a CSV of any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import pandas as pd

from data_access.engine import Database
from queries.core import Sql, fetch, scoped, streaming, with_signatures
from queries.filters import Filters

RATE = "(CAST({num} AS float8) / NULLIF({den}, 0))"


def _rate(num: str, den: str) -> str:
    return RATE.format(num=num, den=den)


# The generation figures of the summary: from gen, or from att's stored generation columns in one pass.
_GG = """
    SELECT count(*) AS generations,
           count(*) FILTER (WHERE final_status = 'success') AS final_success,
           count(*) FILTER (WHERE final_status IN ('success', 'failed', 'timeout')) AS final_terminal,
           count(*) FILTER (WHERE first_status = 'success') AS first_success,
           count(*) FILTER (WHERE first_status IN ('success', 'failed', 'timeout')) AS first_terminal,
           count(*) FILTER (WHERE attempts > 1) AS retried,
           count(*) FILTER (WHERE attempts > 1 AND final_status = 'success') AS recovered
    FROM gen"""
_GG_ONE_PASS = """,
           count(*) FILTER (WHERE is_final) AS generations,
           count(*) FILTER (WHERE is_final AND gen_final_status = 'success') AS final_success,
           count(*) FILTER (WHERE is_final AND gen_final_status IN ('success', 'failed', 'timeout')) AS final_terminal,
           count(*) FILTER (WHERE is_final AND gen_first_status = 'success') AS first_success,
           count(*) FILTER (WHERE is_final AND gen_first_status IN ('success', 'failed', 'timeout'))
               AS first_terminal,
           count(*) FILTER (WHERE is_final AND gen_attempts > 1) AS retried,
           count(*) FILTER (WHERE is_final AND gen_attempts > 1 AND gen_final_status = 'success') AS recovered"""


# The summary's row from CTEs a (attempt figures) and gg (generation figures); shared with the rollup.
SUMMARY_SELECT = f"""SELECT gg.generations,
       a.attempts,
       {_rate("gg.final_success", "gg.final_terminal")} AS success_rate,
       {_rate("a.success_attempts", "a.terminal_attempts")} AS attempt_success_rate,
       {_rate("gg.first_success", "gg.first_terminal")} AS first_attempt_success_rate,
       {_rate("a.attempts", "gg.generations")} AS avg_attempts_per_generation,
       {_rate("gg.retried", "gg.generations")} AS retry_rate,
       gg.recovered AS recovered_by_retry,
       CAST(a.total_cost_usd AS float8) AS total_cost_usd,
       CAST(a.total_cost_usd AS float8) / NULLIF(gg.final_success, 0) AS cost_per_success_usd,
       CAST(a.total_tokens AS bigint) AS total_tokens,
       a.p50_latency_ms,
       a.p95_latency_ms,
       CAST(a.avg_quality AS float8) AS avg_quality,
       a.pending_attempts,
       a.metadata_issues
FROM a CROSS JOIN gg"""


def summary_sql(f: Filters, db: Database | None = None) -> Sql:
    s = scoped(f, db)
    one_pass = s.facts_gen
    sql = (
        s.text
        + f"""
, a AS (
    SELECT count(*) AS attempts,
           count(*) FILTER (WHERE status = 'success') AS success_attempts,
           count(*) FILTER (WHERE terminal) AS terminal_attempts,
           COALESCE(sum(cost_usd), 0) AS total_cost_usd,
           COALESCE(sum(tokens), 0) AS total_tokens,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_latency_ms,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
           avg(quality) AS avg_quality,
           count(*) FILTER (WHERE status = 'pending') AS pending_attempts,
           count(*) FILTER (WHERE metadata_issue) AS metadata_issues{_GG_ONE_PASS if one_pass else ""}
    FROM att
), gg AS ({"SELECT * FROM a" if one_pass else _GG}
)
{SUMMARY_SELECT}"""
    )
    return Sql(sql, s.params, s.expanding)


def by_model_sql(f: Filters, db: Database | None = None) -> Sql:
    s = scoped(f, db)
    sql = (
        s.text
        + f"""
SELECT model_used,
       count(*) AS attempts,
       count(*) FILTER (WHERE status = 'success') AS successes,
       count(*) FILTER (WHERE status = 'failed') AS failures,
       count(*) FILTER (WHERE status = 'timeout') AS timeouts,
       {_rate("count(*) FILTER (WHERE status = 'success')", "count(*) FILTER (WHERE terminal)")} AS attempt_success_rate,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
       CAST(COALESCE(sum(cost_usd), 0) AS float8) AS total_cost_usd,
       CAST(avg(quality) AS float8) AS avg_quality
FROM att
GROUP BY model_used
ORDER BY attempts DESC, model_used"""
    )
    return Sql(sql, s.params, s.expanding)


def daily_sql(f: Filters, db: Database | None = None) -> Sql:
    s = scoped(f, db)
    sql = (
        s.text
        + f"""
SELECT CAST(created_at AT TIME ZONE 'UTC' AS date) AS day,
       count(*) AS attempts,
       count(*) FILTER (WHERE status = 'success') AS successes,
       count(*) FILTER (WHERE status = 'failed') AS failures,
       count(*) FILTER (WHERE status = 'timeout') AS timeouts,
       {_rate("count(*) FILTER (WHERE status = 'success')", "count(*) FILTER (WHERE terminal)")} AS attempt_success_rate,
       CAST(COALESCE(sum(cost_usd), 0) AS float8) AS total_cost_usd
FROM att
GROUP BY 1
ORDER BY 1"""
    )
    return Sql(sql, s.params, s.expanding)


def retries_sql(f: Filters, db: Database | None = None) -> Sql:
    s = scoped(f, db)
    sql = (
        s.text
        + """
SELECT attempts,
       count(*) AS generations,
       count(*) FILTER (WHERE final_status = 'success') AS succeeded,
       count(*) FILTER (WHERE final_status IN ('failed', 'timeout')) AS failed_final
FROM gen
GROUP BY attempts
ORDER BY attempts"""
    )
    return Sql(sql, s.params, s.expanding)


def errors_sql(f: Filters, db: Database | None = None) -> Sql:
    s = scoped(f, db)
    sql = (
        s.text
        + f"""
, e AS (
    SELECT {s.signature} AS error_signature, att.*
    FROM att
    WHERE att.status IN ('failed', 'timeout') AND att.has_message
)
SELECT error_signature,
       count(*) AS occurrences,
       count(DISTINCT generation_id) AS generations,
       min(created_at) AS first_seen,
       max(created_at) AS last_seen,
       string_agg(DISTINCT model_used, ';' ORDER BY model_used) AS models,
       (array_agg(generation_id ORDER BY created_at DESC, attempt_number DESC))[1] AS example_generation_id
FROM e
GROUP BY error_signature
ORDER BY occurrences DESC, error_signature"""
    )
    return Sql(sql, with_signatures(s.params), s.expanding)


def attempts_sql(f: Filters, db: Database | None = None) -> Sql:
    s = scoped(f, db, extras=("error_message",))
    sql = (
        s.text
        + f"""
SELECT generation_id, attempt_number, status, model_used, story_type, user_id, created_at,
       completed_at, latency_ms, CAST(cost_usd AS float8) AS cost_usd, CAST(tokens AS bigint) AS tokens,
       CAST(quality AS float8) AS quality, error_message,
       CASE WHEN status IN ('failed', 'timeout') AND has_message THEN {s.signature} END
           AS error_signature
FROM att
ORDER BY created_at DESC, generation_id DESC, attempt_number DESC"""
    )
    return Sql(sql, with_signatures(s.params), s.expanding)


REPORTS: dict[str, tuple[Callable[..., Sql], str]] = {
    "summary": (summary_sql, "one row of headline metrics"),
    "by_model": (by_model_sql, "one row per model, most attempts first"),
    "daily": (daily_sql, "one row per UTC day of the attempts"),
    "retries": (retries_sql, "one row per number of attempts a generation took"),
    "errors": (errors_sql, "one row per error signature, most occurrences first"),
    "attempts": (attempts_sql, "one row per attempt, newest first"),
}

COLUMNS = {
    "summary": [
        "generations",
        "attempts",
        "success_rate",
        "attempt_success_rate",
        "first_attempt_success_rate",
        "avg_attempts_per_generation",
        "retry_rate",
        "recovered_by_retry",
        "total_cost_usd",
        "cost_per_success_usd",
        "total_tokens",
        "p50_latency_ms",
        "p95_latency_ms",
        "avg_quality",
        "pending_attempts",
        "metadata_issues",
    ],
    "by_model": [
        "model_used",
        "attempts",
        "successes",
        "failures",
        "timeouts",
        "attempt_success_rate",
        "p50_latency_ms",
        "p95_latency_ms",
        "total_cost_usd",
        "avg_quality",
    ],
    "daily": ["day", "attempts", "successes", "failures", "timeouts", "attempt_success_rate", "total_cost_usd"],
    "retries": ["attempts", "generations", "succeeded", "failed_final"],
    "errors": [
        "error_signature",
        "occurrences",
        "generations",
        "first_seen",
        "last_seen",
        "models",
        "example_generation_id",
    ],
    "attempts": [
        "generation_id",
        "attempt_number",
        "status",
        "model_used",
        "story_type",
        "user_id",
        "created_at",
        "completed_at",
        "latency_ms",
        "cost_usd",
        "tokens",
        "quality",
        "error_message",
        "error_signature",
    ],
}


class UnknownReport(ValueError):
    pass


def report_sql(name: str, f: Filters, db: Database | None = None) -> Sql:
    if name not in REPORTS:
        raise UnknownReport(f"unknown report {name!r}; choose one of {', '.join(REPORTS)}")
    return REPORTS[name][0](f, db)


def fetch_report(name: str, f: Filters, db: Database | None = None) -> pd.DataFrame:
    """A report as a DataFrame, columns in contract order (for pages; small reports).

    summary, daily, by_model and retries come from the daily rollups when they can answer `f`
    (same values, queries/rollup.py); every report streamed as CSV runs its own SQL.
    """
    from queries import rollup

    from_rollup = {  # name -> (frame, the rollup it reads besides the daily one, the model filters it answers)
        "summary": (rollup.summary_frame, None, {"one_model": True}),
        "daily": (rollup.daily_frame, None, {"by_attempt": True}),
        "by_model": (rollup.by_model_frame, None, {"by_attempt": True}),
        "retries": (
            rollup.retries_frame,
            rollup.ROLLUP_MODEL_RETRIES if f.models else rollup.ROLLUP_RETRIES,
            {"one_model": True},
        ),
    }
    if name in from_rollup:
        frame, also, models = from_rollup[name]
        if rollup.usable(f, db, also=also, **models):
            return frame(f, db)
    s = report_sql(name, f, db)
    return fetch(s.text, s.params, s.expanding, db)


@contextmanager
def stream_report(name: str, f: Filters, db: Database | None = None) -> Iterator[tuple[list[str], Iterable[tuple]]]:
    """A report's columns and its rows, streamed from the server (for CSV of any size)."""
    s = report_sql(name, f, db)
    with streaming(s.text, s.params, s.expanding, db) as (cols, rows):
        yield cols, rows


def summary(f: Filters, db: Database | None = None) -> dict:
    """The summary report as a dict of metric -> value (None for an empty rate)."""
    df = fetch_report("summary", f, db)
    row = df.iloc[0].to_dict()
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}
