"""Cost & Quality: what the generations cost, where the tokens and time go, how good the stories are.

Every function is one SQL statement over `queries.core.scoped` (attempts of the generations in
scope, typed values of METRICS.md). Costs are USD, durations ms, quality a score in [0, 1];
unknown values are left out of sums and averages. The outlier lists are the Stage 5 seed's
"expensive", "slow" and "low-quality" queries over attempts, with adjustable thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

import pandas as pd

from data_access.engine import Database
from queries.core import PHASES, Sql, fetch, scoped, streaming
from queries.csv_format import csv_lines
from queries.filters import Filters

HISTOGRAM_BINS = 20
QUALITY_BINS = 100  # the quality rollup's bins: it answers any bin count dividing this


def _rate(num: str, den: str) -> str:
    return f"(CAST({num} AS float8) / NULLIF({den}, 0))"


# --- Cost -------------------------------------------------------------------------------------


def by_model(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """One row per model_used (highest total cost first): cost, quality and latency side by side.

    Grain: model. Filters: all sidebar filters. Columns: attempts, successes (success attempts),
    attempts_with_cost, total_cost_usd (USD, 0 when none known), avg_cost_usd (USD per attempt
    with a known cost), cost_per_success_usd (total cost of the model's attempts / its successful
    attempts; failed attempts cost money too), avg_quality (0-1), p50/p95_latency_ms (ms),
    total_tokens.
    """
    from queries import rollup

    if rollup.usable(f, db, by_attempt=True):
        return rollup.cost_by_model_frame(f, db)
    s = scoped(f, db)
    sql = (
        s.text
        + f"""
SELECT model_used,
       count(*) AS attempts,
       count(*) FILTER (WHERE status = 'success') AS successes,
       count(cost_usd) AS attempts_with_cost,
       CAST(COALESCE(sum(cost_usd), 0) AS float8) AS total_cost_usd,
       CAST(avg(cost_usd) AS float8) AS avg_cost_usd,
       {_rate("COALESCE(sum(cost_usd), 0)", "count(*) FILTER (WHERE status = 'success')")} AS cost_per_success_usd,
       CAST(avg(quality) AS float8) AS avg_quality,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_latency_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
       CAST(COALESCE(sum(tokens), 0) AS bigint) AS total_tokens
FROM att
GROUP BY model_used
ORDER BY total_cost_usd DESC, model_used"""
    )
    return fetch(sql, s.params, s.expanding, db)


def cost_by_day(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """One row per (UTC day of the attempt's created_at, model_used) with any attempt.

    Grain: day x model. Filters: all sidebar filters. Columns: attempts, total_cost_usd (USD, 0
    when none known). Summed over models a day's cost is the daily report's total_cost_usd.
    """
    from queries import rollup

    if rollup.usable(f, db, by_attempt=True):
        return rollup.cost_by_day_frame(f, db)
    s = scoped(f, db)
    sql = (
        s.text
        + """
SELECT CAST(created_at AT TIME ZONE 'UTC' AS date) AS day,
       model_used,
       count(*) AS attempts,
       CAST(COALESCE(sum(cost_usd), 0) AS float8) AS total_cost_usd
FROM att
GROUP BY 1, 2
ORDER BY 1, 2"""
    )
    return fetch(sql, s.params, s.expanding, db)


# cost_by_story_type's output from CTE t (one row per story type); shared with queries.rollup
BY_TYPE_SELECT = f"""SELECT story_type, generations, successful_generations, attempts,
       CAST(total_cost_usd AS float8) AS total_cost_usd,
       CAST(avg_cost_usd AS float8) AS avg_cost_usd,
       {_rate("total_cost_usd", "successful_generations")} AS cost_per_success_usd
FROM t
ORDER BY total_cost_usd DESC, story_type NULLS LAST"""


def cost_by_story_type(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """One row per story_type (NULL: not a story), highest total cost first.

    Grain: story type. Filters: all sidebar filters. Columns: generations, successful_generations
    (final status success), attempts, total_cost_usd (USD), avg_cost_usd (USD per attempt with a
    known cost), cost_per_success_usd (total cost / successful generations of that type).
    """
    from queries import rollup

    if rollup.usable(f, db, one_model=True):
        return rollup.cost_by_type_frame(f, db)
    s = scoped(f, db)
    if s.facts_gen:
        # the facts rows say which attempt is its generation's first of its type, and its final
        # status: one pass, no join, no count(DISTINCT)
        gens = "count(*) FILTER (WHERE att.type_first)"
        ok = "count(*) FILTER (WHERE att.type_first AND att.gen_final_status = 'success')"
        source = "att"
    else:
        gens = "count(DISTINCT att.generation_id)"
        ok = "count(DISTINCT att.generation_id) FILTER (WHERE gen.final_status = 'success')"
        source = "att JOIN gen USING (generation_id)"
    sql = (
        s.text
        + f"""
, t AS (
    SELECT att.story_type,
           {gens} AS generations,
           {ok} AS successful_generations,
           count(*) AS attempts,
           COALESCE(sum(att.cost_usd), 0) AS total_cost_usd,
           avg(att.cost_usd) AS avg_cost_usd
    FROM {source}
    GROUP BY att.story_type
)
{BY_TYPE_SELECT}"""
    )
    return fetch(sql, s.params, s.expanding, db)


# --- Tokens and time by phase -----------------------------------------------------------------


def phase_usage(f: Filters, per_model: bool = False, db: Database | None = None) -> pd.DataFrame:
    """Tokens and duration per Stage 5 phase (metadata, sections, validation), optionally per model.

    Grain: phase (x model_used when per_model). Filters: all sidebar filters. Values read from
    generation_metadata.total_tokens.<phase> and duration_ms.<phase> with METRICS.md's rules
    (JSON number >= 0, else unknown). Columns: attempts_with_tokens, total_tokens, avg_tokens
    (per attempt reporting that phase), attempts_with_duration, total_duration_ms, avg_duration_ms
    (ms). Phases no attempt reports are left out.
    """
    from queries import rollup

    if rollup.usable(f, db, by_attempt=True):
        return rollup.phase_usage_frame(f, per_model, db)
    s = scoped(f, db, extras=tuple(f"{k}_{p}" for p in PHASES for k in ("tok", "dur")))
    values = ", ".join(f"({i}, '{p}', att.tok_{p}, att.dur_{p})" for i, p in enumerate(PHASES))
    model_col, model_group = ("att.model_used, ", ", att.model_used") if per_model else ("", "")
    sql = (
        s.text
        + f"""
SELECT {model_col}ph.phase,
       count(ph.tokens) AS attempts_with_tokens,
       CAST(COALESCE(sum(ph.tokens), 0) AS bigint) AS total_tokens,
       CAST(avg(ph.tokens) AS float8) AS avg_tokens,
       count(ph.duration) AS attempts_with_duration,
       CAST(COALESCE(sum(ph.duration), 0) AS float8) AS total_duration_ms,
       CAST(avg(ph.duration) AS float8) AS avg_duration_ms
FROM att
CROSS JOIN LATERAL (VALUES {values}) AS ph(ord, phase, tokens, duration)
GROUP BY ph.ord, ph.phase{model_group}
HAVING count(ph.tokens) > 0 OR count(ph.duration) > 0
ORDER BY {model_col}ph.ord"""
    )
    return fetch(sql, s.params, s.expanding, db)


# --- Quality ----------------------------------------------------------------------------------


def quality_histogram(f: Filters, bins: int = HISTOGRAM_BINS, db: Database | None = None) -> pd.DataFrame:
    """Attempts per quality bin: `bins` equal bins over [0, 1], the last one closed (1.0 counts).

    Grain: bin (all bins, zeros included, when any attempt has a known quality; no rows
    otherwise). Filters: all sidebar filters. Columns: bin (1..bins), bin_start, bin_end (score),
    attempts (with a known quality in [bin_start, bin_end)).
    """
    if not 1 <= bins <= 100:
        raise ValueError("bins must be between 1 and 100")
    from queries import rollup

    if QUALITY_BINS % bins == 0 and rollup.usable(f, db, also=rollup.ROLLUP_QUALITY, by_attempt=True):
        return rollup.quality_histogram_frame(f, bins, db)
    s = scoped(f, db)
    sql = (
        s.text
        + """
, h AS (
    SELECT LEAST(width_bucket(quality, 0, 1, :bins), :bins) AS bin, count(*) AS attempts
    FROM att WHERE quality IS NOT NULL
    GROUP BY 1
)
SELECT b.bin,
       CAST(b.bin - 1 AS float8) / :bins AS bin_start,
       CAST(b.bin AS float8) / :bins AS bin_end,
       COALESCE(h.attempts, 0) AS attempts
FROM generate_series(1, :bins) AS b(bin)
LEFT JOIN h ON h.bin = b.bin
WHERE EXISTS (SELECT 1 FROM h)
ORDER BY b.bin"""
    )
    return fetch(sql, {**s.params, "bins": int(bins)}, s.expanding, db)


# --- Outliers: the seed's "expensive", "slow" and "low-quality" queries --------------------------


@dataclass(frozen=True)
class Thresholds:
    """Where an attempt becomes an outlier: cost above cost_gt USD, generator duration above
    slow_ms ms, quality below quality_lt."""

    cost_gt: float = 0.05
    slow_ms: float = 30_000
    quality_lt: float = 0.7


DEFAULT_THRESHOLDS = Thresholds()
# URL parameter -> (Thresholds field, lowest allowed, highest allowed, what it means)
THRESHOLD_PARAMS: dict[str, tuple[str, float, float, str]] = {
    "cost_gt": ("cost_gt", 0.0, 1_000_000.0, "a cost in USD (0 or more)"),
    "slow_ms": ("slow_ms", 0.0, 86_400_000.0, "a duration in ms (0 or more)"),
    "quality_lt": ("quality_lt", 0.0, 1.0, "a quality score between 0 and 1"),
}


def parse_threshold(name: str, raw: str | None) -> tuple[float | None, str | None]:
    """(value, None) for a usable URL value of threshold `name`, (None, warning) otherwise."""
    if raw is None:
        return None, None
    _, low, high, meaning = THRESHOLD_PARAMS[name]
    shown = raw[:40] + ("…" if len(raw) > 40 else "")
    try:
        value = float(raw.strip())
    except ValueError:
        return None, f"Ignored the link's {name}={shown!r}: use {meaning}."
    if not math.isfinite(value) or not low <= value <= high:
        return None, f"Ignored the link's {name}={shown!r}: use {meaning}."
    return value, None


# list name -> (column of att, comparison, order of the list: worst first)
OUTLIERS: dict[str, tuple[str, str, str]] = {
    "expensive": ("cost_usd", ">", "DESC"),
    "slow": ("duration_ms", ">", "DESC"),
    "low_quality": ("quality", "<", "ASC"),
}
LIST_LIMIT = 500


def outlier_sql(kind: str, f: Filters, threshold: float, limit: int | None = None, db: Database | None = None) -> Sql:
    col, op, order = OUTLIERS[kind]
    s = scoped(f, db)
    limit_sql = "" if limit is None else "\nLIMIT :o_limit"
    sql = (
        s.text
        + f"""
SELECT CAST(generation_id AS text) AS generation_id, attempt_number, model_used, status, created_at,
       CAST(cost_usd AS float8) AS cost_usd, CAST(duration_ms AS float8) AS duration_ms,
       CAST(quality AS float8) AS quality, latency_ms
FROM att
WHERE att.{col} {op} CAST(:o_threshold AS numeric)
ORDER BY att.{col} {order}, att.created_at DESC, att.generation_id, att.attempt_number{limit_sql}"""
    )
    params: dict[str, Any] = {**s.params, "o_threshold": float(threshold)}
    if limit is not None:
        params["o_limit"] = int(limit)
    return Sql(sql, params, s.expanding)


def outliers(
    kind: str, f: Filters, threshold: float, limit: int | None = LIST_LIMIT, db: Database | None = None
) -> pd.DataFrame:
    """Attempts beyond a threshold, worst first (then newest), at most `limit` rows.

    kind "expensive": cost_usd > threshold (USD), most expensive first; "slow":
    generation_metadata.duration_ms.total > threshold (ms, the generator's own timing), slowest
    first; "low_quality": quality < threshold (0-1), lowest first. Attempts with an unknown value
    are never listed. Grain: attempt. Filters: all sidebar filters. Columns: generation_id,
    attempt_number, model_used, status, created_at, cost_usd, duration_ms, quality, latency_ms.
    """
    if kind not in OUTLIERS:
        raise ValueError(f"unknown list {kind!r}")
    s = outlier_sql(kind, f, threshold, limit, db)
    return fetch(s.text, s.params, s.expanding, db)


def outlier_counts(f: Filters, t: Thresholds, db: Database | None = None) -> dict[str, int]:
    """How many attempts each outlier list holds in full, and how many have each value known.

    One row. Filters: all sidebar filters. Keys: expensive, slow, low_quality, with_cost,
    with_duration, with_quality (counts of attempts).
    """
    from queries import rollup

    limits = {"c_cost": float(t.cost_gt), "c_slow": float(t.slow_ms), "c_quality": float(t.quality_lt)}
    if rollup.usable(f, db):
        df = rollup.outlier_counts_frame(f, limits, db)
    else:
        s = scoped(f, db)
        sql = (
            s.text
            + f"""
SELECT count(*) FILTER (WHERE {OUTLIER_TESTS["expensive"]}) AS expensive,
       count(*) FILTER (WHERE {OUTLIER_TESTS["slow"]}) AS slow,
       count(*) FILTER (WHERE {OUTLIER_TESTS["low_quality"]}) AS low_quality,
       count(cost_usd) AS with_cost,
       count(duration_ms) AS with_duration,
       count(quality) AS with_quality
FROM att"""
        )
        df = fetch(sql, {**s.params, **limits}, s.expanding, db)
    return {k: int(v) for k, v in df.iloc[0].to_dict().items()}


# outlier_counts' tests of an attempt (columns of att or of the facts table), thresholds compared
# as numeric like the values (so an index on the value serves them)
OUTLIER_TESTS = {
    "expensive": "cost_usd > CAST(:c_cost AS numeric)",
    "slow": "duration_ms > CAST(:c_slow AS numeric)",
    "low_quality": "quality < CAST(:c_quality AS numeric)",
}


@contextmanager
def stream_outliers(
    kind: str, f: Filters, threshold: float, db: Database | None = None
) -> Iterator[tuple[list[str], Any]]:
    """(columns, rows) of the full outlier list, from a server-side cursor."""
    s = outlier_sql(kind, f, threshold, None, db)
    with streaming(s.text, s.params, s.expanding, db) as (cols, rows):
        yield cols, rows


def write_outliers_csv(kind: str, f: Filters, threshold: float, out: BinaryIO, db: Database | None = None) -> int:
    """The full outlier list as CSV (UTF-8) into `out`; return the number of data rows."""
    n = 0
    with stream_outliers(kind, f, threshold, db) as (cols, rows):
        for i, line in enumerate(csv_lines(cols, rows)):
            out.write(line.encode("utf-8"))
            n = i
    return n
