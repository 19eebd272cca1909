"""python -m bench --attempts 1000000 [--attempts 10000000] [--runs 5] [--database-url URL]

Loads N demo attempts into a fresh embedded PostgreSQL (or a fresh schema of --database-url /
DATABASE_URL), then for a 30-day and a 90-day window ending at the data's end measures every page,
every report, the summary three ways, the Explorer and Generation detail queries and the
dashboard's peak memory; merges the figures into bench/results.json and writes BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest outside a server warns at every run
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the data's last instant (fixed: runs compare)
DAYS = 90  # span of the demo data
NAIVE_MAX_ATTEMPTS = 2_500_000  # beyond this the naive way needs more memory than the machine spares


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def window(days: int):
    from queries.filters import Filters

    until = datetime.combine(END.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return Filters(since=until - timedelta(days=days), until=until)


def point_genlens_at(url: str, schema: str) -> None:
    """Make GenLens (queries, AppTest pages) read the benchmark schema; caches emptied."""
    os.environ["DATABASE_URL"] = url
    os.environ["GENLENS_SCHEMA"] = schema
    os.environ["GENLENS_AUTH"] = "none"  # open access: every page, no sign-in
    os.environ.setdefault("GENLENS_QUERY_TIMEOUT_MS", str(600_000))
    from data_access.engine import get_database

    if get_database.cache_info().currsize:
        get_database().engine.dispose()
    get_database.cache_clear()
    import streamlit as st

    st.cache_data.clear()


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def time_pages(nav: list[str], params: dict, default: str, gid, args) -> dict:
    """Median of `args.runs` cold AppTest runs of each page with `params` (fewer past max_seconds)."""
    from bench import pages as pg

    out = {}
    for page in nav:
        p = dict(params)
        if page.endswith("generation.py") and gid:
            p[pg.page_param(page, "generation_id")] = gid
        times, problems, shown = [], [], []
        for _ in range(args.runs):
            if sum(times) > args.max_seconds:
                break  # a page this slow: more runs add little but an hour
            s, problem, error_text = pg.run_page(page, p, page == default)
            times.append(s)
            problems += [problem] if problem else []
            shown += [error_text] if error_text else []
        out[page] = {
            "statements": pg.statements_in_last_run(),
            "s": statistics.median(times),
            "all": times,
            "problems": sorted(set(problems)),
            "errors_shown": sorted(set(shown)),
        }
        log(
            f"  {page}: {statistics.median(times):.2f} s"
            + (f"  EXCEPTION {problems[0][:120]}" if problems else "")
            + (f"  (st.error: {shown[0][:100]})" if shown else "")
        )
    return out


def run_size(db, attempts: int, args) -> dict:
    from sqlalchemy import text

    from bench import pages as pg
    from bench import queries_timing as qt
    from bench.load import generations_for, timed_load

    schema = f"bench_{attempts}"
    generations = generations_for(attempts)
    res: dict = {
        "attempts_requested": attempts,
        "generations": generations,
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    }
    res["loadavg_start"] = load_average()
    log(f"loading {attempts:,} attempts ({generations:,} generations) into schema {schema}")
    load = timed_load(db, schema, generations, DAYS, args.seed, END, "load")
    res["load"] = load.as_dict()
    log(f"  {load.attempts:,} attempts in {load.wall_s:.1f} s: {load.rate:,.0f} attempts/s")
    t0 = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text(f'ANALYZE "{schema}".generations'))
        size = conn.execute(text(f"SELECT pg_total_relation_size('\"{schema}\".generations')")).scalar()
    res["analyze_s"] = time.perf_counter() - t0
    res["table_bytes"] = size
    res["attempts"] = load.attempts
    point_genlens_at(db.url, schema)

    nav = pg.navigation_pages()
    default = pg.default_page(nav)
    if args.pages:
        nav = [p for p in nav if Path(p).stem in args.pages]
    log(f"warming up (one untimed run of {default})")
    f30 = window(30)
    pg.run_page(default, {"since": f"{f30.since:%Y-%m-%d}", "until": f"{f30.until:%Y-%m-%d}"}, True)

    res["windows"] = {}
    for days in args.windows:
        f = window(days)
        params = {"since": f"{f.since:%Y-%m-%d}", "until": f"{f.until:%Y-%m-%d}"}
        w: dict = {"since": params["since"], "until": params["until"], "pages": {}}
        gid = qt.sample_generation(db, schema, f)
        log(f"window {days} days [{params['since']}, {params['until']}): pages x{args.runs}")
        w["pages"] = time_pages(nav, params, default, gid, args)
        log("  reports")
        w["reports"] = qt.report_times(f, args.runs, args.max_seconds)
        for k, v in w["reports"].items():
            log(f"    {k}: {v['s']:.2f} s ({v['rows']} rows)")
        naive_ok = load.attempts <= NAIVE_MAX_ATTEMPTS
        log("  summary: ours / hand-written SQL / naive pandas")
        w["summary"] = qt.summary_three_ways(db, schema, f, args.runs, args.runs, naive_ok, args.max_seconds)
        s = w["summary"]
        log(
            f"    ours {s['ours_s']:.2f} s, hand "
            + (f"{s['hand_s']:.2f} s" if s["hand_s"] is not None else "stopped (every variant past the limit)")
            + (f", naive {s['naive_s']:.2f} s" if "naive_s" in s else ", naive not run")
            + (
                f"; differences {s['hand_vs_ours'] + s.get('naive_vs_ours', [])}"
                if s["hand_vs_ours"] or s.get("naive_vs_ours")
                else ""
            )
        )
        w["queries"] = qt.explorer_and_detail(db, schema, f, args.runs, args.max_seconds)
        for k, v in w["queries"].items():
            log(f"    {k}: {v['s'] if v['s'] is None else round(v['s'], 3)} s")
        res["windows"][str(days)] = w

    # The filter a product manager sets most: one model (the busiest), 30-day window.
    from queries import reports

    by_model = reports.fetch_report("by_model", f30)
    model = str(by_model["model_used"].iloc[0])
    share = float(by_model["attempts"].iloc[0] / by_model["attempts"].sum())
    params = {"since": f"{f30.since:%Y-%m-%d}", "until": f"{f30.until:%Y-%m-%d}", "model": model}
    log(f"window 30 days, model filter {model} ({share:.0%} of the attempts): pages x{args.runs}")
    res["model_filter"] = {
        "model": model,
        "share": share,
        "pages": time_pages(nav, params, default, qt.sample_generation(db, schema, f30), args),
    }

    if not args.skip_rss:
        from bench import rss

        log("peak RSS of a `streamlit run` process while Chromium loads every page (both windows)")
        todo = []
        for days in args.windows:
            f = window(days)
            params = {"since": f"{f.since:%Y-%m-%d}", "until": f"{f.until:%Y-%m-%d}"}
            gid = qt.sample_generation(db, schema, f)
            for page in nav:
                p = dict(params)
                if page.endswith("generation.py") and gid:
                    p[pg.page_param(page, "generation_id")] = gid
                todo.append((page, p))
        res["rss"] = rss.measure(db.url, schema, todo)
        log(f"  idle {res['rss']['rss_idle_mb']:.0f} MB, peak {res['rss']['rss_peak_mb']:.0f} MB")
    res["loadavg_end"] = load_average()
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--attempts", type=int, action="append", help="attempts to load (repeatable; default 1000000)")
    p.add_argument("--runs", type=int, default=5, help="runs per measurement; medians are reported")
    p.add_argument("--database-url", default=None, help="benchmark in a fresh schema of this database")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=120,
        help="stop repeating a measurement once its runs took this long in total (at least one run)",
    )
    p.add_argument("--windows", type=int, nargs="+", default=[30, 90], help="window lengths in days")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--pages", nargs="+", metavar="NAME", help="only these pages (file stems, e.g. overview explorer)")
    p.add_argument("--skip-rss", action="store_true", help="do not start a streamlit server + Chromium")
    p.add_argument("--load-levers", type=int, default=0, metavar="N", help="also measure each load lever on N attempts")
    p.add_argument("--query-levers", action="store_true", help="also measure the query levers (bench/levers.py)")
    p.add_argument(
        "--plan-cache-mode",
        choices=("auto", "force_custom_plan", "force_generic_plan"),
        default="auto",
        help="PostgreSQL plan_cache_mode for every connection (auto: as GenLens runs today)",
    )
    p.add_argument("--keep", action="store_true", help="keep the benchmark schemas (and the embedded server's data)")
    p.add_argument("--only-levers", action="store_true", help="skip the per-size measurements (levers only)")
    p.add_argument(
        "--results", default=str(RESULTS), help="JSON the figures are merged into (default bench/results.json)"
    )
    p.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = p.parse_args(argv)
    if args.plan_cache_mode != "auto":
        # libpq passes this to every connection GenLens, the benchmark and the dashboard open.
        os.environ["PGOPTIONS"] = f"{os.environ.get('PGOPTIONS', '')} -c plan_cache_mode={args.plan_cache_mode}".strip()
    sizes = args.attempts or [1_000_000]
    if any(n < 1000 for n in sizes) or args.runs < 1:
        p.error("--attempts must be at least 1000 and --runs at least 1")
    url = args.database_url or os.environ.get("DATABASE_URL") or None

    from bench import markdown
    from bench.db import drop_schema, open_db

    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    results_path = Path(args.results)
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault("sizes", {})
    log("starting the database" + (" (given URL)" if url else " (fresh embedded PostgreSQL in a temp dir)"))
    db = open_db(url)

    def on_term(*_) -> None:  # `kill`: stop our embedded server, then leave at once
        try:
            db.close()
        finally:
            os._exit(143)

    signal.signal(signal.SIGTERM, on_term)
    try:
        results["machine"] = markdown.machine(db)
        for n in [] if args.only_levers else sizes:
            res = run_size(db, n, args)
            res["command"] = command
            results["sizes"][str(n)] = res
            if not args.keep:
                drop_schema(db, f"bench_{n}")
            results_path.write_text(json.dumps(results, indent=1, default=str))
        if args.load_levers:
            from bench.load import measure_levers

            log(f"load levers on {args.load_levers:,} attempts")
            levers = measure_levers(db, args.load_levers, DAYS, args.seed, END, log)
            results["load_levers"] = {
                "attempts": args.load_levers,
                "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                "loadavg": load_average(),
                "rows": [r.as_dict() for r in levers],
            }
        if args.query_levers:
            from bench import levers as ql

            n = sizes[0]
            log(f"query levers on {n:,} attempts")
            results["query_levers"] = ql.measure(db, n, args, log)
        results_path.write_text(json.dumps(results, indent=1, default=str))
    finally:
        if not args.keep:
            db.close()
    Path(args.output).write_text(markdown.render(results))
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
