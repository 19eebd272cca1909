"""Report and query timings: queries.reports, the summary three ways, Explorer pages and the
Generation detail queries, each as the median of several runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text

from bench import summary as three_ways
from bench.db import BenchDb

REPORTS = ("summary", "by_model", "daily", "retries", "errors")


def timed(fn: Callable[[], Any], runs: int, max_seconds: float = float("inf")) -> tuple[float, Any, list[float]]:
    """Median seconds of `runs` calls (fewer once they took max_seconds), the last result, every time."""
    times, result = [], None
    for _ in range(runs):
        if sum(times) > max_seconds:
            break
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result, times


def report_times(f, runs: int, max_seconds: float = float("inf")) -> dict[str, dict]:
    from queries import reports

    out = {}
    for name in REPORTS:
        med, df, _ = timed(lambda n=name: reports.fetch_report(n, f), runs, max_seconds)
        out[name] = {"s": med, "rows": len(df)}

    def stream_all() -> int:
        n = 0
        with reports.stream_report("attempts", f) as (_cols, rows):
            for _ in rows:
                n += 1
        return n

    med, n, _ = timed(stream_all, runs, max_seconds)
    out["attempts (streamed)"] = {"s": med, "rows": n}
    return out


def summary_three_ways(
    db: BenchDb, schema: str, f, runs: int, naive_runs: int, naive_ok: bool, max_seconds: float = float("inf")
) -> dict:
    from queries import reports

    # Interleaved, so that a busy spell on the shared machine hits all of them alike.
    ours_t, naive_t, ours, naive = [], [], None, None
    hand_t: dict[str, list[float]] = {v: [] for v in three_ways.HAND_VARIANTS}
    hands: dict[str, dict] = {}
    timed_out: set[str] = set()
    limit = None if max_seconds == float("inf") else 5 * max_seconds
    for i in range(runs):
        spent = sum(ours_t) + sum(naive_t) + sum(sum(v) for v in hand_t.values())
        if i and spent > 3 * max_seconds:
            break
        s, ours, _ = timed(lambda: reports.summary(f), 1)
        ours_t.append(s)
        for v in three_ways.HAND_VARIANTS:
            if v in timed_out:
                continue
            s, got, _ = timed(lambda v=v: three_ways.hand_summary(db.engine, schema, f, v, limit), 1)
            if got is None:  # past the limit: recorded as such, not run again
                timed_out.add(v)
                continue
            hands[v] = got
            hand_t[v].append(s)
        if naive_ok and i < naive_runs:
            s, naive, _ = timed(lambda: three_ways.naive_summary(db.engine, schema, f), 1)
            naive_t.append(s)
    hand_t = {v: t for v, t in hand_t.items() if t}
    # the best hand-written statement (None when every variant ran past the limit)
    best = min(hand_t, key=lambda v: statistics.median(hand_t[v])) if hand_t else None
    ours_s = statistics.median(ours_t)
    hand_s = statistics.median(hand_t[best]) if best else None
    out = {
        "ours_s": ours_s,
        "hand_s": hand_s,
        "hand_vs_ours": three_ways.differences(ours, hands[best]) if best else [],
        "ours": ours,
    }
    out["runs"] = len(ours_t)
    out["hand_variant"] = best
    out["hand_variants_s"] = {v: statistics.median(t) for v, t in hand_t.items()}
    out["hand_timed_out"] = {v: limit for v in sorted(timed_out)}
    if naive_t:
        out.update(naive_s=statistics.median(naive_t), naive_vs_ours=three_ways.differences(ours, naive, rel=1e-6))
    return out


def sample_generation(db: BenchDb, schema: str, f) -> str | None:
    """A generation of the window with retries (the detail page's interesting case)."""
    with db.engine.connect() as conn:
        return conn.execute(
            text(
                f'SELECT generation_id::text FROM "{schema}".generations'
                " WHERE created_at >= :s AND created_at < :u AND attempt_number = 3 LIMIT 1"
            ),
            {"s": f.since, "u": f.until},
        ).scalar()


def deep_key(db: BenchDb, schema: str, f) -> tuple | None:
    """An Explorer keyset key half-way through the window (newest first): a deep page."""
    mid: datetime = f.since + (f.until - f.since) / 2
    with db.engine.connect() as conn:
        row = conn.execute(
            text(
                f'SELECT created_at, generation_id::text, attempt_number FROM "{schema}".generations'
                " WHERE created_at < :m ORDER BY created_at DESC, generation_id DESC, attempt_number DESC LIMIT 1"
            ),
            {"m": mid},
        ).first()
    return tuple(row) if row else None


def explorer_and_detail(db: BenchDb, schema: str, f, runs: int, max_seconds: float = float("inf")) -> dict[str, dict]:
    """Query-level times of the Explorer (first page, a deep page, the count) and Generation detail."""
    out: dict[str, dict] = {}
    try:
        from queries import explorer

        q = explorer.ExplorerQuery()
        med, page, _ = timed(lambda: explorer.explorer_page(f, q, None, 50), runs, max_seconds)
        out["explorer: first page (50 rows)"] = {"s": med, "rows": len(page.rows)}
        key = deep_key(db, schema, f)
        if key:
            med, page, _ = timed(lambda: explorer.explorer_page(f, q, key, 50), runs, max_seconds)
            out["explorer: page half-way down the window"] = {"s": med, "rows": len(page.rows)}
        med, n, _ = timed(lambda: explorer.explorer_count(f, q), runs, max_seconds)
        out["explorer: count of matching attempts"] = {"s": med, "rows": n}
    except (ImportError, AttributeError, TypeError) as exc:  # the Explorer's API moved on
        out["explorer"] = {"s": None, "rows": None, "note": f"not measured: {exc}"}
    try:
        from queries import generation

        gid = sample_generation(db, schema, f)
        if gid:
            med, df, _ = timed(lambda: generation.attempts(gid), runs)
            out["generation detail: attempts"] = {"s": med, "rows": len(df)}
            if hasattr(generation, "retry_chain"):
                med, _, _ = timed(lambda: generation.retry_chain(gid), runs)
                out["generation detail: retry chain"] = {"s": med, "rows": None}
    except (ImportError, AttributeError, TypeError) as exc:
        out["generation"] = {"s": None, "rows": None, "note": f"not measured: {exc}"}
    return out
