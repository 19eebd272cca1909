"""The write path (issue 15): pipeline writers never wait for GenLens, never fail, never deadlock,
and what they write is folded into facts and rollups equal to a full rebuild.

Real concurrent connections on the embedded PostgreSQL: eight writers running the pipeline workload
of bench/writes.py (one statement per transaction, as over PostgREST), a fifth connection folding
the change log in a loop, and a dashboard reader asking the planner meanwhile (which folds too).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import psycopg
import pytest
from sqlalchemy import text

from bench import writes
from data_access.facts import CHANGES, ROLLUPS, TABLE
from metrics import planner, registry
from metrics.sources import DIMENSIONS
from queries.filters import Filters
from tests.rollups import fold, rollup_snapshot, text_mismatches

SCHEMA = "writes_scratch"
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)  # the demo rows' end; the writers start 6 hours before
DAY0 = T0.replace(hour=0)
WHOLE_DAYS = Filters(since=DAY0 - timedelta(days=10), until=DAY0 + timedelta(days=1))  # rollups answer
MID_DAY = Filters(since=DAY0 - timedelta(days=10, hours=-7), until=T0 - timedelta(hours=1))  # facts answer
READ = ["attempts", "success_rate", "total_cost_usd"]  # what the dashboard reader asks meanwhile
METRICS = (
    "attempts", "generations", "successes", "failures", "timeouts", "success_rate", "first_attempt_success_rate",
    "retry_rate", "avg_attempts_per_generation", "recovered_by_retry", "total_cost_usd", "total_tokens",
    "avg_quality", "p95_latency_ms", "pending_attempts",
)  # fmt: skip
BREAKDOWNS = ((), ("model_used",), ("story_type",), ("day",))
TIMEOUT = "2s"  # the other side's lock_timeout and statement_timeout: a wait of that long fails


@pytest.fixture
def scratch(pg_url, use_schema, admin_engine):
    """A fresh migrated schema `writes_scratch` with 300 demo generations, GenLens pointed at it."""
    from data_access import demo_data
    from data_access.migrate import apply_migrations
    from tests import conftest

    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    apply_migrations(admin_engine, SCHEMA)
    demo_data.load(admin_engine, SCHEMA, 300, days=10, seed=5, end=T0)
    conftest._loaded.add(SCHEMA)
    db = use_schema(SCHEMA)
    yield db
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    conftest._loaded.discard(SCHEMA)


def _count(dsn: str, sql: str, params: tuple = ()) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def _expected(plans) -> dict[tuple[str, int], tuple[str, dict]]:
    """(generation_id, attempt_number) -> (status, generation_metadata) the plan leaves behind."""
    import json

    out: dict[tuple[str, int], tuple[str, dict]] = {}
    for steps in plans:
        for kind, p in steps:
            key = (p["g"], p["n"])
            if kind == "insert":
                out[key] = ("pending", None)
            elif kind == "finish":
                out[key] = (p["status"], json.loads(p["meta"]))
            else:
                meta = dict(out[key][1], quality_scores={"overall": p["q"], "metadata_similarity": p["qm"]})
                out[key] = (out[key][0], meta)
    return out


def _facts_rows(admin_engine) -> list[tuple]:
    with admin_engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {SCHEMA}.{TABLE} ORDER BY 1, 2"))]


def _sorted(df: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    cols = [DIMENSIONS[d].column for d in by]
    if cols:
        df = df.sort_values(cols, na_position="last", kind="stable")
    return df.reset_index(drop=True)


def _forced_sources_agree(f: Filters) -> dict[str, int]:
    """Each metric by each breakdown from every source able to answer it, against the raw
    attempts; returns source -> how many (metric, breakdown) requests it answered."""
    answered = {"facts": 0, "rollup": 0}
    for by in BREAKDOWNS:
        names = set(registry.computable(by))
        for name in (m for m in METRICS if m in names):
            try:
                able = planner.able([name], f, by)
            except ValueError:  # not a request this breakdown can carry
                continue
            with planner.only("raw"):
                raw = _sorted(planner.frame(f, [name], by), by)
            for source in ("facts", "rollup"):
                if source not in able:
                    continue
                with planner.only(source):
                    got = _sorted(planner.frame(f, [name], by), by)
                pd.testing.assert_frame_equal(
                    got, raw, check_dtype=False, rtol=1e-12, obj=f"{name} by {by or 'nothing'} from {source}"
                )
                answered[source] += 1
    return answered


def test_eight_pipeline_writers_a_folder_and_a_reader_never_fail_and_fold_to_a_rebuild(scratch, admin_engine):
    dsn = writes.conninfo(admin_engine)
    plans = writes.plan(seed=3, attempts=800, writers=8, start=T0 - timedelta(hours=6))
    assert len(plans) == 8 and all(plans)
    preloaded = _count(dsn, f"SELECT count(*) FROM {SCHEMA}.generations")
    with planner.only("raw"):
        before = planner.row(WHOLE_DAYS, ["attempts"])["attempts"]

    done = threading.Event()
    answers: list[dict] = []
    sources: list[str] = []
    reader_errors: list[BaseException] = []

    def reader() -> None:  # a dashboard page: folds on read, then the cheapest able source answers
        while not done.is_set():
            try:
                sources.append(planner.explain(READ, WHOLE_DAYS).source)
                answers.append(planner.row(WHOLE_DAYS, READ))
            except BaseException as exc:  # noqa: BLE001 - asserted below
                reader_errors.append(exc)
            time.sleep(0.05)

    reading = threading.Thread(target=reader, name="reader")
    with writes.Folder(dsn, SCHEMA, every_s=0.05) as folder:
        reading.start()
        run = writes.run_writers(dsn, f"{SCHEMA}.generations", plans)
        folded = folder.drain(run.last_write, timeout_s=30)
        done.set()
        reading.join(30)

    # no writer got any error (no deadlock, no lock or statement timeout), nor the folder or reader
    assert run.errors == [], run.errors[:3]
    assert run.statements > 1_700 and run.attempts >= 800
    assert folded.errors == [] and folded.taken > 0 and folded.drained_s is not None
    assert reader_errors == [], reader_errors[:1]
    assert len(answers) >= 3 and "rollup" in sources  # the reader was served by the rollups meanwhile
    # every write is in generations, as the pipeline left it
    expected = _expected(plans)
    with psycopg.connect(dsn, autocommit=True) as conn:
        got = {
            (str(g), n): (s, m)
            for g, n, s, m in conn.execute(
                f"SELECT generation_id, attempt_number, status, generation_metadata FROM {SCHEMA}.generations"
                " WHERE generation_id = ANY (%s)",
                ([g for g, _ in expected],),
            )
        }
    assert got == expected
    assert _count(dsn, f"SELECT count(*) FROM {SCHEMA}.generations") == preloaded + len(expected)
    # what the reader saw lies between the figures before and after the writes
    with planner.only("raw"):
        after = planner.row(WHOLE_DAYS, ["attempts"])["attempts"]
    assert after == before + len(expected)
    assert all(before <= a["attempts"] <= after for a in answers)

    # a final fold empties the log; the facts and rollups equal a full rebuild
    fold(admin_engine, SCHEMA)
    assert _count(dsn, f"SELECT count(*) FROM {SCHEMA}.{CHANGES}") == 0
    assert _count(dsn, f"SELECT count(*) FROM {SCHEMA}.genlens_facts_broken") == 0
    assert text_mismatches(admin_engine, SCHEMA) == 0  # the searchable text is every attempt's
    facts, rollups = _facts_rows(admin_engine), rollup_snapshot(admin_engine, SCHEMA)
    assert len(facts) == preloaded + len(expected)
    with admin_engine.begin() as conn:
        conn.execute(text(f"SELECT {SCHEMA}.genlens_facts_rebuild()"))
    assert _facts_rows(admin_engine) == facts
    assert rollup_snapshot(admin_engine, SCHEMA) == rollups

    # the facts and the rollups give the raw figures, for whole days and mid-day, with filters
    # (statistics first, as autovacuum would gather them: without, the raw source's one-model plan
    # is a nested loop over the scope, 0.3 s a query here)
    with admin_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ANALYZE {SCHEMA}.generations"))
    busiest = Counter(p["model"] for steps in plans for k, p in steps if k == "insert").most_common(1)[0][0]
    for f in (WHOLE_DAYS, replace(WHOLE_DAYS, models=(busiest,)), replace(WHOLE_DAYS, include_tests=True)):
        answered = _forced_sources_agree(f)
        assert answered["facts"] >= 20 and answered["rollup"] >= 10, answered
    answered = _forced_sources_agree(MID_DAY)
    assert answered["facts"] >= 20 and answered["rollup"] == 0, answered


def _relations_locked(conn, pid: int) -> set[str]:
    rows = conn.execute(
        "SELECT DISTINCT CAST(CAST(relation AS regclass) AS text) FROM pg_locks"
        " WHERE pid = %s AND locktype = 'relation'",
        (pid,),
    )
    return {r[0] for r in rows}


def _timed(conn, sql: str, params: dict | tuple = ()) -> tuple[object, float]:
    t0 = time.perf_counter()
    row = conn.execute(sql, params).fetchone()
    return (row[0] if row else None), time.perf_counter() - t0


def _bounded(dsn: str) -> psycopg.Connection:
    """An autocommit connection that fails any statement waiting for a lock (or running) 2 s."""
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(f"SET lock_timeout = '{TIMEOUT}'")
    conn.execute(f"SET statement_timeout = '{TIMEOUT}'")
    return conn


def test_an_open_write_and_a_running_fold_never_wait_for_each_other(scratch, admin_engine):
    dsn = writes.conninfo(admin_engine)
    table = f"{SCHEMA}.generations"
    sql = {kind: s.format(table=table) for kind, s in writes.SQL.items()}
    steps = writes.plan(seed=9, attempts=40, writers=1, start=T0 - timedelta(hours=1))[0]
    insert = next(p for k, p in steps if k == "insert")
    finish = next(p for k, p in steps if k == "finish" and p["status"] == "success")
    derived = {f"{SCHEMA}.{t}" for t in (TABLE, *ROLLUPS)}
    with psycopg.connect(dsn, autocommit=True) as conn:
        old = str(conn.execute(f"SELECT generation_id FROM {table} ORDER BY created_at LIMIT 1").fetchone()[0])
        conn.execute(sql["merge"], {"g": old, "n": 1, "q": 0.5, "qm": 0.5})  # committed: waits in the log
    fold(admin_engine, SCHEMA)

    # 1. A writer's transaction left open (an INSERT and an UPDATE not committed) holds no lock on
    #    the facts or the rollups, and a fold runs meanwhile without waiting.
    writer = psycopg.connect(dsn)
    folder = _bounded(dsn)
    try:
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute(sql["merge"], {"g": old, "n": 1, "q": 0.25, "qm": 0.25})  # committed, to fold
        writer.execute(sql["insert"], insert)
        writer.execute(sql["merge"], {"g": old, "n": 1, "q": 0.75, "qm": 0.75})  # the same row, not committed
        pid = writer.info.backend_pid
        locked = _relations_locked(folder, pid)
        assert table in locked and f"{SCHEMA}.{CHANGES}" in locked
        assert not locked & derived, locked & derived
        taken, seconds = _timed(folder, f"SELECT {SCHEMA}.genlens_fold()")
        assert taken >= 1 and seconds < 1.0
        # the fold derived what was committed: the open transaction's writes are not in the facts
        assert _count(dsn, f"SELECT count(*) FROM {SCHEMA}.{TABLE} WHERE generation_id = %s", (insert["g"],)) == 0
        with psycopg.connect(dsn, autocommit=True) as conn:
            q = conn.execute(
                f"SELECT quality FROM {SCHEMA}.{TABLE} WHERE generation_id = %s AND attempt_number = 1", (old,)
            ).fetchone()[0]
        assert float(q) == 0.25
        writer.commit()
        taken, _ = _timed(folder, f"SELECT {SCHEMA}.genlens_fold()")
        assert taken == 2  # the open transaction's two statements, logged when it committed
        assert _count(dsn, f"SELECT count(*) FROM {SCHEMA}.{TABLE} WHERE generation_id = %s", (insert["g"],)) == 1
    finally:
        writer.close()
        folder.close()

    # 2. A fold left open (its transaction holds the fold lock and the rows it derived) blocks no
    #    writer, not even of the rows it just derived; another fold returns -1 at once.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql["finish"], finish | {"g": insert["g"], "n": 1})
    folding = psycopg.connect(dsn)
    writer = _bounded(dsn)
    try:
        taken = folding.execute(f"SELECT {SCHEMA}.genlens_fold()").fetchone()[0]
        assert taken == 1
        assert derived & _relations_locked(writer, folding.info.backend_pid)  # it holds the facts rows
        retry = insert | {"n": 2, "at": insert["at"] + timedelta(minutes=1)}
        for kind, params in (
            ("insert", retry),  # a retry of the generation the open fold derived
            ("finish", finish | {"g": insert["g"], "n": 2}),
            ("merge", {"g": insert["g"], "n": 2, "q": 0.9, "qm": 0.9}),
            ("merge", {"g": insert["g"], "n": 1, "q": 0.1, "qm": 0.1}),  # the very row it derived
            ("merge", {"g": old, "n": 1, "q": 0.6, "qm": 0.6}),
        ):
            t0 = time.perf_counter()
            writer.execute(sql[kind], params)
            assert time.perf_counter() - t0 < 1.0, kind
        with _bounded(dsn) as other:
            assert _timed(other, f"SELECT {SCHEMA}.genlens_fold()")[0] == -1
        folding.commit()
    finally:
        folding.close()
        writer.close()
    assert fold(admin_engine, SCHEMA) == 5
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT attempt_number, gen_attempts, final_status, CAST(quality AS float8) FROM {SCHEMA}.{TABLE}"
            " WHERE generation_id = %s ORDER BY 1",
            (insert["g"],),
        ).fetchall()
    assert rows == [(1, 2, "success", 0.1), (2, 2, "success", 0.9)]
    rollups = rollup_snapshot(admin_engine, SCHEMA)
    with admin_engine.begin() as conn:
        conn.execute(text(f"SELECT {SCHEMA}.genlens_facts_rebuild()"))
    assert rollup_snapshot(admin_engine, SCHEMA) == rollups
