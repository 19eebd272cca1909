"""Rebuild GenLens' facts table from `generations`, and check whether pages read it.

    python -m data_access.refresh           # rebuild (after a bulk load with triggers off, or to repair)
    python -m data_access.refresh --check   # say whether pages read the facts table, and why not

The facts table is kept current by triggers (data_access/facts.py), so a schedule is not needed;
a rebuild re-derives every row and switches the triggers back on when they were off.
"""

from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy import text

from data_access.config import ConfigError
from data_access.facts import LATEST_MARK, TABLE, TRIGGERS


def status(db) -> str:
    """One line: whether queries read the facts table, and if not, why."""
    from queries.core import facts_relation, forget_facts

    forget_facts(db)
    if facts_relation(db):
        return f"pages read {TABLE} (kept current by triggers on generations)"
    if not db.settings.use_facts:
        return "GENLENS_FACTS=0: pages read generations directly"
    if db.relation != f'"{db.schema}".generations':
        return f"source {db.source}: pages read {db.relation} directly (facts exist for the generations table only)"
    with db.engine.connect() as conn:
        rel = f'"{db.schema}".{TABLE}'
        exists = conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": rel}).scalar()
        current = (
            exists
            and conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_attribute"
                    " WHERE attrelid = to_regclass(:t) AND attname = :mark AND NOT attisdropped)"
                ),
                {"t": rel, "mark": LATEST_MARK},
            ).scalar()
        )
    if not exists:
        return (
            f"no {TABLE} table: run `python -m data_access.migrate` as the table owner; pages read generations directly"
        )
    if not current:
        return (
            f"{TABLE} is from an earlier GenLens: run `python -m data_access.migrate` as the table owner; "
            "pages read generations directly"
        )
    return (
        f"{TABLE} is not usable (its triggers are off or this user may not read it): "
        "run `python -m data_access.refresh` as the table owner; pages read generations directly"
    )


def vacuum_facts(engine, schema: str) -> None:
    """VACUUM the rebuilt facts table, so the percentile lookups are index-only scans."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'VACUUM "{schema}".{TABLE}'))


def rebuild(db) -> int:
    """Rebuild the facts table and enable its triggers; return the number of rows."""
    from queries.core import forget_facts

    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        for name in TRIGGERS:
            conn.execute(text(f'ALTER TABLE "{db.schema}".generations ENABLE TRIGGER {name}'))
        n = conn.execute(text(f'SELECT "{db.schema}".genlens_facts_rebuild()')).scalar()
    vacuum_facts(db.engine, db.schema)
    forget_facts(db)
    return int(n or 0)


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
