"""Every page under the sidebar's filters: python -m bench.filters --attempts 10000000 [--runs 2]

Loads N demo attempts into a fresh embedded PostgreSQL (or reuses a loaded schema with --schema and
--database-url), then times each page cold (AppTest, caches cleared, median of --runs) for a 30-day
window under each filter a product manager clicks first: none, one model, two models, a story
type, one model and a type, one user, tests included. Says which source answered the KPIs and
writes bench/results_filters.json and a markdown table (stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
RESULTS = Path(__file__).resolve().parent / "results_filters.json"


def _filters(models: list[str], user: str | None) -> dict[str, dict[str, str | list[str]]]:
    a, b = models[0], models[1]
    out: dict[str, dict] = {
        "no filter": {},
        "one model": {"model": a},
        "two models": {"model": [a, b]},
        "story type = hero": {"type": "hero"},
        "one model + a type": {"model": a, "type": "hero"},
        "tests included": {"tests": "1"},
    }
    if user:
        out["one user"] = {"user": user}
    return out


def _params(base: dict, extra: dict) -> dict:
    p = dict(base)
    for k, v in extra.items():
        p[k] = v
    return p


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import DAYS, END, log, point_genlens_at, window

    ap = argparse.ArgumentParser(prog="python -m bench.filters", description=__doc__.splitlines()[0])
    ap.add_argument("--attempts", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--schema", default=None, help="an already loaded schema (skips the load)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pages", nargs="+", metavar="NAME")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)

    from sqlalchemy import text

    from bench import pages as pg
    from bench import queries_timing as qt
    from bench.db import open_db
    from bench.load import generations_for, timed_load

    db = open_db(args.database_url)
    res: dict = {"date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "loadavg_start": os.getloadavg()}
    try:
        schema = args.schema or f"bench_filters_{args.attempts}"
        if not args.schema:
            log(f"loading {args.attempts:,} attempts into {schema}")
            load = timed_load(db, schema, generations_for(args.attempts), DAYS, args.seed, END, "load")
            res["load"] = load.as_dict()
            log(f"  {load.attempts:,} attempts in {load.wall_s:.0f} s ({load.rate:,.0f}/s)")
        with db.engine.begin() as conn:
            conn.execute(text(f'ANALYZE "{schema}".generations'))
            res["attempts"] = conn.execute(text(f'SELECT count(*) FROM "{schema}".generations')).scalar()
            f30 = window(30)
            res["attempts_30d"] = conn.execute(
                text(f'SELECT count(*) FROM "{schema}".generations WHERE created_at >= :s AND created_at < :u'),
                {"s": f30.since, "u": f30.until},
            ).scalar()
            models = [
                r[0]
                for r in conn.execute(
                    text(f'SELECT model_used FROM "{schema}".genlens_rollup GROUP BY 1 ORDER BY sum(attempts) DESC')
                )
            ]
            user = conn.execute(
                text(
                    f'SELECT CAST(user_id AS text) FROM "{schema}".generations WHERE created_at >= :s'
                    " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ),
                {"s": f30.since},
            ).scalar()
        point_genlens_at(db.url, schema)
        nav = pg.navigation_pages()
        default = pg.default_page(nav)
        if args.pages:
            nav = [p for p in nav if Path(p).stem in args.pages]
        base = {"since": f"{f30.since:%Y-%m-%d}", "until": f"{f30.until:%Y-%m-%d}"}
        gid = qt.sample_generation(db, schema, f30)
        log("warming up")
        pg.run_page(default, base, True)
        from dataclasses import replace

        from metrics import planner

        res["filters"] = {}
        for name, extra in _filters(models, user).items():
            log(f"{name}: {extra}")
            ff = replace(
                f30,
                models=tuple(extra["model"])
                if isinstance(extra.get("model"), list)
                else ((extra["model"],) if "model" in extra else ()),
                types=(extra["type"],) if "type" in extra else (),
                user=extra.get("user"),
                include_tests=bool(extra.get("tests")),
            )
            plan = planner.explain(["success_rate", "total_cost_usd", "p95_latency_ms"], ff)
            row: dict = {"params": extra, "kpi_source": plan.source, "declined": plan.declined, "pages": {}}
            for page in nav:
                p = _params(base, extra)
                if page.endswith("generation.py") and gid:
                    p[pg.page_param(page, "generation_id")] = gid
                times = []
                problem = None
                for _ in range(args.runs):
                    s, problem, shown = pg.run_page(page, p, page == default)
                    times.append(s)
                    problem = problem or shown
                row["pages"][Path(page).stem] = {"s": sorted(times)[len(times) // 2], "all": times, "problem": problem}
                log(
                    f"  {Path(page).stem}: {sorted(times)[len(times) // 2]:.2f} s"
                    + (f"  {problem[:100]}" if problem else "")
                )
            res["filters"][name] = row
        res["loadavg_end"] = os.getloadavg()
        RESULTS.write_text(json.dumps(res, indent=1, default=str) + "\n")
        print(markdown(res))
    finally:
        if not args.keep and not args.schema:
            db.close()
        elif db.embedded:
            log(f"kept: {db.url}")
    return 0


def markdown(res: dict) -> str:
    names = list(res["filters"])
    pages = list(next(iter(res["filters"].values()))["pages"])
    lines = [
        f"{res.get('attempts', 0):,} attempts ({res.get('attempts_30d', 0):,} in the 30-day window), "
        f"{res['date']}, load average {res['loadavg_start'][0]:.1f} → {res['loadavg_end'][0]:.1f}; "
        "seconds per cold page run (median)",
        "",
        "| page | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for page in pages:
        cells = [f"{res['filters'][n]['pages'][page]['s']:.2f}" for n in names]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    lines.append("| KPIs answered by | " + " | ".join(res["filters"][n]["kpi_source"] for n in names) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(took {time.perf_counter() - started:.0f} s)")
    raise SystemExit(code)
