"""Rebuild GenLens' facts table from `generations`, and check whether pages read it.

    python -m data_access.refresh           # rebuild (after a bulk load with triggers off, or to repair)
    python -m data_access.refresh --check   # say whether pages read the facts table, and why not

The facts table is kept current by triggers (data_access/facts.py), so a schedule is not needed;
a rebuild re-derives every row and switches the triggers back on when they were off.

This module is the command; `status`, `rebuild` and `vacuum_facts` live in data_access/facts.py
and are re-exported here for the callers that import them from this module.
"""

from __future__ import annotations

import argparse
import sys
import time

from data_access.config import ConfigError
from data_access.facts import TABLE, rebuild, status, vacuum_facts

__all__ = ["main", "rebuild", "status", "vacuum_facts"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_access.refresh", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether pages read the facts table")
    args = parser.parse_args(argv)
    from data_access.engine import get_database

    try:
        db = get_database()
        if not args.check:
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


if __name__ == "__main__":
    raise SystemExit(main())
