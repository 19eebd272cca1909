"""Cost & Quality: what the generations cost, where the tokens and time go, how good the stories are.

The figures are requests to the metrics planner (registered metrics by model, day, story type,
phase or quality bin); the outlier lists and counts are SQL over `metrics.scope.scoped` (attempts
of the generations in scope, typed values of METRICS.md). Costs are USD, durations ms, quality a score in [0, 1];
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
from metrics import planner
from metrics.filters import Filters
from metrics.scope import Sql, inline_att, scoped
from metrics.sources import QUALITY_BINS
from queries.core import export_csv, fetch, streaming

HISTOGRAM_BINS = 20


# by_model's metrics, in column order
BY_MODEL = (
    "attempts",
    "successes",
    "attempts_with_cost",
    "total_cost_usd",
    "avg_cost_usd",
    "cost_per_success_attempt_usd",
    "avg_quality",
    "p50_latency_ms",
    "p95_latency_ms",
    "total_tokens",
)


# --- Cost -------------------------------------------------------------------------------------


def by_model(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """One row per model_used (highest total cost first): cost, quality and latency side by side.

    Grain: model. Filters: all sidebar filters. Columns: attempts, successes (success attempts),
    attempts_with_cost, total_cost_usd (USD, 0 when none known), avg_cost_usd (USD per attempt
    with a known cost), cost_per_success_attempt_usd (total cost of the model's attempts / its
    successful attempts; failed attempts cost money too), avg_quality (0-1), p50/p95_latency_ms (ms),
    total_tokens.
    """
    return planner.frame(f, BY_MODEL, by=("model_used",), order="total_cost_usd DESC, model_used", db=db)


def cost_by_day(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """One row per (UTC day of the attempt's created_at, model_used) with any attempt.

    Grain: day x model. Filters: all sidebar filters. Columns: attempts, total_cost_usd (USD, 0
    when none known). Summed over models a day's cost is the daily report's total_cost_usd.
    """
    return planner.frame(f, ("attempts", "total_cost_usd"), by=("day", "model_used"), order="day, model_used", db=db)


BY_TYPE = ("generations", "succeeded", "attempts", "total_cost_usd", "avg_cost_usd", "cost_per_success_usd")


def cost_by_story_type(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """One row per story_type (NULL: not a story), highest total cost first.

    Grain: story type; a generation counts under every story type its attempts have (a retry
    as another type makes it a generation of both). Filters: all sidebar filters. Columns:
    generations, succeeded (of those, final status success), attempts, total_cost_usd (USD),
    avg_cost_usd (USD per attempt with a known cost), cost_per_success_usd (total cost /
    successful generations of that type).
    """
    return planner.frame(f, BY_TYPE, by=("story_type_each",), order="total_cost_usd DESC, story_type NULLS LAST", db=db)


# --- Tokens and time by phase -----------------------------------------------------------------


PHASE_USAGE = (
    "attempts_with_phase_tokens",
    "phase_tokens",
    "avg_phase_tokens",
    "attempts_with_phase_duration",
    "phase_duration_ms",
    "avg_phase_duration_ms",
)


def phase_usage(f: Filters, per_model: bool = False, db: Database | None = None) -> pd.DataFrame:
    """Tokens and duration per Stage 5 phase (metadata, sections, validation), optionally per model.

    Grain: phase (x model_used when per_model). Filters: all sidebar filters. Values read from
    generation_metadata.total_tokens.<phase> and duration_ms.<phase> with METRICS.md's rules
    (JSON number >= 0, else unknown). Columns: PHASE_USAGE (averages per attempt reporting that
    phase; durations in ms). Phases no attempt reports are left out.
    """
    by = ("model_used", "phase") if per_model else ("phase",)
    return planner.frame(f, PHASE_USAGE, by=by, order=", ".join(by), db=db)


# --- Quality ----------------------------------------------------------------------------------


def quality_histogram(f: Filters, bins: int = HISTOGRAM_BINS, db: Database | None = None) -> pd.DataFrame:
    """Attempts per quality bin: `bins` equal bins over [0, 1], the last one closed (1.0 counts).

    Grain: bin (all bins, zeros included, when any attempt has a known quality; no rows
    otherwise). Filters: all sidebar filters. Columns: bin (1..bins), bin_start, bin_end (score),
    attempts (with a known quality in [bin_start, bin_end)).
    """
    if not 1 <= bins <= QUALITY_BINS:
        raise ValueError(f"bins must be between 1 and {QUALITY_BINS}")
    counts = planner.frame(f, ("attempts_with_quality",), by=(f"quality_bin_{int(bins)}",), order="bin", db=db)
    if counts.empty:
        return pd.DataFrame(columns=["bin", "bin_start", "bin_end", "attempts"])
    # every bin, empty ones as 0: the chart's x axis
    per_bin = dict(zip(counts["bin"], counts["attempts_with_quality"], strict=True))
    return pd.DataFrame(
        [
            {"bin": b, "bin_start": (b - 1) / bins, "bin_end": b / bins, "attempts": int(per_bin.get(b, 0))}
            for b in range(1, bins + 1)
        ]
    )


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
    beyond = f"att.{col} {op} CAST(:o_threshold AS numeric)"
    worst_first = f"att.{col} {order}, att.created_at DESC, att.generation_id, att.attempt_number"
    columns = """CAST(generation_id AS text) AS generation_id, attempt_number, model_used, status, created_at,
       CAST(cost_usd AS float8) AS cost_usd, CAST(duration_ms AS float8) AS duration_ms,
       CAST(quality AS float8) AS quality, latency_ms"""
    params: dict[str, Any] = {**s.params, "o_threshold": float(threshold)}
    if limit is not None:
        params["o_limit"] = int(limit)
    if limit is not None and s.facts:
        # The first rows of the value's index that pass the filters, read from the index alone
        # (idx_genlens_facts_<value>_scoped holds the filters' columns and the order), then only
        # those rows from the table: a filter that few of the rows beyond the bound pass no longer
        # reads every one of them (10M, one model, the expensive list: 7.9 s -> BENCHMARKS.md).
        sql = (
            inline_att(s.text)
            + f"""
, listed AS MATERIALIZED (
    SELECT att.generation_id, att.attempt_number FROM att
    WHERE {beyond}
    ORDER BY {worst_first}
    LIMIT :o_limit
)
SELECT {columns}
FROM att JOIN listed USING (generation_id, attempt_number)
ORDER BY {worst_first}"""
        )
        return Sql(sql, params, s.expanding)
    limit_sql = "" if limit is None else "\nLIMIT :o_limit"
    sql = (
        s.text
        + f"""
SELECT {columns}
FROM att
WHERE {beyond}
ORDER BY {worst_first}{limit_sql}"""
    )
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
    bounds = {"cost_gt": t.cost_gt, "slow_ms": t.slow_ms, "quality_lt": t.quality_lt}
    past = planner.row(f, tuple(OUTLIER_COUNTS.values()), db=db, bounds=bounds)
    known = planner.row(f, tuple(KNOWN_COUNTS.values()), db=db)
    got = {**{k: past[m] for k, m in OUTLIER_COUNTS.items()}, **{k: known[m] for k, m in KNOWN_COUNTS.items()}}
    return {k: int(v) for k, v in got.items()}


# outlier_counts' keys -> the registry's metrics
OUTLIER_COUNTS = {"expensive": "expensive_attempts", "slow": "slow_attempts", "low_quality": "low_quality_attempts"}
KNOWN_COUNTS = {
    "with_cost": "attempts_with_cost",
    "with_duration": "attempts_with_duration",
    "with_quality": "attempts_with_quality",
}


@contextmanager
def stream_outliers(
    kind: str, f: Filters, threshold: float, db: Database | None = None
) -> Iterator[tuple[list[str], Any]]:
    """(columns, rows) of the full outlier list, from a server-side cursor."""
    s = outlier_sql(kind, f, threshold, None, db)
    with streaming(s.text, s.params, s.expanding, db) as (cols, rows):
        yield cols, rows


def write_outliers_csv(
    kind: str, f: Filters, threshold: float, out: BinaryIO, db: Database | None = None, limit: int | None = None
) -> int:
    """The outlier list (its first `limit` rows) as CSV (UTF-8) into `out`; return the number of
    data rows. An export: under GENLENS_EXPORT_TIMEOUT_MS, not the page timeout."""
    s = outlier_sql(kind, f, threshold, None, db)
    return export_csv(s.text, s.params, s.expanding, out.write, db, encode=True, limit=limit)
