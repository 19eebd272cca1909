"""Bulk COPY into a `generations` table: the demo data and imported rows both load through here.

Into an EMPTY table the load runs in one transaction that drops the table's indexes, COPYs with
FREEZE and rebuilds the same indexes afterwards, then builds GenLens' facts once for all rows
(several times faster than keeping indexes and facts row set by row set). Into a table that has
rows, the COPY keeps every index and trigger: the pipeline may go on writing meanwhile, and the
change-log trigger records the new generations for the fold (data_access/facts.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, text

from data_access.config import validate_schema
from data_access.facts import vacuum_facts


@dataclass
class LoadStats:
    """What a load did and where its time went (seconds); for the benchmark."""

    attempts: int = 0
    bulk: bool = False  # indexes dropped and rebuilt around a COPY FREEZE
    copy_s: float = 0.0  # generating + streaming the rows (overlapped)
    generate_s: float = 0.0  # of which the main thread spent making the rows
    index_s: float = 0.0  # rebuilding the indexes
    facts_s: float = 0.0  # rebuilding the facts table (data_access/facts.py)
    fold_s: float = 0.0  # into a table with rows: folding the new generations into the facts
    folded: int = 0  # change-log entries folded
    commit_s: float = 0.0
    total_s: float = 0.0


@dataclass(frozen=True)
class _Index:
    """One index of the table, as it must be rebuilt: a constraint or a plain index."""

    name: str
    definition: str  # pg_indexes.indexdef, or the constraint's definition
    constraint: str | None  # constraint name when the index backs a PRIMARY KEY / UNIQUE constraint


def _drop_indexes_if_empty(cur, table: str) -> list[_Index] | None:
    """In the current transaction: if `table` is empty, lock it, drop its indexes and return them.

    Returns None (and touches nothing) when the table has rows, when an index could not be rebuilt
    exactly as it is (a constraint other than PRIMARY KEY / UNIQUE, one another table's foreign key
    depends on, an index outside the default tablespace), or when we may not TRUNCATE it.
    """
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
    if cur.fetchone()[0]:
        return None
    cur.execute(
        "SELECT has_table_privilege(%s::regclass, 'TRUNCATE')"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = %s::regclass)",
        (table, table),
    )
    if not cur.fetchone()[0]:
        return None
    cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")  # re-checked under the lock
    if cur.fetchone()[0]:
        return None
    cur.execute(
        """
        SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), pg_get_indexdef(i.indexrelid),
               c.conname, c.contype, pg_get_constraintdef(c.oid), ic.reltablespace
        FROM pg_index i
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid = %s::regclass
        ORDER BY ic.relname""",
        (table,),
    )
    found = []
    for name, indexdef, conname, contype, condef, tablespace in cur.fetchall():
        if tablespace != 0 or (conname is not None and contype not in ("p", "u")):
            return None
        if conname is not None:
            found.append(_Index(name, f"ALTER TABLE {table} ADD CONSTRAINT {_ident(conname)} {condef}", conname))
        else:
            found.append(_Index(name, indexdef, None))
    for ix in found:
        if ix.constraint:
            cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_ident(ix.constraint)}")
        else:
            cur.execute(f"DROP INDEX {ix.name}")
    # A truncate in this transaction is what allows COPY FREEZE; the table is empty, nothing is lost.
    cur.execute(f"TRUNCATE {table}")
    return found


def _facts_trigger(cur, table: str) -> str:
    """ "none" (no facts trigger), "owned" (we may switch it off for the load) or "kept"."""
    cur.execute(
        "SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE t.tgrelid = %s::regclass AND t.tgname = 'genlens_facts_insert' AND t.tgenabled <> 'D'",
        (table,),
    )
    row = cur.fetchone()
    if row is None:
        return "none"
    return "owned" if row[0] else "kept"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rebuild_indexes(cur, indexes: list[_Index], maintenance_work_mem: str, parallel_workers: int) -> None:
    cur.execute("SELECT set_config('maintenance_work_mem', %s, true)", (maintenance_work_mem,))
    cur.execute("SELECT set_config('max_parallel_maintenance_workers', %s, true)", (str(parallel_workers),))
    for ix in indexes:
        cur.execute(ix.definition)


def copy_in(
    engine: Engine,
    schema: str,
    columns: str,
    chunks: Iterable[tuple[bytes, int]],
    copy_options: str = "",
    progress: Callable[[int], None] | None = None,
    *,
    bulk: bool = True,
    threaded: bool = True,
    freeze: bool = True,
    maintenance_work_mem: str = "512MB",
    parallel_workers: int = 2,
) -> LoadStats:
    """COPY `chunks` ((COPY data, attempts in it), in order) into `schema`.generations (`columns`,
    `copy_options` such as "FORMAT csv"), in one transaction: a failure leaves the table as it was.

    The levers (bulk index rebuild, a thread streaming the COPY, COPY FREEZE, index build memory
    and workers) are for the load benchmark (bench/load.py).
    """
    from psycopg.copy import QueuedLibpqWriter

    schema = validate_schema(schema)
    table = f'"{schema}".generations'  # schema passed validate_schema: safe as an identifier
    stats = LoadStats()
    t_start = time.perf_counter()
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            # The facts table's insert trigger would derive every loaded generation again, row set
            # by row set: off for the COPY, then one rebuild (or, if we may not, keep the indexes).
            facts = _facts_trigger(cur, table)
            indexes = _drop_indexes_if_empty(cur, table) if bulk and facts != "kept" else None
            stats.bulk = indexes is not None
            if facts == "owned" and stats.bulk:
                cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER genlens_facts_insert")
            options = [o for o in (copy_options, "FREEZE" if stats.bulk and freeze else "") if o]
            clause = f" ({', '.join(options)})" if options else ""
            t0 = time.perf_counter()
            writer = QueuedLibpqWriter(cur) if threaded else None
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN{clause}", writer=writer) as copy:
                it = iter(chunks)
                while True:
                    g0 = time.perf_counter()
                    item = next(it, None)
                    stats.generate_s += time.perf_counter() - g0
                    if item is None:
                        break
                    copy.write(item[0])
                    stats.attempts += item[1]
                    if progress:
                        progress(stats.attempts)
            if cur.rowcount >= 0:  # what COPY reports: the rows, whatever the chunks counted
                stats.attempts = cur.rowcount
            stats.copy_s = time.perf_counter() - t0
            if indexes:
                t0 = time.perf_counter()
                _rebuild_indexes(cur, indexes, maintenance_work_mem, parallel_workers)
                stats.index_s = time.perf_counter() - t0
            if facts == "owned" and stats.bulk:
                t0 = time.perf_counter()
                cur.execute(f'SELECT "{schema}".genlens_facts_rebuild()')
                cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER genlens_facts_insert")
                stats.facts_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        raw.commit()
        stats.commit_s = time.perf_counter() - t0
        if facts == "owned" and stats.bulk:
            t0 = time.perf_counter()
            vacuum_facts(engine, schema)
            stats.facts_s += time.perf_counter() - t0
        # the planner's statistics of the rows just loaded: without them a raw query under a model
        # filter picks a nested loop that is quadratic in the attempts (bench/writes.py found it)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"ANALYZE {table}"))
        if not stats.bulk and _has_change_log(engine, schema):
            t0 = time.perf_counter()
            stats.folded = fold_all(engine, schema)
            stats.fold_s = time.perf_counter() - t0
    except BaseException:
        try:
            raw.rollback()
        except Exception:  # noqa: BLE001 - the original error matters, not this one
            pass
        raise
    finally:
        raw.close()
    stats.total_s = time.perf_counter() - t_start
    return stats


FOLD_BATCH = 20_000  # change-log entries per genlens_fold call


def _has_change_log(engine: Engine, schema: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT to_regproc(:f) IS NOT NULL"), {"f": f'"{schema}".genlens_fold'}).scalar())


def fold_all(engine: Engine, schema: str) -> int:
    """Fold GenLens' change log until it is empty (waiting for a fold another process runs);
    return the entries folded. Each batch is its own transaction, so the pipeline never waits."""
    done = 0
    while True:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            n = int(conn.execute(text(f'SELECT "{schema}".genlens_fold(:b)'), {"b": FOLD_BATCH}).scalar() or 0)
        if n < 0:  # another fold is running
            time.sleep(0.1)
            continue
        done += n
        if n < FOLD_BATCH:
            return done
