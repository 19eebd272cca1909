"""The attempt facts table: every attempt's typed values of METRICS.md, read from JSONB once.

`genlens_facts` holds one row per attempt of the canonical `generations` table with what every
query needs already computed: the generation's scope time (its first attempt's created_at), whether
it is a test generation, its attempt count and final and first status, the attempt's latency, cost,
tokens, duration, quality, metadata-issue kinds, phase values and error signature. Pages then read
a narrow, typed table instead of parsing JSONB and grouping all attempts of every candidate
generation on each query (BENCHMARKS.md has the before and after).

It is kept current by statement-level triggers on `generations` (insert, update, delete, truncate):
the rows of every generation a statement touched are derived again, with the same SQL as the full
build, so the facts are never stale and reports stay exact. `python -m data_access.refresh`
rebuilds them from scratch. Queries use the table only while its triggers are enabled and the
dashboard may read it; otherwise they read `generations` directly (`queries.core.scoped`).

The SQL is generated here from `queries.core`'s definitions, so the facts and the raw queries
cannot disagree; `supabase/migrations/20260106000000_genlens_model_facts.sql` is this module's
output (`python -m data_access.facts > that file`; a test checks that it is current). It installs
everything from scratch and upgrades what the earlier versions, `20260104000000_genlens_facts.sql`
and `20260105000000_genlens_rollups.sql` (kept as they were applied), installed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from queries import core
from queries.signatures import PARAMS as SIGNATURE_PARAMS
from queries.signatures import signature_sql

TABLE = "genlens_facts"
TRIGGERS = ("genlens_facts_insert", "genlens_facts_update", "genlens_facts_delete", "genlens_facts_truncate")
# Advisory-lock buckets: concurrent writers of one generation serialise; a statement takes at most
# this many locks, whatever its size (max_locks_per_transaction is 64 by default).
LOCK_BUCKETS = 64
LOCK_SPACE = 461_2026  # first key of pg_advisory_xact_lock(int, int): GenLens facts
# The newest facts column: NULL or missing means rows an earlier version wrote (rebuilt on migrate).
LATEST_MARK = "m_gen_attempts"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _signature_literal(column: str) -> str:
    """signature_sql with its patterns as literals (a function body cannot take bound parameters)."""
    sql = signature_sql(column)
    for name, pattern in sorted(SIGNATURE_PARAMS.items(), key=lambda kv: -len(kv[0])):
        sql = sql.replace(f":{name}", _literal(pattern))
    return sql


# (column, type, expression over the raw attempt `g`) in table order. The window names: w (the
# generation), wd (its attempts, last first), wa (first first), wt (its attempts of one story
# type); wm, wmd, wma, wmt: the same over its attempts of one model.
COLUMNS: list[tuple[str, str, str]] = [
    ("generation_id", "uuid NOT NULL", "g.generation_id"),
    ("attempt_number", "integer NOT NULL", "g.attempt_number"),
    ("scope_at", "timestamptz NOT NULL", "min(g.created_at) OVER w"),
    ("is_test", "boolean NOT NULL", f"COALESCE(bool_or({core.IS_TEST}) OVER w, false)"),
    ("gen_attempts", "integer NOT NULL", "CAST(count(*) OVER w AS integer)"),
    ("final_status", "text", "first_value(g.status) OVER wd"),
    ("first_status", "text", "first_value(g.status) OVER wa"),
    ("first_model", "text", "first_value(g.model_used) OVER wa"),
    ("first_type", "text", "first_value(g.story_type) OVER wa"),
    ("is_final", "boolean NOT NULL", "(row_number() OVER wd = 1)"),
    # the generation's first attempt of this story type (counts generations per type in one pass)
    ("type_first", "boolean NOT NULL", "(row_number() OVER wt = 1)"),
    # The same, over the generation's attempts of this attempt's model only: what a filter on that
    # one model leaves of the generation (METRICS.md: attempt filters narrow the attempts).
    # Nullable: a row without them was written by an earlier migration's functions (re-run in
    # order, as `supabase db push` may), and this migration then builds the table again.
    (LATEST_MARK, "integer", "CAST(count(*) OVER wm AS integer)"),
    ("m_final_status", "text", "first_value(g.status) OVER wmd"),
    ("m_first_status", "text", "first_value(g.status) OVER wma"),
    ("m_final", "boolean", "(row_number() OVER wmd = 1)"),
    ("m_type_first", "boolean", "(row_number() OVER wmt = 1)"),
    ("m_first_at", "timestamptz", "min(g.created_at) OVER wm"),
    ("m_first_type", "text", "first_value(g.story_type) OVER wma"),
    ("status", "text", "g.status"),
    ("model_used", "text", "g.model_used"),
    ("story_type", "text", "g.story_type"),
    ("user_id", "uuid", "g.user_id"),
    ("created_at", "timestamptz NOT NULL", "g.created_at"),
    ("completed_at", "timestamptz", "g.completed_at"),
    ("has_message", "boolean NOT NULL", "(g.error_message IS NOT NULL)"),
    (
        "error_signature",
        "text",
        f"(CASE WHEN g.status IN ('failed', 'timeout') AND g.error_message IS NOT NULL"
        f" THEN {_signature_literal('g.error_message')} END)",
    ),
    ("latency_ms", "float8", core.LATENCY),
    ("cost_usd", "numeric", core.COST),
    ("tokens", "numeric", core.TOKENS),
    ("duration_ms", "numeric", core.DURATION),
    ("quality", "numeric", core.QUALITY),
    ("metadata_issue", "boolean", core.METADATA_ISSUE),
] + [
    (name, "numeric" if name[:4] in ("tok_", "dur_") else "jsonb" if name == "retry_phases" else "boolean", expr)
    for name, expr in core.EXTRAS.items()
    if name in core.FACT_EXTRAS
]

NAMES = [c[0] for c in COLUMNS]


def derive_sql(where: str) -> str:
    """SELECT of the facts rows of the attempts of `generations g` matching `where`."""
    select = ",\n       ".join(f"{expr} AS {name}" for name, _, expr in COLUMNS)
    return f"""SELECT {select}
FROM generations g
WHERE {where}
WINDOW w AS (PARTITION BY g.generation_id),
       wd AS (PARTITION BY g.generation_id ORDER BY g.attempt_number DESC, g.created_at DESC),
       wa AS (PARTITION BY g.generation_id ORDER BY g.attempt_number, g.created_at),
       wt AS (PARTITION BY g.generation_id, g.story_type ORDER BY g.attempt_number, g.created_at),
       wm AS (PARTITION BY g.generation_id, g.model_used),
       wmd AS (PARTITION BY g.generation_id, g.model_used ORDER BY g.attempt_number DESC, g.created_at DESC),
       wma AS (PARTITION BY g.generation_id, g.model_used ORDER BY g.attempt_number, g.created_at),
       wmt AS (PARTITION BY g.generation_id, g.model_used, g.story_type ORDER BY g.attempt_number, g.created_at)"""


# --- Daily rollups of the facts (the Overview's summary, daily and by-model figures) ----------------
# Additive counts and sums per (scope day, attempt day, test?, model, status), and a latency
# histogram per (scope day, test?, model, bucket). Kept by the same triggers, as deltas: the rows a
# statement removes from the facts are subtracted, the rows it adds are added. Percentiles stay exact:
# the histogram says which bucket holds the k-th latency, and the facts rows of that one bucket give
# it (queries/rollup.py).
ROLLUP = "genlens_rollup"
ROLLUP_LATENCY = "genlens_rollup_latency"
BUCKET_FN = "genlens_latency_bucket"
ROLLUP_PHASE = "genlens_rollup_phase"
ROLLUP_ERROR = "genlens_rollup_error"
ROLLUP_RETRIES = "genlens_rollup_retries"
ROLLUP_QUALITY = "genlens_rollup_quality"
ROLLUP_MODEL_RETRIES = "genlens_rollup_model_retries"
# the rollups a migration added after the first one (its reader gets them too)
NEWER_ROLLUPS = (ROLLUP_PHASE, ROLLUP_ERROR, ROLLUP_RETRIES, ROLLUP_QUALITY, ROLLUP_MODEL_RETRIES)
ROLLUPS = (ROLLUP, ROLLUP_LATENCY, *NEWER_ROLLUPS)
ROLLUP_LIST = ", ".join(ROLLUPS)
# (column, type, expression over facts rows): the attempt's model, status and type, and its
# generation's first model and type (the breakdowns group generations by their first attempt)
ROLLUP_KEY_COLUMNS: list[tuple[str, str, str]] = [
    ("scope_day", "date NOT NULL", "CAST(scope_at AT TIME ZONE 'UTC' AS date)"),
    ("attempt_day", "date NOT NULL", "CAST(created_at AT TIME ZONE 'UTC' AS date)"),
    ("is_test", "boolean NOT NULL", "is_test"),
    ("model_used", "text", "model_used"),
    ("status", "text", "status"),
    ("first_model", "text", "first_model"),
    ("story_type", "text", "story_type"),
    ("first_type", "text", "first_type"),
    # the day and type of the first attempt of the generation's attempts of this model (the
    # generation's day and type under a filter on one model)
    ("m_scope_day", "date", "CAST(m_first_at AT TIME ZONE 'UTC' AS date)"),
    ("m_first_type", "text", "m_first_type"),
]
ROLLUP_KEY = tuple(c for c, _, _ in ROLLUP_KEY_COLUMNS)

# (column, aggregate over facts rows f)
ROLLUP_SUMS: list[tuple[str, str]] = [
    ("attempts", "count(*)"),
    ("cost_usd", "COALESCE(sum(cost_usd), 0)"),
    ("cost_n", "count(cost_usd)"),
    ("tokens", "COALESCE(sum(tokens), 0)"),
    ("quality_sum", "COALESCE(sum(quality), 0)"),
    ("quality_n", "count(quality)"),
    ("duration_n", "count(duration_ms)"),
    ("metadata_issues", "count(*) FILTER (WHERE metadata_issue)"),
    *[(kind, f"count(*) FILTER (WHERE {kind})") for kind in core.ISSUE_KINDS],
    # generation counts, on the row of each generation's final attempt (whose status is final)
    ("gens", "count(*) FILTER (WHERE is_final)"),
    ("gens_first_success", "count(*) FILTER (WHERE is_final AND first_status = 'success')"),
    ("gens_first_terminal", f"count(*) FILTER (WHERE is_final AND first_status IN {core.TERMINAL})"),
    ("gens_retried", "count(*) FILTER (WHERE is_final AND gen_attempts > 1)"),
    # the same per (generation, model): the generation figures under a filter on one model
    ("mgens", "count(*) FILTER (WHERE m_final)"),
    ("mgens_first_success", "count(*) FILTER (WHERE m_final AND m_first_status = 'success')"),
    ("mgens_first_terminal", f"count(*) FILTER (WHERE m_final AND m_first_status IN {core.TERMINAL})"),
    ("mgens_retried", "count(*) FILTER (WHERE m_final AND m_gen_attempts > 1)"),
    # failed and timed-out attempts without an error message (so without a signature)
    ("failures_no_message", "count(*) FILTER (WHERE status IN ('failed', 'timeout') AND NOT has_message)"),
    # generations per story type: on the row of each generation's first attempt of that type
    ("type_gens", "count(*) FILTER (WHERE type_first)"),
    ("type_gens_success", "count(*) FILTER (WHERE type_first AND final_status = 'success')"),
    # the same per (generation, model)
    ("mtype_gens", "count(*) FILTER (WHERE m_type_first)"),
    ("mtype_gens_success", "count(*) FILTER (WHERE m_type_first AND m_final_status = 'success')"),
    # time spent: exact decimal sums of the float8 latencies, so deltas never drift
    ("latency_sum", "COALESCE(sum(CAST(latency_ms AS numeric)), 0)"),
    # Stage 5 phases: tokens and duration (sum and how many attempts report it)
    *[
        (f"{k}_{p}_{part}", f"COALESCE(sum({k}_{p}), 0)" if part == "sum" else f"count({k}_{p})")
        for p in core.PHASES
        for k in ("tok", "dur")
        for part in ("sum", "n")
    ],
]
ROLLUP_NUMERIC = {"cost_usd", "tokens", "quality_sum"} | {c for c, _ in ROLLUP_SUMS if c.endswith("_sum")}


@dataclass(frozen=True)
class SmallRollup:
    """A rollup of some facts rows `f` (those matching `where`, joined with `join`): sums per key."""

    table: str
    key: tuple[tuple[str, str, str], ...]  # (column, type, expression)
    sums: tuple[tuple[str, str, str], ...]  # (column, type, aggregate)
    where: str
    join: str = ""


_SCOPE_DAY = ("scope_day", "date NOT NULL", "CAST(f.scope_at AT TIME ZONE 'UTC' AS date)")
_ATTEMPT_DAY = ("attempt_day", "date NOT NULL", "CAST(f.created_at AT TIME ZONE 'UTC' AS date)")
_IS_TEST = ("is_test", "boolean NOT NULL", "f.is_test")
SMALL_ROLLUPS = (
    # the latency histogram (exact percentiles, queries/rollup.py)
    SmallRollup(
        ROLLUP_LATENCY,
        (
            _SCOPE_DAY,
            _IS_TEST,
            ("model_used", "text", "f.model_used"),
            ("bucket", "integer NOT NULL", f"{BUCKET_FN}(f.latency_ms)"),
        ),
        (("n", "bigint", "count(*)"),),
        "f.latency_ms IS NOT NULL",
    ),
    # retries inside the pipeline per phase (queries.reliability.phase_retries), from each row's
    # normalised {phase: retries}: attempts with a known value, with a value above 0, and the sum
    SmallRollup(
        ROLLUP_PHASE,
        (_SCOPE_DAY, _IS_TEST, ("phase", "text NOT NULL", "k.phase")),
        (
            ("reporting", "bigint", "count(k.retries)"),
            ("with_retries", "bigint", "count(*) FILTER (WHERE k.retries > 0)"),
            ("retries", "numeric", "COALESCE(sum(k.retries), 0)"),
        ),
        "jsonb_typeof(f.retry_phases) = 'object'",
        """CROSS JOIN LATERAL (SELECT e.key, CAST(e.value #>> '{}' AS numeric)
                            FROM jsonb_each(f.retry_phases) AS e) AS k(phase, retries)""",
    ),
    # failed and timed-out attempts per error signature and day (the Errors page's trends)
    SmallRollup(
        ROLLUP_ERROR,
        (_SCOPE_DAY, _ATTEMPT_DAY, _IS_TEST, ("error_signature", "text NOT NULL", "f.error_signature")),
        (("n", "bigint", "count(*)"),),
        "f.error_signature IS NOT NULL",
    ),
    # generations per attempt count and final status (the retries report)
    SmallRollup(
        ROLLUP_RETRIES,
        (
            _SCOPE_DAY,
            _IS_TEST,
            ("gen_attempts", "integer NOT NULL", "f.gen_attempts"),
            ("final_status", "text", "f.final_status"),
        ),
        (("gens", "bigint", "count(*)"),),
        "f.is_final",
    ),
    # the same per (generation, model): the retries report under a filter on one model
    SmallRollup(
        ROLLUP_MODEL_RETRIES,
        (
            _SCOPE_DAY,
            _IS_TEST,
            ("model_used", "text", "f.model_used"),
            ("gen_attempts", "integer", "f.m_gen_attempts"),
            ("final_status", "text", "f.m_final_status"),
        ),
        (("gens", "bigint", "count(*)"),),
        "f.m_final",
    ),
    # attempts per quality bin, 100 equal bins over [0, 1] (queries.cost_quality.quality_histogram)
    SmallRollup(
        ROLLUP_QUALITY,
        (
            _SCOPE_DAY,
            _IS_TEST,
            ("model_used", "text", "f.model_used"),
            ("bin", "integer NOT NULL", "LEAST(width_bucket(f.quality, 0, 1, 100), 100)"),
        ),
        (("n", "bigint", "count(*)"),),
        "f.quality IS NOT NULL",
    ),
)


def _sum_type(column: str) -> str:
    # DEFAULT 0: an earlier migration's rebuild, run again after this one (the SQL files re-run in
    # order, as `supabase db push` may), inserts without the newer columns; the next one rebuilds.
    return f"{'numeric' if column in ROLLUP_NUMERIC else 'bigint'} NOT NULL DEFAULT 0"


def _upsert(key: tuple[str, ...], cols: list[str], upsert: bool) -> str:
    if not upsert:
        return ""
    sets = ", ".join(f"{c} = t.{c} + excluded.{c}" for c in cols)
    return f"\n        ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"


def _rollup_insert(source: str, sign: str, upsert: bool) -> str:
    """INSERT the rollup rows of the facts rows in `source`, times `sign` ('' or '-')."""
    cols = [c for c, _ in ROLLUP_SUMS]
    keys = ", ".join(expr for _, _, expr in ROLLUP_KEY_COLUMNS)
    sums = ", ".join(f"{sign}{agg}" for _, agg in ROLLUP_SUMS)
    groups = ", ".join(str(i + 1) for i in range(len(ROLLUP_KEY)))
    return f"""INSERT INTO {ROLLUP} AS t ({", ".join(ROLLUP_KEY)}, {", ".join(cols)})
        SELECT {keys}, {sums}
        FROM {source} GROUP BY {groups} ORDER BY {groups}{_upsert(ROLLUP_KEY, cols, upsert)}"""


def _small_insert(r: SmallRollup, source: str, sign: str, upsert: bool) -> str:
    key = tuple(c for c, _, _ in r.key)
    cols = [c for c, _, _ in r.sums]
    groups = ", ".join(str(i + 1) for i in range(len(key)))
    join = f"\n        {r.join}" if r.join else ""
    return f"""INSERT INTO {r.table} AS t ({", ".join(key)}, {", ".join(cols)})
        SELECT {", ".join(e for _, _, e in r.key)}, {", ".join(f"{sign}{a}" for _, _, a in r.sums)}
        FROM {source} AS f{join}
        WHERE {r.where}
        GROUP BY {groups} ORDER BY {groups}{_upsert(key, cols, upsert)}"""


def _small_deltas(source: str, sign: str) -> str:
    """The small rollups' delta upserts: data-modifying CTEs p0, p1, ..., then the last one."""
    *ctes, last = (_small_insert(r, source, sign, True) for r in SMALL_ROLLUPS)
    named = ",\n        ".join(f"p{i} AS ({cte})" for i, cte in enumerate(ctes))
    return f"{named}\n        {last}"


def _small_rebuild() -> str:
    return ";\n    ".join(_small_insert(r, TABLE, "", False) for r in SMALL_ROLLUPS)


def _lacks_columns(table: str, columns: list[str]) -> str:
    """SQL condition: `table` exists without some of `columns` (an earlier GenLens made it)."""
    names = ", ".join(_literal(c) for c in columns)
    return f"""to_regclass('{table}') IS NOT NULL AND EXISTS (
        SELECT 1 FROM unnest(ARRAY[{names}]) AS n(name)
        WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass('{table}')
                          AND a.attname = n.name AND NOT a.attisdropped)
    )"""


def _small_upgrade(r: SmallRollup) -> str:
    """An earlier version of a small rollup without some of today's columns is dropped: created
    again and rebuilt below (its reader's grant comes back with the newer rollups' grants)."""
    columns = [c for c, _, _ in (*r.key, *r.sums)]
    return f"    IF {_lacks_columns(r.table, columns)} THEN\n        DROP TABLE {r.table};\n    END IF;\n"


def _small_table(r: SmallRollup) -> str:
    columns = ", ".join(f"{c} {t}" for c, t, _ in r.key) + ", " + ", ".join(f"{c} {t} NOT NULL" for c, t, _ in r.sums)
    return f"CREATE TABLE IF NOT EXISTS {r.table} ({columns}, UNIQUE NULLS NOT DISTINCT ({', '.join(c for c, _, _ in r.key)}))"


CANONICAL_KEY = """
    EXISTS (SELECT 1 FROM pg_index i
            WHERE i.indrelid = 'generations'::regclass AND i.indisunique AND i.indpred IS NULL
              AND i.indnkeyatts = 2
              AND (SELECT array_agg(a.attname ORDER BY a.attname) FROM pg_attribute a
                   WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey))
                  = ARRAY['attempt_number', 'generation_id']::name[])
    AND (SELECT bool_and(a.attnotnull) FROM pg_attribute a WHERE a.attrelid = 'generations'::regclass
         AND a.attname IN ('generation_id', 'attempt_number', 'created_at')) IS TRUE"""


def _ddl(sql: str) -> str:
    """One statement run by EXECUTE inside the migration's DO block."""
    return "    EXECUTE $ddl$" + sql.strip() + "$ddl$;\n"


def migration_sql() -> str:
    """The migration: table, indexes, sync functions, triggers and the first build. Idempotent.

    Installs nothing when `generations` lacks the canonical key (a team's own looser table): the
    triggers must never make a write to it fail, and pages then read it directly.
    """
    columns = ",\n    ".join(f"{name} {typ}" for name, typ, _ in COLUMNS)
    names = ", ".join(NAMES)
    body = [
        _ddl(f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    {columns},
    PRIMARY KEY (generation_id, attempt_number)
)"""),
        _ddl(f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_scope ON {TABLE} (scope_at)"),
        # the sidebar's selective filters: one model, one user
        _ddl(f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_model ON {TABLE} (model_used, scope_at)"),
        _ddl(f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_user ON {TABLE} (user_id, scope_at)"),
        # Latency buckets: 1 % wide on a log scale (bucket 0 below 1 ms); NaN and absurd values last.
        _ddl(f"""
CREATE OR REPLACE FUNCTION {BUCKET_FN}(ms float8) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT CASE WHEN ms < 1 THEN 0 WHEN ms > 1e300 OR ms = 'NaN' THEN 100000
                ELSE 1 + CAST(floor(ln(ms) * 100) AS integer) END
$fn$"""),
        _ddl(
            f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_latency_bucket"
            f" ON {TABLE} ({BUCKET_FN}(latency_ms), model_used, scope_at) INCLUDE (latency_ms, is_test)"
            " WHERE latency_ms IS NOT NULL"
        ),
        _ddl(f"""
CREATE TABLE IF NOT EXISTS {ROLLUP} (
    {", ".join(f"{c} {typ}" for c, typ, _ in ROLLUP_KEY_COLUMNS)},
    {", ".join(f"{c} {_sum_type(c)}" for c, _ in ROLLUP_SUMS)},
    UNIQUE NULLS NOT DISTINCT ({", ".join(ROLLUP_KEY)})
)"""),
        *[_ddl(_small_table(r)) for r in SMALL_ROLLUPS],
        _ddl(f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_created ON {TABLE} (created_at, generation_id, attempt_number)"),
        # the Reliability page's stale pending attempts: a handful of rows among millions
        _ddl(f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_pending ON {TABLE} (scope_at) WHERE status = 'pending'"),
        # the Cost & Quality page's outliers: a list is the first rows of one of these, a count a
        # range of it (1M, 30 days: each list 0.2 s -> 0.01-0.05 s)
        *[
            _ddl(
                f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_{c} ON {TABLE} ({c}) INCLUDE (scope_at, is_test)"
                f" WHERE {c} IS NOT NULL"
            )
            for c in ("cost_usd", "duration_ms", "quality")
        ],
        # the Errors page's signature table and new signatures: an index-only scan of the window's
        # failures instead of every attempt (1M, 30 days: errors report 204 ms -> 114 ms)
        _ddl(
            f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_failures ON {TABLE} (scope_at)"
            " INCLUDE (error_signature, generation_id, attempt_number, created_at, model_used, is_test, has_message, status)"
            " WHERE status IN ('failed', 'timeout')"
        ),
        _ddl(
            f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_signature ON {TABLE} (error_signature, created_at)"
            " WHERE error_signature IS NOT NULL"
        ),
        # Statistics on the UTC-day expressions the queries group by: without them PostgreSQL
        # expects one group per row and sorts instead of hashing (daily report 424 ms -> 177 ms).
        _ddl(
            f"CREATE STATISTICS IF NOT EXISTS {TABLE}_day ON (CAST(created_at AT TIME ZONE 'UTC' AS date)) FROM {TABLE}"
        ),
        _ddl(
            f"CREATE STATISTICS IF NOT EXISTS {TABLE}_day_bucket"
            f" ON ((date_trunc('day', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')) FROM {TABLE}"
        ),
        _ddl(
            f"CREATE STATISTICS IF NOT EXISTS {TABLE}_scope_day_bucket"
            f" ON ((date_trunc('day', scope_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')) FROM {TABLE}"
        ),
        _ddl(
            f"COMMENT ON TABLE {TABLE} IS 'GenLens: one row per generations attempt with typed metric values; "
            "kept current by triggers on generations.'"
        ),
        # A row here means a trigger could not derive some facts: pages read generations directly
        # until `python -m data_access.refresh` rebuilds the table (which empties this one).
        _ddl(f"CREATE TABLE IF NOT EXISTS {TABLE}_broken (at timestamptz NOT NULL DEFAULT now(), reason text)"),
        # Derived data of every attempt: not for the API roles Supabase grants new tables to.
        _ddl(f"REVOKE ALL ON {TABLE}, {TABLE}_broken, {ROLLUP_LIST} FROM PUBLIC"),
        f"""    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    {_ddl(f"REVOKE ALL ON {TABLE}, {TABLE}_broken, {ROLLUP_LIST} FROM anon").rstrip()}
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    {_ddl(f"REVOKE ALL ON {TABLE}, {TABLE}_broken, {ROLLUP_LIST} FROM authenticated").rstrip()}
    END IF;
""",
        # Derive again the facts of the given generations from what `generations` holds now.
        # Concurrent writers of one generation wait for each other (advisory locks by bucket,
        # taken in order) and each statement below sees what they committed. Never fails the write:
        # an error marks the table broken instead.
        _ddl(f"""
CREATE OR REPLACE FUNCTION genlens_facts_sync(ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock({LOCK_SPACE}, b)
    FROM (SELECT DISTINCT abs(hashtext(CAST(i AS text))) % {LOCK_BUCKETS} AS b FROM unnest(ids) AS i) AS buckets
    ORDER BY b;
    BEGIN
        WITH old AS (DELETE FROM {TABLE} WHERE generation_id = ANY (ids) RETURNING *),
        r AS ({_rollup_insert("old", "-", True)}),
        {_small_deltas("old", "-")};
        WITH new AS (
            INSERT INTO {TABLE} ({names})
{derive_sql("g.generation_id = ANY (ids)")}
            RETURNING *
        ),
        r AS ({_rollup_insert("new", "", True)}),
        {_small_deltas("new", "")};
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO {TABLE}_broken (reason) VALUES (left(SQLERRM, 500));
    END;
END
$fn$"""),
        # The rollups again from the facts rows as they are (the full rebuild ends with this).
        _ddl(f"""
CREATE OR REPLACE FUNCTION genlens_rollup_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    TRUNCATE {ROLLUP_LIST};
    {_rollup_insert(TABLE, "", False)};
    {_small_rebuild()};
    ANALYZE {ROLLUP_LIST};
END
$fn$"""),
        _ddl(f"""
CREATE OR REPLACE FUNCTION genlens_facts_rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    n bigint;
    defs text[] := ARRAY[]::text[];
    ix record;
    def text;
BEGIN
    LOCK TABLE generations IN SHARE MODE;
    TRUNCATE {TABLE}, {ROLLUP_LIST};
    -- Building the secondary indexes after the rows are in is several times faster than keeping
    -- them up to date row by row: drop them, insert, create them again with the same definitions.
    FOR ix IN SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = '{TABLE}'::regclass AND NOT i.indisprimary LOOP
        defs := defs || ix.def;
        EXECUTE format('DROP INDEX %I', ix.relname);
    END LOOP;
    INSERT INTO {TABLE} ({names})
{derive_sql("TRUE")};
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('maintenance_work_mem', '256MB', true);
    FOREACH def IN ARRAY defs LOOP
        EXECUTE def;
    END LOOP;
    PERFORM genlens_rollup_rebuild();
    DELETE FROM {TABLE}_broken;
    ANALYZE {TABLE};
    RETURN n;
END
$fn$"""),
        _ddl(f"""
CREATE OR REPLACE FUNCTION genlens_facts_on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    TRUNCATE {TABLE}, {ROLLUP_LIST};
    RETURN NULL;
END
$fn$"""),
        _ddl("DROP TRIGGER IF EXISTS genlens_facts_truncate ON generations"),
        _ddl(
            "CREATE TRIGGER genlens_facts_truncate AFTER TRUNCATE ON generations"
            " FOR EACH STATEMENT EXECUTE FUNCTION genlens_facts_on_truncate()"
        ),
    ]
    for event, refs, ids in (
        ("insert", "REFERENCING NEW TABLE AS new_rows", "SELECT generation_id FROM new_rows"),
        (
            "update",
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "SELECT generation_id FROM old_rows UNION SELECT generation_id FROM new_rows",
        ),
        ("delete", "REFERENCING OLD TABLE AS old_rows", "SELECT generation_id FROM old_rows"),
    ):
        body.append(
            _ddl(f"""
CREATE OR REPLACE FUNCTION genlens_facts_on_{event}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    PERFORM genlens_facts_sync(ARRAY(SELECT DISTINCT generation_id FROM ({ids}) AS t));
    RETURN NULL;
END
$fn$""")
        )
        body.append(_ddl(f"DROP TRIGGER IF EXISTS genlens_facts_{event} ON generations"))
        body.append(
            _ddl(
                f"CREATE TRIGGER genlens_facts_{event} AFTER {event.upper()} ON generations"
                f" {refs} FOR EACH STATEMENT EXECUTE FUNCTION genlens_facts_on_{event}()"
            )
        )
    # Whoever was granted SELECT on the daily rollup (docs/security.sql's reader) may read the
    # rollup tables added since.
    body.append(f"""    FOR c IN SELECT DISTINCT CAST(CAST(a.grantee AS regrole) AS text) AS role
             FROM pg_class r CROSS JOIN LATERAL aclexplode(r.relacl) AS a
             WHERE r.oid = '{ROLLUP}'::regclass AND a.privilege_type = 'SELECT'
               AND a.grantee <> 0 AND a.grantee <> r.relowner LOOP
        EXECUTE format('GRANT SELECT ON {", ".join(NEWER_ROLLUPS)} TO %s', c.role);
    END LOOP;
""")
    # A new facts table is built from generations; an existing one keeps its rows and only the
    # rollups are built again from it.
    body.append("    IF fresh THEN\n        PERFORM genlens_facts_rebuild();\n    ELSE\n")
    body.append("        PERFORM genlens_rollup_rebuild();\n    END IF;\n")
    key = ", ".join(ROLLUP_KEY)
    fact_columns = ", ".join(f"ADD COLUMN IF NOT EXISTS {c} {typ}" for c, typ, _ in COLUMNS)
    added = ", ".join(
        f"ADD COLUMN IF NOT EXISTS {c} {typ}"
        for c, typ in [(c, typ) for c, typ, _ in ROLLUP_KEY_COLUMNS] + [(c, _sum_type(c)) for c, _ in ROLLUP_SUMS]
    )
    return f"""-- GenLens: the attempt facts table and its rollups (generated by `python -m data_access.facts`;
-- do not edit).
--
-- One row per attempt of `generations` with the typed values of METRICS.md read from
-- generation_metadata once, plus the generation's scope time, test flag, attempt count and final
-- and first status. Statement-level triggers keep it current on every insert, update, delete and
-- truncate of `generations`; `python -m data_access.refresh` rebuilds it. The dashboard reads it
-- while the triggers are enabled, else it reads `generations` directly (same numbers, slower).
-- Nothing is installed when `generations` has no primary key (generation_id, attempt_number) and
-- NOT NULL created_at: the triggers must never make a write fail.
-- Idempotent, and it upgrades what an earlier GenLens migration installed (a facts table without
-- today's columns gains them and is built again; the rollups gain their new columns, or a small
-- one is made again, and are rebuilt from the facts rows; grants are kept).
-- Unqualified names: runs with search_path set to GENLENS_SCHEMA (or public for supabase db push).

DO $genlens$
DECLARE
    fresh boolean := to_regclass('{TABLE}') IS NULL;
    c record;
BEGIN
    IF NOT ({CANONICAL_KEY.strip()}) THEN
        RAISE NOTICE 'GenLens facts table not created: generations lacks its primary key (generation_id, attempt_number) or NOT NULL created_at; pages read generations directly';
        RETURN;
    END IF;
    IF NOT fresh AND {_lacks_columns(TABLE, NAMES)} THEN
        -- an earlier facts table: emptied, given today's columns, and built again below
        TRUNCATE {TABLE};
    {_ddl(f"ALTER TABLE {TABLE} {fact_columns}").rstrip()}
        fresh := true;
    ELSIF NOT fresh THEN
        -- rows an earlier migration's functions wrote (migrations re-run in order): built again
        EXECUTE $q$SELECT EXISTS (SELECT 1 FROM {TABLE} WHERE {LATEST_MARK} IS NULL)$q$ INTO fresh;
    END IF;
    IF to_regclass('{ROLLUP}') IS NOT NULL THEN
        -- an earlier rollup: emptied (rebuilt below), given today's columns and key
        TRUNCATE {ROLLUP};
        FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = '{ROLLUP}'::regclass AND contype = 'u' LOOP
            EXECUTE format('ALTER TABLE {ROLLUP} DROP CONSTRAINT %I', c.conname);
        END LOOP;
    {_ddl(f"ALTER TABLE {ROLLUP} {added}").rstrip()}
    {_ddl(f"ALTER TABLE {ROLLUP} ADD UNIQUE NULLS NOT DISTINCT ({key})").rstrip()}
    END IF;
{"".join(_small_upgrade(r) for r in SMALL_ROLLUPS)}{"".join(body)}END
$genlens$;
"""


def main(argv: list[str] | None = None) -> int:
    sys.stdout.write(migration_sql())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
