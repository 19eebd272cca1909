"""The summary report three ways: GenLens (queries.reports), the naive pandas way, and the best
single hand-written SQL statement. All three follow METRICS.md and must agree."""

from __future__ import annotations

import math
from numbers import Number

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from queries.filters import Filters

TERMINAL = ("success", "failed", "timeout")


# --- naive: raw rows into pandas, every figure computed there ----------------------------------


def naive_sql(schema: str) -> str:
    # What many Streamlit apps do: fetch the attempts (here: every attempt of a generation that
    # has one in the window, so that retries after `until` count) and let pandas do the rest.
    return f"""
SELECT generation_id, attempt_number, status, created_at, completed_at, generation_metadata
FROM "{schema}".generations
WHERE generation_id IN (
    SELECT generation_id FROM "{schema}".generations WHERE created_at >= :since AND created_at < :until
)"""


def _number(v, upper: float | None = None):
    ok = isinstance(v, Number) and not isinstance(v, bool) and v >= 0 and (upper is None or v <= upper)
    return float(v) if ok else None


def _at(meta, *path):
    """(present, value) at a JSON path, like `meta #> '{a,b}' IS NOT NULL`."""
    cur = meta
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return False, None
        cur = cur[key]
    return True, cur


def _values(meta) -> tuple:
    """cost, tokens, duration, quality, is_test, metadata_issue of one attempt (METRICS.md)."""
    if meta is None:
        return None, None, None, None, False, False
    if not isinstance(meta, dict):
        return None, None, None, None, False, True
    out, issue = [], False
    for path, upper in ((("cost_usd",), None), (("total_tokens", "total"), None), (("duration_ms", "total"), None)):
        present, v = _at(meta, *path)
        n = _number(v, upper)
        issue |= present and n is None
        out.append(n)
    present, v = _at(meta, "quality_scores", "overall")
    q = _number(v, 1)
    issue |= present and q is None
    return out[0], out[1], out[2], q, "test_run_id" in meta, issue


def _rate(num, den):
    return float(num) / den if den else None


def naive_summary(engine: Engine, schema: str, f: Filters) -> dict:
    with engine.connect() as conn:
        df = pd.read_sql(text(naive_sql(schema)), conn, params={"since": f.since, "until": f.until})
    vals = pd.DataFrame(
        [_values(m) for m in df["generation_metadata"]],
        columns=["cost", "tokens", "duration", "quality", "is_test", "issue"],
        index=df.index,
    )
    df = pd.concat([df.drop(columns="generation_metadata"), vals], axis=1)
    by_gen = df.groupby("generation_id")
    df["first_at"] = by_gen["created_at"].transform("min")
    df["gen_test"] = by_gen["is_test"].transform("any")
    df = df[(df["first_at"] >= f.since) & (df["first_at"] < f.until) & ~df["gen_test"]]
    if not len(df):
        return {"generations": 0, "attempts": 0}
    ordered = df.sort_values(["generation_id", "attempt_number", "created_at"])
    g = ordered.groupby("generation_id", sort=False)
    gen = pd.DataFrame({"attempts": g.size(), "final": g["status"].last(), "first": g["status"].first()})
    terminal = df["status"].isin(TERMINAL)
    latency = (df["completed_at"] - df["created_at"]).dt.total_seconds() * 1000
    latency = latency[terminal & (df["completed_at"] >= df["created_at"])]
    final_success = int((gen["final"] == "success").sum())
    total_cost = float(df["cost"].sum())
    return {
        "generations": len(gen),
        "attempts": len(df),
        "success_rate": _rate(final_success, int(gen["final"].isin(TERMINAL).sum())),
        "attempt_success_rate": _rate(int((df["status"] == "success").sum()), int(terminal.sum())),
        "first_attempt_success_rate": _rate(
            int((gen["first"] == "success").sum()), int(gen["first"].isin(TERMINAL).sum())
        ),
        "avg_attempts_per_generation": _rate(len(df), len(gen)),
        "retry_rate": _rate(int((gen["attempts"] > 1).sum()), len(gen)),
        "recovered_by_retry": int(((gen["attempts"] > 1) & (gen["final"] == "success")).sum()),
        "total_cost_usd": total_cost,
        "cost_per_success_usd": total_cost / final_success if final_success else None,
        "total_tokens": int(df["tokens"].sum()),
        "p50_latency_ms": float(latency.quantile(0.5)) if len(latency) else None,
        "p95_latency_ms": float(latency.quantile(0.95)) if len(latency) else None,
        "avg_quality": float(df["quality"].mean()) if df["quality"].notna().any() else None,
        "pending_attempts": int((df["status"] == "pending").sum()),
        "metadata_issues": int(df["issue"].sum()),
    }


# --- hand-written: one statement, written for this one question ----------------------------------


def hand_facts_sql(schema: str) -> str:
    """The summary as one statement over GenLens' facts table (typed values, generation columns
    stored on each attempt): what the best hand-written SQL looks like once that table exists."""
    t = f'"{schema}".genlens_facts'
    term = "('success', 'failed', 'timeout')"
    return f"""
SELECT generations, attempts,
       fs::float8 / NULLIF(ft, 0) AS success_rate,
       ok::float8 / NULLIF(term, 0) AS attempt_success_rate,
       ss::float8 / NULLIF(st, 0) AS first_attempt_success_rate,
       attempts::float8 / NULLIF(generations, 0) AS avg_attempts_per_generation,
       retried::float8 / NULLIF(generations, 0) AS retry_rate,
       recovered AS recovered_by_retry,
       cost::float8 AS total_cost_usd, cost::float8 / NULLIF(fs, 0) AS cost_per_success_usd,
       tokens::bigint AS total_tokens, p[1]::float8 AS p50_latency_ms, p[2]::float8 AS p95_latency_ms,
       quality::float8 AS avg_quality, pending AS pending_attempts, issues AS metadata_issues
FROM (
    SELECT count(*) FILTER (WHERE is_final) AS generations, count(*) AS attempts,
           count(*) FILTER (WHERE is_final AND final_status = 'success') AS fs,
           count(*) FILTER (WHERE is_final AND final_status IN {term}) AS ft,
           count(*) FILTER (WHERE is_final AND first_status = 'success') AS ss,
           count(*) FILTER (WHERE is_final AND first_status IN {term}) AS st,
           count(*) FILTER (WHERE is_final AND gen_attempts > 1) AS retried,
           count(*) FILTER (WHERE is_final AND gen_attempts > 1 AND final_status = 'success') AS recovered,
           count(*) FILTER (WHERE status = 'success') AS ok, count(*) FILTER (WHERE status IN {term}) AS term,
           COALESCE(sum(cost_usd), 0) AS cost, COALESCE(sum(tokens), 0) AS tokens,
           percentile_cont(array[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms) AS p,
           avg(quality) AS quality, count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE metadata_issue) AS issues
    FROM {t}
    WHERE scope_at >= :since AND scope_at < :until AND NOT is_test
) AS x"""


def hand_sql(schema: str, variant: str = "all-attempts") -> str:
    if variant == "facts":
        return hand_facts_sql(schema)
    """The summary as one statement. Two ways to find the attempts of the generations in scope:
    `all-attempts` reads every attempt of each generation seen in the window and keeps those whose
    first attempt is in it (HAVING); `since` reads only attempts from `since` on and drops, with an
    anti-join, generations that have an earlier attempt."""
    t = f'"{schema}".generations'
    cost, tokens = _num("j.cost"), _num("j.tokens")
    duration, quality = _num("j.duration"), _num("j.quality", upper=1)
    issue = (
        "(g.generation_metadata IS NOT NULL AND (j.kind <> 'object'"
        f" OR (j.cost IS NOT NULL AND {cost} IS NULL) OR (j.quality IS NOT NULL AND {quality} IS NULL)"
        f" OR (j.tokens IS NOT NULL AND {tokens} IS NULL) OR (j.duration IS NOT NULL AND {duration} IS NULL)))"
    )
    cand = f"(SELECT generation_id FROM {t} WHERE created_at >= :since AND created_at < :until)"
    if variant == "all-attempts":
        where = f"g.generation_id IN {cand}"
    else:
        where = (
            f"g.created_at >= :since AND g.generation_id IN {cand}"
            f" AND NOT EXISTS (SELECT 1 FROM {t} p WHERE p.generation_id = g.generation_id AND p.created_at < :since)"
        )
    return f"""
WITH a AS (  -- the attempts of each generation with an attempt in the window
    SELECT g.generation_id, g.attempt_number, g.status, g.created_at,
           CASE WHEN g.status IN ('success', 'failed', 'timeout') AND g.completed_at >= g.created_at
                THEN extract(epoch FROM g.completed_at - g.created_at) * 1000 END AS latency_ms,
           {cost} AS cost, {tokens} AS tokens, {quality} AS quality, {issue} AS issue,
           (j.kind = 'object' AND g.generation_metadata ? 'test_run_id') AS is_test
    FROM {t} g
    CROSS JOIN LATERAL (  -- each JSON value read once per row (OFFSET 0 keeps this from being inlined)
        SELECT jsonb_typeof(g.generation_metadata) AS kind, g.generation_metadata #> '{{cost_usd}}' AS cost,
               g.generation_metadata #> '{{total_tokens,total}}' AS tokens,
               g.generation_metadata #> '{{duration_ms,total}}' AS duration,
               g.generation_metadata #> '{{quality_scores,overall}}' AS quality
        OFFSET 0
    ) j
    WHERE {where}
), gen AS (  -- in scope: first attempt in the window, not a test generation
    SELECT generation_id, count(*) AS n,
           (array_agg(status ORDER BY attempt_number DESC, created_at DESC))[1] AS final_status,
           (array_agg(status ORDER BY attempt_number, created_at))[1] AS first_status
    FROM a
    GROUP BY generation_id
    HAVING min(created_at) >= :since AND min(created_at) < :until AND NOT COALESCE(bool_or(is_test), false)
), ag AS (
    SELECT count(*) AS attempts,
           count(*) FILTER (WHERE status = 'success') AS ok,
           count(*) FILTER (WHERE status IN ('success', 'failed', 'timeout')) AS term,
           COALESCE(sum(cost), 0) AS cost, COALESCE(sum(tokens), 0) AS tokens,
           percentile_cont(array[0.5, 0.95]) WITHIN GROUP (ORDER BY latency_ms) AS p,
           avg(quality) AS quality,
           count(*) FILTER (WHERE status = 'pending') AS pending,
           count(*) FILTER (WHERE issue) AS issues
    FROM a WHERE generation_id IN (SELECT generation_id FROM gen)
), gg AS (
    SELECT count(*) AS generations,
           count(*) FILTER (WHERE final_status = 'success') AS fs,
           count(*) FILTER (WHERE final_status IN ('success', 'failed', 'timeout')) AS ft,
           count(*) FILTER (WHERE first_status = 'success') AS ss,
           count(*) FILTER (WHERE first_status IN ('success', 'failed', 'timeout')) AS st,
           count(*) FILTER (WHERE n > 1) AS retried,
           count(*) FILTER (WHERE n > 1 AND final_status = 'success') AS recovered
    FROM gen
)
SELECT gg.generations, ag.attempts,
       gg.fs::float8 / NULLIF(gg.ft, 0) AS success_rate,
       ag.ok::float8 / NULLIF(ag.term, 0) AS attempt_success_rate,
       gg.ss::float8 / NULLIF(gg.st, 0) AS first_attempt_success_rate,
       ag.attempts::float8 / NULLIF(gg.generations, 0) AS avg_attempts_per_generation,
       gg.retried::float8 / NULLIF(gg.generations, 0) AS retry_rate,
       gg.recovered AS recovered_by_retry,
       ag.cost::float8 AS total_cost_usd,
       ag.cost::float8 / NULLIF(gg.fs, 0) AS cost_per_success_usd,
       ag.tokens::bigint AS total_tokens,
       ag.p[1]::float8 AS p50_latency_ms, ag.p[2]::float8 AS p95_latency_ms,
       ag.quality::float8 AS avg_quality,
       ag.pending AS pending_attempts, ag.issues AS metadata_issues
FROM ag CROSS JOIN gg"""


def _num(v: str, upper: float | None = None) -> str:
    """A JSON value (already read) as numeric when it is a number >= 0 (and <= upper), else NULL."""
    bound = f" AND {v}::numeric <= {upper}" if upper is not None else ""
    return f"(CASE WHEN jsonb_typeof({v}) = 'number' AND {v}::numeric >= 0{bound} THEN {v}::numeric END)"


HAND_VARIANTS = ("all-attempts", "since", "facts")


def hand_summary(
    engine: Engine, schema: str, f: Filters, variant: str = "all-attempts", timeout_s: float | None = None
) -> dict | None:
    """The hand-written summary; None when it ran past `timeout_s` (a raw-table variant at 10M)."""
    from sqlalchemy.exc import OperationalError

    with engine.connect() as conn:
        if timeout_s:
            conn.execute(text(f"SET statement_timeout = {int(timeout_s * 1000)}"))
        try:
            row = conn.execute(text(hand_sql(schema, variant)), {"since": f.since, "until": f.until}).mappings().one()
        except OperationalError as exc:
            if "statement timeout" not in str(exc):
                raise
            return None
        finally:
            if timeout_s:
                conn.rollback()
                conn.execute(text("RESET statement_timeout"))
    return dict(row)


def differences(a: dict, b: dict, rel: float = 1e-6) -> list[str]:
    """Metrics on which two summaries disagree (numbers compared with a relative tolerance)."""
    out = []
    for k, va in a.items():
        vb = b.get(k)
        if va is None or vb is None or (isinstance(va, float) and math.isnan(va)):
            if not (
                (va is None or (isinstance(va, float) and np.isnan(va)))
                and (vb is None or (isinstance(vb, float) and np.isnan(vb)))
            ):
                out.append(f"{k}: {va} vs {vb}")
            continue
        if not math.isclose(float(va), float(vb), rel_tol=rel, abs_tol=1e-9):
            out.append(f"{k}: {va} vs {vb}")
    return out
