"""Query levers, prototyped here and measured against the benchmark data (the lead applies them).

Each lever is switched on in-process (a different `queries.core.scoped`, a server setting, an
index, typed columns, a rollup), then the same measurements run: the Overview page cold, and the
summary / by_model / daily / errors reports, on the 30-day window. Every variant must give the same
report values as the current code (checked; a rollup's percentiles are approximate and their error
is reported instead).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import text

from bench.db import BenchDb, drop_schema
from data_access.engine import get_database
from metrics import scope as core
from metrics.scope import IS_TEST, TERMINAL, Sql, attempt_filter, table

REPORTS = ("summary", "by_model", "daily", "errors")

# --- scoped() variants -----------------------------------------------------------------------------


def _num(v: str, upper: float | None = None) -> str:
    bound = f" AND {v}::numeric <= {upper}" if upper is not None else ""
    return f"(CASE WHEN jsonb_typeof({v}) = 'number' AND {v}::numeric >= 0{bound} THEN {v}::numeric END)"


# The JSON values of an attempt, each read once per row. OFFSET 0 keeps PostgreSQL from inlining
# the subquery (inlined, every use of a column re-reads the document: ~40 reads per row today).
JSON_ONCE = """CROSS JOIN LATERAL (
        SELECT jsonb_typeof(g.generation_metadata) AS kind,
               g.generation_metadata #> '{cost_usd}' AS cost,
               g.generation_metadata #> '{total_tokens,total}' AS tokens,
               g.generation_metadata #> '{duration_ms,total}' AS duration,
               g.generation_metadata #> '{quality_scores,overall}' AS quality
        OFFSET 0
    ) j"""

_COST, _TOKENS, _DURATION, _QUALITY = _num("j.cost"), _num("j.tokens"), _num("j.duration"), _num("j.quality", upper=1)
ISSUE_ONCE = (
    "(g.generation_metadata IS NOT NULL AND (j.kind <> 'object'"
    f" OR (j.cost IS NOT NULL AND {_COST} IS NULL) OR (j.quality IS NOT NULL AND {_QUALITY} IS NULL)"
    f" OR (j.tokens IS NOT NULL AND {_TOKENS} IS NULL) OR (j.duration IS NOT NULL AND {_DURATION} IS NULL)))"
)
COLUMNS_ONCE = f"""
    g.generation_id, g.attempt_number, g.status, g.model_used, g.story_type, g.user_id,
    g.created_at, g.completed_at, g.error_message,
    (g.status IN {TERMINAL}) AS terminal,
    {core.LATENCY} AS latency_ms,
    {_COST} AS cost_usd,
    {_TOKENS} AS tokens,
    {_DURATION} AS duration_ms,
    {_QUALITY} AS quality,
    {ISSUE_ONCE} AS metadata_issue"""

# Typed columns (a migration would add them as STORED generated columns): read, not computed.
TYPED = {
    "m_cost_usd": core.COST,
    "m_tokens": core.TOKENS,
    "m_duration_ms": core.DURATION,
    "m_quality": core.QUALITY,
    "m_issue": core.METADATA_ISSUE,
    "m_is_test": IS_TEST,
}
COLUMNS_TYPED = f"""
    g.generation_id, g.attempt_number, g.status, g.model_used, g.story_type, g.user_id,
    g.created_at, g.completed_at, g.error_message,
    (g.status IN {TERMINAL}) AS terminal,
    {core.LATENCY} AS latency_ms,
    g.m_cost_usd AS cost_usd,
    g.m_tokens AS tokens,
    g.m_duration_ms AS duration_ms,
    g.m_quality AS quality,
    g.m_issue AS metadata_issue"""


def make_scoped(columns: str, json_once: bool, materialize_scope: bool, typed_tests: bool = False) -> Callable:
    def scoped(f, db=None, *, extra_columns: str = "") -> Sql:
        db = db or get_database()
        t = table(db)
        where, params, expanding = attempt_filter(f)
        is_test = "g.m_is_test" if typed_tests else IS_TEST
        tests = (
            ""
            if f.include_tests
            else f"AND NOT EXISTS (SELECT 1 FROM {t} g WHERE g.generation_id = c.generation_id AND {is_test})"
        )
        extra = f",{extra_columns}" if extra_columns else ""
        mat = " MATERIALIZED" if materialize_scope else ""
        sql = f"""
WITH cand AS (
    SELECT DISTINCT generation_id FROM {t} WHERE created_at >= :since AND created_at < :until
), scope AS{mat} (
    SELECT c.generation_id FROM cand c
    WHERE NOT EXISTS (SELECT 1 FROM {t} p WHERE p.generation_id = c.generation_id AND p.created_at < :since)
    {tests}
), att AS (
    SELECT {columns}{extra}
    FROM {t} g {JSON_ONCE if json_once else ""}
    WHERE g.created_at >= :since AND g.generation_id IN (SELECT generation_id FROM scope) AND {where}
), gen AS (
    SELECT generation_id, count(*) AS attempts,
           (array_agg(status ORDER BY attempt_number DESC, created_at DESC))[1] AS final_status,
           (array_agg(status ORDER BY attempt_number, created_at))[1] AS first_status
    FROM att GROUP BY generation_id
)"""
        params.update(since=f.since, until=f.until)
        return Sql(sql, params, expanding)

    return scoped


@contextmanager
def patched_scoped(fn: Callable | None) -> Iterator[None]:
    """Every queries module's `scoped` replaced by `fn` (None: unchanged)."""
    if fn is None:
        yield
        return
    mods = [m for name, m in list(sys.modules.items()) if name.startswith("queries") and hasattr(m, "scoped")]
    saved = [(m, m.scoped) for m in mods]
    for m in mods:
        m.scoped = fn
    try:
        yield
    finally:
        for m, old in saved:
            m.scoped = old


@contextmanager
def pgoptions(value: str | None) -> Iterator[None]:
    """Server settings for every new connection of GenLens's engine (libpq PGOPTIONS)."""
    from bench.__main__ import point_genlens_at

    old = os.environ.get("PGOPTIONS")
    if value:
        os.environ["PGOPTIONS"] = f"{old or ''} {value}".strip()
    point_genlens_at(os.environ["DATABASE_URL"], os.environ["GENLENS_SCHEMA"])
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = old
        point_genlens_at(os.environ["DATABASE_URL"], os.environ["GENLENS_SCHEMA"])


# --- a rollup (pre-aggregation) for the Overview ---------------------------------------------------

BUCKETS_PER_DECADE = 100  # latency histogram: bucket width 2.3 %, percentile error ~1 % at worst


def rollup_sql(schema: str) -> list[str]:
    t = f'"{schema}".generations'
    b = BUCKETS_PER_DECADE
    return [
        f'DROP TABLE IF EXISTS "{schema}".rollup_attempts, "{schema}".rollup_generations, "{schema}".rollup_latency',
        f"""CREATE TABLE "{schema}".rollup_gen_tmp AS
SELECT g.generation_id,
       min(g.created_at) AS first_at,
       COALESCE(bool_or({IS_TEST}), false) AS is_test,
       count(*) AS attempts,
       (array_agg(g.status ORDER BY g.attempt_number DESC, g.created_at DESC))[1] AS final_status,
       (array_agg(g.status ORDER BY g.attempt_number, g.created_at))[1] AS first_status
FROM {t} g GROUP BY g.generation_id""",
        f"""CREATE TABLE "{schema}".rollup_generations AS
SELECT (first_at AT TIME ZONE 'UTC')::date AS gen_day, is_test,
       count(*) AS generations,
       count(*) FILTER (WHERE final_status = 'success') AS final_success,
       count(*) FILTER (WHERE final_status IN {TERMINAL}) AS final_terminal,
       count(*) FILTER (WHERE first_status = 'success') AS first_success,
       count(*) FILTER (WHERE first_status IN {TERMINAL}) AS first_terminal,
       count(*) FILTER (WHERE attempts > 1) AS retried,
       count(*) FILTER (WHERE attempts > 1 AND final_status = 'success') AS recovered
FROM "{schema}".rollup_gen_tmp GROUP BY 1, 2""",
        f"""CREATE TABLE "{schema}".rollup_attempts AS
SELECT (r.first_at AT TIME ZONE 'UTC')::date AS gen_day, (a.created_at AT TIME ZONE 'UTC')::date AS day,
       r.is_test, a.model_used, a.story_type, a.status,
       count(*) AS attempts,
       count(a.latency_ms) AS latency_n,
       COALESCE(sum(a.cost_usd), 0) AS cost_usd,
       COALESCE(sum(a.tokens), 0) AS tokens,
       sum(a.quality) AS quality_sum, count(a.quality) AS quality_n,
       count(*) FILTER (WHERE a.metadata_issue) AS metadata_issues
FROM (SELECT {core.ATTEMPT_COLUMNS} FROM {t} g) a JOIN "{schema}".rollup_gen_tmp r USING (generation_id)
GROUP BY 1, 2, 3, 4, 5, 6""",
        f"""CREATE TABLE "{schema}".rollup_latency AS
SELECT (r.first_at AT TIME ZONE 'UTC')::date AS gen_day, r.is_test, g.model_used,
       floor(log(greatest({core.LATENCY}, 0.001)) * {b})::int AS bucket, count(*) AS n
FROM {t} g JOIN "{schema}".rollup_gen_tmp r USING (generation_id)
WHERE {core.LATENCY} IS NOT NULL
GROUP BY 1, 2, 3, 4""",
        f'DROP TABLE "{schema}".rollup_gen_tmp',
        f'ANALYZE "{schema}".rollup_attempts, "{schema}".rollup_generations, "{schema}".rollup_latency',
    ]


def _percentiles(schema: str, by_model: bool) -> str:
    """p50/p95 from the histogram: the bucket where the cumulative count passes p, interpolated."""
    b = BUCKETS_PER_DECADE
    key = "model_used, " if by_model else ""
    part = "PARTITION BY model_used " if by_model else ""
    return f"""
h AS (
    SELECT {key}bucket, sum(n) AS n FROM "{schema}".rollup_latency
    WHERE gen_day >= :d0 AND gen_day < :d1 AND (:tests OR NOT is_test) GROUP BY {key}bucket
), c AS (
    SELECT {key}bucket, n, sum(n) OVER ({part}ORDER BY bucket) AS upto, sum(n) OVER ({part.strip() and "PARTITION BY model_used"}) AS total
    FROM h
), p AS (
    SELECT {key}q,
           min(power(10, (bucket + ((q * (total - 1) + 1) - (upto - n)) / n) / {b}.0)) AS v
    FROM c CROSS JOIN (VALUES (0.5), (0.95)) qs(q)
    WHERE upto >= q * (total - 1) + 1 AND upto - n < q * (total - 1) + 1  -- the bucket holding that rank
    GROUP BY {key}q
)"""


def rollup_summary(f, db=None) -> dict:
    """reports.summary from the rollup (unfiltered windows on whole days; else the exact query)."""
    from queries import reports

    if f.models or f.types or f.user or f.statuses or f.since.time() != datetime.min.time():
        return reports._exact_summary(f, db)
    schema = (db or get_database()).schema
    sql = f"""
WITH {_percentiles(schema, False)[1:]},
a AS (
    SELECT COALESCE(sum(attempts), 0) AS attempts,
           COALESCE(sum(attempts) FILTER (WHERE status = 'success'), 0) AS ok,
           COALESCE(sum(attempts) FILTER (WHERE status IN {TERMINAL}), 0) AS term,
           COALESCE(sum(cost_usd), 0) AS cost, COALESCE(sum(tokens), 0) AS tokens,
           sum(quality_sum) / NULLIF(sum(quality_n), 0) AS quality,
           COALESCE(sum(attempts) FILTER (WHERE status = 'pending'), 0) AS pending,
           COALESCE(sum(metadata_issues), 0) AS issues
    FROM "{schema}".rollup_attempts WHERE gen_day >= :d0 AND gen_day < :d1 AND (:tests OR NOT is_test)
), gg AS (
    SELECT COALESCE(sum(generations), 0) AS generations, sum(final_success) AS fs, sum(final_terminal) AS ft,
           sum(first_success) AS ss, sum(first_terminal) AS st, sum(retried) AS retried,
           COALESCE(sum(recovered), 0) AS recovered
    FROM "{schema}".rollup_generations WHERE gen_day >= :d0 AND gen_day < :d1 AND (:tests OR NOT is_test)
)
SELECT gg.generations, a.attempts,
       gg.fs::float8 / NULLIF(gg.ft, 0) AS success_rate,
       a.ok::float8 / NULLIF(a.term, 0) AS attempt_success_rate,
       gg.ss::float8 / NULLIF(gg.st, 0) AS first_attempt_success_rate,
       a.attempts::float8 / NULLIF(gg.generations, 0) AS avg_attempts_per_generation,
       gg.retried::float8 / NULLIF(gg.generations, 0) AS retry_rate,
       gg.recovered AS recovered_by_retry,
       a.cost::float8 AS total_cost_usd,
       a.cost::float8 / NULLIF(gg.fs, 0) AS cost_per_success_usd,
       a.tokens::bigint AS total_tokens,
       (SELECT v FROM p WHERE q = 0.5)::float8 AS p50_latency_ms,
       (SELECT v FROM p WHERE q = 0.95)::float8 AS p95_latency_ms,
       a.quality::float8 AS avg_quality,
       a.pending AS pending_attempts, a.issues AS metadata_issues
FROM a CROSS JOIN gg"""
    params = {"d0": f.since.date(), "d1": f.until.date(), "tests": f.include_tests}
    df = core.fetch(sql, params, db=db)
    row = df.iloc[0].to_dict()
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


def rollup_report(name: str, f, db=None) -> pd.DataFrame:
    """daily and by_model from the rollup (same conditions as rollup_summary); others exact."""
    from queries import reports

    plain = not (f.models or f.types or f.user or f.statuses or f.since.time() != datetime.min.time())
    if not plain or name not in ("daily", "by_model"):
        return reports._exact_fetch_report(name, f, db)
    schema = (db or get_database()).schema
    where = "gen_day >= :d0 AND gen_day < :d1 AND (:tests OR NOT is_test)"
    rate = "sum(attempts) FILTER (WHERE status = 'success')::float8 / NULLIF(sum(attempts) FILTER (WHERE status IN ('success', 'failed', 'timeout')), 0)"
    if name == "daily":
        sql = f"""
SELECT day, sum(attempts)::bigint AS attempts,
       COALESCE(sum(attempts) FILTER (WHERE status = 'success'), 0)::bigint AS successes,
       COALESCE(sum(attempts) FILTER (WHERE status = 'failed'), 0)::bigint AS failures,
       COALESCE(sum(attempts) FILTER (WHERE status = 'timeout'), 0)::bigint AS timeouts,
       {rate} AS attempt_success_rate,
       sum(cost_usd)::float8 AS total_cost_usd
FROM "{schema}".rollup_attempts WHERE {where} GROUP BY day ORDER BY day"""
    else:
        sql = f"""
WITH {_percentiles(schema, True)[1:]},
m AS (
    SELECT model_used, sum(attempts)::bigint AS attempts,
           COALESCE(sum(attempts) FILTER (WHERE status = 'success'), 0)::bigint AS successes,
           COALESCE(sum(attempts) FILTER (WHERE status = 'failed'), 0)::bigint AS failures,
           COALESCE(sum(attempts) FILTER (WHERE status = 'timeout'), 0)::bigint AS timeouts,
           {rate} AS attempt_success_rate,
           sum(cost_usd)::float8 AS total_cost_usd,
           (sum(quality_sum) / NULLIF(sum(quality_n), 0))::float8 AS avg_quality
    FROM "{schema}".rollup_attempts WHERE {where} GROUP BY model_used
)
SELECT m.model_used, m.attempts, m.successes, m.failures, m.timeouts, m.attempt_success_rate,
       (SELECT v FROM p WHERE p.model_used = m.model_used AND q = 0.5)::float8 AS p50_latency_ms,
       (SELECT v FROM p WHERE p.model_used = m.model_used AND q = 0.95)::float8 AS p95_latency_ms,
       m.total_cost_usd, m.avg_quality
FROM m ORDER BY attempts DESC, model_used"""
    return core.fetch(sql, {"d0": f.since.date(), "d1": f.until.date(), "tests": f.include_tests}, db=db)


@contextmanager
def patched_rollup(on: bool) -> Iterator[None]:
    if not on:
        yield
        return
    from queries import reports

    reports._exact_summary, reports._exact_fetch_report = reports.summary, reports.fetch_report
    reports.summary, reports.fetch_report = rollup_summary, rollup_report
    try:
        yield
    finally:
        reports.summary, reports.fetch_report = reports._exact_summary, reports._exact_fetch_report


# --- measuring ---------------------------------------------------------------------------------------


def _median(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _fmt(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s * 1000:.0f} ms" if s < 0.1 else f"{s:.2f} s"


def _compare(base: dict, other: dict, approx: tuple[str, ...] = ()) -> list[str]:
    from bench.summary import differences

    exact = {k: v for k, v in base.items() if k not in approx}
    out = differences(exact, {k: other.get(k) for k in exact})
    for k in approx:
        if base.get(k) and other.get(k) is not None:
            err = abs(other[k] - base[k]) / base[k]
            out.append(f"{k} off by {err * 100:.2f} %")
    return out


def measure(db: BenchDb, attempts: int, args, log) -> dict:
    from bench import pages as pg
    from bench.__main__ import DAYS, END, point_genlens_at, window
    from bench.db import fresh_schema
    from bench.load import generations_for
    from data_access import demo_data
    from queries import reports

    schema = "bench_levers"
    runs = args.runs
    fresh_schema(db, schema)
    demo_data.load(db.engine, schema, generations_for(attempts), DAYS, args.seed, END)
    with db.engine.begin() as conn:
        conn.execute(text(f'ANALYZE "{schema}".generations'))
    point_genlens_at(db.url, schema)
    f = window(30)
    params = {"since": f"{f.since:%Y-%m-%d}", "until": f"{f.until:%Y-%m-%d}"}
    nav = pg.navigation_pages()
    overview = pg.default_page(nav)
    pg.run_page(overview, params, True)  # warm-up
    baseline: dict = {}

    def run(label: str, scoped_fn=None, options: str | None = None, rollup: bool = False, note: str = "") -> dict:
        with pgoptions(options), patched_scoped(scoped_fn), patched_rollup(rollup):
            row = {"label": label, "times": {}}
            s, summ = _median(lambda: reports.summary(f), runs)
            row["times"]["summary"] = s
            for name in REPORTS[1:]:
                s, df = _median(lambda n=name: reports.fetch_report(n, f), runs)
                row["times"][name] = s
                row.setdefault("frames", {})[name] = df
            try:  # the frame (app.py) runs this on every page, cold cache included
                from queries.data_quality import metadata_issue_kinds

                s, _ = _median(lambda: metadata_issue_kinds(f), runs)
            except ImportError:
                s = None
            row["times"]["frame: metadata_issue_kinds"] = s
            s, _ = _median(lambda: pg.run_page(overview, params, True), runs)
            row["times"]["Overview page"] = s
            row["summary"] = summ
        if not baseline:
            baseline.update(row)
            row["check"] = "reference"
        else:
            diffs = _compare(baseline["summary"], summ, ("p50_latency_ms", "p95_latency_ms") if rollup else ())
            for name in ("by_model", "daily"):
                a, b = baseline["frames"][name], row["frames"][name]
                if rollup and name == "by_model":
                    a, b = (
                        a.drop(columns=["p50_latency_ms", "p95_latency_ms"]),
                        b.drop(columns=["p50_latency_ms", "p95_latency_ms"]),
                    )
                try:
                    pd.testing.assert_frame_equal(
                        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, rtol=1e-6
                    )
                except AssertionError:
                    diffs.append(f"{name} differs")
            row["check"] = "same values" if not diffs else "; ".join(diffs)
        row["note"] = note
        log(f"  {label}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in row["times"].items()) + f" [{row['check']}]")
        row.pop("frames", None)
        return row

    trap = generic_plan_trap(f, log)
    rows = [run("current code (baseline)")]
    rows.append(run("work_mem 64MB (server default 4MB): no hash/sort spills to disk", options="-c work_mem=64MB"))
    once = make_scoped(COLUMNS_ONCE, json_once=True, materialize_scope=False)
    rows.append(run("scoped(): each JSON value read once per row (LATERAL ... OFFSET 0)", once))
    once_mat = make_scoped(COLUMNS_ONCE, json_once=True, materialize_scope=True)
    rows.append(run("... and scope AS MATERIALIZED (built once, not once per parallel worker)", once_mat))
    rows.append(run("... and work_mem 64MB", once_mat, options="-c work_mem=64MB"))

    # A covering index: the window's generation ids (and the older ones the scope excludes) read
    # from the index alone (index-only scans; the demo load leaves the visibility map set).
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            text(f'CREATE INDEX bench_created_gid ON "{schema}".generations (created_at) INCLUDE (generation_id)')
        )
        conn.execute(text(f'ANALYZE "{schema}".generations'))
    index_s = time.perf_counter() - t0
    rows.append(
        run(
            "... and an index (created_at) INCLUDE (generation_id)",
            once_mat,
            options="-c work_mem=64MB",
            note=f"CREATE INDEX {index_s:.1f} s",
        )
    )

    # Typed columns: what a migration adding STORED generated columns would give.
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            text(
                f'ALTER TABLE "{schema}".generations '
                + ", ".join(
                    f"ADD COLUMN {name} {'boolean' if name in ('m_issue', 'm_is_test') else 'numeric'} "
                    f"GENERATED ALWAYS AS ({expr.replace('g.generation_metadata', 'generation_metadata')}) STORED"
                    for name, expr in TYPED.items()
                )
            )
        )
    alter_s = time.perf_counter() - t0
    vacuum_s = _vacuum(db, schema)
    typed = make_scoped(COLUMNS_TYPED, json_once=False, materialize_scope=True, typed_tests=True)
    rows.append(
        run(
            "... and typed STORED generated columns for cost, tokens, duration, quality, issue, test",
            typed,
            options="-c work_mem=64MB",
            note=f"ALTER TABLE adding the 6 columns (a table rewrite): {alter_s:.1f} s, then VACUUM ANALYZE {vacuum_s:.1f} s",
        )
    )
    with db.engine.begin() as conn:
        conn.execute(text(f'ALTER TABLE "{schema}".generations ' + ", ".join(f"DROP COLUMN {n}" for n in TYPED)))

    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        for stmt in rollup_sql(schema):
            conn.execute(text(stmt))
        sizes = conn.execute(
            text(
                "SELECT sum(pg_total_relation_size(c.oid)), sum(c.reltuples) FROM pg_class c"
                " WHERE c.relnamespace = CAST(:s AS regnamespace) AND c.relname LIKE 'rollup_%' AND c.relkind = 'r'"
            ),
            {"s": schema},
        ).one()
    build_s = time.perf_counter() - t0
    rows.append(
        run(
            "daily rollup tables for the Overview (summary, daily, by_model; p50/p95 from a latency histogram)",
            once_mat,
            options="-c work_mem=64MB",
            rollup=True,
            note=f"full build {build_s:.1f} s, {int(sizes[1]):,} rows, {sizes[0] / 2**20:.1f} MB",
        )
    )
    explorer_rows = explorer_lever(db, schema, f, runs, log)
    drop_schema(db, schema)
    columns = ["summary", *REPORTS[1:], "frame: metadata_issue_kinds", "Overview page", "values"]
    return {
        "attempts": attempts,
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "runs": runs,
        "columns": columns,
        "intro": (
            "30-day window ending at the data's end; each report via queries.reports, the Overview page as an "
            "AppTest run with st.cache_data cleared. Each row keeps the levers above it unless it says otherwise."
        ),
        "rows": [
            {"label": r["label"], "cells": [_fmt(r["times"][c]) for c in columns[:-1]] + [r["check"]]} for r in rows
        ],
        "notes": [trap] + [f"{r['label']}: {r['note']}" for r in rows if r.get("note")],
        "explorer": explorer_rows,
    }


def generic_plan_trap(f, log) -> str:
    """The summary as a prepared statement, with a custom plan and with the generic plan."""
    import re

    import psycopg

    from queries import reports
    from queries.core import statement as _statement

    db = get_database()
    s = reports.report_sql("summary", f)
    compiled = _statement(s.text, s.params, s.expanding).compile(dialect=db.engine.dialect)
    sql, params = str(compiled), compiled.construct_params(s.params)
    names: list[str] = []

    def placeholder(m) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", placeholder, sql)
    types = ", ".join("timestamptz" if n in ("since", "until") else "text" for n in names)
    url = db.engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg", "postgresql")
    out = {}
    with psycopg.connect(url, autocommit=True) as conn, psycopg.ClientCursor(conn) as cur:
        cur.execute(f"PREPARE bench_summary({types}) AS {sql}")
        for mode in ("force_custom_plan", "force_generic_plan"):
            cur.execute(f"SET plan_cache_mode = {mode}")
            t0 = time.perf_counter()
            cur.execute(f"EXECUTE bench_summary({', '.join(['%s'] * len(names))})", [params[n] for n in names])
            cur.fetchall()
            out[mode] = time.perf_counter() - t0
            log(f"  summary as a prepared statement, plan_cache_mode={mode}: {_fmt(out[mode])}")
    return (
        "**The generic-plan trap.** psycopg prepares a statement on its 5th execution on a connection "
        "(`prepare_threshold=5`), and PostgreSQL then switches a prepared statement to a generic plan when "
        "that plan's estimated cost is lower, which it is here: with the window bounds unknown it expects "
        "~5,000 attempts instead of ~550,000 and picks nested loops. The summary, 30-day window: "
        f"custom plan {_fmt(out['force_custom_plan'])}, generic plan **{_fmt(out['force_generic_plan'])}**. "
        "A Streamlit process runs the same statement texts over and over (the frame's queries run on every "
        "page), so every long-running dashboard ends up there. Every other figure in this file was measured "
        "with `plan_cache_mode=force_custom_plan` on GenLens's connections (`python -m bench "
        "--plan-cache-mode force_custom_plan`), i.e. with the fix proposed below."
    )


# --- the Explorer: a keyset walk instead of computing the whole scope ----------------------------------


def _vacuum(db: BenchDb, schema: str) -> float:
    """VACUUM ANALYZE (outside a transaction): after a rewrite, the visibility map is empty and
    index-only scans would visit the heap again; the demo load's COPY FREEZE had set it."""
    t0 = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'VACUUM (ANALYZE) "{schema}".generations'))
    return time.perf_counter() - t0


def explorer_walk_sql(schema: str) -> str:
    """First/next page of the Explorer (sort created_at, newest first, no text/signature filter):
    walk the created_at index backwards from the key and keep a row when its generation is in scope
    (three index probes per row), stopping after 51 rows. Exact; cost grows with the page, not the window.
    """
    t = f'"{schema}".generations'
    return f"""
SELECT CAST(g.generation_id AS text) AS generation_id, g.attempt_number, g.created_at
FROM {t} g
WHERE g.created_at >= :since
  AND (g.created_at, g.generation_id, g.attempt_number) < (:kc, CAST(:kg AS uuid), :ka)
  AND NOT EXISTS (SELECT 1 FROM {t} p WHERE p.generation_id = g.generation_id AND p.created_at < :since)
  AND EXISTS (SELECT 1 FROM {t} p WHERE p.generation_id = g.generation_id AND p.created_at < :until)
  AND NOT EXISTS (SELECT 1 FROM {t} x WHERE x.generation_id = g.generation_id AND {IS_TEST.replace("g.", "x.")})
ORDER BY g.created_at DESC, g.generation_id DESC, g.attempt_number DESC
LIMIT :n"""


def explorer_lever(db: BenchDb, schema: str, f, runs: int, log) -> list[dict]:
    from bench.queries_timing import deep_key

    try:
        from queries import explorer
    except ImportError:
        return []
    q = explorer.ExplorerQuery()
    start = (datetime(9999, 1, 1, tzinfo=UTC), "ffffffff-ffff-ffff-ffff-ffffffffffff", 2**31 - 1)
    out = []
    for label, key in (("first page", None), ("page half-way down the window", deep_key(db, schema, f))):
        if label != "first page" and key is None:
            continue
        cur_s, page = _median(lambda k=key: explorer.explorer_page(f, q, k, 50), runs)
        kc, kg, ka = key or start

        def walk(kc=kc, kg=kg, ka=ka):
            with db.engine.connect() as conn:
                return conn.execute(
                    text(explorer_walk_sql(schema)),
                    {"since": f.since, "until": f.until, "kc": kc, "kg": kg, "ka": ka, "n": 51},
                ).all()

        new_s, rows = _median(walk, runs)
        same = [(r[0], r[1]) for r in rows[:50]] == list(
            zip(page.rows["generation_id"].astype(str), page.rows["attempt_number"].astype(int), strict=False)
        )
        out.append({"label": label, "current": _fmt(cur_s), "walk": _fmt(new_s), "same rows": "yes" if same else "NO"})
        log(f"  explorer {label}: current {_fmt(cur_s)}, keyset walk {_fmt(new_s)}, same rows: {same}")
    return out
