"""The sources that can answer a metrics request, each saying what it can answer and rendering
each primitive of `metrics.registry` once, for its own tables.

- `raw`: the attempts of `generations` (or a seed source's view), typed from the JSONB on every
  query (`metrics.scope.scoped`). Answers everything; the slowest.
- `facts`: GenLens' facts table, one typed row per attempt with its generation's figures
  (`data_access.facts`). Answers everything while it is usable (triggers on, readable, current).
- `rollup`: the daily rollups of the facts rows: sums per (scope day, attempt day, test?, model,
  status, type, ...). Answers whole UTC days without a type, user or status filter; generation
  figures under a filter on at most one model (the rollup keeps per-(generation, model) sums);
  exact percentiles from its latency histogram, overall or per model.

A source that cannot answer says why in one sentence (`declines`); the planner
(`metrics.planner`) asks them cheapest first.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC
from datetime import time as dtime
from typing import Any

from sqlalchemy import bindparam, text

from data_access.engine import Database
from data_access.facts import (
    BUCKET_FN,
    ROLLUP,
    ROLLUP_ERROR,
    ROLLUP_LATENCY,
    ROLLUP_MODEL_RETRIES,
    ROLLUP_PHASE,
    ROLLUP_QUALITY,
    ROLLUP_RETRIES,
    TABLE,
    facts_relation,
    freshness,
    readable_rollups,
)
from metrics import error_groups, forcing
from metrics.derived import ROLLUP_VALUE_COLUMNS
from metrics.filters import STATUSES, Filters
from metrics.registry import (
    TERMINAL,
    Attempts,
    Beyond,
    Count,
    Extreme,
    Flagged,
    Formula,
    GenerationAttempts,
    Generations,
    Joined,
    Known,
    Newest,
    Percentile,
    Plain,
    Positive,
    Primitive,
    Ratio,
    Sum,
    Total,
    primitives,
)
from metrics.scope import ISSUE_KINDS, PHASES, inlined, scoped, with_signatures

QUALITY_BINS = 100  # the quality rollup's bins: it answers any bin count dividing this


def _bucket(column: str, unit: str) -> str:
    # date_trunc in UTC, returned as timestamptz
    return f"(date_trunc('{unit}', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


def _day_ts(column: str) -> str:
    return f"(CAST({column} AS timestamp) AT TIME ZONE 'UTC')"


@dataclass(frozen=True)
class Dimension:
    """A breakdown. Attempts group by their own value (`att`); generations by their first
    attempt's (`gen`, over the scope's g1 rows, or its gen rows when `g1` is False). In the daily
    rollup: the attempt's key column, the generation's key column, and the generation's under a
    filter on one model (its attempts of that model); None where the rollup has no such key.
    A dimension with `att` None groups generations only (how many attempts a generation took).
    With `each`, a generation counts under every value its attempts have, once each (cost by
    story type: a generation retried as another type is a generation of both), not under its
    first attempt's: the dimension's name says which, so "generations" means one thing per name."""

    name: str
    column: str  # the output column
    att: str | None
    gen: str
    rollup_att: str | None
    rollup_gen: str | None
    rollup_gen_model: str | None
    g1: bool = True
    each: bool = False
    unpivot: str = ""  # one row per (attempt, phase it reports): "phases" (tokens, durations) or "retries"
    rows: str = ""  # only the attempts matching this (the quality bins: attempts with a quality)
    each_flag: str | None = None  # the facts rows' flag of a generation's first attempt of each value


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("model_used", "model_used", "model_used", "first_model", "model_used", "first_model", "model_used"),
        Dimension("story_type", "story_type", "story_type", "first_type", "story_type", "first_type", "m_first_type"),
        Dimension(
            "day",
            "day",
            "CAST(created_at AT TIME ZONE 'UTC' AS date)",
            "CAST(first_at AT TIME ZONE 'UTC' AS date)",
            "attempt_day",
            "scope_day",
            "m_scope_day",
        ),
        Dimension(
            "day_bucket",
            "bucket",
            _bucket("created_at", "day"),
            _bucket("first_at", "day"),
            _day_ts("attempt_day"),
            _day_ts("scope_day"),
            _day_ts("m_scope_day"),
        ),
        Dimension(
            "hour_bucket", "bucket", _bucket("created_at", "hour"), _bucket("first_at", "hour"), None, None, None
        ),
        Dimension(
            "story_type_each",
            "story_type",
            "story_type",
            "story_type",
            "story_type",
            "story_type",
            "story_type",
            g1=False,
            each=True,
            each_flag="type_first",
        ),
        # error groups: the failed and timed-out attempts with a message, by their signature (a
        # generation counts under each signature its attempts have)
        Dimension(
            "error_signature",
            "error_signature",
            "{signature}",
            "{signature}",
            None,
            None,
            None,
            g1=False,
            each=True,
            rows="status IN ('failed', 'timeout') AND has_message",
        ),
        # the pipeline's phases: each attempt unpivoted into one row per phase it reports
        Dimension("phase", "phase", "phase", "", "phase", None, None, g1=False, unpivot="phases"),
        # each failed or timed-out attempt under its signature, NULL when it has no message (the
        # Errors page's daily shares)
        Dimension(
            "failure_signature",
            "error_signature",
            "CASE WHEN has_message THEN {signature} END",
            "",
            None,
            None,
            None,
            g1=False,
            rows="status IN ('failed', 'timeout')",
        ),
        # the retries the generator made inside each phase (generation_metadata.retry_count)
        Dimension("retry_phase", "phase", "phase", "", None, None, None, g1=False, unpivot="retries"),
        # the retries report's "attempts": how many attempts a generation took (the retries rollups)
        Dimension("attempts_taken", "attempts", None, "attempts", None, None, None, g1=False),
        # quality histograms: n equal bins over [0, 1], the last one closed (1.0 counts)
        *(
            Dimension(
                f"quality_bin_{n}",
                "bin",
                f"LEAST(width_bucket(quality, 0, 1, {n}), {n})",
                "",
                None,
                None,
                None,
                g1=False,
                rows="quality IS NOT NULL",
            )
            for n in range(1, QUALITY_BINS + 1)
        ),
    )
}


@dataclass(frozen=True)
class Need:
    """What a request needs from a source: its primitives, in a fixed order, and its dimensions."""

    formulas: tuple[Formula, ...]
    by: tuple[Dimension, ...]
    bounds: tuple[tuple[str, float], ...] = ()  # (parameter, value) of each Beyond's bound

    @property
    def bound_params(self) -> dict[str, float]:
        """The bound parameters of the Beyond primitives (t_<parameter>)."""
        return {f"t_{name}": value for name, value in self.bounds}

    @property
    def prims(self) -> tuple[Primitive, ...]:
        seen: dict[Primitive, None] = {}
        for formula in self.formulas:
            for p in primitives(formula):
                seen.setdefault(p, None)
        return tuple(seen)

    @property
    def gen_prims(self) -> tuple[Primitive, ...]:
        return tuple(p for p in self.prims if p.grain == "generation")

    @property
    def att_prims(self) -> tuple[Primitive, ...]:
        return tuple(p for p in self.prims if p.grain == "attempt")

    @property
    def null_exact(self) -> frozenset[Primitive]:
        """Primitives whose "none known" (NULL) must stay NULL: a ratio's bare numerator."""
        out = set()
        for formula in self.formulas:
            if isinstance(formula, Ratio) and not formula.zero:
                out.add(formula.num)
            if isinstance(formula, Sum) and not formula.zero:
                out.add(formula.of)
        return frozenset(out)


@dataclass(frozen=True)
class Rendered:
    """A source's answer to a request: `sql`, a WITH clause ending in CTE b (one row per key
    k0, k1, ... with every primitive aggregated), `col` naming each primitive's column of b (or
    of `joins`), its parameters, and the percentiles the rollup looks up first (`lookups`)."""

    sql: str
    params: dict[str, Any]
    col: dict
    expanding: tuple[str, ...] = ()
    joins: str = ""
    lookups: tuple[Percentile, ...] = ()


def _in(statuses: tuple[str, ...]) -> str:
    bad = [s for s in statuses if s not in STATUSES]
    if bad:  # statuses come from the registry; a literal from anywhere else is refused
        raise ValueError(f"unknown status {bad[0]!r}")
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _filter(conds: list[str]) -> str:
    return f" FILTER (WHERE {' AND '.join(conds)})" if conds else ""


def _status(statuses, column: str = "status") -> list[str]:
    return [] if statuses is None else [f"{column} IN {_in(statuses)}"]


def _p(i: int) -> str:
    return f"p{i}"


def metric_sql(formula: Formula, col: dict[Primitive, str]) -> str:
    """A metric's output expression over the aggregated primitive columns `col`."""
    if isinstance(formula, Count):
        return f"CAST(COALESCE({col[formula.of]}, 0) AS bigint)"
    if isinstance(formula, Sum):
        x = f"COALESCE({col[formula.of]}, 0)" if formula.zero else col[formula.of]
        if formula.as_int:
            return f"CAST({x} AS bigint)"
        if formula.scale != 1.0:
            return f"CAST({x} / {float(formula.scale)!r} AS float8)"
        return f"CAST({x} AS float8)"
    if isinstance(formula, Ratio):
        num = f"COALESCE({col[formula.num]}, 0)" if formula.zero else col[formula.num]
        if formula.exact:
            return f"CAST({num} / NULLIF({col[formula.den]}, 0) AS float8)"
        return f"(CAST({num} AS float8) / NULLIF({col[formula.den]}, 0))"
    if isinstance(formula, Plain):
        return f"CAST({col[formula.of]} AS {formula.cast})" if formula.cast else col[formula.of]
    raise TypeError(formula)


class Source:
    name = ""
    family = ""  # what a test may force: rollup, facts or raw
    cost = 0

    def applies(self, need: Need) -> bool:
        """Whether this source is one to ask at all (a source for one report's shape is not)."""
        return True

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        """Why this source cannot answer `need` for `f`, or None when it can."""
        raise NotImplementedError

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        raise NotImplementedError


@dataclass(frozen=True)
class Part:
    """Aggregates over one relation: FROM `src`, grouped by the `keys` expressions."""

    src: str
    keys: tuple[str, ...]
    aggs: tuple[str, ...]


def b_cte(att: Part | None, gen: Part | None, picked: frozenset[int] = frozenset()) -> str:
    """CTE b: one row per key k0, k1, ... with every primitive's aggregate p0, p1, ... (the
    attempt part's first). Attempts are grouped by their own values and generations by their
    first attempt's, apart; two keyed parts are stacked, each with NULL for the other's columns,
    and summed per key (a key exists whenever an attempt has it); without keys each part gives
    one row and they sit side by side."""
    parts = [p for p in (att, gen) if p is not None]
    n_att = len(att.aggs) if att else 0
    n_all = n_att + (len(gen.aggs) if gen else 0)
    offset = {id(att): 0, id(gen): n_att}
    keys = [f"k{i}" for i in range(len(parts[0].keys))]

    def own(p: Part) -> list[str]:
        return [f"{a} AS {_p(offset[id(p)] + i)}" for i, a in enumerate(p.aggs)]

    if not keys:
        if len(parts) == 1:
            return f"b AS (\n    SELECT {', '.join(own(parts[0]))}\n    FROM {parts[0].src}\n)"
        sides = " CROSS JOIN ".join(f"(SELECT {', '.join(own(p))} FROM {p.src}) AS x{i}" for i, p in enumerate(parts))
        return f"b AS (\n    SELECT * FROM {sides}\n)"
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    selects = []
    for p in parts:
        mine = dict(zip(range(offset[id(p)], offset[id(p)] + len(p.aggs)), p.aggs, strict=True))
        cols = [f"{e} AS {k}" for e, k in zip(p.keys, keys, strict=True)]
        cols += [f"{mine[i]} AS {_p(i)}" if i in mine else f"NULL AS {_p(i)}" for i in range(n_all)]
        selects.append(f"SELECT {', '.join(cols)} FROM {p.src} GROUP BY {group}")
    if len(selects) == 1:
        return f"b AS (\n    {selects[0]}\n)"
    key_list = ", ".join(keys)
    # each key has each column from one part only: summed (numbers) or picked (`picked`: a
    # timestamp, a text, an id)
    sums = ", ".join(
        f"(array_agg({_p(i)}) FILTER (WHERE {_p(i)} IS NOT NULL))[1] AS {_p(i)}"
        if i in picked
        else f"sum({_p(i)}) AS {_p(i)}"
        for i in range(n_all)
    )
    stacked = "\n    UNION ALL\n    ".join(selects)
    return f"parts AS (\n    {stacked}\n), b AS (\n    SELECT {key_list}, {sums} FROM parts GROUP BY {key_list}\n)"


# --- raw and facts: the attempts in scope (att) and their generations (gen, g1) -----------------

# Phases are listed in name order, so ordering by phase orders them as the pipeline runs them.
assert list(PHASES) == sorted(PHASES), "PHASES must stay in name order"


def _att_by_phase() -> str:
    """att unpivoted: one row per (attempt, phase it reports) with that phase's values."""
    rows = ", ".join(f"('{p}', att.tok_{p}, att.dur_{p})" for p in PHASES)
    return f"""(SELECT att.*, ph.phase, ph.phase_tokens, ph.phase_duration_ms
    FROM att CROSS JOIN LATERAL (VALUES {rows}) AS ph(phase, phase_tokens, phase_duration_ms)
    WHERE ph.phase_tokens IS NOT NULL OR ph.phase_duration_ms IS NOT NULL) AS ap"""


def _att_by_retry_phase() -> str:
    """att unpivoted: one row per (attempt, phase it reports retries for) with their count."""
    return """(SELECT att.*, k.key AS phase, CAST(k.value #>> '{}' AS numeric) AS phase_retry_count
    FROM att CROSS JOIN LATERAL jsonb_each(COALESCE(att.retry_phases, '{}'::jsonb)) AS k(key, value)) AS ar"""


def _rollup_by_phase(rows_sql: str) -> str:
    """Rollup rows unpivoted: one per (row, phase its attempts report) with the phase's sums."""
    rows = ", ".join(f"('{p}', r0.tok_{p}_sum, r0.tok_{p}_n, r0.dur_{p}_sum, r0.dur_{p}_n)" for p in PHASES)
    return f"""(SELECT r0.*, ph.* FROM {rows_sql} AS r0
    CROSS JOIN LATERAL (VALUES {rows})
        AS ph(phase, phase_tokens, phase_tokens_n, phase_duration_ms, phase_duration_ms_n)
    WHERE ph.phase_tokens_n > 0 OR ph.phase_duration_ms_n > 0) AS r"""


def _att_agg(p: Primitive) -> str:
    if isinstance(p, Attempts):
        message = [] if p.message is None else ["has_message" if p.message else "NOT has_message"]
        return "count(*)" + _filter(_status(p.statuses) + message)
    if isinstance(p, Flagged):
        return f"count(*) FILTER (WHERE {p.flag})"
    if isinstance(p, Known):
        return f"count({p.value})" + _filter(_status(p.statuses))
    if isinstance(p, Positive):
        return f"count(*) FILTER (WHERE {p.value} > 0)"
    if isinstance(p, Beyond):
        return f"count(*) FILTER (WHERE {_beyond(p)})"
    if isinstance(p, Total):
        return f"sum({p.value})" + _filter(_status(p.statuses))
    if isinstance(p, Percentile):
        return f"percentile_cont({float(p.p)!r}) WITHIN GROUP (ORDER BY {p.value})"
    if isinstance(p, Extreme):
        return f"{p.fn}({p.value})"
    if isinstance(p, Joined):
        return f"string_agg(DISTINCT {p.value}, ';' ORDER BY {p.value})"
    if isinstance(p, Newest):
        return f"(array_agg({p.value} ORDER BY created_at DESC, attempt_number DESC))[1]"
    raise TypeError(p)


def _beyond(p: Beyond) -> str:
    """An attempt's test of a Beyond primitive, the bound compared as numeric like the value (so
    an index on the value serves it)."""
    return f"{p.value} {p.op} CAST(:t_{p.param} AS numeric)"


def _gen_conds(p: Generations, final: str, first: str, attempts: str) -> list[str]:
    return _status(p.final, final) + _status(p.first, first) + ([f"{attempts} > 1"] if p.retried else [])


def _gen_agg(p: Primitive, one_pass: str | None) -> str:
    """Over gen/g1 rows (final_status, first_status, attempts), or in one pass over the facts
    rows of att, each generation counted on the row flagged `one_pass` (is_final: its final
    attempt's; type_first: its first attempt of each story type)."""
    if one_pass:
        if isinstance(p, Generations):
            return "count(*)" + _filter(
                [one_pass, *_gen_conds(p, "gen_final_status", "gen_first_status", "gen_attempts")]
            )
        if isinstance(p, GenerationAttempts):
            return f"sum(gen_attempts) FILTER (WHERE {one_pass})"
    else:
        if isinstance(p, Generations):
            return "count(*)" + _filter(_gen_conds(p, "final_status", "first_status", "attempts"))
        if isinstance(p, GenerationAttempts):
            return "sum(attempts)"
    raise TypeError(p)


def _key(expr: str, s) -> str:
    """A dimension's expression over att's rows (or a subquery of them): the signature unqualified."""
    return expr.replace("{signature}", s.signature.replace("att.", ""))


def _picked(att_prims: tuple[Primitive, ...]) -> frozenset[int]:
    """Positions of the primitives that are not numbers (they are picked, not summed)."""
    return frozenset(i for i, p in enumerate(att_prims) if isinstance(p, Extreme | Joined | Newest))


FAILURES = ("failed", "timeout")


def _narrowed(need: Need, f: Filters) -> Filters:
    """`f` with its attempts narrowed to the statuses every primitive counts (the Errors page's
    failed and timed-out attempts): the same figures, from the failures' rows only (an index of
    them) instead of all the window's attempts. Generation figures need every attempt: not then."""
    if f.statuses:
        return f
    if any(d.rows.startswith(f"status IN {_in(FAILURES)}") for d in need.by) and all(
        p == Generations() for p in need.gen_prims
    ):
        # a breakdown by something of the failures only (error groups): every figure and group is
        # over their rows, and generations are counted among them
        return replace(f, statuses=FAILURES)
    if need.gen_prims or not need.att_prims or need.by:  # (a breakdown keeps its groups of zero)
        return f
    wanted: set[str] = set()
    for p in need.att_prims:
        statuses = p.statuses if isinstance(p, Attempts | Known | Total) else None
        if statuses is None:
            return f
        wanted |= set(statuses)
    return replace(f, statuses=tuple(sorted(wanted)))


class Scoped(Source):
    """The attempts in scope, from `generations` (raw) or from the facts table (facts)."""

    def __init__(self, name: str, cost: int, facts: bool):
        self.name, self.family, self.cost, self.facts = name, name, cost, facts

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        if self.facts and not facts_relation(db):
            return "the facts table is not in use"
        return None

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        kinds = tuple(sorted({p.flag for p in need.prims if isinstance(p, Flagged) and p.flag in ISSUE_KINDS}))
        unpivot = next((d.unpivot for d in need.by if d.unpivot), "")
        by_phase = bool(unpivot)
        phase_values = {
            "phases": tuple(f"{k}_{p}" for p in PHASES for k in ("tok", "dur")),
            "retries": ("retry_phases",),
        }.get(unpivot, ())
        s = scoped(_narrowed(need, f), db, extras=kinds + phase_values, facts=self.facts)
        att_prims, gen_prims = need.att_prims, need.gen_prims
        col = {p: _p(i) for i, p in enumerate(att_prims + gen_prims)}
        keys = need.by
        att_aggs = tuple(_att_agg(p) for p in att_prims)
        g1 = ""
        each = any(d.each for d in keys)
        if gen_prims and s.facts_gen and not keys:
            # one pass over the facts rows: each generation counted on its final attempt's row
            b = b_cte(Part("att", (), att_aggs + tuple(_gen_agg(p, "is_final") for p in gen_prims)), None)
        elif by_phase:
            src = _att_by_phase() if unpivot == "phases" else _att_by_retry_phase()
            b = b_cte(Part(src, tuple(d.att for d in keys), att_aggs), None)
        elif each and not gen_prims:
            rows = " AND ".join(d.rows for d in keys if d.rows)
            src = f"(SELECT * FROM att WHERE {rows}) AS af" if rows else "att"
            b = b_cte(Part(src, tuple(_key(d.att, s) for d in keys), att_aggs), None, _picked(att_prims))
        elif each:
            # a generation under each value its attempts have (a story type, an error signature)
            d = keys[0]
            key = _key(d.att, s)
            src = f"(SELECT * FROM att WHERE {d.rows}) AS af" if d.rows else "att"
            if all(p == Generations() for p in gen_prims):
                # generations with no condition: counted among the value's attempts, in one pass
                aggs = att_aggs + tuple("count(DISTINCT generation_id)" for _ in gen_prims)
                b = b_cte(Part(src, (key,), aggs), None)
            else:
                att = Part(src, (key,), att_aggs) if att_prims else None
                if s.facts_gen and d.each_flag:  # on its first attempt of the value's facts row
                    gen = Part("att", (key,), tuple(_gen_agg(p, d.each_flag) for p in gen_prims))
                else:  # its distinct (generation, value) pairs
                    where = f"\n    WHERE {d.rows}" if d.rows else ""
                    g1 = f"""
, gt AS (
    SELECT DISTINCT att.generation_id, {key} AS k_each, gen.final_status, gen.first_status, gen.attempts
    FROM att JOIN gen USING (generation_id){where}
)"""
                    gen = Part("gt", ("k_each",), tuple(_gen_agg(p, None) for p in gen_prims))
                b = b_cte(att, gen, _picked(att_prims))
        else:
            rows = " AND ".join(d.rows for d in keys if d.rows)
            src = f"(SELECT * FROM att WHERE {rows}) AS af" if rows else "att"
            att = Part(src, tuple(_key(d.att, s) for d in keys), att_aggs) if att_prims else None
            gen = None
            if gen_prims:
                first = any(d.g1 for d in keys)  # g1: the generations with their first attempt's values
                g1 = s.g1 if first else ""
                aggs = tuple(_gen_agg(p, None) for p in gen_prims)
                gen = Part("g1" if first else "gen", tuple(d.gen for d in keys), aggs)
            b = b_cte(att, gen, _picked(att_prims))
        params = with_signatures(s.params, db) if any("{signature}" in d.att for d in keys if d.att) else s.params
        return Rendered(f"{inlined(s.text, g1 + b)}{g1}\n, {b}", {**params, **need.bound_params}, col, s.expanding)


# --- rollup: daily sums of the facts rows -----------------------------------------------------------

ROLLUP_MODELS = "(CAST(:models AS text[]) IS NULL OR model_used = ANY (CAST(:models AS text[])))"
ROLLUP_TYPES = "(CAST(:types AS text[]) IS NULL OR story_type = ANY (CAST(:types AS text[])))"
ROLLUP_WINDOW = "scope_day >= :d0 AND scope_day < :d1 AND (:tests OR NOT is_test)"
# value -> (sum column, count column) of the daily rollup, generated from the registry (a phase's
# values: the columns of its rows unpivoted by phase)
ROLLUP_VALUES: dict[str, tuple[str, str]] = {
    **ROLLUP_VALUE_COLUMNS,
    "phase_tokens": ("phase_tokens", "phase_tokens_n"),
    "phase_duration_ms": ("phase_duration_ms", "phase_duration_ms_n"),
}


def rollup_params(f: Filters) -> dict[str, Any]:
    """The bound parameters of ROLLUP_WINDOW and ROLLUP_MODELS for `f`."""
    return {
        "d0": f.since.astimezone(UTC).date(),
        "d1": f.until.astimezone(UTC).date(),
        "tests": bool(f.include_tests),
        "models": list(f.models) if f.models else None,
        "types": list(f.types) if f.types else None,
    }


def _midnight(d) -> bool:
    return d.astimezone(UTC).time() == dtime(0)


def _rollup_att(p: Primitive, null_exact: bool) -> str | None:
    """The aggregate over rollup rows, or None when the rollup cannot give it exactly."""
    st = _status(p.statuses) if isinstance(p, Attempts | Known | Total) else []
    # a count over no rollup row is 0, as count(*) over no attempt is
    if isinstance(p, Attempts) and p.message is not None:
        if p.statuses is None or sorted(p.statuses) != ["failed", "timeout"]:
            return None
        if p.message is False:
            return "COALESCE(sum(failures_no_message), 0)"
        return f"(COALESCE(sum(attempts){_filter(st)}, 0) - COALESCE(sum(failures_no_message), 0))"
    if isinstance(p, Attempts):
        return f"COALESCE(sum(attempts){_filter(st)}, 0)"
    if isinstance(p, Flagged):
        column = "metadata_issues" if p.flag == "metadata_issue" else p.flag if p.flag in ISSUE_KINDS else None
        return f"COALESCE(sum({column}), 0)" if column else None
    if isinstance(p, Known):
        _, n = ROLLUP_VALUES[p.value]
        return f"COALESCE(sum({n}){_filter(st)}, 0)"
    if isinstance(p, Total):
        total, n = ROLLUP_VALUES[p.value]
        if not null_exact:
            return f"sum({total})" + _filter(st)
        # the rollup stores 0 for "none known": its count of known values tells the two apart
        return f"CASE WHEN sum({n}){_filter(st)} > 0 THEN sum({total}){_filter(st)} END"
    return None


def _gen_prefix(f: Filters) -> str:
    """Which generation sums of the daily rollup answer `f`: all generations' ("") without a model
    or type filter, per (generation, model) ("m") under one model, else the pure generations' ("p",
    with the others counted live: `_pure_and_mixed`)."""
    if f.types or len(f.models) > 1:
        return "p"
    return "m" if f.models else ""


# the pure generations' sums (`pure` in metrics/derived.py), the rows they are read from
PURE_SUMS = ("pgens", "pgens_first_success", "pgens_first_terminal", "pgens_retried", "pattempts")


def _pure_and_mixed(db: Database, each: bool = False) -> str:
    """Rows with the daily rollup's generation keys and pure sums: the window's rollup rows (the
    generations with one model and one type, which any model and type filter keeps whole or drops),
    and one row per other generation in scope, its figures over the attempts the filter leaves
    (from the facts rows, by their partial index): the same figures METRICS.md defines.

    `each`: keyed by story_type, a generation under every story type its remaining attempts have
    (a pure generation has one, on all its rows, so its final row's type is it)."""
    cols = ("scope_day", "first_model", "story_type" if each else "first_type", "status", *PURE_SUMS)
    rollup = f"""SELECT {", ".join(cols)} FROM "{db.schema}".{ROLLUP}
        WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND pattempts <> 0"""
    types = ",\n                   array_agg(DISTINCT m.story_type) AS types" if each else ""
    expand = " CROSS JOIN LATERAL unnest(x.types) AS t(story_type)" if each else ""
    mixed = f"""SELECT CAST(x.first_at AT TIME ZONE 'UTC' AS date), x.first_model, {"t.story_type" if each else "x.first_type"}, x.final_status,
               1, CAST(x.first_status = 'success' AS integer), CAST(x.first_status IN {_in(TERMINAL)} AS integer),
               CAST(x.attempts > 1 AS integer), x.attempts
        FROM (
            SELECT m.generation_id, count(*) AS attempts,
                   (array_agg(m.status ORDER BY m.attempt_number DESC, m.created_at DESC))[1] AS final_status,
                   (array_agg(m.status ORDER BY m.attempt_number, m.created_at))[1] AS first_status,
                   min(m.created_at) AS first_at,
                   (array_agg(m.model_used ORDER BY m.attempt_number, m.created_at))[1] AS first_model,
                   (array_agg(m.story_type ORDER BY m.attempt_number, m.created_at))[1] AS first_type{types}
            FROM "{db.schema}".{TABLE} m
            WHERE NOT m.pure AND m.scope_at >= :since AND m.scope_at < :until AND (:tests OR NOT m.is_test)
              AND {ROLLUP_MODELS.replace("model_used", "m.model_used")}
              AND {ROLLUP_TYPES.replace("story_type", "m.story_type")}
            GROUP BY m.generation_id
        ) AS x{expand}"""
    return f"(\n        {rollup}\n        UNION ALL\n        {mixed}\n    ) AS r"


def _rollup_gen(p: Primitive, g: str, each: bool = False) -> str | None:
    if each:  # per story type: counted on the row of each generation's first attempt of the type
        if isinstance(p, Generations) and p.first is None and not p.retried and p.final in (None, ("success",)):
            if g == "p":  # the pure ones on their final row, the others once per type (live)
                return f"COALESCE(sum(pgens){_filter(_status(p.final))}, 0)"
            return f"COALESCE(sum({g}type_gens{'_success' if p.final else ''}), 0)"
        return None
    if isinstance(p, GenerationAttempts):
        return "sum(pattempts)" if g == "p" else "sum(attempts)"
    if not isinstance(p, Generations):
        return None
    if p.first is not None and p.retried:
        return None
    st = _status(p.final)
    if p.first is None:
        return f"COALESCE(sum({g}gens{'_retried' if p.retried else ''}){_filter(st)}, 0)"
    first = {("success",): "first_success", tuple(sorted(("success", "failed", "timeout"))): "first_terminal"}
    which = first.get(tuple(sorted(p.first)))
    return f"COALESCE(sum({g}gens_{which}){_filter(st)}, 0)" if which else None


# Each rollup table's key for a model filter (None: it has none, so it answers no model filter).
# The daily rollup's generation sums answer one model at most (per (generation, model) sums).
ROLLUP_MODEL_KEY: dict[str, str | None] = {
    ROLLUP: "model_used",
    ROLLUP_LATENCY: "model_used",
    ROLLUP_QUALITY: "model_used",
    ROLLUP_MODEL_RETRIES: "model_used",
    ROLLUP_PHASE: "model_used",
    ROLLUP_ERROR: "model_used",
    ROLLUP_RETRIES: None,
}


# Each rollup table's key for a story type filter (None: none): attempt sums only, since what a
# type filter leaves of a generation is its attempts of those types.
ROLLUP_TYPE_KEY: dict[str, str | None] = {
    t: ("story_type" if t in (ROLLUP, ROLLUP_LATENCY, ROLLUP_QUALITY, ROLLUP_PHASE, ROLLUP_ERROR) else None)
    for t in ROLLUP_MODEL_KEY
}


def rollup_declines(f: Filters, db: Database, tables: frozenset[str], generations: bool = False) -> str | None:
    """Why the rollup `tables` cannot answer `f` (None: they can). `generations`: the answer
    reads generation sums (which answer a filter on one model at most)."""
    if forcing.forced() not in (None, "rollup"):
        return f"the {forcing.forced()} source is forced"
    if not facts_relation(db):
        return "the facts table is not in use"
    if not (_midnight(f.since) and _midnight(f.until)):
        return "the window is not whole UTC days"
    narrowed = [n for n, v in (("user", f.user), ("status", f.statuses), ("generation", f.generation)) if v]
    if narrowed:
        return f"a filter on {narrowed[0]}"
    if f.types:
        keyless = sorted(t for t in tables if ROLLUP_TYPE_KEY[t] is None)
        if keyless:
            return f"a story type filter ({keyless[0]} has no story type key)"
        if generations and ROLLUP not in tables:  # the daily rollup: pure sums + the mixed, live
            return "generation figures under a filter on story type"
    if f.models:
        keyless = sorted(t for t in tables if ROLLUP_MODEL_KEY[t] is None)
        if keyless:
            return f"a model filter ({keyless[0]} has no model key)"
        if generations and len(f.models) > 1 and ROLLUP not in tables:
            return "generation figures under a filter on several models"
    if not tables <= readable_rollups(db):
        return "the rollups are not readable by this database user, or not migrated to this version"
    return None


class Rollup(Source):
    name = family = "rollup"
    cost = 1

    def applies(self, need: Need) -> bool:
        return all(d.att is not None for d in need.by)

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        pcts = [p for p in need.prims if isinstance(p, Percentile)]
        tables = frozenset({ROLLUP} | ({ROLLUP_LATENCY} if pcts else set()))
        why = rollup_declines(f, db, tables, generations=bool(need.gen_prims))
        if why:
            return why
        missing = [d.name for d in need.by if d.rollup_att is None]
        if missing:
            return f"no key for {missing[0]} in the daily rollup"
        if pcts and not all(d.name == "model_used" for d in need.by):
            return "percentiles by a dimension other than model"
        if pcts and any(p.value != "latency_ms" for p in pcts):
            return "percentiles of a value other than latency"
        g = _gen_prefix(f)
        each = any(d.each for d in need.by)
        for p in need.att_prims:
            if isinstance(p, Percentile):
                continue
            if _rollup_att(p, p in need.null_exact) is None:
                return f"no rollup column for {p}"
        for p in need.gen_prims:
            if _rollup_gen(p, g, each) is None:
                return f"no rollup column for {p}"
        return None

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        g = _gen_prefix(f)
        att_prims = tuple(p for p in need.att_prims if not isinstance(p, Percentile))
        pcts = tuple(p for p in need.att_prims if isinstance(p, Percentile))
        gen_prims = need.gen_prims
        col: dict = {p: _p(i) for i, p in enumerate(att_prims + gen_prims)}
        keys = need.by
        # the window's rows (rows a delta brought back to zero left out)
        r = f'(SELECT * FROM "{db.schema}".{ROLLUP} WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND attempts <> 0)'
        r = _rollup_by_phase(r) if any(d.unpivot == "phases" for d in keys) else f"{r} AS r"
        att_aggs = tuple(_rollup_att(p, p in need.null_exact) for p in att_prims)
        gen_aggs = tuple(_rollup_gen(p, g, any(d.each for d in keys)) for p in gen_prims)
        if not att_aggs and not gen_aggs:  # percentiles only: one row per key with attempts
            att_aggs = ("sum(attempts)",)
        att = Part(r, tuple(d.rollup_att for d in keys), att_aggs) if att_aggs else None
        params = rollup_params(f)
        if g == "p":  # the pure generations' sums, and the others counted live from the facts
            gen_src = _pure_and_mixed(db, each=any(d.each for d in keys))
            params.update(since=f.since, until=f.until)
            gen_keys = tuple(d.rollup_gen for d in keys)
        else:
            gen_src = r
            gen_keys = tuple(d.rollup_gen_model if f.models else d.rollup_gen for d in keys)
        gen = Part(gen_src, gen_keys, gen_aggs) if gen_aggs else None
        if not keys and att and gen and g != "p":  # one row: one pass over the rows
            att, gen = Part(r, (), att_aggs + gen_aggs), None
        b = b_cte(att, gen)
        joins = ""
        for i, p in enumerate(pcts):
            col[p] = f"pc{i}.v"
            if keys:
                joins += (
                    f"\nLEFT JOIN unnest(CAST(:pm AS text[]), CAST(:pv{i} AS float8[])) AS pc{i}(m, v)"
                    f" ON pc{i}.m IS NOT DISTINCT FROM b.k0"
                )
            else:
                joins += f"\nCROSS JOIN (SELECT CAST(:pv{i} AS float8) AS v) AS pc{i}"
        return Rendered(f"WITH {b}", params, col, (), joins, pcts)


class RetriesRollup(Source):
    """Generations per number of attempts and final status, per scope day (the retries rollups;
    per (generation, model) under a filter on one model; under several models or a story type the
    pure generations' rows, by their model and type, and the others counted live)."""

    name = "retries_rollup"
    family = "rollup"
    cost = 1

    def applies(self, need: Need) -> bool:
        return [d.name for d in need.by] == ["attempts_taken"]

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        if need.att_prims or any(not isinstance(p, Generations) or p.first or p.retried for p in need.prims):
            return "it holds generation counts by final status only"
        if _pure_retries(f):  # the filters are checked on the pure rows' keys and the others' attempts
            return rollup_declines(replace(f, models=(), types=()), db, frozenset({ROLLUP_RETRIES}), generations=True)
        table = ROLLUP_MODEL_RETRIES if f.models else ROLLUP_RETRIES
        return rollup_declines(f, db, frozenset({table}), generations=True)

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        if _pure_retries(f):
            r = f"""(
        SELECT gen_attempts, final_status, gens FROM "{db.schema}".{ROLLUP_RETRIES}
        WHERE {ROLLUP_WINDOW} AND pure AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND gens <> 0
        UNION ALL
        SELECT x.attempts, x.final_status, 1
        FROM (
            SELECT count(*) AS attempts,
                   (array_agg(m.status ORDER BY m.attempt_number DESC, m.created_at DESC))[1] AS final_status
            FROM "{db.schema}".{TABLE} m
            WHERE NOT m.pure AND m.scope_at >= :since AND m.scope_at < :until AND (:tests OR NOT m.is_test)
              AND {ROLLUP_MODELS.replace("model_used", "m.model_used")}
              AND {ROLLUP_TYPES.replace("story_type", "m.story_type")}
            GROUP BY m.generation_id
        ) AS x
    ) AS r(gen_attempts, final_status, gens)"""
            params = {**rollup_params(f), "since": f.since, "until": f.until}
        else:
            table, models = (ROLLUP_MODEL_RETRIES, f" AND {ROLLUP_MODELS}") if f.models else (ROLLUP_RETRIES, "")
            r = f'(SELECT * FROM "{db.schema}".{table} WHERE {ROLLUP_WINDOW}{models} AND gens <> 0) AS r'
            params = rollup_params(f)
        aggs = tuple(f"COALESCE(sum(gens){_filter(_status(p.final, 'final_status'))}, 0)" for p in need.prims)
        col = {p: _p(i) for i, p in enumerate(need.prims)}
        return Rendered(f"WITH {b_cte(None, Part(r, ('gen_attempts',), aggs))}", params, col)


def _pure_retries(f: Filters) -> bool:
    """Whether the retries report is read from the pure generations' rows and the others live: under
    several models or a story type (one model: the per (generation, model) rollup answers)."""
    return bool(f.types) or len(f.models) > 1


class QualityRollup(Source):
    """Attempts per quality bin (100 equal bins over [0, 1]) per scope day and model: any bin
    count that divides 100."""

    name = "quality_rollup"
    family = "rollup"
    cost = 1

    def applies(self, need: Need) -> bool:
        return len(need.by) == 1 and need.by[0].name.startswith("quality_bin_")

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        n = int(need.by[0].name.rsplit("_", 1)[1])
        if QUALITY_BINS % n:
            return f"{n} bins do not divide its {QUALITY_BINS}"
        if need.prims != (Known("quality"),):
            return "it holds attempt counts per quality bin only"
        return rollup_declines(f, db, frozenset({ROLLUP_QUALITY}))

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        per = QUALITY_BINS // int(need.by[0].name.rsplit("_", 1)[1])
        r = f'(SELECT * FROM "{db.schema}".{ROLLUP_QUALITY} WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND n <> 0) AS r'
        key = f"CAST(floor(CAST(bin - 1 AS numeric) / {per}) AS integer) + 1"
        return Rendered(f"WITH {b_cte(Part(r, (key,), ('sum(n)',)), None)}", rollup_params(f), {need.prims[0]: "p0"})


class PhaseRetriesRollup(Source):
    """Retries inside each phase per scope day (the phase rollup: attempts reporting, attempts with
    a retry, retries), without a model key."""

    name = "phase_rollup"
    family = "rollup"
    cost = 1

    def applies(self, need: Need) -> bool:
        return [d.name for d in need.by] == ["retry_phase"]

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        return rollup_declines(f, db, frozenset({ROLLUP_PHASE}))

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        r = (
            f'(SELECT * FROM "{db.schema}".{ROLLUP_PHASE}'
            f" WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND reporting <> 0) AS r"
        )
        aggs = []
        for p in need.prims:
            if isinstance(p, Known):
                aggs.append("COALESCE(sum(reporting), 0)")
            elif isinstance(p, Positive):
                aggs.append("COALESCE(sum(with_retries), 0)")
            else:  # Total: every row of the window reports (reporting <> 0)
                aggs.append("sum(retries)")
        col = {p: _p(i) for i, p in enumerate(need.prims)}
        return Rendered(f"WITH {b_cte(Part(r, ('phase',), tuple(aggs)), None)}", rollup_params(f), col)


class ErrorRollup(Source):
    """Failed and timed-out attempts with a message per (scope day, attempt day, signature), and
    the daily rollup's failures without one: failures by signature and day, without a model key."""

    name = "error_rollup"
    family = "rollup"
    cost = 1
    SIGNED = Attempts(("failed", "timeout"), message=True)
    LOST = Attempts(("failed", "timeout"))

    def applies(self, need: Need) -> bool:
        names = [d.name for d in need.by]
        return names[:1] in (["error_signature"], ["failure_signature"]) and names[1:] in ([], ["day"])

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        signed = need.by[0].name == "error_signature"
        if need.prims != ((self.SIGNED,) if signed else (self.LOST,)):
            return "it holds failure counts by signature only"
        return rollup_declines(f, db, frozenset({ROLLUP_ERROR} if signed else {ROLLUP_ERROR, ROLLUP}))

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        day = len(need.by) > 1
        label = error_groups.label_sql("error_signature")
        errors = f"""SELECT {label} AS sig, attempt_day AS day, n FROM "{db.schema}".{ROLLUP_ERROR}
        WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND n <> 0"""
        if need.by[0].name == "failure_signature":  # and the failures without a message
            errors += f"""
        UNION ALL
        SELECT NULL, attempt_day, failures_no_message FROM "{db.schema}".{ROLLUP}
        WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND attempts <> 0 AND failures_no_message <> 0"""
        part = Part(f"(\n        {errors}\n    ) AS r", ("sig", "day") if day else ("sig",), ("COALESCE(sum(n), 0)",))
        params = {**rollup_params(f), **error_groups.bound(db)}
        return Rendered(f"WITH {b_cte(part, None)}", params, {need.prims[0]: "p0"})


class ValueIndex(Source):
    """Attempts beyond a bound, counted from the facts table's value indexes (a range per bound),
    over whole scope days: what the rollups cannot hold (they keep sums, not values)."""

    name = "value_index"
    family = "rollup"
    cost = 1

    def applies(self, need: Need) -> bool:
        return not need.by and bool(need.prims) and all(isinstance(p, Beyond) for p in need.prims)

    def declines(self, need: Need, f: Filters, db: Database) -> str | None:
        return rollup_declines(f, db, frozenset({ROLLUP}))

    def render(self, need: Need, f: Filters, db: Database) -> Rendered:
        # a model or story type filter is checked on the rows beyond the bound only (the outliers:
        # few), read from the table; the other rows never leave the index
        scope = (
            "scope_at >= :since AND scope_at < :until AND (:tests OR NOT is_test)"
            f" AND {ROLLUP_MODELS} AND {ROLLUP_TYPES}"
        )
        bins = ROLLUP_QUALITY in readable_rollups(db)
        params = {
            "since": f.since,
            "until": f.until,
            "tests": bool(f.include_tests),
            "models": list(f.models) or None,
            "types": list(f.types) or None,
            **need.bound_params,
        }
        aggs = []
        for p in need.prims:
            k = _quality_bins(p, need.bound_params) if bins else None
            if k is None:
                aggs.append(f'(SELECT count(*) FROM "{db.schema}".{TABLE} WHERE {_beyond(p)} AND {scope})')
                continue
            # below a bound on the quality histogram's bin edges: a sum of its bins, not a range scan
            aggs.append(
                f'(SELECT COALESCE(sum(n), 0) FROM "{db.schema}".{ROLLUP_QUALITY}'
                f" WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES} AND bin <= :q_bins)"
            )
            days = rollup_params(f)
            params |= {"d0": days["d0"], "d1": days["d1"], "q_bins": k}
        col = {p: _p(i) for i, p in enumerate(need.prims)}
        return Rendered(f"WITH {b_cte(Part('(SELECT 1) AS one', (), tuple(aggs)), None)}", params, col)


def _quality_bins(p: Beyond, bounds: dict[str, float]) -> int | None:
    """k when "quality below the bound" is exactly the quality rollup's bins 1..k: the bound is
    k/100 for a whole k from 0 to 99 (bin i holds [(i-1)/100, i/100); bin 100 also holds 1.0)."""
    if p.value != "quality" or p.op != "<":
        return None
    from decimal import Decimal, InvalidOperation

    try:
        hundredths = Decimal(str(bounds[f"t_{p.param}"])) * 100  # the bound as PostgreSQL casts it
    except (InvalidOperation, KeyError, ValueError):
        return None
    if hundredths != hundredths.to_integral_value() or not 0 <= hundredths <= 99:
        return None
    return int(hundredths)


# A page asks for the same window's latency histogram several times (the KPI row's p95, the p50 and
# p95 by model, the reports): at 10M attempts each read sums ~180,000 rollup rows (0.12-0.2 s). One
# read serves them all while the facts' freshness check that chose the rollup stands (a fold, a
# rebuild or FRESH_TTL_S makes a new check, and a new key); callers asking at once wait for it.
_HIST_TTL_S = 5.0
_hist_lock = threading.Lock()
_hist_seen: dict[tuple, tuple[float, list]] = {}
_hist_running: dict[tuple, threading.Event] = {}


def _histogram(db: Database, sql: str, params: dict, read) -> list:
    fresh = freshness(db)
    key = (id(db.engine), sql, repr(sorted(params.items())), fresh.version, fresh.as_of)
    while True:
        with _hist_lock:
            seen = _hist_seen.get(key)
            if seen is not None and seen[0] > time.monotonic():
                return seen[1]
            running = _hist_running.get(key)
            if running is None:
                running = _hist_running[key] = threading.Event()
                break
        running.wait(30)  # another thread reads it: take its answer (or read it, if it failed)
    try:
        rows = read()
        with _hist_lock:
            now = time.monotonic()
            if len(_hist_seen) > 256:
                for k in [k for k, (until, _) in _hist_seen.items() if until <= now]:
                    del _hist_seen[k]
            _hist_seen[key] = (now + _HIST_TTL_S, rows)
        return rows
    finally:
        with _hist_lock:
            _hist_running.pop(key, None)
        running.set()


def rollup_percentiles(conn, f: Filters, db: Database, pcts: tuple[Percentile, ...], by_model: bool) -> dict:
    """{model or None: [value per percentile]} of the window's known latencies, exact.

    The latency histogram says which bucket holds the k-th latency of the window and its rank
    inside the bucket; one indexed query per needed bucket reads it from the facts rows; the
    interpolation is PostgreSQL's own (`lo + pct * (hi - lo)` in float8).
    """
    key = "model_used, " if by_model else ""
    window = rollup_params(f)
    models = window["models"]
    sql = f"""SELECT {key}bucket, CAST(sum(n) AS bigint) AS n FROM "{db.schema}".{ROLLUP_LATENCY}
WHERE {ROLLUP_WINDOW} AND {ROLLUP_MODELS} AND {ROLLUP_TYPES}
GROUP BY {key}bucket HAVING sum(n) > 0 ORDER BY {key}bucket"""
    hist = _histogram(db, sql, window, lambda: [tuple(r) for r in conn.execute(text(sql), window).all()])
    groups: dict = {}
    for row in hist:
        groups.setdefault(row[0] if by_model else None, []).append((row[-2], row[-1]))
    wanted: dict[tuple, tuple[int, int]] = {}  # (group, rank) -> (bucket, offset in bucket)
    plan: dict = {}
    for group, buckets in groups.items():
        total = sum(n for _, n in buckets)
        stats = []
        for p in pcts:
            x = p.p * (total - 1)
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
    spans: dict[tuple, list[int]] = {}
    for (group, _rank), (bucket, offset) in wanted.items():
        spans.setdefault((group, bucket), []).append(offset)
    values: dict[tuple, float] = {}
    if spans:
        parts = []
        params: dict[str, Any] = {
            "since": f.since,
            "until": f.until,
            "tests": bool(f.include_tests),
            "models": models,
            "types": window["types"],
        }
        order = list(spans)
        for i, (group, bucket) in enumerate(order):
            lo, hi = min(spans[(group, bucket)]), max(spans[(group, bucket)])
            model = f" AND g.model_used IS NOT DISTINCT FROM :m{i}" if by_model else ""
            parts.append(
                f"""(SELECT {i} AS i, g.latency_ms FROM "{db.schema}".{TABLE} g
  WHERE "{db.schema}".{BUCKET_FN}(g.latency_ms) = :b{i} AND g.latency_ms IS NOT NULL
    AND g.scope_at >= :since AND g.scope_at < :until AND (:tests OR NOT g.is_test){model}
    AND {ROLLUP_MODELS.replace("model_used", "g.model_used")}
    AND {ROLLUP_TYPES.replace("story_type", "g.story_type")}
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
        out[group] = res
    return out


def statement(r: Rendered):
    stmt = text(r.sql)
    if r.expanding:
        stmt = stmt.bindparams(*(bindparam(n, expanding=True) for n in r.expanding))
    return stmt


SOURCES: tuple[Source, ...] = (
    Rollup(),
    RetriesRollup(),
    QualityRollup(),
    PhaseRetriesRollup(),
    ErrorRollup(),
    ValueIndex(),
    Scoped("facts", 2, True),
    Scoped("raw", 3, False),
)
