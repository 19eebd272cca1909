"""The Overview's figures from the daily rollups (data_access/facts.py): same numbers, in milliseconds.

Used for the summary, daily, by_model and retries reports, the data-quality counts, the cost
breakdowns (by model, day, story type, phase), the quality histogram and outlier counts, the
Reliability page's daily rates, breakdowns by model and story type, failure cost and retries per
phase, the Errors page's totals, signature trends and daily shares, and the Explorer's total, when
the window is whole UTC days, no attempt filter (model, type, user, status) is set, and the facts
table and its rollups are in use; otherwise the reports run over `queries.core.scoped` as always. Counts and
sums add up exactly (numeric). Percentiles stay exact (`percentile_cont`): the latency histogram
gives the bucket holding the k-th latency of the window and its rank inside the bucket, and one
indexed query per needed value reads it from the facts rows of that bucket; the interpolation is
PostgreSQL's own (`lo + pct * (hi - lo)` in float8).

A model filter is answered too by the frames of attempt-level sums over the two rollups keyed by
model (`usable(..., by_attempt=True)`): a filter on attempts leaves each generation's scope as it
was, so those sums are the sums of the model's rows. Generation-level figures (success rates,
generation counts, retries) are over each generation's remaining attempts: for a filter on one
model the rollups keep them too (`usable(..., one_model=True)`): the daily rollup's `mgens...`
sums and `m_scope_day`, `m_first_type` keys count and place each (generation, model) pair
(`mtype_gens...` per story type), and `genlens_rollup_model_retries` has its attempts and final
status. For several models nothing does. The quality histogram is keyed by model too.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from datetime import UTC, datetime
from datetime import time as dtime

import pandas as pd
from sqlalchemy import bindparam, text

from data_access.engine import Database, get_database, read_only
from data_access.facts import (
    BUCKET_FN,
    ROLLUP,
    ROLLUP_ERROR,
    ROLLUP_LATENCY,
    ROLLUP_MODEL_RETRIES,
    ROLLUP_PHASE,
    ROLLUP_QUALITY,
    ROLLUP_RETRIES,
    ROLLUPS,
)
from queries import masking
from queries.core import FACTS_TTL_S, ISSUE_KINDS, facts_relation
from queries.filters import Filters

_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()
PERCENTILES = (0.5, 0.95)


def _midnight(d: datetime) -> bool:
    """A UTC day boundary: the rollups are by UTC day."""
    return d.astimezone(UTC).time() == dtime(0)


def _readable(db: Database) -> frozenset[str]:
    """The rollup tables this database user may read (cached for FACTS_TTL_S)."""
    now = time.monotonic()
    with _lock:
        seen = _seen.get(db.engine)
    if seen is not None and seen[0] > now:
        return seen[1]
    names = {f'"{db.schema}".{t}': t for t in ROLLUPS}
    try:
        with db.engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT t FROM unnest(CAST(:ts AS text[])) AS t"
                    " WHERE to_regclass(t) IS NOT NULL AND has_table_privilege(CAST(to_regclass(t) AS oid), 'SELECT')"
                ),
                {"ts": list(names)},
            ).scalars()
            ok = frozenset(names[t] for t in found)
    except Exception:  # noqa: BLE001 - the page's own query reports a broken database
        return frozenset()
    with _lock:
        _seen[db.engine] = (now + FACTS_TTL_S, ok)
    return ok


def usable(
    f: Filters, db: Database | None = None, also: str | None = None, by_attempt: bool = False, one_model: bool = False
) -> bool:
    """Whether `f` can be answered from the rollups (see the module's docstring); `also`: a
    further rollup table the answer reads; `by_attempt`: the answer is attempt-level sums of the
    model-keyed rollups (ROLLUP, ROLLUP_LATENCY, ROLLUP_QUALITY), which a model filter narrows row
    by row;
    `one_model`: it also reads the per-model generation sums, which answer a filter on one model."""
    db = db or get_database()
    if f.types or f.user or f.statuses:
        return False
    if f.models and not (by_attempt or (one_model and len(f.models) == 1)):
        return False
    if not (_midnight(f.since) and _midnight(f.until)):
        return False
    need = {ROLLUP, ROLLUP_LATENCY} | ({also} if also else set())
    return bool(facts_relation(db)) and need <= _readable(db)


def _days(f: Filters) -> dict:
    return {
        "d0": f.since.astimezone(UTC).date(),
        "d1": f.until.astimezone(UTC).date(),
        "tests": bool(f.include_tests),
        "models": list(f.models) if f.models else None,
    }


_WINDOW = "scope_day >= :d0 AND scope_day < :d1 AND (:tests OR NOT is_test)"
# ... and the model filter, for the rollups keyed by model (only frames of attempt-level sums run
# with one set: usable(..., by_attempt=True))
_MODELS = "(CAST(:models AS text[]) IS NULL OR model_used = ANY (CAST(:models AS text[])))"
_WINDOW_M = f"{_WINDOW} AND {_MODELS}"


def _g(f: Filters) -> str:
    """Prefix of the generation sums to read: per generation, or per generation and model when a
    (single: usable(..., one_model=True)) model filter is set."""
    return "m" if f.models else ""


def _percentiles(conn, f: Filters, db: Database, by_model: bool) -> dict:
    """{model or None: (p50, p95)} of the window's known latencies, exact, NULL when none."""
    key = "model_used, " if by_model else ""
    hist = conn.execute(
        text(
            f"""SELECT {key}bucket, CAST(sum(n) AS bigint) AS n FROM "{db.schema}".{ROLLUP_LATENCY}
WHERE {_WINDOW_M} GROUP BY {key}bucket HAVING sum(n) > 0 ORDER BY {key}bucket"""
        ),
        _days(f),
    ).all()
    groups: dict = {}
    for row in hist:
        groups.setdefault(row[0] if by_model else None, []).append((row[-2], row[-1]))
    # (group, rank) -> (bucket, offset in bucket) for every order statistic needed
    wanted: dict[tuple, tuple[int, int]] = {}
    plan: dict = {}
    for group, buckets in groups.items():
        total = sum(n for _, n in buckets)
        stats = []
        for p in PERCENTILES:
            x = p * (total - 1)
            first, second = math.floor(x), math.ceil(x)
            stats.append((first, second, x - first))
            for rank in (first, second):
                before = 0
                for bucket, n in buckets:
                    if rank < before + n:
                        wanted[(group, rank)] = (bucket, rank - before)
                        break
                    before += n
        plan[group] = stats
    # one query per (group, bucket): the ranks it holds are read with one OFFSET ... LIMIT
    spans: dict[tuple, list[int]] = {}
    for (group, _rank), (bucket, offset) in wanted.items():
        spans.setdefault((group, bucket), []).append(offset)
    values: dict[tuple, float] = {}
    if spans:
        parts = []
        params = {"since": f.since, "until": f.until, "tests": bool(f.include_tests), "models": _days(f)["models"]}
        order = list(spans)
        for i, (group, bucket) in enumerate(order):
            lo, hi = min(spans[(group, bucket)]), max(spans[(group, bucket)])
            model = f" AND g.model_used IS NOT DISTINCT FROM :m{i}" if by_model else ""
            parts.append(
                f"""(SELECT {i} AS i, g.latency_ms FROM "{db.schema}".genlens_facts g
  WHERE "{db.schema}".{BUCKET_FN}(g.latency_ms) = :b{i} AND g.latency_ms IS NOT NULL
    AND g.scope_at >= :since AND g.scope_at < :until AND (:tests OR NOT g.is_test){model}
    AND {_MODELS.replace("model_used", "g.model_used")}
  ORDER BY g.latency_ms OFFSET :o{i} LIMIT :n{i})"""
            )
            params |= {f"b{i}": bucket, f"o{i}": lo, f"n{i}": hi - lo + 1} | ({f"m{i}": group} if by_model else {})
        got: dict[int, list[float]] = {}
        for i, v in conn.execute(text("\nUNION ALL\n".join(parts)), params).all():
            got.setdefault(i, []).append(float(v))
        for vals in got.values():
            vals.sort()
        for (group, rank), (bucket, offset) in wanted.items():
            i = order.index((group, bucket))
            values[(group, rank)] = got[i][offset - min(spans[(group, bucket)])]
    out = {}
    for group, stats in plan.items():
        res = []
        for first, second, pct in stats:
            lo, hi = values[(group, first)], values[(group, second)]
            res.append(lo if first == second else lo + pct * (hi - lo))  # PostgreSQL's float8_lerp
        out[group] = tuple(res)
    return out


def _fetch(sql: str, params: dict, db: Database, by_model: bool = False, expanding: tuple = ()) -> pd.DataFrame:
    with read_only(db) as conn:
        pct = _percentiles(conn, f=params.pop("_f"), db=db, by_model=by_model)
        if by_model:
            params |= {"pm": list(pct), "p50s": [v[0] for v in pct.values()], "p95s": [v[1] for v in pct.values()]}
        else:
            p50, p95 = pct.get(None, (None, None))
            params |= {"p50": p50, "p95": p95}
        stmt = text(sql)
        if expanding:
            stmt = stmt.bindparams(*(bindparam(n, expanding=True) for n in expanding))
        result = conn.execute(stmt, params)
        df = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return masking.apply_frame(df, None)


def summary_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    from queries.reports import SUMMARY_SELECT

    db = db or get_database()
    g = _g(f)
    sql = f"""
WITH r AS (SELECT * FROM "{db.schema}".{ROLLUP} WHERE {_WINDOW_M}),
a AS (
    SELECT CAST(COALESCE(sum(attempts), 0) AS bigint) AS attempts,
           CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'success'), 0) AS bigint) AS success_attempts,
           CAST(COALESCE(sum(attempts) FILTER (WHERE status IN ('success', 'failed', 'timeout')), 0) AS bigint)
               AS terminal_attempts,
           COALESCE(sum(cost_usd), 0) AS total_cost_usd,
           COALESCE(sum(tokens), 0) AS total_tokens,
           CAST(:p50 AS float8) AS p50_latency_ms,
           CAST(:p95 AS float8) AS p95_latency_ms,
           sum(quality_sum) / NULLIF(sum(quality_n), 0) AS avg_quality,
           CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'pending'), 0) AS bigint) AS pending_attempts,
           CAST(COALESCE(sum(metadata_issues), 0) AS bigint) AS metadata_issues
    FROM r
), gg AS (
    SELECT CAST(COALESCE(sum({g}gens), 0) AS bigint) AS generations,
           CAST(COALESCE(sum({g}gens) FILTER (WHERE status = 'success'), 0) AS bigint) AS final_success,
           CAST(COALESCE(sum({g}gens) FILTER (WHERE status IN ('success', 'failed', 'timeout')), 0) AS bigint)
               AS final_terminal,
           CAST(COALESCE(sum({g}gens_first_success), 0) AS bigint) AS first_success,
           CAST(COALESCE(sum({g}gens_first_terminal), 0) AS bigint) AS first_terminal,
           CAST(COALESCE(sum({g}gens_retried), 0) AS bigint) AS retried,
           CAST(COALESCE(sum({g}gens_retried) FILTER (WHERE status = 'success'), 0) AS bigint) AS recovered
    FROM r
)
{SUMMARY_SELECT}"""
    return _fetch(sql, {**_days(f), "_f": f}, db)


def daily_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    from queries.reports import RATE

    db = db or get_database()
    ok, term = (
        "sum(attempts) FILTER (WHERE status = 'success')",
        ("sum(attempts) FILTER (WHERE status IN ('success', 'failed', 'timeout'))"),
    )
    sql = f"""
SELECT attempt_day AS day,
       CAST(sum(attempts) AS bigint) AS attempts,
       CAST(COALESCE({ok}, 0) AS bigint) AS successes,
       CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'failed'), 0) AS bigint) AS failures,
       CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'timeout'), 0) AS bigint) AS timeouts,
       {RATE.format(num=f"COALESCE({ok}, 0)", den=f"CAST(COALESCE({term}, 0) AS bigint)")} AS attempt_success_rate,
       CAST(COALESCE(sum(cost_usd), 0) AS float8) AS total_cost_usd
FROM "{db.schema}".{ROLLUP}
WHERE {_WINDOW_M}
GROUP BY attempt_day
HAVING sum(attempts) > 0
ORDER BY 1"""
    return _rows(sql, _days(f), db)


def by_model_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    from queries.reports import RATE

    db = db or get_database()
    ok = "sum(attempts) FILTER (WHERE status = 'success')"
    term = "sum(attempts) FILTER (WHERE status IN ('success', 'failed', 'timeout'))"
    sql = f"""
WITH b AS (
    SELECT model_used,
           CAST(sum(attempts) AS bigint) AS attempts,
           CAST(COALESCE({ok}, 0) AS bigint) AS successes,
           CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'failed'), 0) AS bigint) AS failures,
           CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'timeout'), 0) AS bigint) AS timeouts,
           CAST(COALESCE({term}, 0) AS bigint) AS terminal,
           COALESCE(sum(cost_usd), 0) AS total_cost_usd,
           sum(quality_sum) / NULLIF(sum(quality_n), 0) AS avg_quality
    FROM "{db.schema}".{ROLLUP}
    WHERE {_WINDOW_M}
    GROUP BY model_used
    HAVING sum(attempts) > 0
), p AS (
    SELECT * FROM unnest(CAST(:pm AS text[]), CAST(:p50s AS float8[]), CAST(:p95s AS float8[])) AS p(m, p50, p95)
)
SELECT b.model_used, b.attempts, b.successes, b.failures, b.timeouts,
       {RATE.format(num="b.successes", den="b.terminal")} AS attempt_success_rate,
       p.p50 AS p50_latency_ms, p.p95 AS p95_latency_ms,
       CAST(b.total_cost_usd AS float8) AS total_cost_usd,
       CAST(b.avg_quality AS float8) AS avg_quality
FROM b LEFT JOIN p ON p.m IS NOT DISTINCT FROM b.model_used
ORDER BY b.attempts DESC, b.model_used"""
    return _fetch(sql, {**_days(f), "_f": f}, db, by_model=True)


def issue_kind_counts(f: Filters, db: Database | None = None) -> dict[str, int]:
    """Attempts per metadata-issue kind (queries.data_quality), from the rollup."""
    db = db or get_database()
    sums = ", ".join(f"CAST(COALESCE(sum({k}), 0) AS bigint) AS {k}" for k in ISSUE_KINDS)
    with read_only(db) as conn:
        row = (
            conn.execute(text(f'SELECT {sums} FROM "{db.schema}".{ROLLUP} WHERE {_WINDOW_M}'), _days(f))
            .mappings()
            .one()
        )
    return {k: int(row[k]) for k in ISSUE_KINDS}


def _rows(sql: str, params: dict, db: Database) -> pd.DataFrame:
    with read_only(db) as conn:
        result = conn.execute(text(sql), params)
        df = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    return masking.apply_frame(df, None)


def _r(db: Database) -> str:
    """The window's rollup rows (rows a delta brought back to zero left out)."""
    return f'(SELECT * FROM "{db.schema}".{ROLLUP} WHERE {_WINDOW_M} AND attempts <> 0) AS r'


def cost_by_model_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """queries.cost_quality.by_model from the rollup."""
    from queries.cost_quality import _rate

    db = db or get_database()
    sql = f"""
WITH b AS (
    SELECT model_used,
           CAST(sum(attempts) AS bigint) AS attempts,
           CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'success'), 0) AS bigint) AS successes,
           CAST(sum(cost_n) AS bigint) AS attempts_with_cost,
           sum(cost_usd) AS cost, sum(cost_usd) / NULLIF(sum(cost_n), 0) AS avg_cost,
           sum(quality_sum) / NULLIF(sum(quality_n), 0) AS avg_quality,
           sum(tokens) AS tokens
    FROM {_r(db)}
    GROUP BY model_used
), p AS (
    SELECT * FROM unnest(CAST(:pm AS text[]), CAST(:p50s AS float8[]), CAST(:p95s AS float8[])) AS p(m, p50, p95)
)
SELECT b.model_used, b.attempts, b.successes, b.attempts_with_cost,
       CAST(b.cost AS float8) AS total_cost_usd,
       CAST(b.avg_cost AS float8) AS avg_cost_usd,
       {_rate("b.cost", "b.successes")} AS cost_per_success_usd,
       CAST(b.avg_quality AS float8) AS avg_quality,
       p.p50 AS p50_latency_ms, p.p95 AS p95_latency_ms,
       CAST(b.tokens AS bigint) AS total_tokens
FROM b LEFT JOIN p ON p.m IS NOT DISTINCT FROM b.model_used
ORDER BY total_cost_usd DESC, b.model_used"""
    return _fetch(sql, {**_days(f), "_f": f}, db, by_model=True)


def cost_by_day_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """queries.cost_quality.cost_by_day from the rollup."""
    db = db or get_database()
    sql = f"""
SELECT attempt_day AS day, model_used, CAST(sum(attempts) AS bigint) AS attempts,
       CAST(sum(cost_usd) AS float8) AS total_cost_usd
FROM {_r(db)}
GROUP BY 1, 2
ORDER BY 1, 2"""
    return _rows(sql, _days(f), db)


def phase_usage_frame(f: Filters, per_model: bool, db: Database | None = None) -> pd.DataFrame:
    """queries.cost_quality.phase_usage from the rollup."""
    from queries.core import PHASES

    db = db or get_database()
    values = ", ".join(
        f"({i}, '{p}', r.tok_{p}_sum, r.tok_{p}_n, r.dur_{p}_sum, r.dur_{p}_n)" for i, p in enumerate(PHASES)
    )
    model_col, model_group = ("r.model_used, ", ", r.model_used") if per_model else ("", "")
    sql = f"""
SELECT {model_col}ph.phase,
       CAST(sum(ph.tn) AS bigint) AS attempts_with_tokens,
       CAST(sum(ph.ts) AS bigint) AS total_tokens,
       CAST(sum(ph.ts) / NULLIF(sum(ph.tn), 0) AS float8) AS avg_tokens,
       CAST(sum(ph.dn) AS bigint) AS attempts_with_duration,
       CAST(sum(ph.ds) AS float8) AS total_duration_ms,
       CAST(sum(ph.ds) / NULLIF(sum(ph.dn), 0) AS float8) AS avg_duration_ms
FROM {_r(db)}
CROSS JOIN LATERAL (VALUES {values}) AS ph(ord, phase, ts, tn, ds, dn)
GROUP BY ph.ord, ph.phase{model_group}
HAVING sum(ph.tn) > 0 OR sum(ph.dn) > 0
ORDER BY {model_col}ph.ord"""
    return _rows(sql, _days(f), db)


def _rate_sums(db: Database, gen_key: str, att_key: str, g: str = "") -> str:
    """CTE b: queries.reliability's _SUMS per value k, generations grouped by `gen_key` of their
    final attempt's row, attempts by `att_key` of their own (expressions over rollup rows); `g`:
    the prefix of the generation sums (_g)."""
    from queries.reliability import _SUMS

    term = "('success', 'failed', 'timeout')"
    return f"""
WITH r AS (SELECT * FROM "{db.schema}".{ROLLUP} WHERE {_WINDOW_M} AND attempts <> 0),
parts AS (
    SELECT {gen_key} AS k,
           sum({g}gens) AS generations,
           COALESCE(sum({g}gens) FILTER (WHERE status = 'success'), 0) AS final_success,
           COALESCE(sum({g}gens) FILTER (WHERE status IN {term}), 0) AS final_terminal,
           sum({g}gens_first_success) AS first_success,
           sum({g}gens_first_terminal) AS first_terminal,
           sum({g}gens_retried) AS retried,
           COALESCE(sum({g}gens_retried) FILTER (WHERE status = 'success'), 0) AS recovered,
           0 AS attempts, 0 AS successes, 0 AS failures, 0 AS timeouts, 0 AS terminal_attempts,
           sum(attempts) AS gen_attempts
    FROM r GROUP BY 1
    UNION ALL
    SELECT {att_key}, 0, 0, 0, 0, 0, 0, 0,
           sum(attempts),
           COALESCE(sum(attempts) FILTER (WHERE status = 'success'), 0),
           COALESCE(sum(attempts) FILTER (WHERE status = 'failed'), 0),
           COALESCE(sum(attempts) FILTER (WHERE status = 'timeout'), 0),
           COALESCE(sum(attempts) FILTER (WHERE status IN {term}), 0),
           0
    FROM r GROUP BY 1
), b AS (
    SELECT k, {_SUMS} FROM parts GROUP BY k
)
"""


def rates_by_day_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """queries.reliability.rates_over_time for day buckets, from the rollup."""
    from queries.reliability import _RATES

    db = db or get_database()
    day = "CAST({} AS timestamp) AT TIME ZONE 'UTC'"
    g = _g(f)
    sql = (
        _rate_sums(db, day.format("m_scope_day" if g else "scope_day"), day.format("attempt_day"), g)
        + f"SELECT k AS bucket, {_RATES}\nFROM b\nORDER BY k"
    )
    return _rows(sql, _days(f), db)


def attempt_count(f: Filters, db: Database | None = None) -> int:
    """Attempts of the generations in scope, narrowed to f's models and statuses (the Explorer's
    total). Only those two attempt filters may be set: the rollup is keyed by model and status."""
    db = db or get_database()
    params = {**_days(f), "statuses": list(f.statuses) if f.statuses else None}
    stmt = text(
        f'SELECT CAST(COALESCE(sum(attempts), 0) AS bigint) FROM "{db.schema}".{ROLLUP} WHERE {_WINDOW_M}'
        " AND (CAST(:statuses AS text[]) IS NULL OR status = ANY (CAST(:statuses AS text[])))"
    )
    with read_only(db) as conn:
        return int(conn.execute(stmt, params).scalar())


# --- Reliability and cost breakdowns ----------------------------------------------------------


def rates_by_frame(f: Filters, dimension: str, db: Database | None = None) -> pd.DataFrame:
    """queries.reliability.rates_by from the rollup: generations by their first attempt's model or
    type (counted on their final attempt's row), attempts by their own."""
    from queries.reliability import DIMENSIONS, _by_select

    gcol, acol = DIMENSIONS[dimension]
    if f.models:  # one model: a generation's first model and type are those of its attempts of it
        gcol = {"first_model": "model_used", "first_type": "m_first_type"}[gcol]
    db = db or get_database()
    sql = _rate_sums(db, gcol, acol, _g(f)) + _by_select(dimension)
    return _rows(sql, _days(f), db)


def failed_cost_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """queries.reliability.failed_attempt_cost from the rollup."""
    from queries.reliability import _rate

    db = db or get_database()
    lost = "status IN ('failed', 'timeout')"

    def money(where: str) -> str:
        return f"CAST(COALESCE(sum(cost_usd) FILTER (WHERE {where}), 0) AS float8)"

    def hours(where: str) -> str:
        return f"CAST(COALESCE(sum(latency_sum) FILTER (WHERE {where}), 0) / 3600000.0 AS float8)"

    # a sum of no known cost is NULL, as in SQL over the attempts (the rollup stores 0 and a count)
    lost_known = f"CASE WHEN sum(cost_n) FILTER (WHERE {lost}) > 0 THEN sum(cost_usd) FILTER (WHERE {lost}) END"
    sql = f"""
SELECT (GROUPING(model_used) = 1) AS is_total,
       model_used,
       CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'failed'), 0) AS bigint) AS failed_attempts,
       CAST(COALESCE(sum(attempts) FILTER (WHERE status = 'timeout'), 0) AS bigint) AS timeout_attempts,
       {money("status = 'failed'")} AS failed_cost_usd,
       {money("status = 'timeout'")} AS timeout_cost_usd,
       {money(lost)} AS lost_cost_usd,
       {_rate(lost_known, "sum(cost_usd)")} AS failure_cost_share,
       {hours("status = 'failed'")} AS failed_time_h,
       {hours("status = 'timeout'")} AS timeout_time_h,
       {hours(lost)} AS lost_time_h
FROM {_r(db)}
GROUP BY GROUPING SETS ((), (model_used))
ORDER BY is_total DESC, lost_cost_usd DESC, model_used"""
    return _rows(sql, _days(f), db)


def phase_retries_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """queries.reliability.phase_retries from the retry-phase rollup."""
    db = db or get_database()
    sql = f"""
SELECT phase,
       CAST(sum(reporting) AS bigint) AS attempts_reporting,
       CAST(sum(with_retries) AS bigint) AS attempts_with_retries,
       CAST(sum(retries) AS float8) AS retries,
       CAST(sum(retries) / NULLIF(sum(reporting), 0) AS float8) AS retries_per_attempt
FROM "{db.schema}".{ROLLUP_PHASE}
WHERE {_WINDOW}
GROUP BY phase
HAVING sum(reporting) > 0
ORDER BY retries DESC, phase"""
    return _rows(sql, _days(f), db)


def cost_by_type_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """queries.cost_quality.cost_by_story_type from the rollup."""
    from queries.cost_quality import BY_TYPE_SELECT

    db = db or get_database()
    g = _g(f)
    sql = f"""
WITH t AS (
    SELECT story_type,
           CAST(sum({g}type_gens) AS bigint) AS generations,
           CAST(sum({g}type_gens_success) AS bigint) AS successful_generations,
           CAST(sum(attempts) AS bigint) AS attempts,
           sum(cost_usd) AS total_cost_usd,
           sum(cost_usd) / NULLIF(sum(cost_n), 0) AS avg_cost_usd
    FROM {_r(db)}
    GROUP BY story_type
)
{BY_TYPE_SELECT}"""
    return _rows(sql, _days(f), db)


# --- Errors and retries ---------------------------------------------------------------------------


def failure_summary_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """queries.errors.failure_summary from the rollup."""
    from queries.errors import FAILED

    db = db or get_database()

    def attempts(where: str) -> str:
        return f"CAST(COALESCE(sum(attempts) FILTER (WHERE {where}), 0) AS bigint)"

    sql = f"""
SELECT {attempts("status = 'failed'")} AS failed_attempts,
       {attempts("status = 'timeout'")} AS timeout_attempts,
       {attempts(f"status IN {FAILED}")} AS failures,
       CAST(COALESCE(sum(failures_no_message), 0) AS bigint) AS without_message,
       {attempts("status IN ('success', 'failed', 'timeout')")} AS terminal_attempts,
       CAST(COALESCE(sum(attempts) FILTER (WHERE status IN {FAILED}), 0) AS float8)
           / NULLIF(sum(attempts) FILTER (WHERE status IN ('success', 'failed', 'timeout')), 0) AS failure_rate
FROM {_r(db)}"""
    return _rows(sql, _days(f), db)


def _signed(db: Database) -> str:
    """Per (signature, attempt day) of the window: failed and timed-out attempts with a message."""
    return f"""SELECT error_signature, attempt_day AS day, sum(n) AS n
    FROM "{db.schema}".{ROLLUP_ERROR} WHERE {_WINDOW}
    GROUP BY 1, 2 HAVING sum(n) <> 0"""


def signature_trends_frame(f: Filters, limit: int, db: Database | None = None) -> pd.DataFrame:
    """queries.errors.signature_trends from the error rollup."""
    from queries.errors import TRENDS_TAIL

    db = db or get_database()
    sql = f"""
WITH e AS (
    {_signed(db)}
), top AS (
    SELECT error_signature, sum(n) AS n FROM e GROUP BY 1 ORDER BY n DESC, error_signature LIMIT :limit
), c AS (
    SELECT error_signature, day, n FROM e WHERE error_signature IN (SELECT error_signature FROM top)
){TRENDS_TAIL}"""
    return _rows(sql, {**_days(f), "since": f.since, "until": f.until, "limit": int(limit)}, db)


def failure_share_frame(f: Filters, top: int, db: Database | None = None) -> pd.DataFrame:
    """queries.errors.failure_share from the error rollup (failures without a message: the daily one)."""
    from queries.errors import SHARE_TAIL

    db = db or get_database()
    sql = f"""
WITH fl AS (
    {_signed(db)}
    UNION ALL
    SELECT NULL, attempt_day, sum(failures_no_message) FROM {_r(db)}
    GROUP BY 2 HAVING sum(failures_no_message) <> 0
){SHARE_TAIL}"""
    return _rows(sql, {**_days(f), "top": int(top)}, db)


def retries_frame(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """The retries report from the retries rollup (under a filter on one model, its per-model twin)."""
    db = db or get_database()
    table, window = (ROLLUP_MODEL_RETRIES, _WINDOW_M) if f.models else (ROLLUP_RETRIES, _WINDOW)
    sql = f"""
SELECT gen_attempts AS attempts,
       CAST(sum(gens) AS bigint) AS generations,
       CAST(COALESCE(sum(gens) FILTER (WHERE final_status = 'success'), 0) AS bigint) AS succeeded,
       CAST(COALESCE(sum(gens) FILTER (WHERE final_status IN ('failed', 'timeout')), 0) AS bigint) AS failed_final
FROM "{db.schema}".{table}
WHERE {window}
GROUP BY gen_attempts
HAVING sum(gens) <> 0
ORDER BY gen_attempts"""
    return _rows(sql, _days(f), db)


# --- Quality and outliers ---------------------------------------------------------------------


def quality_histogram_frame(f: Filters, bins: int, db: Database | None = None) -> pd.DataFrame:
    """queries.cost_quality.quality_histogram from the quality rollup (`bins` divides its 100)."""
    from queries.cost_quality import QUALITY_BINS

    db = db or get_database()
    sql = f"""
WITH h AS (
    SELECT CAST(floor(CAST(bin - 1 AS numeric) / :per) AS integer) + 1 AS bin, sum(n) AS attempts
    FROM "{db.schema}".{ROLLUP_QUALITY} WHERE {_WINDOW_M}
    GROUP BY 1 HAVING sum(n) <> 0
)
SELECT b.bin,
       CAST(b.bin - 1 AS float8) / :bins AS bin_start,
       CAST(b.bin AS float8) / :bins AS bin_end,
       CAST(COALESCE(h.attempts, 0) AS bigint) AS attempts
FROM generate_series(1, :bins) AS b(bin)
LEFT JOIN h ON h.bin = b.bin
WHERE EXISTS (SELECT 1 FROM h)
ORDER BY b.bin"""
    return _rows(sql, {**_days(f), "bins": int(bins), "per": QUALITY_BINS // int(bins)}, db)


def outlier_counts_frame(f: Filters, limits: dict[str, float], db: Database | None = None) -> pd.DataFrame:
    """queries.cost_quality.outlier_counts: the attempts past each threshold from the facts
    table's value indexes (index-only ranges), the attempts with each value known from the rollup."""
    from queries.cost_quality import OUTLIER_TESTS

    db = db or get_database()
    scope = "scope_at >= :since AND scope_at < :until AND (:tests OR NOT is_test)"
    past = {
        kind: f'(SELECT count(*) FROM "{db.schema}".genlens_facts WHERE {test} AND {scope})'
        for kind, test in OUTLIER_TESTS.items()
    }
    sql = f"""
SELECT {past["expensive"]} AS expensive,
       {past["slow"]} AS slow,
       {past["low_quality"]} AS low_quality,
       CAST(COALESCE(sum(cost_n), 0) AS bigint) AS with_cost,
       CAST(COALESCE(sum(duration_n), 0) AS bigint) AS with_duration,
       CAST(COALESCE(sum(quality_n), 0) AS bigint) AS with_quality
FROM "{db.schema}".{ROLLUP}
WHERE {_WINDOW_M}"""
    return _rows(sql, {**_days(f), "since": f.since, "until": f.until, **limits}, db)
