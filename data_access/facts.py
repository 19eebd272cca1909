"""GenLens' derived tables in the database: their names, and whether pages may read them now.

`genlens_facts` holds one row per attempt of the canonical `generations` table with its typed
values; the `genlens_rollup*` tables hold daily sums of those rows. Their columns and the SQL that
keeps them current are generated from the metrics registry (`metrics/derived.py`, whose output are
the migrations `supabase/migrations/20260106000000_genlens_model_facts.sql`, the full script, and
the deltas after it); this module names them, checks, for the planner, that they can be read and
are current, says why not (`status`), and rebuilds the facts table (`rebuild`, `vacuum_facts`).
`python -m data_access.refresh` is the command over the last three.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from data_access import replica
from data_access.connection import Database, read_engine, replica_state

TABLE = "genlens_facts"
TRIGGERS = ("genlens_facts_insert", "genlens_facts_update", "genlens_facts_delete", "genlens_facts_truncate")
LOCK_SPACE = 461_2026  # first key of pg_advisory_xact_lock(int, int): GenLens facts
# The change log: the row-change triggers append the generations a statement touched, and
# genlens_fold (the dashboard, `python -m data_access.refresh --follow`, or pg_cron) folds them into
# the facts and rollups; a write never waits for GenLens and never takes a lock another one holds.
CHANGES = "genlens_changes"
FOLDS = "genlens_folds"  # a sequence: bumped by every fold that moved the facts (a cache key)
FOLD_LOCK = 1_000_000  # second key of the fold's advisory lock (one fold at a time)
FOLD_BATCH = 20_000  # change-log entries one genlens_fold call takes
# The Explorer's searchable text of every attempt (prompt, error message), kept by the fold, and
# its trigram index (pg_trgm), which finds the attempts containing a text without reading them all.
TEXT = "genlens_text"
TEXT_INDEX = "idx_genlens_text_trgm"
# the functions an API role (Supabase's anon, authenticated) must not call; the dashboard's reader
# gets EXECUTE on the first two
FOLD_FUNCTIONS = ("genlens_fold(integer)", "genlens_pending(integer)")
OWNER_FUNCTIONS = ("genlens_facts_sync(uuid[])", "genlens_facts_rebuild()", "genlens_rollup_rebuild()")
# The newest facts column: NULL or missing means rows an earlier version wrote (rebuilt on migrate).
LATEST_MARK = "m_gen_attempts"
# The newest facts column readers check for (a table without it was made by an earlier version).
FACTS_MARK = "pure"


ROLLUP = "genlens_rollup"
ROLLUP_LATENCY = "genlens_rollup_latency"
BUCKET_FN = "genlens_latency_bucket"
ROLLUP_PHASE = "genlens_rollup_phase"
ROLLUP_ERROR = "genlens_rollup_error"
ROLLUP_RETRIES = "genlens_rollup_retries"
ROLLUP_QUALITY = "genlens_rollup_quality"
ROLLUP_MODEL_RETRIES = "genlens_rollup_model_retries"
# the rollups a migration added after the first one (its reader gets them too)
NEWER_ROLLUPS = (ROLLUP_PHASE, ROLLUP_ERROR, ROLLUP_RETRIES, ROLLUP_QUALITY, ROLLUP_MODEL_RETRIES)
ROLLUPS = (ROLLUP, ROLLUP_LATENCY, *NEWER_ROLLUPS)
ROLLUP_LIST = ", ".join(ROLLUPS)
# The daily rollup's newest column (metrics/derived.py's newest delta adds it): a rollup without it
# was made by an earlier migration, and is not read until the newest one runs.
ROLLUP_LATEST_MARK = "pattempts"
# each rollup's newest column (its newest migration added it): a table without it is not read
ROLLUP_MARKS = {
    ROLLUP: ROLLUP_LATEST_MARK,
    **{t: "story_type" for t in (ROLLUP_LATENCY, ROLLUP_QUALITY, ROLLUP_PHASE, ROLLUP_ERROR)},
    ROLLUP_RETRIES: "pure",
}

FACTS_TTL_S = 5.0  # how long a "the facts table is usable" answer is trusted
_facts_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_facts_lock = threading.Lock()
_FACTS_CHECK = """
SELECT CASE WHEN to_regclass(:facts) IS NULL OR to_regclass(:broken) IS NULL THEN false
       ELSE has_table_privilege(to_regclass(:facts), 'SELECT')
            AND has_table_privilege(to_regclass(:broken), 'SELECT')
            AND (SELECT count(*) FROM pg_trigger
                 WHERE tgrelid = to_regclass(:source) AND tgname = ANY (:triggers) AND tgenabled <> 'D') = :n
            AND EXISTS (SELECT 1 FROM pg_attribute
                        WHERE attrelid = to_regclass(:facts) AND attname = :mark AND NOT attisdropped)
       END"""


# --- Freshness: the change log folded on read --------------------------------------------------
PENDING_CAP = 100_000  # change-log entries counted at most by a check ("100,000+")
FRESH_TTL_S = 2.0  # how long a freshness check is trusted (a page's queries share one)
FOLD_BUDGET_S = 1.5  # how long one check may spend folding before pages read generations instead
MAX_LAG_S = 5.0  # unfolded writes younger than this leave the facts "live" (a page says how fresh)


@dataclass(frozen=True)
class Freshness:
    """How current the facts are, as one check found them."""

    live: bool  # pages may read the facts: every write older than MAX_LAG_S is folded in
    # database time of the check (on a replica, less its lag): writes committed before it are in
    as_of: datetime | None = None
    behind: int = 0  # change-log entries not yet folded (writes of the last seconds)
    oldest: datetime | None = None  # when the oldest of them was written
    version: int | None = None  # bumped by every fold that moved the facts (caches key by it)
    folded: int = 0  # entries this check folded
    cause: str = ""  # not live: why, in one sentence


_fresh_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# change-log entries one fold takes, per engine: quartered when a fold outlasts its statement
# timeout (a backlog of heavy generations), doubled back after each fold that fitted
_batches: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
MIN_FOLD_BATCH = 100


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]


def catch_up(db: Database, budget_s: float = FOLD_BUDGET_S) -> Freshness:
    """Fold the change log into the facts for up to `budget_s` seconds, then say how fresh they are.

    Safe from any number of threads and processes: one fold runs at a time (an advisory lock); a
    caller that finds another folding waits for it within its budget. A failed fold leaves the log
    as it was (its transaction is rolled back) and is tried again by the next check.
    """
    fold = f'SELECT "{db.schema}".genlens_fold(:batch)'
    pending = f'SELECT p.entries, p.oldest, p.folds, now() FROM "{db.schema}".genlens_pending({PENDING_CAP}) AS p'
    # one batch may outlast the budget (the loop then stops), never the pool's other users
    limit = f"SET LOCAL statement_timeout = {int(max(budget_s * 4, 0.05) * 1000)}"
    deadline = time.monotonic() + budget_s
    folded, fold_error = 0, ""
    try:
        with db.engine.connect() as conn:
            try:
                while True:
                    batch = _batches.get(db.engine, FOLD_BATCH)
                    try:
                        with conn.begin():
                            # the reader's sessions default to read-only: folding is the one write
                            # it may make (genlens_fold runs as its owner; grants allow nothing else)
                            conn.execute(text("SET TRANSACTION READ WRITE"))
                            conn.execute(text(limit))
                            n = int(conn.execute(text(fold), {"batch": batch}).scalar() or 0)
                    except OperationalError as exc:
                        if "statement timeout" not in str(exc) or batch <= MIN_FOLD_BATCH:
                            raise
                        # a batch too big for the budget: smaller ones, so a backlog still drains
                        _batches[db.engine] = max(MIN_FOLD_BATCH, batch // 4)
                        continue
                    if n < 0:  # another fold is running: it takes the entries
                        if time.monotonic() > deadline:
                            break
                        time.sleep(0.05)
                        continue
                    folded += n
                    if n == batch and batch < FOLD_BATCH:  # it fitted: try a bigger one next
                        _batches[db.engine] = min(FOLD_BATCH, batch * 2)
                    if n < batch or time.monotonic() > deadline:
                        break
            except Exception as exc:  # noqa: BLE001 - said on the page, tried again next check
                fold_error = _first_line(exc)
            if db.reader is not None:
                _heartbeat(conn)
            reader = read_engine(db)
            if reader is db.engine:
                with conn.begin():
                    entries, oldest, version, now = conn.execute(text(pending)).one()
            else:  # what pages see is the replica: its log, its folds, as of its replay point
                with reader.connect() as rconn, rconn.begin():
                    entries, oldest, version, now = rconn.execute(text(pending)).one()
                state = replica_state(db)
                now -= timedelta(seconds=state.lag_s if state is not None else 0.0)
    except Exception as exc:  # noqa: BLE001 - the page reads generations and says why
        return Freshness(False, cause=f"GenLens cannot tell how current its facts are ({_first_line(exc)})")
    entries = int(entries or 0)
    lag = (now - oldest).total_seconds() if oldest is not None else 0.0
    fresh = Freshness(True, now, entries, oldest, int(version or 0), folded)
    if fold_error and "permission denied" in fold_error:
        if lag <= MAX_LAG_S:  # another process folds for it (a worker, pg_cron)
            return fresh
        cause = (
            "this database user may not fold GenLens' change log and nothing else folds it: grant it EXECUTE "
            "on genlens_fold (docs/security.sql does), or run `python -m data_access.refresh --follow` as the owner"
        )
    elif fold_error:
        cause = f"folding the change log failed ({fold_error}); GenLens tries again on the next query"
    elif lag > MAX_LAG_S:
        cause = (
            f"GenLens is folding {entries:,}{'+' if entries >= PENDING_CAP else ''} recent writes into its facts table"
        )
    else:
        return fresh
    return Freshness(False, now, entries, oldest, int(version or 0), folded, cause)


def _heartbeat(conn) -> None:
    """A commit on the primary (an empty transaction given an id), so that a replica's last replayed
    commit is at most one check old and its lag is measured even while the pipeline is quiet."""
    try:
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ WRITE"))
            conn.execute(text("SELECT pg_current_xact_id()"))
    except Exception:  # noqa: BLE001, S110 - the replica's lag then reads from the pipeline's commits
        pass


def freshness(db: Database) -> Freshness:
    """The latest check (at most FRESH_TTL_S old), folding what the log holds first."""
    now = time.monotonic()
    with _facts_lock:
        seen = _fresh_seen.get(db.engine)
    if seen is not None and seen[0] > now:
        return seen[1]
    got = catch_up(db)
    with _facts_lock:
        _fresh_seen[db.engine] = (time.monotonic() + FRESH_TTL_S, got)
    return got


def fold_now(db: Database) -> Freshness | None:
    """Fold what waits now and remember how fresh the facts are (the dashboard's folding thread);
    None where pages do not read the facts table."""
    if not _installed(db):
        return None
    got = catch_up(db)
    with _facts_lock:
        _fresh_seen[db.engine] = (time.monotonic() + FRESH_TTL_S, got)
    return got


def facts_relation(db: Database) -> str:
    """The facts table's name when queries may read it, else "" (read `generations` directly).

    Usable when the source is the canonical table, GENLENS_FACTS is not 0, the table exists with
    this version's columns (its newest migration ran), the dashboard may SELECT it, all its
    triggers are enabled (so it holds what `generations` holds), and the change log is folded but
    for the last seconds' writes (`freshness`).
    """
    rel = _installed(db)
    return rel if rel and freshness(db).live else ""


def _installed(db: Database) -> str:
    """facts_relation's checks but freshness (cached for FACTS_TTL_S)."""
    if not db.settings.use_facts or db.relation != f'"{db.schema}".generations':
        return ""
    now = time.monotonic()
    with _facts_lock:
        seen = _facts_seen.get(db.engine)
    if seen is not None and seen[0] > now:
        return seen[1]
    rel, broken = f'"{db.schema}".{TABLE}', f'"{db.schema}".{TABLE}_broken'
    try:
        with read_engine(db).connect() as conn:
            ok = bool(
                conn.execute(
                    text(_FACTS_CHECK),
                    {
                        "facts": rel,
                        "broken": broken,
                        "source": db.relation,
                        "triggers": list(TRIGGERS),
                        "n": len(TRIGGERS),
                        "mark": FACTS_MARK,
                    },
                ).scalar()
            )
            # A trigger that could not derive some facts leaves a row here (data_access/facts.py).
            ok = ok and not conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {broken})")).scalar()
    except Exception:  # noqa: BLE001 - unreachable now: the page's own query reports it
        return ""
    value = rel if ok else ""
    with _facts_lock:
        _facts_seen[db.engine] = (now + FACTS_TTL_S, value)
    return value


def forget_facts(db: Database) -> None:
    """Check the facts table again on the next query (after a rebuild or a bulk load)."""
    with _facts_lock:
        _facts_seen.pop(db.engine, None)
        _rollups_seen.pop(db.engine, None)
        _fresh_seen.pop(db.engine, None)
        _search_seen.pop(db.engine, None)
    if db.reader is not None:
        replica.forget(db.reader)


_rollups_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def readable_rollups(db: Database) -> frozenset[str]:
    """The rollup tables this database user may read, the daily one only with this version's
    columns (cached for FACTS_TTL_S)."""
    now = time.monotonic()
    with _facts_lock:
        seen = _rollups_seen.get(db.engine)
    if seen is not None and seen[0] > now:
        return seen[1]
    names = {f'"{db.schema}".{t}': t for t in ROLLUPS}
    marks = [ROLLUP_MARKS.get(t, "") for t in ROLLUPS]
    try:
        with read_engine(db).connect() as conn:
            found = conn.execute(
                text(
                    "SELECT t FROM unnest(CAST(:ts AS text[]), CAST(:marks AS text[])) AS x(t, mark)"
                    " WHERE to_regclass(t) IS NOT NULL AND has_table_privilege(CAST(to_regclass(t) AS oid), 'SELECT')"
                    " AND (mark = '' OR EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(t)"
                    " AND attname = mark AND NOT attisdropped))"
                ),
                {"ts": list(names), "marks": marks},
            ).scalars()
            ok = frozenset(names[t] for t in found)
    except Exception:  # noqa: BLE001 - the page's own query reports a broken database
        return frozenset()
    with _facts_lock:
        _rollups_seen[db.engine] = (now + FACTS_TTL_S, ok)
    return ok


_search_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SEARCH_CHECK = """
SELECT to_regclass(:t) IS NOT NULL AND has_table_privilege(to_regclass(:t), 'SELECT'),
       EXISTS (SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(:ix) AND indisvalid),
       EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')"""


@dataclass(frozen=True)
class Search:
    """Where the Explorer's text search reads: the trigram-indexed text table, or every attempt."""

    relation: str  # the text table ("" when the search reads the attempts themselves)
    cause: str = ""  # not through the index: why, in one sentence
    indexed: bool = False  # the trigram index finds the matches (else every text is read)


def search_text(db: Database) -> Search:
    """The indexed text table when the Explorer's search may use it: the facts are in use and
    current (the same fold keeps both), the table is readable and its trigram index is built."""
    if not facts_relation(db):
        return Search("", "the derived tables are not in use (see the sidebar)")
    now = time.monotonic()
    with _facts_lock:
        seen = _search_seen.get(db.engine)
    if seen is not None and seen[0] > now:
        return seen[1]
    rel, ix = f'"{db.schema}".{TEXT}', f'"{db.schema}".{TEXT_INDEX}'
    try:
        with read_engine(db).connect() as conn:
            readable, indexed, trgm = conn.execute(text(_SEARCH_CHECK), {"t": rel, "ix": ix}).one()
    except Exception:  # noqa: BLE001 - the page's own query reports a broken database
        return Search("", "the search index could not be checked")
    if not readable:
        got = Search("", f"{TEXT} is missing or not readable: run `python -m data_access.migrate` as the table owner")
    elif not indexed:
        why = "it needs the pg_trgm extension" if not trgm else "run `python -m data_access.migrate`"
        got = Search("", f"{TEXT} has no trigram index ({why})")
    else:
        got = Search(rel, indexed=True)
    with _facts_lock:
        _search_seen[db.engine] = (now + FACTS_TTL_S, got)
    return got


def status(db: Database) -> str:
    """One line: whether queries read the facts table, and if not, why (and where they read, with
    a replica)."""
    forget_facts(db)
    return _status(db) + _replica_note(db)


def _replica_note(db: Database) -> str:
    state = replica_state(db)
    if state is None:
        return ""
    if not state.usable:
        return f"; {state.cause}"
    lag = f"{state.lag_s:,.0f} s behind the primary" if state.lag_s >= 1 else "current with the primary"
    return f"; pages read the replica {db.reader_label}, {lag}" + (f" ({state.cause})" if state.cause else "")


def _status(db: Database) -> str:
    if facts_relation(db):
        f = freshness(db)
        behind = f" ({f.behind:,} writes of the last seconds still to fold)" if f.behind else ""
        return f"pages read {TABLE}, current to {f.as_of:%H:%M:%S} UTC{behind} (folded from the change log)"
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
                {"t": rel, "mark": FACTS_MARK},
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
    fresh = freshness(db)
    if not fresh.live and _usable_now(db):
        return f"{fresh.cause}; until then pages read generations directly (same numbers, slower)"
    return (
        f"{TABLE} is not usable (its triggers are off or this user may not read it): "
        "run `python -m data_access.refresh` as the table owner; pages read generations directly"
    )


def _usable_now(db: Database) -> bool:
    return bool(_installed(db))


def vacuum_facts(engine, schema: str) -> None:
    """VACUUM the rebuilt facts table, so the percentile lookups are index-only scans."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'VACUUM "{schema}".{TABLE}'))


def rebuild(db: Database) -> int:
    """Rebuild the facts table and enable its triggers; return the number of rows."""
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        for name in TRIGGERS:
            conn.execute(text(f'ALTER TABLE "{db.schema}".generations ENABLE TRIGGER {name}'))
        n = conn.execute(text(f'SELECT "{db.schema}".genlens_facts_rebuild()')).scalar()
    vacuum_facts(db.engine, db.schema)
    forget_facts(db)
    return int(n or 0)
