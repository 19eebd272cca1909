"""One planner: a request for metrics by dimensions goes to the cheapest source able to answer it.

    frame(f, ["attempts", "success_rate"], by=["model_used"], order="attempts DESC, model_used")

Callers name metrics (metrics.registry) and dimensions (metrics.sources.DIMENSIONS), never a
source or a table; an undeclared name raises. Sources are asked cheapest first
(rollup < facts < raw); each one that cannot answer says why, and `explain` returns that story,
so a page can say which source served it and why a faster one did not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from data_access.engine import Database, get_database, read_only
from metrics import forcing
from metrics.filters import Filters
from metrics.registry import Beyond, Percentile, metric, primitives
from metrics.sources import (
    DIMENSIONS,
    SOURCES,
    Need,
    Rendered,
    Source,
    metric_sql,
    rollup_declines,
    rollup_percentiles,
    statement,
)


class NotAnswerable(ValueError):
    """The forced source cannot answer this request (tests force each source in turn)."""


@dataclass(frozen=True)
class Plan:
    source: str
    declined: tuple[tuple[str, str], ...]  # (cheaper source, why it could not answer)


@contextmanager
def only(source: str) -> Iterator[None]:
    """Answer every request of this thread from `source`, bespoke queries included (the
    equivalence tests force each source in turn)."""
    before = forcing.force(source)
    try:
        yield
    finally:
        forcing.force(before)


def need_gens(formulas) -> bool:
    return any(p.grain == "generation" for f in formulas for p in primitives(f))


def _bounds(formulas, bounds: Mapping[str, float] | None) -> tuple[tuple[str, float], ...]:
    """The request's bound of each Beyond primitive, each a finite number."""
    wanted = sorted({p.param for f in formulas for p in primitives(f) if isinstance(p, Beyond)})
    bounds = dict(bounds or {})
    extra = sorted(set(bounds) - set(wanted))
    if extra:
        raise ValueError(f"no metric of the request has a bound {extra[0]!r}")
    out = []
    for name in wanted:
        if name not in bounds:
            raise ValueError(f"the request needs a bound {name!r}")
        value = float(bounds[name])
        if not math.isfinite(value):
            raise ValueError(f"bound {name!r} must be a finite number")
        out.append((name, value))
    return tuple(out)


def need_for(metrics: Sequence[str], by: Sequence[str] = (), bounds: Mapping[str, float] | None = None) -> Need:
    formulas = []
    for name in metrics:
        m = metric(name)
        if m.formula is None:
            raise ValueError(f"metric {name!r} is computed by {m.computed_by}, not by the planner")
        formulas.append(m.formula)
    dims = []
    for d in by:
        if d not in DIMENSIONS:
            raise ValueError(f"unknown dimension {d!r}")
        dims.append(DIMENSIONS[d])
    need = Need(tuple(formulas), tuple(dims), _bounds(formulas, bounds))
    if any(d.each for d in dims) and len(dims) > 1 and need_gens(formulas):
        raise ValueError(f"{dims[0].name if dims[0].each else dims[1].name} is a breakdown of its own")
    special = [d.name for d in dims if d.unpivot]
    for name in metrics:
        needs = metric(name).needs
        if needs and needs not in special:
            raise ValueError(f"{name} exists only by {needs}")
        if special and needs not in special:
            raise ValueError(f"by {special[0]} there is no {name}")
    no_gens = [d.name for d in dims if not d.gen]
    if no_gens and need.gen_prims:
        raise ValueError(f"{no_gens[0]} groups attempts: it has no generation-level metrics")
    only_gens = [d.name for d in dims if d.att is None]
    if only_gens and need.att_prims:
        raise ValueError(f"{only_gens[0]} groups generations: it has no attempt-level metrics")
    return need


def choose(need: Need, f: Filters, db: Database) -> tuple[Source, Plan]:
    forced = forcing.forced()
    declined = []
    for source in sorted(SOURCES, key=lambda s: s.cost):
        if not source.applies(need) or (forced and source.family != forced):
            continue
        why = source.declines(need, f, db)
        if why is None:
            return source, Plan(source.name, tuple(declined))
        declined.append((source.name, why))
    # raw answers everything: only a forced source gets here
    raise NotAnswerable("; ".join(f"{name}: {why}" for name, why in declined) or "no source applies")


def explain(
    metrics: Sequence[str],
    f: Filters,
    by: Sequence[str] = (),
    db: Database | None = None,
    bounds: Mapping[str, float] | None = None,
) -> Plan:
    """Which source would answer, and why each cheaper one would not."""
    db = db or get_database()
    return choose(need_for(metrics, by, bounds), f, db)[1]


def able(
    metrics: Sequence[str],
    f: Filters,
    by: Sequence[str] = (),
    db: Database | None = None,
    bounds: Mapping[str, float] | None = None,
) -> list[str]:
    """Every family of sources (rollup, facts, raw) that can answer the request, cheapest first."""
    db = db or get_database()
    need = need_for(metrics, by, bounds)
    return list(
        dict.fromkeys(
            s.family
            for s in sorted(SOURCES, key=lambda s: s.cost)
            if s.applies(need) and s.declines(need, f, db) is None
        )
    )


_ORDER = re.compile(r"^[a-z_][a-z0-9_]*( (ASC|DESC))?( NULLS (FIRST|LAST))?$")


def _order(order: str, columns: set[str]) -> str:
    """ORDER BY from a caller's constant ("attempts DESC, model_used"), every term a known column."""
    if not order:
        return ""
    terms = [t.strip() for t in order.split(",")]
    for t in terms:
        if not _ORDER.match(t) or t.split(" ")[0] not in columns:
            raise ValueError(f"cannot order by {t!r}")
    return "\nORDER BY " + ", ".join(terms)


def rollup_answers(f: Filters, tables: Sequence[str], generations: bool = False, db: Database | None = None) -> bool:
    """Whether a bespoke query over the rollup `tables` may answer `f` (metrics.sources
    declares what each table can be narrowed by); otherwise it reads the attempts in scope."""
    return rollup_declines(f, db or get_database(), frozenset(tables), generations) is None


def sql_for(rendered: Rendered, need: Need, metrics: Sequence[str], order: str = "") -> str:
    keys = [f"b.k{i} AS {d.column}" for i, d in enumerate(need.by)]
    cols = [f"{metric_sql(f, rendered.col)} AS {name}" for f, name in zip(need.formulas, metrics, strict=True)]
    columns = {d.column for d in need.by} | set(metrics)
    return f"{rendered.sql}\nSELECT {', '.join(keys + cols)}\nFROM b{rendered.joins}{_order(order, columns)}"


def subquery(
    f: Filters, metrics: Sequence[str], by: Sequence[str] = (), db: Database | None = None
) -> tuple[str, dict, tuple[str, ...]]:
    """(SQL, parameters, expanding names) of a request, to read as a subquery of a bespoke query
    (the Errors page ranks and fills its daily series around one). Not for percentiles of the
    rollup, which need a lookup first."""
    db = db or get_database()
    need = need_for(metrics, by)
    source, _plan = choose(need, f, db)
    rendered = source.render(need, f, db)
    if rendered.lookups:
        raise ValueError("percentiles from the rollup cannot be a subquery")
    return sql_for(rendered, need, metrics), dict(rendered.params), rendered.expanding


def result(
    f: Filters,
    metrics: Sequence[str],
    by: Sequence[str] = (),
    order: str = "",
    db: Database | None = None,
    bounds: Mapping[str, float] | None = None,
) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of the request as the database returned them (a report's CSV writes these).
    `bounds`: the value of each bound a Beyond metric compares with (expensive_attempts: cost_gt)."""
    db = db or get_database()
    need = need_for(metrics, by, bounds)
    source, _plan = choose(need, f, db)
    rendered = source.render(need, f, db)
    sql = sql_for(rendered, need, metrics, order)
    params = dict(rendered.params)
    with read_only(db) as conn:
        if rendered.lookups:
            by_model = bool(need.by)
            values = rollup_percentiles(conn, f, db, rendered.lookups, by_model)
            if by_model:
                params["pm"] = list(values)
                for i in range(len(rendered.lookups)):
                    params[f"pv{i}"] = [v[i] for v in values.values()]
            else:
                got = values.get(None)
                for i in range(len(rendered.lookups)):
                    params[f"pv{i}"] = got[i] if got else None
        res = conn.execute(statement(Rendered(sql, params, rendered.col, rendered.expanding)), params)
        return list(res.keys()), [tuple(r) for r in res.fetchall()]


def frame(
    f: Filters,
    metrics: Sequence[str],
    by: Sequence[str] = (),
    order: str = "",
    db: Database | None = None,
    bounds: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The metrics for `f`, one row per value of the dimensions `by` (one row without), columns
    the dimensions' then the metrics' names, from the cheapest source that can answer."""
    columns, rows = result(f, metrics, by, order, db, bounds)
    return pd.DataFrame(rows, columns=columns)


def row(
    f: Filters, metrics: Sequence[str], db: Database | None = None, bounds: Mapping[str, float] | None = None
) -> dict:
    """One row of metrics as a dict (None for an empty rate)."""
    df = frame(f, metrics, db=db, bounds=bounds)
    return {k: (None if pd.isna(v) else v) for k, v in df.iloc[0].to_dict().items()}


__all__ = ["NotAnswerable", "Percentile", "Plan", "able", "explain", "frame", "only", "result", "row"]
