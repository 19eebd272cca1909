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
dashboard may read it; otherwise they read `generations` directly (`metrics.scope.scoped`).

The SQL is generated here from `metrics.scope`'s definitions and the registry's values
(`metrics.registry.VALUES`: a sum and a count of known values each in the daily rollup,
`ROLLUP_VALUE_COLUMNS`), so the facts, the rollups and the raw queries cannot disagree.

Migrations. `python -m metrics.derived` prints `migration_sql()`, the full script: it installs
everything from scratch and upgrades what `20260104000000_genlens_facts.sql` and
`20260105000000_genlens_rollups.sql` installed. `supabase/migrations/` holds it, as it was when it
shipped, as `20260106000000_genlens_model_facts.sql`: frozen (applied files never change; a test
pins its sha256), and so is its shape here (`_SHIPPED_*`). Every later change ships as a small
generated delta, `delta_sql()`: the columns today's generator has and that shape lacks (ADD COLUMN
IF NOT EXISTS), the functions whose text changed (CREATE OR REPLACE), then one rebuild of what
they feed. To ship a schema change:

1. change the generator (e.g. add the column to COLUMNS or ROLLUP_SUMS, or a value to the
   registry), and have readers check for the newest column so that they leave a database without
   it aside until it is migrated (`data_access/facts.py`: ROLLUP_LATEST_MARK for the daily rollup,
   FACTS_MARK for the facts table);
2. `python -m metrics.derived delta > supabase/migrations/<timestamp>_<name>.sql`;
3. in `tests/test_derived_migrations.py`, pin the previous newest delta (add its sha256 to
   PINNED_MIGRATIONS) and name the new file NEWEST_DELTA: the newest delta is always the
   generator's output, every older file is pinned.

Deltas are cumulative (each carries every change since the full script) and idempotent, so a
database at any earlier delta, or one where older files ran again after it as `supabase db push`
may, ends in today's shape. `delta()` refuses what a generated delta cannot do (a removed or
renamed column or function, a new rollup key, a changed small rollup, a new trigger): write
that by hand.
"""

from __future__ import annotations

import hashlib
import re
import sys
import textwrap
from dataclasses import dataclass

from data_access.facts import (
    BUCKET_FN,
    CHANGES,
    FOLD_BATCH,
    FOLD_FUNCTIONS,
    FOLD_LOCK,
    FOLDS,
    LATEST_MARK,
    LOCK_SPACE,
    NEWER_ROLLUPS,
    OWNER_FUNCTIONS,
    ROLLUP,
    ROLLUP_ERROR,
    ROLLUP_LATENCY,
    ROLLUP_LIST,
    ROLLUP_MODEL_RETRIES,
    ROLLUP_PHASE,
    ROLLUP_QUALITY,
    ROLLUP_RETRIES,
    ROLLUPS,
    TABLE,
    TEXT,
    TEXT_INDEX,
)
from metrics import registry, scope
from metrics.error_groups import GROUPS, MEMBERS
from metrics.signatures import MASK_PARAMS, mask_sql


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _signature_literal(column: str) -> str:
    """mask_sql with its patterns as literals (a function body cannot take bound parameters)."""
    sql = mask_sql(column)
    for name, pattern in sorted(MASK_PARAMS.items(), key=lambda kv: -len(kv[0])):
        sql = sql.replace(f":{name}", _literal(pattern))
    return sql


def _one_value(column: str) -> str:
    """Whether every attempt of the generation (window w) has the same `column` (NULLs included)."""
    return (
        f"(min({column}) OVER w IS NOT DISTINCT FROM max({column}) OVER w"
        f" AND count({column}) OVER w IN (0, count(*) OVER w))"
    )


# (column, type, expression over the raw attempt `g`) in table order. The window names: w (the
# generation), wd (its attempts, last first), wa (first first), wt (its attempts of one story
# type); wm, wmd, wma, wmt: the same over its attempts of one model.
COLUMNS: list[tuple[str, str, str]] = [
    ("generation_id", "uuid NOT NULL", "g.generation_id"),
    ("attempt_number", "integer NOT NULL", "g.attempt_number"),
    ("scope_at", "timestamptz NOT NULL", "min(g.created_at) OVER w"),
    ("is_test", "boolean NOT NULL", f"COALESCE(bool_or({scope.IS_TEST}) OVER w, false)"),
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
    ("latency_ms", "float8", scope.LATENCY),
    ("cost_usd", "numeric", scope.COST),
    ("tokens", "numeric", scope.TOKENS),
    ("duration_ms", "numeric", scope.DURATION),
    ("quality", "numeric", scope.QUALITY),
    ("metadata_issue", "boolean", scope.METADATA_ISSUE),
    # one model and one story type on every attempt of the generation: whatever model and type
    # filter, such a generation keeps all its attempts or none, so its figures are its own (the
    # rollup's p* sums); the others (a retry on a fallback model) are counted live
    # (nullable, like the m_* columns: an earlier migration's rebuild, re-run, leaves it NULL)
    ("pure", "boolean", f"({_one_value('g.model_used')} AND {_one_value('g.story_type')})"),
] + [
    (name, "numeric" if name[:4] in ("tok_", "dur_") else "jsonb" if name == "retry_phases" else "boolean", expr)
    for name, expr in scope.EXTRAS.items()
    if name in scope.FACT_EXTRAS
]

NAMES = [c[0] for c in COLUMNS]


_WINDOWS = """w AS (PARTITION BY g.generation_id),
       wd AS (PARTITION BY g.generation_id ORDER BY g.attempt_number DESC, g.created_at DESC),
       wa AS (PARTITION BY g.generation_id ORDER BY g.attempt_number, g.created_at),
       wt AS (PARTITION BY g.generation_id, g.story_type ORDER BY g.attempt_number, g.created_at),
       wm AS (PARTITION BY g.generation_id, g.model_used),
       wmd AS (PARTITION BY g.generation_id, g.model_used ORDER BY g.attempt_number DESC, g.created_at DESC),
       wma AS (PARTITION BY g.generation_id, g.model_used ORDER BY g.attempt_number, g.created_at),
       wmt AS (PARTITION BY g.generation_id, g.model_used, g.story_type ORDER BY g.attempt_number, g.created_at)"""
# the attempt's own columns the windows order and partition by (passed through as they are)
_KEYS = ("generation_id", "attempt_number", "status", "model_used", "story_type", "created_at")
# per-attempt expressions that window columns aggregate: computed once per attempt, below them
_WINDOW_INPUTS = {"_test": scope.IS_TEST}
_JSON_READ = re.compile(r"g\.generation_metadata #> '(\{[^']*\})'")
_RAW_COLUMN = re.compile(r"\bg\.([a-z_]+)\b")


def derive_sql(where: str) -> str:
    """SELECT of the facts rows of the attempts of `generations g` matching `where`.

    COLUMNS' expressions, evaluated in three steps (the rows are the same; the work is a third):
    each JSON path of generation_metadata is read once per attempt (`_m0`, `_m1`, ...); the
    per-attempt values are computed from those reads; the window columns are computed over the
    narrow rows of the second step, so the sorts the windows need never carry the raw attempt."""
    paths: dict[str, str] = {}

    def read_once(m: re.Match) -> str:
        return "g." + paths.setdefault(m.group(1), f"_m{len(paths)}")

    values, out = [f"g.{c}" for c in _KEYS], []
    for name, _, expr in COLUMNS:
        if " OVER " in expr:
            for column, per_attempt in _WINDOW_INPUTS.items():
                expr = expr.replace(per_attempt, f"g.{column}")
            out.append(f"{expr} AS {name}")
            continue
        if name not in _KEYS:
            values.append(f"{_JSON_READ.sub(read_once, expr)} AS {name}")
        out.append(f"g.{name} AS {name}")
    values += [f"{_JSON_READ.sub(read_once, expr)} AS {column}" for column, expr in _WINDOW_INPUTS.items()]
    raw = sorted({c for v in values for c in _RAW_COLUMN.findall(v)} - set(paths.values()))
    reads = [f"g.{c}" for c in raw] + [f"g.generation_metadata #> '{p}' AS {m}" for p, m in paths.items()]
    select, per_attempt = ",\n       ".join(out), ",\n               ".join(values)
    return f"""SELECT {select}
FROM (SELECT {per_attempt}
      FROM (SELECT {", ".join(reads)}
            FROM generations g
            WHERE {where} OFFSET 0) AS g
      OFFSET 0) AS g
WINDOW {_WINDOWS}"""


# --- Daily rollups of the facts (the Overview's summary, daily and by-model figures) ----------------
# Additive counts and sums per (scope day, attempt day, test?, model, status), and a latency
# histogram per (scope day, test?, model, bucket). Kept by the same triggers, as deltas: the rows a
# statement removes from the facts are subtracted, the rows it adds are added. Percentiles stay exact:
# the histogram says which bucket holds the k-th latency, and the facts rows of that one bucket give
# it (metrics/sources.py, rollup_percentiles).
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

# The names the daily rollup's value columns had before they were generated from the registry
# (databases and queries use them); None: not kept then. Other values' columns are named regularly.
_LEGACY_VALUE_COLUMNS: dict[str, tuple[str | None, str | None]] = {
    "cost_usd": ("cost_usd", "cost_n"),
    "tokens": ("tokens", None),
    "duration_ms": (None, "duration_n"),
    "quality": ("quality_sum", "quality_n"),
    "latency_ms": ("latency_sum", None),
}


def _value_columns(value: str) -> tuple[str, str]:
    stem = value.removesuffix("_ms").removesuffix("_usd")
    legacy_sum, legacy_n = _LEGACY_VALUE_COLUMNS.get(value, (None, None))
    return legacy_sum or f"{stem}_sum", legacy_n or f"{stem}_n"


# Every value of the registry: value name -> (sum column, count-of-known column) of the daily rollup
# (the rollup source reads them).
ROLLUP_VALUE_COLUMNS: dict[str, tuple[str, str]] = {v: _value_columns(v) for v in registry.VALUES}
assert set(registry.VALUES) <= set(NAMES), "every registry value is a facts column"


def _value_sums() -> list[tuple[str, str]]:
    """The rollup's value columns: exact decimal sums (a float8 value cast, so deltas never drift)
    and how many attempts know the value."""
    out: list[tuple[str, str]] = []
    for name, v in registry.VALUES.items():
        total, n = ROLLUP_VALUE_COLUMNS[name]
        x = name if v.numeric else f"CAST({name} AS numeric)"
        out += [(total, f"COALESCE(sum({x}), 0)"), (n, f"count({name})")]
    return out


# (column, aggregate over facts rows f)
ROLLUP_SUMS: list[tuple[str, str]] = [
    ("attempts", "count(*)"),
    *_value_sums(),
    ("metadata_issues", "count(*) FILTER (WHERE metadata_issue)"),
    *[(kind, f"count(*) FILTER (WHERE {kind})") for kind in scope.ISSUE_KINDS],
    # generation counts, on the row of each generation's final attempt (whose status is final)
    ("gens", "count(*) FILTER (WHERE is_final)"),
    ("gens_first_success", "count(*) FILTER (WHERE is_final AND first_status = 'success')"),
    ("gens_first_terminal", f"count(*) FILTER (WHERE is_final AND first_status IN {scope.TERMINAL})"),
    ("gens_retried", "count(*) FILTER (WHERE is_final AND gen_attempts > 1)"),
    # the same per (generation, model): the generation figures under a filter on one model
    ("mgens", "count(*) FILTER (WHERE m_final)"),
    ("mgens_first_success", "count(*) FILTER (WHERE m_final AND m_first_status = 'success')"),
    ("mgens_first_terminal", f"count(*) FILTER (WHERE m_final AND m_first_status IN {scope.TERMINAL})"),
    ("mgens_retried", "count(*) FILTER (WHERE m_final AND m_gen_attempts > 1)"),
    # the same for the generations with one model and one type only (see `pure`): under any model
    # and type filter a sum over the matching rows (the others are counted live)
    ("pgens", "count(*) FILTER (WHERE is_final AND pure)"),
    ("pgens_first_success", "count(*) FILTER (WHERE is_final AND pure AND first_status = 'success')"),
    ("pgens_first_terminal", f"count(*) FILTER (WHERE is_final AND pure AND first_status IN {scope.TERMINAL})"),
    ("pgens_retried", "count(*) FILTER (WHERE is_final AND pure AND gen_attempts > 1)"),
    ("pattempts", "count(*) FILTER (WHERE pure)"),
    # failed and timed-out attempts without an error message (so without a signature)
    ("failures_no_message", "count(*) FILTER (WHERE status IN ('failed', 'timeout') AND NOT has_message)"),
    # generations per story type: on the row of each generation's first attempt of that type
    ("type_gens", "count(*) FILTER (WHERE type_first)"),
    ("type_gens_success", "count(*) FILTER (WHERE type_first AND final_status = 'success')"),
    # the same per (generation, model)
    ("mtype_gens", "count(*) FILTER (WHERE m_type_first)"),
    ("mtype_gens_success", "count(*) FILTER (WHERE m_type_first AND m_final_status = 'success')"),
    # Stage 5 phases: tokens and duration (sum and how many attempts report it)
    *[
        (f"{k}_{p}_{part}", f"COALESCE(sum({k}_{p}), 0)" if part == "sum" else f"count({k}_{p})")
        for p in scope.PHASES
        for k in ("tok", "dur")
        for part in ("sum", "n")
    ],
]
ROLLUP_NUMERIC = {t for t, _ in ROLLUP_VALUE_COLUMNS.values()} | {c for c, _ in ROLLUP_SUMS if c.endswith("_sum")}


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
    # the latency histogram (exact percentiles, metrics/sources.py)
    SmallRollup(
        ROLLUP_LATENCY,
        (
            _SCOPE_DAY,
            _IS_TEST,
            ("model_used", "text", "f.model_used"),
            ("story_type", "text", "f.story_type"),
            ("bucket", "integer NOT NULL", f"{BUCKET_FN}(f.latency_ms)"),
        ),
        (("n", "bigint", "count(*)"),),
        "f.latency_ms IS NOT NULL",
    ),
    # retries inside the pipeline per phase (queries.reliability.phase_retries), from each row's
    # normalised {phase: retries}: attempts with a known value, with a value above 0, and the sum
    SmallRollup(
        ROLLUP_PHASE,
        (
            _SCOPE_DAY,
            _IS_TEST,
            ("model_used", "text", "f.model_used"),
            ("story_type", "text", "f.story_type"),
            ("phase", "text NOT NULL", "k.phase"),
        ),
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
        (
            _SCOPE_DAY,
            _ATTEMPT_DAY,
            _IS_TEST,
            ("model_used", "text", "f.model_used"),
            ("story_type", "text", "f.story_type"),
            ("error_signature", "text NOT NULL", "f.error_signature"),
        ),
        (("n", "bigint", "count(*)"),),
        "f.error_signature IS NOT NULL",
    ),
    # generations per attempt count and final status (the retries report); the pure ones (one model
    # and one type: any model and type filter keeps them whole or drops them) also by their model
    # and type, so that under several models or a type only the others are counted live
    SmallRollup(
        ROLLUP_RETRIES,
        (
            _SCOPE_DAY,
            _IS_TEST,
            ("gen_attempts", "integer NOT NULL", "f.gen_attempts"),
            ("final_status", "text", "f.final_status"),
            # DEFAULT: an earlier migration's rebuild, run again after this one, inserts without it
            ("pure", "boolean NOT NULL DEFAULT false", "f.pure"),
            ("model_used", "text", "CASE WHEN f.pure THEN f.model_used END"),
            ("story_type", "text", "CASE WHEN f.pure THEN f.story_type END"),
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
            ("story_type", "text", "f.story_type"),
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


def _in_key_order(groups: str, upsert: bool) -> str:
    # Upserts touch the rollup rows in key order, so that two of them never wait for each other in
    # opposite orders; a rebuild into empty tables needs no order (and may aggregate by hashing).
    return f" ORDER BY {groups}" if upsert else ""


def _rollup_insert(source: str, sign: str, upsert: bool) -> str:
    """INSERT the rollup rows of the facts rows in `source`, times `sign` ('' or '-')."""
    cols = [c for c, _ in ROLLUP_SUMS]
    keys = ", ".join(expr for _, _, expr in ROLLUP_KEY_COLUMNS)
    sums = ", ".join(f"{sign}{agg}" for _, agg in ROLLUP_SUMS)
    groups = ", ".join(str(i + 1) for i in range(len(ROLLUP_KEY)))
    return f"""INSERT INTO {ROLLUP} AS t ({", ".join(ROLLUP_KEY)}, {", ".join(cols)})
        SELECT {keys}, {sums}
        FROM {source} GROUP BY {groups}{_in_key_order(groups, upsert)}{_upsert(ROLLUP_KEY, cols, upsert)}"""


def _small_insert(r: SmallRollup, source: str, sign: str, upsert: bool) -> str:
    key = tuple(c for c, _, _ in r.key)
    cols = [c for c, _, _ in r.sums]
    groups = ", ".join(str(i + 1) for i in range(len(key)))
    join = f"\n        {r.join}" if r.join else ""
    return f"""INSERT INTO {r.table} AS t ({", ".join(key)}, {", ".join(cols)})
        SELECT {", ".join(e for _, _, e in r.key)}, {", ".join(f"{sign}{a}" for _, _, a in r.sums)}
        FROM {source} AS f{join}
        WHERE {r.where}
        GROUP BY {groups}{_in_key_order(groups, upsert)}{_upsert(key, cols, upsert)}"""


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


def _small_upgrade(r: SmallRollup, emptied: str | None = None) -> str:
    """An earlier version of a small rollup without some of today's columns is dropped: created
    again and rebuilt below (its reader's grant comes back with the newer rollups' grants); the
    variable `emptied` says so."""
    columns = [c for c, _, _ in (*r.key, *r.sums)]
    flag = f"        {emptied} := true;\n" if emptied else ""
    return f"    IF {_lacks_columns(r.table, columns)} THEN\n        DROP TABLE {r.table};\n{flag}    END IF;\n"


# SQL: the text of the migration schema's function `fn()` (NULL when there is none)
_FUNCTION_TEXT = "(SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('{fn}()'))"


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


# (event, REFERENCING clause, the generations the statement touched) of the row-change triggers
_TRIGGER_EVENTS = (
    ("insert", "REFERENCING NEW TABLE AS new_rows", "SELECT generation_id FROM new_rows"),
    (
        "update",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "SELECT generation_id FROM old_rows UNION SELECT generation_id FROM new_rows",
    ),
    ("delete", "REFERENCING OLD TABLE AS old_rows", "SELECT generation_id FROM old_rows"),
)


# The searchable text of the given generations' attempts (the Explorer's search, through the
# trigram index): rows whose text a write changed (or removed) are deleted, new ones inserted; an
# attempt whose prompt and error are unchanged (a status or metadata update) is left alone, so its
# index entries are not written again.
_TEXT_SYNC = f"""DELETE FROM {TEXT} t
        WHERE t.generation_id = ANY (ids)
          AND NOT EXISTS (SELECT 1 FROM generations g
                          WHERE g.generation_id = t.generation_id AND g.attempt_number = t.attempt_number
                            AND g.prompt IS NOT DISTINCT FROM t.prompt
                            AND g.error_message IS NOT DISTINCT FROM t.error_message);
        INSERT INTO {TEXT} (generation_id, attempt_number, prompt, error_message)
        SELECT g.generation_id, g.attempt_number, g.prompt, g.error_message
        FROM generations g WHERE g.generation_id = ANY (ids)
        ON CONFLICT (generation_id, attempt_number) DO NOTHING;"""


def functions() -> dict[str, str]:
    """Every GenLens function, name -> its CREATE OR REPLACE FUNCTION statement (today's shape)."""
    names = ", ".join(NAMES)
    fns = {
        # Latency buckets: 1 % wide on a log scale (bucket 0 below 1 ms); NaN and absurd values last.
        BUCKET_FN: f"""CREATE OR REPLACE FUNCTION {BUCKET_FN}(ms float8) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT CASE WHEN ms < 1 THEN 0 WHEN ms > 1e300 OR ms = 'NaN' THEN 100000
                ELSE 1 + CAST(floor(ln(ms) * 100) AS integer) END
$fn$""",
        # Derive again the facts of the given generations from what `generations` holds now, and
        # move the rollups by the difference. Called by genlens_fold, which holds the fold lock (one
        # caller at a time, so no two of them wait for each other's rollup rows). An error fails the
        # fold's transaction, which leaves the change log as it was.
        "genlens_facts_sync": f"""
CREATE OR REPLACE FUNCTION genlens_facts_sync(ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    IF ids IS NULL OR cardinality(ids) = 0 THEN
        RETURN;
    END IF;
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
    IF to_regclass('{TEXT}') IS NOT NULL THEN
        {_TEXT_SYNC}
    END IF;
END
$fn$""",
        # Fold the change log into the facts and rollups: take up to `batch` entries (the oldest
        # first is not promised; all are taken eventually), derive their generations again, and
        # return how many entries were taken; -1 when another fold is running (it takes them).
        # Each statement reads what was committed when it started, so an entry taken here has its
        # write visible to the derivation after it; a write committed later logs a new entry.
        "genlens_fold": f"""
CREATE OR REPLACE FUNCTION genlens_fold(batch integer DEFAULT {FOLD_BATCH}) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    ids uuid[];
    n integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock({LOCK_SPACE}, {FOLD_LOCK}) THEN
        RETURN -1;
    END IF;
    WITH taken AS (
        DELETE FROM {CHANGES}
        WHERE ctid = ANY (ARRAY(SELECT ctid FROM {CHANGES} LIMIT greatest(batch, 1)))
        RETURNING generation_id
    )
    SELECT array_agg(DISTINCT generation_id), count(*) INTO ids, n FROM taken;
    PERFORM genlens_facts_sync(ids);
    IF n > 0 THEN
        PERFORM nextval('{FOLDS}');
    END IF;
    RETURN n;
END
$fn$""",
        # How far behind the facts are: the change log's entries (counted up to `cap`) and when
        # the oldest was written, for a reader that may not read the log itself.
        "genlens_pending": f"""
CREATE OR REPLACE FUNCTION genlens_pending(cap integer DEFAULT 1000000)
RETURNS TABLE (entries bigint, oldest timestamptz, folds bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
    SELECT count(*), min(at), (SELECT last_value FROM {FOLDS})
    FROM (SELECT at FROM {CHANGES} LIMIT greatest(cap, 1)) AS c
$fn$""",
        # The rollups again from the facts rows as they are (the full rebuild ends with this).
        "genlens_rollup_rebuild": f"""
CREATE OR REPLACE FUNCTION genlens_rollup_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    TRUNCATE {ROLLUP_LIST};
    {_rollup_insert(TABLE, "", False)};
    {_small_rebuild()};
    ANALYZE {ROLLUP_LIST};
END
$fn$""",
        "genlens_facts_rebuild": f"""
CREATE OR REPLACE FUNCTION genlens_facts_rebuild() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    n bigint;
    defs text[] := ARRAY[]::text[];
    ix record;
    def text;
BEGIN
    -- no fold meanwhile; writers never wait: what they commit while this runs is in the change
    -- log, and the entries this DELETE takes were committed before the derivation below starts
    -- (each statement reads what was committed when it began), so they are in it
    PERFORM pg_advisory_xact_lock({LOCK_SPACE}, {FOLD_LOCK});
    IF to_regclass('{CHANGES}') IS NOT NULL THEN
        DELETE FROM {CHANGES};
        PERFORM nextval('{FOLDS}');
    END IF;
    TRUNCATE {TABLE}, {ROLLUP_LIST};
    IF to_regclass('{TEXT}') IS NOT NULL THEN
        TRUNCATE {TEXT};
    END IF;
    -- Building the secondary indexes after the rows are in is several times faster than keeping
    -- them up to date row by row: drop them, insert, create them again with the same definitions.
    FOR ix IN SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid IN ('{TABLE}'::regclass, to_regclass('{TEXT}')) AND NOT i.indisprimary LOOP
        defs := defs || ix.def;
        EXECUTE format('DROP INDEX %I', ix.relname);
    END LOOP;
    -- the windows' sorts of every attempt: in memory where they fit
    PERFORM set_config('work_mem', '256MB', true);
    INSERT INTO {TABLE} ({names})
{derive_sql("TRUE")};
    GET DIAGNOSTICS n = ROW_COUNT;
    IF to_regclass('{TEXT}') IS NOT NULL THEN
        INSERT INTO {TEXT} (generation_id, attempt_number, prompt, error_message)
        SELECT generation_id, attempt_number, prompt, error_message FROM generations;
    END IF;
    PERFORM set_config('maintenance_work_mem', '256MB', true);
    FOREACH def IN ARRAY defs LOOP
        EXECUTE def;
    END LOOP;
    ANALYZE {TABLE};  -- first: the rollups' aggregation then knows how few groups there are
    PERFORM genlens_rollup_rebuild();
    DELETE FROM {TABLE}_broken;
    IF to_regclass('{TEXT}') IS NOT NULL THEN
        ANALYZE {TEXT};
    END IF;
    RETURN n;
END
$fn$""",
        "genlens_facts_on_truncate": f"""
CREATE OR REPLACE FUNCTION genlens_facts_on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    TRUNCATE {TABLE}, {ROLLUP_LIST};
    IF to_regclass('{CHANGES}') IS NOT NULL THEN
        DELETE FROM {CHANGES};
    END IF;
    IF to_regclass('{TEXT}') IS NOT NULL THEN
        TRUNCATE {TEXT};
    END IF;
    RETURN NULL;
END
$fn$""",
    }
    for event, _, ids in _TRIGGER_EVENTS:
        fns[f"genlens_facts_on_{event}"] = f"""
CREATE OR REPLACE FUNCTION genlens_facts_on_{event}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
    INSERT INTO {CHANGES} (generation_id) SELECT DISTINCT generation_id FROM ({ids}) AS t;
    RETURN NULL;
END
$fn$"""
    return fns


# The Errors page's group table: an index-only scan of the window's failures instead of every
# attempt (1M, 30 days: errors report 204 ms -> 114 ms), under a story type filter too (10M: the
# heap fetches for story_type took the report from 1.3 to 1.8 s). It replaces idx_genlens_facts_failures.
_FAILURES_INDEX = _ddl(
    f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_failed ON {TABLE} (scope_at)"
    " INCLUDE (error_signature, generation_id, attempt_number, created_at, model_used, story_type, is_test,"
    " has_message, status) WHERE status IN ('failed', 'timeout')"
)


# The Cost & Quality page's outliers under any filter: a list is the first rows of one of these
# that pass the sidebar's filters, a count a range of it, both read from the index alone (the
# filters' columns and the list's order are in it; 10M, 30 days, one model: the expensive list
# 7.9 s -> see BENCHMARKS.md). They replace idx_genlens_facts_<value> (scope_at and is_test only:
# every row beyond the bound was read from the table to check a model or story type).
VALUE_INDEX_COLUMNS = ("cost_usd", "duration_ms", "quality")
_VALUE_INDEXES = [
    _ddl(
        f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_{c}_scoped ON {TABLE} ({c})"
        " INCLUDE (scope_at, is_test, model_used, story_type, status, created_at, generation_id, attempt_number)"
        f" WHERE {c} IS NOT NULL"
    )
    for c in VALUE_INDEX_COLUMNS
]
# The latency percentiles' lookups (metrics.sources.rollup_percentiles) under a story type filter
# too: with story_type in it the lookup never reads the table (10M, a type: Cost & Quality's
# by-model table 1.35 s -> see BENCHMARKS.md). It replaces idx_genlens_facts_latency_bucket.
_LATENCY_INDEX = _ddl(
    f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_latency_buckets"
    f" ON {TABLE} ({BUCKET_FN}(latency_ms), model_used, scope_at) INCLUDE (latency_ms, is_test, story_type)"
    " WHERE latency_ms IS NOT NULL"
)


def change_log_tables() -> list[str]:
    """The change log and the fold count (before the functions that read them)."""
    return [
        _ddl(
            f"CREATE TABLE IF NOT EXISTS {CHANGES} (generation_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now())"
        ),
        # the generations with several models or types: counted live under a model or type filter
        _ddl(f"CREATE INDEX IF NOT EXISTS idx_{TABLE}_mixed ON {TABLE} (scope_at) WHERE NOT pure"),
        # bumped by every fold that moved the facts: readers key their caches by it
        _ddl(f"CREATE SEQUENCE IF NOT EXISTS {FOLDS}"),
        _ddl(f"REVOKE ALL ON SEQUENCE {FOLDS} FROM PUBLIC"),
        _ddl(
            f"COMMENT ON TABLE {CHANGES} IS 'GenLens: generations written since the facts were last folded "
            "(appended by triggers on generations, emptied by genlens_fold).'"
        ),
        _ddl(f"REVOKE ALL ON {CHANGES} FROM PUBLIC"),
        # the Explorer's searchable text (prompt, error message) of every attempt, kept by the fold
        _ddl(
            f"CREATE TABLE IF NOT EXISTS {TEXT} (generation_id uuid NOT NULL, attempt_number integer NOT NULL,"
            " prompt text, error_message text, PRIMARY KEY (generation_id, attempt_number))"
        ),
        _ddl(
            f"COMMENT ON TABLE {TEXT} IS 'GenLens: the prompt and error message of every attempt of generations,"
            " with a trigram index for the Explorer''s search (kept by genlens_fold).'"
        ),
        _ddl(f"REVOKE ALL ON {TEXT} FROM PUBLIC"),
        _TRGM,
        # error groups (metrics/error_groups.py): each group once, for ever, and each signature's
        _ddl(
            f"CREATE TABLE IF NOT EXISTS {GROUPS} (group_id integer PRIMARY KEY, template jsonb NOT NULL,"
            " label text NOT NULL, first_seen timestamptz,"
            " mark text CHECK (mark IN ('known', 'ignored')), note text, marked_by text, marked_at timestamptz,"
            " updated_at timestamptz NOT NULL DEFAULT now())"
        ),
        _ddl(
            f"CREATE TABLE IF NOT EXISTS {MEMBERS} (signature text PRIMARY KEY,"
            f" group_id integer NOT NULL REFERENCES {GROUPS}, first_seen timestamptz,"
            " placed_at timestamptz NOT NULL DEFAULT now())"
        ),
        _ddl(
            f"COMMENT ON TABLE {GROUPS} IS 'GenLens: error groups (a template each, numbered for ever; an admin''s"
            " mark known or ignored), written by the dashboard as new error signatures arrive.'"
        ),
        _ddl(f"COMMENT ON TABLE {MEMBERS} IS 'GenLens: the error group of every error signature seen so far.'"),
        _ddl(f"REVOKE ALL ON {GROUPS}, {MEMBERS} FROM PUBLIC"),
        _FAILURES_INDEX,
        _ddl(f"DROP INDEX IF EXISTS idx_{TABLE}_failures"),
        *_VALUE_INDEXES,
        *[_ddl(f"DROP INDEX IF EXISTS idx_{TABLE}_{c}") for c in VALUE_INDEX_COLUMNS],
        _LATENCY_INDEX,
        _ddl(f"DROP INDEX IF EXISTS idx_{TABLE}_latency_bucket"),
    ]


# pg_trgm (it ships with PostgreSQL's contrib and on Supabase, where extensions live in the schema
# `extensions`) and the trigram index over the text. Where the extension may not be created the
# migration goes on without the index, and the Explorer says its search reads every attempt. The
# index is looked for in this schema only: the migrations' search_path ends with public, where
# another schema's GenLens may have one (a second schema then got no index before delta 20260112).
_TRGM = f"""    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'extensions') THEN
                CREATE EXTENSION pg_trgm WITH SCHEMA extensions;
            ELSE
                CREATE EXTENSION pg_trgm;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'GenLens: pg_trgm could not be created (%); the Explorer''s search reads every attempt', SQLERRM;
        END;
    END IF;
    IF to_regclass(format('%I.{TEXT_INDEX}', current_schema())) IS NULL
       AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE format('CREATE INDEX {TEXT_INDEX} ON {TEXT} USING gin (prompt %1$s.gin_trgm_ops, error_message %1$s.gin_trgm_ops)',
                       (SELECT CAST(CAST(extnamespace AS regnamespace) AS text) FROM pg_extension WHERE extname = 'pg_trgm'));
    END IF;
"""


def change_log_grants() -> list[str]:
    """Who may touch the change log and GenLens' functions, after they exist (inside the
    migration's DO block, where `c` is a record variable): API roles call none, the rollup's reader
    may fold and ask how far behind the facts are. Idempotent."""
    functions = ", ".join(OWNER_FUNCTIONS + FOLD_FUNCTIONS)
    fold = ", ".join(FOLD_FUNCTIONS)
    return [
        _ddl(f"REVOKE ALL ON FUNCTION {functions} FROM PUBLIC"),
        f"""    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    {_ddl(f"REVOKE ALL ON {CHANGES}, {TEXT}, {GROUPS}, {MEMBERS} FROM anon").rstrip()}
    {_ddl(f"REVOKE ALL ON FUNCTION {functions} FROM anon").rstrip()}
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    {_ddl(f"REVOKE ALL ON {CHANGES}, {TEXT}, {GROUPS}, {MEMBERS} FROM authenticated").rstrip()}
    {_ddl(f"REVOKE ALL ON FUNCTION {functions} FROM authenticated").rstrip()}
    END IF;
""",
        f"""    FOR c IN SELECT DISTINCT CAST(CAST(a.grantee AS regrole) AS text) AS role
             FROM pg_class r CROSS JOIN LATERAL aclexplode(r.relacl) AS a
             WHERE r.oid = '{ROLLUP}'::regclass AND a.privilege_type = 'SELECT'
               AND a.grantee <> 0 AND a.grantee <> r.relowner LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION {fold} TO %s', c.role);
        EXECUTE format('GRANT SELECT ON {TEXT} TO %s', c.role);
        -- the dashboard places new error signatures and keeps admins' marks
        EXECUTE format('GRANT SELECT, INSERT, UPDATE ON {GROUPS}, {MEMBERS} TO %s', c.role);
        EXECUTE format('GRANT SELECT ON {", ".join(t for t in ROLLUPS if t != ROLLUP)} TO %s', c.role);
    END LOOP;
""",
    ]


def migration_sql() -> str:
    """The migration: table, indexes, sync functions, triggers and the first build. Idempotent.

    Installs nothing when `generations` lacks the canonical key (a team's own looser table): the
    triggers must never make a write to it fail, and pages then read it directly.
    """
    columns = ",\n    ".join(f"{name} {typ}" for name, typ, _ in COLUMNS)
    fns = functions()
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
        _ddl(fns[BUCKET_FN]),
        _LATENCY_INDEX,
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
        *_VALUE_INDEXES,
        # the Errors page's group table and new groups: an index-only scan of the window's failures
        _FAILURES_INDEX,
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
        _ddl(fns["genlens_facts_sync"]),
        _ddl(fns["genlens_rollup_rebuild"]),
        _ddl(fns["genlens_facts_rebuild"]),
        _ddl(fns["genlens_facts_on_truncate"]),
        _ddl("DROP TRIGGER IF EXISTS genlens_facts_truncate ON generations"),
        _ddl(
            "CREATE TRIGGER genlens_facts_truncate AFTER TRUNCATE ON generations"
            " FOR EACH STATEMENT EXECUTE FUNCTION genlens_facts_on_truncate()"
        ),
    ]
    for event, refs, _ in _TRIGGER_EVENTS:
        body.append(_ddl(fns[f"genlens_facts_on_{event}"]))
        body.append(_ddl(f"DROP TRIGGER IF EXISTS genlens_facts_{event} ON generations"))
        body.append(
            _ddl(
                f"CREATE TRIGGER genlens_facts_{event} AFTER {event.upper()} ON generations"
                f" {refs} FOR EACH STATEMENT EXECUTE FUNCTION genlens_facts_on_{event}()"
            )
        )
    body += [*change_log_tables(), _ddl(fns["genlens_fold"]), _ddl(fns["genlens_pending"]), *change_log_grants()]
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
    return f"""-- GenLens: the attempt facts table and its rollups (generated by `python -m metrics.derived`;
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


# --- Deltas: what changed since the full script was frozen ----------------------------------------
# `supabase/migrations/20260106000000_genlens_model_facts.sql` is `migration_sql()` as it was then,
# and never changes (applied files must not). Its shape is frozen here; `delta_sql()` is a migration
# from that shape to today's generator. Never edit these: they describe a file already applied.
FULL_SCRIPT = "20260106000000_genlens_model_facts.sql"
_SHIPPED_FACTS = (
    "generation_id", "attempt_number", "scope_at", "is_test", "gen_attempts", "final_status", "first_status",
    "first_model", "first_type", "is_final", "type_first", "m_gen_attempts", "m_final_status", "m_first_status",
    "m_final", "m_type_first", "m_first_at", "m_first_type", "status", "model_used", "story_type", "user_id",
    "created_at", "completed_at", "has_message", "error_signature", "latency_ms", "cost_usd", "tokens",
    "duration_ms", "quality", "metadata_issue", "not_an_object", "invalid_cost", "invalid_quality",
    "invalid_tokens", "invalid_duration", "tok_metadata", "tok_sections", "tok_validation", "dur_metadata",
    "dur_sections", "dur_validation", "retry_phases",
)  # fmt: skip
_SHIPPED_ROLLUP_KEY = (
    "scope_day", "attempt_day", "is_test", "model_used", "status", "first_model", "story_type", "first_type",
    "m_scope_day", "m_first_type",
)  # fmt: skip
_SHIPPED_ROLLUP_SUMS = (
    "attempts", "cost_usd", "cost_n", "tokens", "quality_sum", "quality_n", "duration_n", "metadata_issues",
    "not_an_object", "invalid_cost", "invalid_quality", "invalid_tokens", "invalid_duration", "gens",
    "gens_first_success", "gens_first_terminal", "gens_retried", "mgens", "mgens_first_success",
    "mgens_first_terminal", "mgens_retried", "failures_no_message", "type_gens", "type_gens_success", "mtype_gens",
    "mtype_gens_success", "latency_sum", "tok_metadata_sum", "tok_metadata_n", "dur_metadata_sum", "dur_metadata_n",
    "tok_sections_sum", "tok_sections_n", "dur_sections_sum", "dur_sections_n", "tok_validation_sum",
    "tok_validation_n", "dur_validation_sum", "dur_validation_n",
)  # fmt: skip
_SHIPPED_SMALL = {
    "genlens_rollup_latency": ("scope_day", "is_test", "model_used", "bucket", "n"),
    "genlens_rollup_phase": ("scope_day", "is_test", "phase", "reporting", "with_retries", "retries"),
    "genlens_rollup_error": ("scope_day", "attempt_day", "is_test", "error_signature", "n"),
    "genlens_rollup_retries": ("scope_day", "is_test", "gen_attempts", "final_status", "gens"),
    "genlens_rollup_model_retries": ("scope_day", "is_test", "model_used", "gen_attempts", "final_status", "gens"),
    "genlens_rollup_quality": ("scope_day", "is_test", "model_used", "bin", "n"),
}
# sha256 of each function's statement (`functions()`, stripped) and of the facts rows' derivation
# (`derive_sql("TRUE")`) in that file: a function whose text differs is replaced, and a different
# derivation means the facts rows are derived again.
_SHIPPED_FUNCTIONS = {
    "genlens_latency_bucket": "4bae559a89b0b52a4c75fcb49efe0c64f51138b415ad1140ccc6d7dd511315c2",
    "genlens_facts_sync": "b8baf24965eee1f06dc32edd2b866c0697720fe8c5e96696c4090a9b7561593d",
    "genlens_rollup_rebuild": "ba830099660317e0bf5c9b4c6e76c8186cca5c4b96ea085d73aa56f72a5f9821",
    "genlens_facts_rebuild": "9585cb8799eb1c7fe2208fdb8c7b1c2e41caf0ec70ed62fdd451e2512631d0be",
    "genlens_facts_on_truncate": "ffa05f9e76d6c95adfe149730548f95f4f591e594a82c18ba24175387d4a8d2a",
    "genlens_facts_on_insert": "de332a37a509b1f0f518c2f14262fb1cfc7e41bff35c91f9590cf2c6b70cda1c",
    "genlens_facts_on_update": "ea725af679dc4c4cdc489aaa0431e58dba98849a6d6d92a5e3d4882575d14645",
    "genlens_facts_on_delete": "9fbc8698205ebf85e976758e01c2ab1b02958ccdf2890fffc043d8af5c232c9a",
}
_SHIPPED_DERIVATION = "be2fc11bd9e5219804100cd59b49b1c563f12a123344f3bef1f1d29ff78b73db"


def _sha(sql: str) -> str:
    return hashlib.sha256(sql.strip().encode()).hexdigest()


@dataclass(frozen=True)
class Delta:
    """What today's generator has that the full script's shape lacks."""

    facts_columns: tuple[tuple[str, str], ...]  # (column, type)
    rollup_columns: tuple[tuple[str, str], ...]  # (column, type)
    functions: tuple[str, ...]  # new or changed, in `functions()` order
    refacts: bool  # the facts rows' derivation changed: derive them again (and the rollups)
    rerollup: bool  # the rollup rows' aggregation changed: build the rollups again
    small_rollups: tuple[str, ...] = ()  # small rollups with new columns (a new key): made again


def delta() -> Delta:
    """Today's generator against the full script's frozen shape. Raises NotImplementedError for a
    change a generated delta cannot ship (a removed or renamed column or function, a new rollup
    key, a change to a small rollup, a new trigger): write that migration by hand."""
    facts = [(c, t) for c, t, _ in COLUMNS]
    sums = [(c, _sum_type(c)) for c, _ in ROLLUP_SUMS]
    problems = [f"{TABLE}.{c} removed" for c in _SHIPPED_FACTS if c not in NAMES]
    problems += [f"{ROLLUP}.{c} removed" for c in _SHIPPED_ROLLUP_SUMS if c not in {c for c, _ in sums}]
    if ROLLUP_KEY != _SHIPPED_ROLLUP_KEY:
        problems.append(f"{ROLLUP}'s key changed")
    small = {r.table: tuple(c for c, _, _ in (*r.key, *r.sums)) for r in SMALL_ROLLUPS}
    if set(small) != set(_SHIPPED_SMALL) or any(not set(_SHIPPED_SMALL[t]) <= set(c) for t, c in small.items()):
        problems.append("a small rollup was added, removed or lost a column")
    fns = functions()
    problems += [f"function {name} removed" for name in _SHIPPED_FUNCTIONS if name not in fns]
    problems += [f"new trigger {name}" for name in fns if name not in _SHIPPED_FUNCTIONS and "_on_" in name]
    if problems:
        raise NotImplementedError("a generated delta cannot ship: " + "; ".join(problems))
    return Delta(
        facts_columns=tuple((c, t) for c, t in facts if c not in _SHIPPED_FACTS),
        rollup_columns=tuple((c, t) for c, t in sums if c not in _SHIPPED_ROLLUP_SUMS),
        functions=tuple(name for name, sql in fns.items() if _sha(sql) != _SHIPPED_FUNCTIONS.get(name)),
        refacts=_sha(derive_sql("TRUE")) != _SHIPPED_DERIVATION,
        rerollup=_sha(fns["genlens_rollup_rebuild"]) != _SHIPPED_FUNCTIONS["genlens_rollup_rebuild"],
        small_rollups=tuple(r.table for r in SMALL_ROLLUPS if small[r.table] != _SHIPPED_SMALL[r.table]),
    )


def delta_sql() -> str:
    """The delta migration: brings a database that got the full script (and any earlier delta) to
    today's shape. Idempotent. Cumulative: each delta carries every change since the full script,
    so a database where an older file ran again after it (as `supabase db push` may) is repaired."""
    d = delta()
    fns = functions()
    steps: list[str] = []
    if d.facts_columns:
        added = ", ".join(f"ADD COLUMN IF NOT EXISTS {c} {t}" for c, t in d.facts_columns)
        steps.append(
            f"    IF {_lacks_columns(TABLE, [c for c, _ in d.facts_columns])} THEN\n"
            "        -- emptied first (a NOT NULL column cannot be added to rows), built again below\n"
            f"        TRUNCATE {TABLE};\n        facts_emptied := true;\n"
            f"    {_ddl(f'ALTER TABLE {TABLE} {added}').rstrip()}\n    END IF;\n"
        )
    if d.rollup_columns:
        added = ", ".join(f"ADD COLUMN IF NOT EXISTS {c} {t}" for c, t in d.rollup_columns)
        steps.append(
            f"    IF {_lacks_columns(ROLLUP, [c for c, _ in d.rollup_columns])} THEN\n"
            "        rollups_emptied := true;  -- the new columns' sums are 0 until built again below\n"
            "    END IF;\n" + _ddl(f"ALTER TABLE {ROLLUP} {added}")
        )
    for r in SMALL_ROLLUPS:
        if r.table in d.small_rollups:  # without today's columns: dropped, made again, rebuilt below
            steps += [_small_upgrade(r, "rollups_emptied"), _ddl(_small_table(r))]
    steps += change_log_tables()
    steps += [_ddl(fns[name]) for name in d.functions]
    steps += change_log_grants()
    # Built again only when what built them changed since (or a step above emptied them): the
    # rebuild function's text before this file ran is today's only if today's derivation built the
    # facts (every file that installs it rebuilds in the same transaction). So a delta that only adds
    # an index, or this file run twice, costs no rebuild of every attempt.
    facts_changed = f"facts_emptied OR built_by IS DISTINCT FROM {_FUNCTION_TEXT.format(fn='genlens_facts_rebuild')}"
    rollups_changed = (
        f"rollups_emptied OR rolled_by IS DISTINCT FROM {_FUNCTION_TEXT.format(fn='genlens_rollup_rebuild')}"
    )
    if d.refacts or d.facts_columns:
        steps.append(
            f"    IF {facts_changed} THEN\n        PERFORM genlens_facts_rebuild();  -- the facts rows, then the rollups\n"
            f"    ELSIF {rollups_changed} THEN\n        PERFORM genlens_rollup_rebuild();\n    END IF;\n"
        )
    elif d.rerollup or d.rollup_columns or d.small_rollups:
        steps.append(f"    IF {rollups_changed} THEN\n        PERFORM genlens_rollup_rebuild();\n    END IF;\n")
    what = []
    if d.facts_columns:
        what.append(f"{TABLE} gains {', '.join(c for c, _ in d.facts_columns)}")
    if d.rollup_columns:
        what.append(f"{ROLLUP} gains {', '.join(c for c, _ in d.rollup_columns)}")
    if d.small_rollups:
        what.append(f"{', '.join(d.small_rollups)} made again with a wider key")
    if d.functions:
        what.append(f"{', '.join(d.functions)} replaced")
    what.append(
        f"the change log {CHANGES} is made (the row-change triggers append to it; genlens_fold folds it); "
        "API roles may call no GenLens function, the rollup's reader may fold"
    )
    what.append(f"the error-group tables {GROUPS} and {MEMBERS} are made (the rollup's reader may add to them)")
    what.append(
        "the value indexes of the outliers and the latency lookups' index hold the sidebar's filters' columns"
        " (replacing the narrower ones)"
    )
    what.append(f"the Explorer's trigram index {TEXT_INDEX} is made in this schema even where public has one")
    if d.refacts or d.facts_columns:
        what.append("the facts and rollups are built again where an earlier version built them")
    elif d.rerollup or d.rollup_columns or d.small_rollups:
        what.append("the rollups are built again from the facts rows where an earlier version built them")
    summary = "\n".join(f"-- {line}" for line in _wrap("; ".join(what) + "." if what else "nothing changed.", 97))
    return f"""-- GenLens: a delta of the derived tables (generated by `python -m metrics.derived delta`; do not
-- edit).
--
-- Brings what {FULL_SCRIPT} (and any earlier delta) installed to
-- today's shape:
{summary}
-- Nothing happens where {ROLLUP} does not exist: that script installed nothing on a
-- `generations` without its primary key (generation_id, attempt_number) and NOT NULL created_at.
-- Grants: a column added to an existing table keeps the table's grants; a rollup made again is
-- granted again to whoever may read the daily rollup.
-- Idempotent (ADD COLUMN IF NOT EXISTS, CREATE OR REPLACE, a rebuild), and it carries every change
-- since that script, so it also repairs a database where an older file ran again after it.
-- Unqualified names: runs with search_path set to GENLENS_SCHEMA (or public for supabase db push).

DO $genlens$
DECLARE
    c record;
    -- what built the facts and the rollups, as installed before this file ran
    built_by text := {_FUNCTION_TEXT.format(fn="genlens_facts_rebuild")};
    rolled_by text := {_FUNCTION_TEXT.format(fn="genlens_rollup_rebuild")};
    facts_emptied boolean := false;
    rollups_emptied boolean := false;
BEGIN
    IF to_regclass('{ROLLUP}') IS NULL OR to_regclass('{TABLE}') IS NULL THEN
        RAISE NOTICE 'GenLens derived tables not upgraded: none are installed here';
        RETURN;
    END IF;
{"".join(steps)}END
$genlens$;
"""


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == []:
        sys.stdout.write(migration_sql())
    elif args == ["delta"]:
        sys.stdout.write(delta_sql())
    else:
        sys.stderr.write("usage: python -m metrics.derived [delta]\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
