"""The scope of a query and the typed values of an attempt, over the raw table or the facts table.

`scoped(filters)` gives the CTEs `att` (attempts of the generations in scope, with the typed
values of METRICS.md) and `gen` (one row per generation: attempts, final and first status) plus
their bound parameters, over `generations` (or a seed source's view) or over GenLens' facts
table when it is usable; both give the same rows. The raw and facts sources of `metrics.sources`
and the bespoke queries of `queries/` are written on top of these two, so "in scope" and "valid
cost" mean one thing everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from data_access.engine import Database, get_database
from data_access.facts import facts_relation
from metrics import error_groups, forcing
from metrics.filters import Filters
from metrics.signatures import MASK_PARAMS, mask_sql

TERMINAL = "('success', 'failed', 'timeout')"


def table(db: Database) -> str:
    """What queries read FROM: the generations table or GenLens' view of another source.

    Built only from validated settings (schema names pass validate_schema), never from input.
    """
    return db.relation or f'"{db.schema}".generations'


# --- Safe JSONB reads (METRICS.md "Values read from an attempt") -------------------------------
# `#>` and `->` return NULL, never raise, on arrays, strings and missing keys; the CASE casts only
# JSON numbers. Every read of generation_metadata goes through these two functions.


def json_number(path: str | None, meta: str = "g.generation_metadata", upper: float | None = None) -> str:
    """A non-negative JSON number at `path` ('{cost_usd}', '{duration_ms,total}'; None: `meta`
    itself), else NULL."""
    v = f"({meta} #> '{path}')" if path is not None else f"({meta})"
    bound = f" AND {v}::numeric <= {upper}" if upper is not None else ""
    return f"(CASE WHEN jsonb_typeof({v}) = 'number' AND {v}::numeric >= 0{bound} THEN {v}::numeric END)"


COST = json_number("{cost_usd}")
TOKENS = json_number("{total_tokens,total}")
DURATION = json_number("{duration_ms,total}")
QUALITY = json_number("{quality_scores,overall}", upper=1)
IS_TEST = "(jsonb_typeof(g.generation_metadata) = 'object' AND g.generation_metadata ? 'test_run_id')"

# Kinds of metadata issue, each a boolean over one attempt; `metadata_issue` is any of them.
ISSUE_KINDS = {
    "not_an_object": "(g.generation_metadata IS NOT NULL AND jsonb_typeof(g.generation_metadata) <> 'object')",
    "invalid_cost": f"(g.generation_metadata #> '{{cost_usd}}' IS NOT NULL AND {COST} IS NULL)",
    "invalid_quality": f"(g.generation_metadata #> '{{quality_scores,overall}}' IS NOT NULL AND {QUALITY} IS NULL)",
    "invalid_tokens": f"(g.generation_metadata #> '{{total_tokens,total}}' IS NOT NULL AND {TOKENS} IS NULL)",
    "invalid_duration": f"(g.generation_metadata #> '{{duration_ms,total}}' IS NOT NULL AND {DURATION} IS NULL)",
}
METADATA_ISSUE = "(" + " OR ".join(ISSUE_KINDS.values()) + ")"

LATENCY = (
    f"(CASE WHEN g.status IN {TERMINAL} AND g.completed_at >= g.created_at"
    " THEN (extract(epoch FROM g.completed_at - g.created_at) * 1000)::float8 END)"
)

ATTEMPT_COLUMNS = f"""
    g.generation_id, g.attempt_number, g.status, g.model_used, g.story_type, g.user_id,
    g.created_at, g.completed_at, g.error_message, (g.error_message IS NOT NULL) AS has_message,
    (g.status IN {TERMINAL}) AS terminal,
    {LATENCY} AS latency_ms,
    {COST} AS cost_usd,
    {TOKENS} AS tokens,
    {DURATION} AS duration_ms,
    {QUALITY} AS quality,
    {METADATA_ISSUE} AS metadata_issue"""


# Phases of the Stage 5 pipeline that report their own tokens and duration.
PHASES = ("metadata", "sections", "validation")

# Further per-attempt values a query may ask `scoped` for, by name (the facts table stores all but
# the prompt). Each reads the raw attempt `g` with the rules above.
EXTRAS: dict[str, str] = {
    **ISSUE_KINDS,
    **{f"tok_{p}": json_number("{total_tokens," + p + "}") for p in PHASES},
    **{f"dur_{p}": json_number("{duration_ms," + p + "}") for p in PHASES},
    # generation_metadata.retry_count as {phase: retries} with the known values only (a JSON number
    # >= 0, or an array: the sum of its elements that are), NULL when none is known; never raises.
    # (One aggregate over the object's members, and a sum only for an array: a third of the cost
    # of a lateral per member; it is read once per attempt when the facts are derived.)
    "retry_phases": f"""(SELECT jsonb_object_agg(k.key, CASE jsonb_typeof(k.value)
            WHEN 'number' THEN {json_number(None, meta="k.value")}
            ELSE (SELECT COALESCE(sum({json_number(None, meta="e.value")}), 0)
                  FROM jsonb_array_elements(k.value) AS e(value)) END)
        FROM jsonb_each(CASE WHEN jsonb_typeof(g.generation_metadata #> '{{retry_count}}') = 'object'
                             THEN g.generation_metadata #> '{{retry_count}}' END) AS k(key, value)
        WHERE jsonb_typeof(k.value) = 'array' OR {json_number(None, meta="k.value")} IS NOT NULL)""",
    "prompt": "g.prompt",
    # always in att over the raw table; from the facts table only when asked for (it is read from
    # the attempt row itself, once per row: costly in a CTE that PostgreSQL materialises)
    "error_message": "g.error_message",
}
FACT_EXTRAS = tuple(name for name in EXTRAS if name not in ("prompt", "error_message"))

# One row per generation in scope (after `gen`): when its first attempt started, and that attempt's
# model and type (`Sql.g1`; stored in the facts table for unfiltered scopes).
G1 = """
, g1 AS (
    SELECT gen.generation_id, gen.attempts, gen.final_status, gen.first_status,
           min(att.created_at) AS first_at,
           (array_agg(att.model_used ORDER BY att.attempt_number, att.created_at))[1] AS first_model,
           (array_agg(att.story_type ORDER BY att.attempt_number, att.created_at))[1] AS first_type
    FROM gen JOIN att USING (generation_id)
    GROUP BY gen.generation_id, gen.attempts, gen.final_status, gen.first_status
)"""


@dataclass(frozen=True)
class Sql:
    """SQL text with its bound parameters; `expanding` names the list-valued ones.

    `signature` is the SQL for the error group label of a failed or timed-out `att` row with a
    message (its signature precomputed in the facts table, else the masking's regular expressions;
    either way mapped to its group: it needs `with_signatures` params). `raw_signature` is the
    signature itself.
    """

    text: str
    params: dict[str, Any]
    expanding: tuple[str, ...] = ()
    signature: str = ""
    g1: str = ""
    # att rows carry their generation's is_final, gen_final_status, gen_first_status and
    # gen_attempts (the facts table, unfiltered scope): generation figures need no second pass.
    facts_gen: bool = False
    raw_signature: str = ""
    facts: bool = False  # att reads the facts table (not the raw attempts)


def attempt_filter(f: Filters, alias: str = "g") -> tuple[str, dict[str, Any], tuple[str, ...]]:
    """The attempt-level narrowing (model, type, user, status) as one AND-ed fragment."""
    bits, params, expanding = ["TRUE"], {}, []
    if f.models:
        bits.append(f"{alias}.model_used IN :models")
        params["models"] = list(f.models)
        expanding.append("models")
    if f.types:
        bits.append(f"{alias}.story_type IN :types")
        params["types"] = list(f.types)
        expanding.append("types")
    if f.user:
        bits.append(f"{alias}.user_id = CAST(:user_id AS uuid)")
        params["user_id"] = f.user
    if f.statuses:
        bits.append(f"{alias}.status IN :statuses")
        params["statuses"] = list(f.statuses)
        expanding.append("statuses")
    return " AND ".join(bits), params, tuple(expanding)


_FACT_ATTEMPT_BASE = f"""
    g.generation_id, g.attempt_number, g.status, g.model_used, g.story_type, g.user_id,
    g.created_at, g.completed_at, g.has_message,
    (g.status IN {TERMINAL}) AS terminal,
    g.latency_ms, g.cost_usd, g.tokens, g.duration_ms, g.quality, g.metadata_issue,
    g.error_signature AS signature_pre"""
# The generation's figures an att row carries: (att column, facts column, the facts column over
# the generation's attempts of this attempt's model: what a filter on one model leaves of it).
_GEN_FIGURES = (
    ("is_final", "is_final", "m_final"),
    ("gen_final_status", "final_status", "m_final_status"),
    ("gen_first_status", "first_status", "m_first_status"),
    ("gen_attempts", "gen_attempts", "m_gen_attempts"),
    ("type_first", "type_first", "m_type_first"),
)


def _fact_columns(one_model: bool) -> str:
    figures = ", ".join(f"g.{m if one_model else c} AS {name}" for name, c, m in _GEN_FIGURES)
    return f"{_FACT_ATTEMPT_BASE},\n    {figures}"


def _scoped_facts(f: Filters, db: Database, facts: str, extras: tuple[str, ...]) -> Sql:
    t = table(db)
    where, params, expanding = attempt_filter(f)
    tests = "" if f.include_tests else "AND NOT g.is_test"

    def raw_column(column: str) -> str:
        # Text kept out of the narrow facts table, read from the attempt itself (only for the rows
        # a query actually outputs or searches: unused subquery outputs are not computed).
        return (
            f"(SELECT g2.{column} FROM {t} g2"
            f" WHERE g2.generation_id = g.generation_id AND g2.attempt_number = g.attempt_number)"
        )

    def read(column: str) -> str:
        if column in FACT_EXTRAS:
            return f"g.{column}"
        if column == "error_message":  # most attempts have none: look up only those that do
            return f"CASE WHEN g.has_message THEN {raw_column(column)} END"
        return raw_column(column)

    extra = "".join(f", {read(n)} AS {n}" for n in extras)
    one = "AND g.generation_id = CAST(:gid AS uuid)" if f.generation else ""
    in_window = f"g.scope_at >= :since AND g.scope_at < :until {tests} {one}"
    g1 = G1
    one_model = len(f.models) == 1 and not (f.types or f.user or f.statuses)
    if one_model:
        # One model: what the filter leaves of a generation is its attempts of that model, whose
        # count, final and first status, first time and type are stored too.
        gen = f"""SELECT g.generation_id, g.m_gen_attempts AS attempts, g.m_final_status AS final_status,
           g.m_first_status AS first_status, g.m_first_at AS first_at, g.model_used AS first_model,
           g.m_first_type AS first_type
    FROM {facts} g WHERE {in_window} AND {where} AND g.m_final"""
        g1 = "\n, g1 AS (SELECT * FROM gen)"
    elif where == "TRUE":
        # Unfiltered: each generation's attempt count, final and first status, first model and
        # type are stored.
        gen = f"""SELECT g.generation_id, g.gen_attempts AS attempts, g.final_status, g.first_status,
           g.scope_at AS first_at, g.first_model, g.first_type
    FROM {facts} g WHERE {in_window} AND g.is_final"""
        g1 = "\n, g1 AS (SELECT * FROM gen)"
    else:
        gen = """SELECT generation_id, count(*) AS attempts,
           (array_agg(status ORDER BY attempt_number DESC, created_at DESC))[1] AS final_status,
           (array_agg(status ORDER BY attempt_number, created_at))[1] AS first_status
    FROM att GROUP BY generation_id"""
    # Columns read from the attempt row itself are computed per row of att: never materialise it
    # then (the queries that ask for them read att once, and only some of its rows).
    inline = " NOT MATERIALIZED" if any(n not in FACT_EXTRAS for n in extras) else ""
    sql = f"""
WITH att AS{inline} (
    SELECT {_fact_columns(one_model)}{extra}
    FROM {facts} g
    WHERE {in_window} AND {where}
), gen AS (
    {gen}
)"""
    params.update(since=f.since, until=f.until, **({"gid": f.generation} if f.generation else {}))
    return Sql(
        sql,
        params,
        expanding,
        error_groups.label_sql("att.signature_pre"),
        g1,
        where == "TRUE" or one_model,
        "att.signature_pre",
        facts=True,
    )


def scoped(f: Filters, db: Database | None = None, *, extras: tuple[str, ...] = (), facts: bool | None = None) -> Sql:
    """`WITH` clause defining att (attempts in scope) and gen (generations in scope).

    A generation is in scope when its first attempt (lowest created_at) is in [since, until);
    then all its attempts count, retries after `until` included. Test generations are out unless
    `include_tests`. Attempt filters narrow the attempts; a generation stays if any remains.
    `extras` names further columns of att (EXTRAS). Reads the facts table when it is usable, else
    the raw attempts; both give the same rows. `facts`: True or False to read that one (the
    planner's facts and raw sources), None to take the facts table whenever it is usable.
    """
    db = db or get_database()
    unknown = [n for n in extras if n not in EXTRAS]
    if unknown:
        raise ValueError(f"unknown extra column {unknown[0]!r}")
    if facts is None and forcing.forced() in ("facts", "raw"):
        facts = forcing.forced() == "facts"
    relation = facts_relation(db) if facts is not False else ""
    if facts and not relation:
        raise ValueError("the facts table is not usable here")
    if relation:
        return _scoped_facts(f, db, relation, extras)
    t = table(db)
    where, params, expanding = attempt_filter(f)
    tests = (
        ""
        if f.include_tests
        else f"AND NOT EXISTS (SELECT 1 FROM {t} g WHERE g.generation_id = c.generation_id AND {IS_TEST})"
    )
    extra = "".join(f", {EXTRAS[n]} AS {n}" for n in extras if n != "error_message")
    one = " AND generation_id = CAST(:gid AS uuid)" if f.generation else ""
    sql = f"""
WITH cand AS (
    SELECT DISTINCT generation_id FROM {t} WHERE created_at >= :since AND created_at < :until{one}
), scope AS (
    SELECT c.generation_id FROM cand c
    WHERE NOT EXISTS (SELECT 1 FROM {t} p WHERE p.generation_id = c.generation_id AND p.created_at < :since)
    {tests}
), att AS (
    SELECT {ATTEMPT_COLUMNS}{extra}
    FROM {t} g
    WHERE g.created_at >= :since AND g.generation_id IN (SELECT generation_id FROM scope) AND {where}
), gen AS (
    SELECT generation_id, count(*) AS attempts,
           (array_agg(status ORDER BY attempt_number DESC, created_at DESC))[1] AS final_status,
           (array_agg(status ORDER BY attempt_number, created_at))[1] AS first_status
    FROM att GROUP BY generation_id
)"""
    params.update(since=f.since, until=f.until, **({"gid": f.generation} if f.generation else {}))
    return Sql(sql, params, expanding, error_groups.label_sql(SIGNATURE), G1, raw_signature=SIGNATURE)


_READS_GEN = re.compile(r"\b(?:FROM|JOIN)\s+(?:gen|g1)\b")
_READS_ATT = re.compile(r"\b(?:FROM|JOIN)\s+att\b")


def inline_att(scope: str) -> str:
    """`scope` with att never materialised: for a query that reads only some of its rows through
    an index (att's unused columns are then never computed)."""
    return scope.replace("\nWITH att AS (", "\nWITH att AS NOT MATERIALIZED (", 1)


def inlined(scope: str, body: str) -> str:
    """`scope` with att inlined (NOT MATERIALIZED) for a query over the error signatures (the
    window's failures) that reads att once and never gen: gen's unused reference alone would make
    PostgreSQL materialise every column of the window's failures, where inlined it reads only the
    columns the query needs through the failures index (10M, 30 days, 565k failures: the errors
    report 5.09 -> 1.19 s). Other queries keep att materialised: at 10M inlining them measured no
    faster and some slower (Cost & Quality under two models 17.2 s against 11.1-13.7 s)."""
    if "signature_pre" not in body or _READS_GEN.search(body) or len(_READS_ATT.findall(body)) != 1:
        return scope
    return inline_att(scope)


def with_signatures(params: dict[str, Any], db: Database | None = None) -> dict[str, Any]:
    """`params` and what `Sql.signature` needs: the masking's patterns and the error groups."""
    return {**params, **MASK_PARAMS, **error_groups.bound(db or get_database())}


SIGNATURE = mask_sql("att.error_message")
