"""The Explorer: attempts of the generations in scope, filtered, sorted and paged by keyset.

Grain: one row per attempt (the `attempts` report's rows and columns). On top of the sidebar
`Filters` an `ExplorerQuery` adds an error signature, a free-text search in the prompt or the error
message, "metadata issues only" and a sort. Status narrowing is `Filters.statuses` (METRICS.md's
status filter), so the Explorer's row count is the attempts report's for the same filters.

Paging is by keyset, never OFFSET: a page starts after the key (sort value, generation_id,
attempt_number) of the previous page's last row. A sort on latency, cost or quality lists the
attempts without that value last, in both directions (their key is +/-Infinity).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import pandas as pd

from data_access.engine import Database, get_database
from data_access.facts import ROLLUP, Search, facts_relation, readable_rollups, search_text
from metrics import planner
from metrics.scope import Sql, scoped, with_signatures
from queries.core import export_csv, fetch, streaming
from queries.filters import STATUSES, FilterError, Filters
from queries.reports import COLUMNS as REPORT_COLUMNS

# sort key -> (column of x, SQL type of the key value). Only these names ever reach the SQL text.
SORTS: dict[str, tuple[str, str]] = {
    "created_at": ("created_at", "timestamptz"),
    "latency_ms": ("latency_ms", "float8"),
    "cost_usd": ("cost_usd", "float8"),
    "quality": ("quality", "float8"),
}
PAGE_SIZES = (50, 100, 500)
MAX_TEXT = 200  # a search or a signature longer than this is not a real question

# The attempts report's columns (METRICS.md), in its order: the table and its CSV.
COLUMNS = REPORT_COLUMNS["attempts"]

Key = tuple[Any, str, int]  # (sort value, generation_id, attempt_number) of a row


@dataclass(frozen=True)
class ExplorerQuery:
    """What the Explorer asks beyond the sidebar filters (hashable: a cache key)."""

    signature: str | None = None
    text: str | None = None
    issues_only: bool = False
    sort: str = "created_at"
    descending: bool = True

    @property
    def searched(self) -> bool:
        """A search, a signature or the issues filter: its matches are counted up to a cap."""
        return self.signature is not None or self.text is not None or self.issues_only

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise FilterError(f"unknown sort {self.sort!r}; use one of {', '.join(SORTS)}")
        for name in ("signature", "text"):
            v = getattr(self, name)
            if v is not None and (len(v) > MAX_TEXT or "\x00" in v):
                raise FilterError(f"the {name} must be at most {MAX_TEXT} characters of text")
        if self.text is not None and not self.text.strip():
            object.__setattr__(self, "text", None)
        if self.signature is not None and not self.signature.strip():
            object.__setattr__(self, "signature", None)


@dataclass(frozen=True)
class ExplorerPage:
    """One page of rows (COLUMNS) and the key to start the next page after (None: last page)."""

    rows: pd.DataFrame
    next_after: Key | None


def like_pattern(text: str) -> str:
    """ILIKE pattern matching `text` literally anywhere: %, _ and \\ are escaped (ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def with_statuses(f: Filters, statuses: tuple[str, ...]) -> Filters:
    """The sidebar filters narrowed to attempt statuses (empty: all)."""
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise FilterError(f"unknown status {bad[0]!r}; use one of {', '.join(STATUSES)}")
    return replace(f, statuses=tuple(dict.fromkeys(statuses)))


def _key_expr(q: ExplorerQuery) -> str:
    col, kind = SORTS[q.sort]
    if kind == "float8":
        # NULLs last in both directions: the smallest value when descending, the largest ascending.
        return f"COALESCE(x.{col}, '{'-' if q.descending else ''}Infinity'::float8)"
    return f"x.{col}"


def _base(f: Filters, q: ExplorerQuery, db: Database | None) -> tuple[str, dict[str, Any], tuple[str, ...], str]:
    """(WITH ... x, params, expanding, WHERE over x) for the filtered attempts."""
    s = scoped(f, db, extras=("prompt", "error_message"))
    sql = (
        s.text
        + f"""
, x AS NOT MATERIALIZED (
    SELECT att.generation_id, att.attempt_number, att.status, att.model_used, att.story_type, att.user_id,
           att.created_at, att.completed_at, att.latency_ms, CAST(att.cost_usd AS float8) AS cost_usd,
           CAST(att.tokens AS bigint) AS tokens, CAST(att.quality AS float8) AS quality, att.error_message,
           CASE WHEN att.status IN ('failed', 'timeout') AND att.has_message THEN {s.signature} END
               AS error_signature,
           att.metadata_issue, att.prompt, att.cost_usd AS cost_raw, att.quality AS quality_raw
    FROM att
)"""
    )
    params = with_signatures(s.params, db)
    # No attempt is older than its generation's first one (scope_at >= since); none is newer than the
    # newest attempt day the rollup holds for generations started by `until`: bounds that keep a
    # walk in created_at order inside the window's attempts (a past window's page otherwise starts
    # at the newest attempt and reads every later one first)
    bits = ["x.created_at >= :since"]
    before = _attempts_before(f, db)
    if before is not None:
        bits.append("x.created_at < :x_created_before")
        params["x_created_before"] = before
    if q.signature is not None:
        bits.append("x.error_signature = :x_signature")
        params["x_signature"] = q.signature
    if q.text is not None:
        params["x_pattern"] = like_pattern(q.text)
        found = indexed_search(q, db)
        if found:
            # the attempts whose text contains it, by the trigram index (a rare word is found
            # without reading every prompt); PostgreSQL may as well walk the page order and probe
            bits.append(
                f"EXISTS (SELECT 1 FROM {found} t WHERE t.generation_id = x.generation_id"
                " AND t.attempt_number = x.attempt_number"
                " AND (t.prompt ILIKE :x_pattern ESCAPE '\\' OR t.error_message ILIKE :x_pattern ESCAPE '\\'))"
            )
        else:
            bits.append("(x.prompt ILIKE :x_pattern ESCAPE '\\' OR x.error_message ILIKE :x_pattern ESCAPE '\\')")
    if q.issues_only:
        bits.append("x.metadata_issue")
    return sql, params, s.expanding, " AND ".join(bits)


# A text the trigram index can find: three letters or digits in a row (a shorter one gives the
# index nothing to look up; it matches so many attempts that the first page comes at once anyway).
_TRIGRAM = re.compile(r"[^\W_]{3}")


def search_mode(q: ExplorerQuery, db: Database | None = None) -> Search:
    """How the search of `q` runs: through the text table's trigram index, by reading that table
    whole (a short text), or by reading the attempts (with why)."""
    db = db or get_database()
    if q.text is None:
        return Search("", "no search")
    found = search_text(db)
    if found.indexed and not _TRIGRAM.search(q.text):
        # the text table still: read whole, it is a fraction of the attempts' rows
        return Search(found.relation, "a text shorter than three letters or digits is looked for in every attempt")
    return found


def indexed_search(q: ExplorerQuery, db: Database | None) -> str:
    return search_mode(q, db).relation


def _attempts_before(f: Filters, db: Database | None) -> datetime | None:
    """A time every attempt of the generations started before f.until was created before (from the
    daily rollup's scope and attempt days, which the facts in use come with); None when unknown."""
    db = db or get_database()
    if not facts_relation(db) or ROLLUP not in readable_rollups(db):
        return None
    last_day = (f.until - timedelta(microseconds=1)).astimezone(UTC).date()
    df = fetch(
        f'SELECT max(attempt_day) AS d FROM "{db.schema}".{ROLLUP} WHERE attempts <> 0 AND scope_day <= :day',
        {"day": last_day},
        db=db,
    )
    d = df["d"].iloc[0]
    if d is None or pd.isna(d):
        return None
    return datetime.combine(d + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def _value_order(q: ExplorerQuery, db: Database) -> tuple[str, str, str]:
    """(ORDER BY of the attempts that have the sort value, its key expression, an index bound on the
    key): the facts' own value (numeric cost and quality: their value indexes serve the order; the
    latency by its histogram bucket first, the order of the latency index)."""
    if q.sort == "latency_ms":
        bucket = f'"{db.schema}".genlens_latency_bucket'
        op = "<=" if q.descending else ">="
        bound = f"{bucket}(x.latency_ms) {op} {bucket}(CAST(:k_value AS float8))"
        d = "DESC" if q.descending else "ASC"
        return f"{bucket}(x.latency_ms) {d}, x.latency_ms {d}", "x.latency_ms", bound
    col = {"cost_usd": "x.cost_raw", "quality": "x.quality_raw"}[q.sort]
    op = "<=" if q.descending else ">="
    d = "DESC" if q.descending else "ASC"
    return f"{col} {d}", col, f"{col} {op} CAST(:k_value AS numeric)"


def _select(
    f: Filters, q: ExplorerQuery, db: Database | None, after: Key | None, limit: int | None, with_key: bool = True
) -> Sql:
    sql, params, expanding, where = _base(f, q, db)
    key = _key_expr(q)
    direction = "DESC" if q.descending else "ASC"
    if after is not None:
        _, kind = SORTS[q.sort]
        op = "<" if q.descending else ">"
        where += f" AND ({key}, x.generation_id, x.attempt_number) {op} (CAST(:k_value AS {kind}), CAST(:k_gid AS uuid), :k_attempt)"
        params.update(k_value=after[0], k_gid=str(after[1]), k_attempt=int(after[2]))
    limit_sql = ""
    if limit is not None:
        limit_sql = "\nLIMIT :x_limit"
        params["x_limit"] = int(limit)
    key_col = f", {key} AS sort_key" if with_key else ""
    sql += f"""
SELECT CAST(x.generation_id AS text) AS generation_id, x.attempt_number, x.status, x.model_used, x.story_type,
       CAST(x.user_id AS text) AS user_id, x.created_at, x.completed_at, x.latency_ms, x.cost_usd, x.tokens,
       x.quality, x.error_message, x.error_signature{key_col}
FROM x
WHERE {where}
ORDER BY {key} {direction}, x.generation_id {direction}, x.attempt_number {direction}{limit_sql}"""
    return Sql(sql, params, expanding)


def _select_part(f: Filters, q: ExplorerQuery, db: Database, after: Key | None, limit: int | None, part: str) -> Sql:
    """A sort by value split in two: `part` "known", the attempts that have the value, in the order
    of the facts' value index; "unknown", those without it, in key order."""
    sql, params, expanding, where = _base(f, q, db)
    col = {"cost_usd": "x.cost_raw", "quality": "x.quality_raw", "latency_ms": "x.latency_ms"}[q.sort]
    d = "DESC" if q.descending else "ASC"
    op = "<" if q.descending else ">"
    if part == "known":
        order, key, bound = _value_order(q, db)
        where += f" AND {col} IS NOT NULL"
        if after is not None:
            kind = "float8" if q.sort == "latency_ms" else "numeric"
            where += f" AND {bound} AND ({key}, x.generation_id, x.attempt_number) {op} (CAST(:k_value AS {kind}), CAST(:k_gid AS uuid), :k_attempt)"
            params.update(k_value=after[0], k_gid=str(after[1]), k_attempt=int(after[2]))
        key_col, order = f"{key} AS sort_key", f"{order}, x.generation_id {d}, x.attempt_number {d}"
    else:
        where += f" AND {col} IS NULL"
        if after is not None:
            where += f" AND (x.generation_id, x.attempt_number) {op} (CAST(:k_gid AS uuid), :k_attempt)"
            params.update(k_gid=str(after[1]), k_attempt=int(after[2]))
        infinity = "-Infinity" if q.descending else "Infinity"
        key_col, order = f"CAST('{infinity}' AS float8) AS sort_key", f"x.generation_id {d}, x.attempt_number {d}"
    limit_sql = ""
    if limit is not None:
        limit_sql = "\nLIMIT :x_limit"
        params["x_limit"] = int(limit)
    # The page's keys first, from the value index alone (its INCLUDE columns hold every filter: no
    # table row is read for the attempts passed over, say 100,000 quality scores of 1.0 tied at the
    # top), then the rows of those keys.
    sql += f"""
, page AS (
    SELECT x.generation_id AS page_gid, x.attempt_number AS page_attempt
    FROM x
    WHERE {where}
    ORDER BY {order}{limit_sql}
)
SELECT CAST(x.generation_id AS text) AS generation_id, x.attempt_number, x.status, x.model_used, x.story_type,
       CAST(x.user_id AS text) AS user_id, x.created_at, x.completed_at, x.latency_ms, x.cost_usd, x.tokens,
       x.quality, x.error_message, x.error_signature, {key_col}
FROM x JOIN page ON x.generation_id = page.page_gid AND x.attempt_number = page.page_attempt
ORDER BY {order}"""
    return Sql(sql, params, expanding)


def _walks_value_index(f: Filters, q: ExplorerQuery, db: Database) -> bool:
    """Whether a sort by value reads the facts' value index in order: where most attempts of the
    window pass the filters. A search, a signature, the issues filter, a user or statuses without
    successes keep few of them: walking the index would read most of it for a page, so those sort
    the matching attempts instead."""
    if q.sort == "created_at" or q.text is not None or q.signature is not None or q.issues_only or f.user:
        return False
    if f.statuses and "success" not in f.statuses:
        return False
    return bool(facts_relation(db))


def _value_page(f: Filters, q: ExplorerQuery, db: Database, after: Key | None, n: int) -> pd.DataFrame:
    """Up to n rows of a sort by value: the attempts with the value first (an index walk), then,
    once those run out, the ones without it (their key is +/-Infinity: they come last)."""
    known = pd.DataFrame()
    in_unknown = after is not None and isinstance(after[0], float) and math.isinf(after[0])
    if not in_unknown:
        s = _select_part(f, q, db, after, n, "known")
        known = fetch(s.text, s.params, s.expanding, db)
        if len(known) >= n:
            return known
    s = _select_part(f, q, db, after if in_unknown else None, n - len(known), "unknown")
    unknown = fetch(s.text, s.params, s.expanding, db)
    if known.empty or unknown.empty:
        return unknown if known.empty else known
    # one frame built from both parts' values, as the one-query page builds it from its rows (the
    # unknown rows' empty value columns then give NaN in a float column, not None in an object one)
    rows = known.astype(object).to_dict("records") + unknown.astype(object).to_dict("records")
    return pd.DataFrame.from_records(rows, columns=list(known.columns))


def _plain(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    return v


def explorer_page(
    f: Filters, q: ExplorerQuery, after: Key | None = None, limit: int = 50, db: Database | None = None
) -> ExplorerPage:
    """One page of attempts, `limit` rows after the key `after` (None: the first page).

    Grain: attempt. Filters: sidebar filters (statuses included), q. Units: latency_ms in ms,
    cost_usd in USD, quality 0-1; NULL where unknown. Ordered by q.sort then generation_id,
    attempt_number (all in q's direction); unknown sort values last.
    """
    if limit < 1:
        raise FilterError("page size must be at least 1")
    db = db or get_database()
    if _walks_value_index(f, q, db):
        df = _value_page(f, q, db, after, limit + 1)
    else:
        s = _select(f, q, db, after, limit + 1)
        df = fetch(s.text, s.params, s.expanding, db)
    next_after = None
    if len(df) > limit:
        df = df.iloc[:limit]
        last = df.iloc[-1]
        next_after = (_plain(last["sort_key"]), str(last["generation_id"]), int(last["attempt_number"]))
    return ExplorerPage(df[COLUMNS].reset_index(drop=True), next_after)


# A search, a signature or the metadata-issue filter is counted up to this many matches: counting
# every match of a common word means reading every prompt of the window (10M attempts: past the
# statement timeout), while the first page stops at its 50th match.
COUNT_CAP = 10_000


def explorer_count(f: Filters, q: ExplorerQuery, db: Database | None = None, cap: int | None = None) -> int:
    """Number of attempts matching the sidebar filters and q (all pages); with `cap`, a query with
    a search, a signature or the issues filter is counted up to cap + 1 ("more than cap")."""
    # Attempt counts by status are metrics (per status, under any model and story type filter): no
    # scan for the plain views when the planner has them in a rollup (10M, a type: 1.84 s -> 0.01 s).
    plain = not q.searched and not f.user
    if plain:
        unfiltered = replace(f, statuses=())
        names = [_STATUS_COUNT[s] for s in (f.statuses or STATUSES)]
        if planner.explain(names, unfiltered, db=db).source == "rollup":
            counts = planner.row(unfiltered, names, db=db)
            return int(sum(counts[n] for n in names))
    sql, params, expanding, where = _base(f, q, db)
    if cap is not None and q.searched:
        params = {**params, "x_cap": int(cap) + 1}
        count = f"\nSELECT count(*) AS n FROM (SELECT 1 FROM x WHERE {where} LIMIT :x_cap) AS m"
    else:
        count = f"\nSELECT count(*) AS n FROM x WHERE {where}"
    df = fetch(sql + count, params, expanding, db)
    return int(df["n"].iloc[0])


# the metric counting the attempts of each status
_STATUS_COUNT = {"success": "successes", "failed": "failures", "timeout": "timeouts", "pending": "pending_attempts"}


def explorer_sql(f: Filters, q: ExplorerQuery, db: Database | None = None) -> Sql:
    """Every matching attempt, in page order, with the attempts report's columns (for the CSV)."""
    return _select(f, q, db, None, None, with_key=False)


@contextmanager
def stream_rows(
    f: Filters, q: ExplorerQuery, db: Database | None = None, export: bool = False
) -> Iterator[tuple[list[str], Any]]:
    """(columns, rows) of every matching attempt, from a server-side cursor (`export`: a long job,
    under GENLENS_EXPORT_TIMEOUT_MS)."""
    s = explorer_sql(f, q, db)
    with streaming(s.text, s.params, s.expanding, db, export=export) as (cols, rows):
        yield cols, rows


def write_csv(f: Filters, q: ExplorerQuery, out: BinaryIO, db: Database | None = None, limit: int | None = None) -> int:
    """Stream every matching attempt (the first `limit`) as CSV (UTF-8) into `out`, as an export;
    return the number of data rows. Cells as the CLI writes them (queries.csv_format): with the
    sidebar filters and statuses only, in the default order, it is the attempts report's file."""
    s = explorer_sql(f, q, db)
    return export_csv(s.text, s.params, s.expanding, out.write, db, encode=True, limit=limit)
