"""Realistic, deterministic demo data for the generations table, loaded with COPY.

    python -m data_access.demo_data --generations 50000 [--days 90] [--seed 7] [--end 2026-11-23]

The same seed and end time give the same rows. This module is the command: it migrates the
configured database (or the embedded one) and loads the rows into it. The generator and the loader
are data_access/demo.py, whose public names are re-exported here for the code and the tests that
import them from this module.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from data_access.demo import (
    COLUMNS,
    FAILURES,
    HEROES,
    INTERESTS,
    MODELS,
    MORALS,
    NOT_RETRIED,
    RELATIONS,
    LoadStats,
    ModelProfile,
    generate_blocks,
    generate_rows,
    load,
)

__all__ = [
    "COLUMNS",
    "FAILURES",
    "HEROES",
    "INTERESTS",
    "MODELS",
    "MORALS",
    "NOT_RETRIED",
    "RELATIONS",
    "LoadStats",
    "ModelProfile",
    "generate_blocks",
    "generate_rows",
    "load",
    "main",
]


def _parse_end(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or timestamp: {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m data_access.demo_data", description=__doc__.splitlines()[0])
    p.add_argument("--generations", type=int, default=50_000)
    p.add_argument("--days", type=float, default=90)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end", type=_parse_end, default=None, help="last timestamp (default: now, UTC)")
    args = p.parse_args(argv)
    if args.generations < 1 or args.days <= 0:
        p.error("--generations and --days must be positive")

    from data_access.engine import get_database
    from data_access.schema import apply_migrations

    try:
        db = get_database()
        apply_migrations(db.engine, db.schema)
        t0 = time.perf_counter()
        n = load(db.engine, db.schema, args.generations, args.days, args.seed, args.end)
        secs = time.perf_counter() - t0
    except Exception as exc:
        print(f"demo_data: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    print(
        f"loaded {n} attempts of {args.generations} generations into {db.label} "
        f"in {secs:.2f} s ({n / secs:,.0f} attempts/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
