"""Rebuild GenLens' facts table from `generations`, fold the writes waiting into it, and check
whether pages read it.

    python -m data_access.refresh            # rebuild (after a bulk load with triggers off, or to repair)
    python -m data_access.refresh --check    # say whether pages read the facts table, and why not
    python -m data_access.refresh --fold     # fold the change log once (cron)
    python -m data_access.refresh --follow   # fold every 2 s until stopped (a worker)

Writes to `generations` only append to GenLens' change log; folding derives them into the facts
and rollups. The dashboard folds while it runs and before it reads, so a schedule is needed only
where pipelines write while no dashboard runs (then pages would catch up on their first read):
`--follow` as a service, `--fold` from cron, or pg_cron calling genlens_fold() (README).
A rebuild re-derives every row and switches the triggers back on when they were off.

This module is the command; `status`, `rebuild` and `vacuum_facts` live in data_access/facts.py
and are re-exported here for the callers that import them from this module.
"""

from __future__ import annotations

import argparse
import sys
import time

from data_access.config import ConfigError
from data_access.facts import TABLE, catch_up, rebuild, status, vacuum_facts

__all__ = ["main", "rebuild", "status", "vacuum_facts"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_access.refresh", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether pages read the facts table")
    parser.add_argument("--fold", action="store_true", help="fold the writes waiting in the change log, once")
    parser.add_argument(
        "--follow", type=float, nargs="?", const=2.0, metavar="SECONDS", help="fold every SECONDS (2) until stopped"
    )
    args = parser.parse_args(argv)
    from data_access.engine import get_database

    try:
        db = get_database()
        if args.follow is not None:
            return follow(db, max(args.follow, 0.1))
        if args.fold:
            f = catch_up(db, budget_s=600.0)
            print(f"folded {f.folded:,} change-log entries; {f.behind:,} waiting", flush=True)
        elif not args.check:
            t0 = time.perf_counter()
            n = rebuild(db)
            print(f"rebuilt {TABLE}: {n:,} attempts in {time.perf_counter() - t0:.1f} s", flush=True)
        print(status(db))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line for cron, not a traceback
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    return 0


def follow(db, every_s: float) -> int:
    """Fold every `every_s` seconds until stopped (Ctrl-C or SIGTERM); one line per fold that took
    entries or failed, never a traceback."""
    import signal

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print(f"folding GenLens' change log every {every_s:g} s (Ctrl-C stops)", flush=True)
    last_cause = ""
    try:
        while not stop:
            t0 = time.perf_counter()
            f = catch_up(db, budget_s=max(every_s, 1.0))
            if f.folded:
                print(f"{f.as_of:%H:%M:%S} folded {f.folded:,} entries in {time.perf_counter() - t0:.2f} s", flush=True)
            if f.cause != last_cause:  # once per new cause, not on every run
                print(f.cause or "folding again", file=sys.stderr if f.cause else sys.stdout, flush=True)
                last_cause = f.cause
            time.sleep(max(0.0, every_s - (time.perf_counter() - t0)))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
