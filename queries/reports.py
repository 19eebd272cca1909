"""The reports of METRICS.md: the CLI's CSV, the Reports page and every page download.

Every report but `attempts` is a request to the metrics planner (`PLANNED`: registered metrics by
dimensions, answered by the cheapest able source); `attempts` is one SQL statement over
`metrics.scope.scoped`. Column names and order are the contract of METRICS.md (`COLUMNS`). `fetch_report` gives a DataFrame for a page; `stream_report` gives rows for
a CSV of any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice

import pandas as pd

from data_access.engine import Database
from metrics import planner
from metrics.filters import Filters
from metrics.registry import computable
from metrics.scope import Sql, scoped, with_signatures
from metrics.sources import DIMENSIONS
from queries import errors, masking
from queries.core import export_csv, fetch, streaming
from queries.csv_format import write_chunks

# The contract of METRICS.md: each report's columns, in order.
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
        "state",
        "mark",
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

# Reports answered by the metrics planner: name -> (dimensions, order). Their metrics are the
# contract's columns after the dimensions' columns.
_PLANS: dict[str, tuple[tuple[str, ...], str]] = {
    "summary": ((), ""),
    "by_model": (("model_used",), "attempts DESC, model_used"),
    "daily": (("day",), "day"),
    "retries": (("attempts_taken",), "attempts"),
    "errors": (("error_signature",), "occurrences DESC, error_signature"),
    "metrics": ((), ""),
}
# every metric the registry can compute, one row (a new metric appears here by itself)
COLUMNS["metrics"] = computable()
# Columns a planned report carries after its metrics, joined on by its first column: the errors
# report's groups' lifecycle state and an admin's mark (queries.errors.group_states).
LIFECYCLE = {"errors": ("state", "mark")}
PLANNED: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {}
for _name, (_by, _order) in _PLANS.items():
    _dims = [DIMENSIONS[d].column for d in _by]
    if COLUMNS[_name][: len(_dims)] != _dims:
        raise AssertionError(f"report {_name!r}: its contract does not start with its dimensions")
    _metrics = [c for c in COLUMNS[_name][len(_dims) :] if c not in LIFECYCLE.get(_name, ())]
    PLANNED[_name] = (tuple(_metrics), _by, _order)


def _lifecycle(name: str, f: Filters, columns: list[str], rows: list[tuple], db: Database | None) -> list[tuple]:
    """`rows` of a planned report with its LIFECYCLE columns appended (none: as they are)."""
    extra = LIFECYCLE.get(name)
    if not extra or not rows:
        return [(*r, *(None for _ in extra or ())) for r in rows] if extra else rows
    states = errors.group_states(f, db).set_index("error_signature")
    at = columns.index(COLUMNS[name][0])
    out = []
    for r in rows:
        key = r[at]
        out.append(
            (*r, *(states.at[key, c] if key in states.index and pd.notna(states.at[key, c]) else None for c in extra))
        )
    return out


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
    return Sql(sql, with_signatures(s.params, db), s.expanding)


REPORTS: dict[str, str] = {
    "summary": "one row of headline metrics",
    "by_model": "one row per model, most attempts first",
    "daily": "one row per UTC day of the attempts",
    "retries": "one row per number of attempts a generation took",
    "errors": "one row per error signature, most occurrences first",
    "attempts": "one row per attempt, newest first",
    "metrics": "one row of every metric GenLens computes (docs/glossary.md)",
}
# the reports each run as one SQL statement over the attempts in scope
_SQL: dict[str, Callable[..., Sql]] = {"attempts": attempts_sql}


class UnknownReport(ValueError):
    pass


def report_sql(name: str, f: Filters, db: Database | None = None) -> Sql:
    """The SQL of a report that runs as one statement over the attempts in scope."""
    if name not in REPORTS:
        raise UnknownReport(f"unknown report {name!r}; choose one of {', '.join(REPORTS)}")
    if name not in _SQL:
        raise UnknownReport(f"report {name!r} is answered by the metrics planner, not one SQL statement")
    return _SQL[name](f, db)


def fetch_report(name: str, f: Filters, db: Database | None = None) -> pd.DataFrame:
    """A report as a DataFrame, columns in contract order (for pages; small reports).

    summary, by_model, daily, retries and metrics come from the metrics planner (the cheapest
    source that can answer: the rollups, the facts table or the raw attempts, same numbers); the
    others run their own SQL.
    """
    if name in PLANNED:
        names, by, order = PLANNED[name]
        frame = planner.frame(f, names, by, order, db)
        if name in LIFECYCLE:
            rows = _lifecycle(name, f, list(frame.columns), list(frame.itertuples(index=False, name=None)), db)
            frame = (
                pd.DataFrame(rows, columns=[*frame.columns, *LIFECYCLE[name]])
                if rows
                else frame.reindex(columns=[*frame.columns, *LIFECYCLE[name]])
            )
        return masking.apply_frame(frame, None)
    s = report_sql(name, f, db)
    return fetch(s.text, s.params, s.expanding, db)


@contextmanager
def stream_report(
    name: str, f: Filters, db: Database | None = None, export: bool = False
) -> Iterator[tuple[list[str], Iterable[tuple]]]:
    """A report's columns and its rows, streamed from the server (for CSV of any size); the
    planned reports are a few rows, read at once, the same rows a page shows. `export`: a long
    job (the CLI, a full download), under GENLENS_EXPORT_TIMEOUT_MS instead of the page timeout."""
    if name in PLANNED:
        names, by, order = PLANNED[name]
        cols, rows = planner.result(f, names, by, order, db)
        if name in LIFECYCLE:
            rows = _lifecycle(name, f, list(cols), list(rows), db)
            cols = [*cols, *LIFECYCLE[name]]
        yield cols, masking.apply_rows(cols, rows)
        return
    s = report_sql(name, f, db)
    with streaming(s.text, s.params, s.expanding, db, export=export) as (cols, rows):
        yield cols, rows


def write_report(
    name: str, f: Filters, write, db: Database | None = None, encode: bool = False, limit: int | None = None
) -> int:
    """Report `name` as CSV through `write` (text, or UTF-8 bytes with `encode`), the contract's
    bytes (queries.csv_format), streamed as an export; return the number of data rows. `limit`:
    only the first rows (a page's capped download: the first lines of the full file)."""
    if name in PLANNED:
        with stream_report(name, f, db, export=True) as (columns, rows):
            return write_chunks(columns, islice(rows, limit), write, encode)
    s = report_sql(name, f, db)
    return export_csv(s.text, s.params, s.expanding, write, db, encode, limit=limit)


def metric_values(f: Filters, names: tuple[str, ...], db: Database | None = None) -> dict:
    """Any registered metrics for `f` as a dict of metric -> value (None for an empty rate)."""
    return planner.row(f, names, db)


def summary(f: Filters, db: Database | None = None) -> dict:
    """The summary report as a dict of metric -> value (None for an empty rate)."""
    df = fetch_report("summary", f, db)
    row = df.iloc[0].to_dict()
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}
