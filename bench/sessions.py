"""Many users at once: N concurrent dashboard sessions touring every page for a while.

    python -m bench.sessions --database-url URL --schema bench_1000000 --sessions 20 --seconds 60

Each session is a Streamlit AppTest of app.py in its own thread (one process, like one
`streamlit run` serving N browser tabs, sharing its connection pool and data cache). A session
opens the Overview and then clicks through every other page, again and again, with the 30-day
window ending at the data's end and, on each tour, one of the models (or none) as a filter, so that the shared cache is hit by
some page loads and missed by others. Recorded: every page time (p50, p95, max), exceptions and
error panels, and the most database connections the dashboard held at once (sampled from
pg_stat_activity every 100 ms, client backends only, against GENLENS_POOL_SIZE). Results go to bench/results.json
("sessions") and BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
import traceback
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
APP_NAME = "genlens-load"  # application_name of the dashboard's connections, to count them


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile q (0-1) of `values`, None when there are none."""
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@contextmanager
def one_server():
    """Make concurrent AppTest runs share one runtime, as the sessions of one server do.

    AppTest installs a mock Runtime for each run and removes it when the run ends, which breaks
    runs in other threads; inside this block every run sees one shared mock (one media store, one
    data cache) and one script cache. Everything patched is put back on leaving.
    """
    from unittest.mock import MagicMock

    from streamlit import config
    from streamlit.runtime import Runtime
    from streamlit.runtime.caching.storage.dummy_cache_storage import MemoryCacheStorageManager
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    shared = MagicMock(spec=Runtime)
    shared.media_file_mgr = MediaFileManager(MemoryMediaFileStorage("/mock/media"))
    shared.cache_storage_manager = MemoryCacheStorageManager()
    try:
        from streamlit.runtime.dataframe_source_manager import DataframeSourceManager

        shared.dataframe_source_mgr = DataframeSourceManager()
    except ImportError:
        pass
    # A server compiles each script once into its one script cache. AppTest makes two caches per
    # run (app.py's runner, the pages manager), and CPython 3.11's parser is not safe to run from
    # several threads at once ("AST constructor recursion depth mismatch": the run stops with a
    # compile error and draws nothing). One shared cache, as in a server.
    cache = ScriptCache()
    # A server's app.py turns Streamlit's pages-directory mode off once (st.navigation), for good.
    # AppTest resets that class-wide flag before every run, so one session's reset could land in
    # the middle of another's run; here AppTest resets a subclass's copy and the flag stays off.
    from streamlit.runtime.pages_manager import PagesManager

    # AppTest also switches the process-wide option global.appTest on for each run and back off
    # at its end, which could land in the middle of another session's run (its widgets then miss
    # what AppTest reads back: KeyError on a widget id). On for the whole block instead.
    saved = (
        Runtime.__dict__["instance"],
        Runtime.__dict__["exists"],
        app_test.ScriptCache,
        local_script_runner.ScriptCache,
        config.get_option("client.showErrorDetails"),
        app_test.PagesManager,
        PagesManager.uses_pages_directory,
        app_test.patch_config_options,
        config.get_option("global.appTest"),
    )
    app_test.patch_config_options = lambda options: nullcontext()
    config.set_option("global.appTest", True)
    Runtime.instance = classmethod(lambda cls: shared)
    Runtime.exists = classmethod(lambda cls: True)
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: cache
    app_test.PagesManager = type("ServerPagesManager", (PagesManager,), {})
    PagesManager.uses_pages_directory = False
    # The dashboard's config hides error details from users; the harness reports causes.
    config.set_option("client.showErrorDetails", "full")
    try:
        yield
    finally:
        (
            Runtime.instance,
            Runtime.exists,
            app_test.ScriptCache,
            local_script_runner.ScriptCache,
            details,
            app_test.PagesManager,
            PagesManager.uses_pages_directory,
            app_test.patch_config_options,
            app_test_option,
        ) = saved
        config.set_option("client.showErrorDetails", details)
        config.set_option("global.appTest", app_test_option)


def run(url: str, schema: str, sessions: int, seconds: float, seed: int = 1, tours: int = 0) -> dict:
    """Each session tours until `seconds` have passed and it has finished at least `tours` tours."""
    from sqlalchemy import create_engine, text

    from bench import pages as pg
    from bench.__main__ import point_genlens_at, window
    from data_access.engine import normalize_url

    url = normalize_url(url)
    sep = "&" if "?" in url else "?"
    point_genlens_at(url + f"{sep}application_name={APP_NAME}", schema)
    from data_access.engine import get_database
    from queries import catalog, explorer

    db = get_database()
    pool_size = db.settings.pool_size
    f = window(30)
    params = {"since": f"{f.since:%Y-%m-%d}", "until": f"{f.until:%Y-%m-%d}"}
    models = catalog.known_models()
    gid = explorer.explorer_page(f, explorer.ExplorerQuery(), limit=1).rows["generation_id"].iloc[0]
    nav = pg.navigation_pages()
    default = pg.default_page(nav)

    times: dict[str, list[float]] = {p: [] for p in nav}
    problems: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    peak = {"connections": 0}
    sampling = threading.Event()

    def sample() -> None:
        eng = create_engine(url, pool_size=1)
        with eng.connect() as conn:
            while not sampling.is_set():
                n = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = :a AND backend_type = 'client backend'"
                    ),
                    {"a": APP_NAME},
                ).scalar()
                peak["connections"] = max(peak["connections"], int(n))
                conn.commit()
                time.sleep(0.1)
        eng.dispose()

    def session(i: int) -> None:
        from streamlit.testing.v1 import AppTest

        rnd = random.Random(seed * 1000 + i)
        order = [default, *[p for p in nav if p != default]]
        finished = 0

        def over() -> bool:
            return time.monotonic() >= stop_at and finished >= tours

        while not over():
            # one tour = one browser tab opened on the Overview, then a click on each page in turn
            model = rnd.choice([None, *models])
            at = AppTest.from_file(str(pg.APP), default_timeout=600)
            for k, v in params.items():
                at.query_params[k] = v
            if model:
                at.query_params["model"] = model
            for page in order:
                if over():
                    return
                if page.endswith("generation.py"):
                    at.query_params[pg.page_param(page, "generation_id")] = gid
                if page != default:
                    at.switch_page(page)
                t0 = time.perf_counter()
                try:
                    at.run()
                    bad = [
                        (str(e.message) + " | " + " | ".join(getattr(e, "stack_trace", [])[-4:]))[:1200]
                        for e in at.exception
                    ]
                    bad += [str(e.value)[:200] for e in at.error if "admin login" not in str(e.value)]
                    if not at.title:  # every page draws a title; none means the run did not happen
                        bad.append("no page drawn")
                except Exception as exc:  # noqa: BLE001 - recorded as a failure, with where it came from
                    where = " < ".join(
                        f"{Path(fr.filename).name}:{fr.lineno}"
                        for fr in traceback.extract_tb(exc.__traceback__)[-4:][::-1]
                    )
                    bad = [f"{type(exc).__name__}: {exc} ({where})"[:400]]
                elapsed = time.perf_counter() - t0
                with lock:
                    times[page].append(elapsed)
                    problems.extend(f"{Path(page).stem}: {b}" for b in bad)
            finished += 1

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with one_server():
        threads = [threading.Thread(target=session, args=(i,), name=f"session-{i}") for i in range(sessions)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    wall = time.perf_counter() - started
    sampling.set()
    sampler.join(5)

    every = [x for v in times.values() for x in v]
    return {
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "schema": schema,
        "sessions": sessions,
        "seconds": seconds,
        "wall_s": wall,
        "pool_size": pool_size,
        "peak_connections": peak["connections"],
        "page_loads": len(every),
        "errors": len(problems),
        "error_examples": sorted(set(problems))[:10],
        "p50_s": percentile(every, 0.5),
        "p95_s": percentile(every, 0.95),
        "max_s": max(every) if every else None,
        "pages": {
            p: {
                "n": len(v),
                "p50_s": percentile(v, 0.5),
                "p95_s": percentile(v, 0.95),
                "max_s": max(v) if v else None,
            }
            for p, v in times.items()
        },
        "loadavg": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import RESULTS, log

    p = argparse.ArgumentParser(prog="python -m bench.sessions", description=__doc__.split("\n")[0])
    p.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL"), required=not os.environ.get("DATABASE_URL")
    )
    p.add_argument("--schema", default="bench_1000000", help="a schema the benchmark loaded (python -m bench --keep)")
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--output", default=str(Path(__file__).resolve().parent.parent / "BENCHMARKS.md"))
    args = p.parse_args(argv)
    log(f"{args.sessions} sessions touring every page for {args.seconds:.0f} s on schema {args.schema}")
    res = run(args.database_url, args.schema, args.sessions, args.seconds)
    res["command"] = (
        f"python -m bench.sessions --schema {args.schema} --sessions {args.sessions} --seconds {args.seconds:g}"
    )
    log(
        f"{res['page_loads']} page loads, {res['errors']} errors, p50 {res['p50_s']:.2f} s, p95 {res['p95_s']:.2f} s, "
        f"peak {res['peak_connections']} connections (pool {res['pool_size']})"
    )
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"sizes": {}}
    results["sessions"] = res
    RESULTS.write_text(json.dumps(results, indent=1, default=str))
    if results.get("sizes"):
        from bench import markdown

        Path(args.output).write_text(markdown.render(results))
        log(f"wrote {args.output}")
    return 0 if not res["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
