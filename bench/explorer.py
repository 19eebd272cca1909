"""The Explorer at scale: python -m bench.explorer --database-url URL --schema S [--runs 2]

Each case is the Explorer's first page and its row count, as the page asks for them (a search,
a signature or the metadata-issue filter counted up to queries.explorer.COUNT_CAP), for a 30-day
window of an already loaded schema: searches for a rare and for common texts, in a prompt and in
an error message, the sorts, the signature filter and "metadata issues only". Each is timed cold
(GenLens' caches emptied; PostgreSQL's buffers stay as the previous case left them), median of
--runs; how the search ran is recorded (the trigram index, or every attempt read, and why).
Writes bench/results_explorer.json and a markdown table (stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
RESULTS = Path(__file__).resolve().parent / "results_explorer.json"


def cases(signature: str | None, request_id: str | None) -> dict[str, dict]:
    out = {
        "no search, newest first": {},
        "a word in no attempt: zyxwvut": {"text": "zyxwvut"},
        "common word: dragons": {"text": "dragons"},
        "phrase in errors: rate limit": {"text": "rate limit"},
        "two letters: xq": {"text": "xq"},
        "sort by cost, highest first": {"sort": "cost_usd"},
        "sort by latency, lowest first": {"sort": "latency_ms", "descending": False},
        "sort by quality, highest first": {"sort": "quality"},
        "metadata issues only": {"issues_only": True},
    }
    if request_id:
        out[f"one request id: {request_id}"] = {"text": request_id}
    if signature:
        out["error signature (most frequent)"] = {"signature": signature}
    return out


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import log, point_genlens_at, window

    ap = argparse.ArgumentParser(prog="python -m bench.explorer", description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args(argv)

    import streamlit as st
    from sqlalchemy import text

    from data_access.engine import get_database
    from queries import explorer
    from queries.explorer import ExplorerQuery

    point_genlens_at(args.database_url, args.schema)
    f = window(30)
    db = get_database()
    with db.engine.connect() as conn:
        attempts = conn.execute(text(f'SELECT count(*) FROM "{args.schema}".generations')).scalar()
        signature = conn.execute(
            text(
                f'SELECT error_signature FROM "{args.schema}".genlens_rollup_error'
                " GROUP BY 1 ORDER BY sum(n) DESC LIMIT 1"
            )
        ).scalar()
        # a text in one attempt's error message only (demo errors carry request ids)
        request_id = conn.execute(
            text(
                f"SELECT substring(error_message FROM 'req_[a-z0-9]{{8,}}') FROM \"{args.schema}\".generations"
                " WHERE error_message LIKE '%req\\_%' AND created_at >= :s LIMIT 1"
            ),
            {"s": f.since},
        ).scalar()
    res: dict = {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "attempts": attempts,
        "loadavg_start": os.getloadavg(),
        "cases": {},
    }
    explorer.explorer_count(f, ExplorerQuery(), cap=explorer.COUNT_CAP)  # warm up the connection
    for name, kw in cases(signature, request_id).items():
        q = ExplorerQuery(**kw)
        times, rows, count = [], 0, 0
        for _ in range(args.runs):
            st.cache_data.clear()
            t0 = time.perf_counter()
            count = explorer.explorer_count(f, q, cap=explorer.COUNT_CAP)
            page = explorer.explorer_page(f, q, None, 50)
            times.append(time.perf_counter() - t0)
            rows = len(page.rows)
        mode = explorer.search_mode(q) if q.text else None
        how = ""
        if mode is not None:
            how = "trigram index" if mode.indexed else f"every text read ({mode.cause})"
        res["cases"][name] = {
            "s": statistics.median(times),
            "all": times,
            "count": count,
            "rows": rows,
            "search": how,
            "query": kw,
        }
        log(f"{name}: {statistics.median(times):.2f} s, {count:,} matches, {rows} rows {how}")
    res["loadavg_end"] = os.getloadavg()
    RESULTS.write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(markdown(res))
    return 0


def markdown(res: dict) -> str:
    more = "more than "
    lines = [
        f"{res['attempts']:,} attempts, 30-day window; {res['date']}, load average "
        f"{res['loadavg_start'][0]:.1f} → {res['loadavg_end'][0]:.1f}. Seconds for the first page and its count.",
        "",
        "| case | seconds | matches | search |",
        "|---|---|---|---|",
    ]
    from queries.explorer import COUNT_CAP

    for name, c in res["cases"].items():
        capped = any(k in c.get("query", {}) for k in ("text", "signature", "issues_only"))
        n = f"{more}{COUNT_CAP:,}" if capped and c["count"] > COUNT_CAP else f"{c['count']:,}"
        lines.append(f"| {name} | {c['s']:.2f} | {n} | {c['search'] or '—'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
