"""GENLENS_READ_URL: pages and reports read a real streaming replica, maintenance runs on the primary.

The replica is made from the test server with the embedded PostgreSQL's own `pg_basebackup`
(tests/replica.py). Pausing its replay shows where each thing happens: a pipeline's writes reach
the primary and are folded there, while pages keep showing the replica's figures and say how far
behind it is; once replay resumes, the replica's figures equal the primary's.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from streamlit.testing.v1 import AppTest

from queries.filters import Filters
from tests.replica import start_replica, wait_for_replay

SCHEMA = "replica_scratch"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WINDOW = Filters(since=T0.replace(hour=0) - timedelta(days=8), until=T0.replace(hour=0) + timedelta(days=1))
APP = str(Path(__file__).resolve().parent.parent / "app.py")
NAMES = ("attempts", "generations", "success_rate")

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="a replica is copied from the embedded test server; TEST_DATABASE_URL names another server",
)


@pytest.fixture(scope="module")
def replica(pg_url, admin_engine):
    """A migrated schema with 200 demo generations on the primary, and a streaming replica of it."""
    from data_access import demo_data
    from data_access.migrate import apply_migrations
    from tests import conftest

    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    apply_migrations(admin_engine, SCHEMA)
    demo_data.load(admin_engine, SCHEMA, 200, days=7, seed=11, end=T0)
    conftest._loaded.add(SCHEMA)
    r = start_replica(pg_url)
    wait_for_replay(admin_engine, r.url)
    yield r
    r.remove()
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    conftest._loaded.discard(SCHEMA)


@pytest.fixture
def replicated(replica, use_schema, monkeypatch):
    monkeypatch.setenv("GENLENS_READ_URL", replica.url)
    return use_schema(SCHEMA)


def _fresh(db) -> None:
    """Forget every cached check and result, as a page's next run after their TTLs would."""
    import streamlit as st

    from data_access.facts import forget_facts

    forget_facts(db)
    st.cache_data.clear()


def _sidebar(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption) + " " + " ".join(w.value for w in at.sidebar.warning)


def _raw_attempts(engine) -> int:
    """The primary's attempts of real (not test) generations: the window holds every demo row."""
    with engine.connect() as conn:
        return conn.execute(
            text(
                f"SELECT count(*) FROM {SCHEMA}.generations WHERE generation_id NOT IN (SELECT generation_id"
                f" FROM {SCHEMA}.generations WHERE jsonb_typeof(generation_metadata) = 'object'"
                " AND generation_metadata ? 'test_run_id')"
            )
        ).scalar()


def _pipeline_writes(engine, n: int) -> list[str]:
    """n generations as a pipeline writes them: pending, then success with metadata."""
    ids = [str(uuid.uuid4()) for _ in range(n)]
    at = T0 - timedelta(hours=2)
    with engine.begin() as conn:
        for gid in ids:
            conn.execute(
                text(
                    f"INSERT INTO {SCHEMA}.generations (generation_id, attempt_number, status, model_used, prompt,"
                    " user_id, created_at) VALUES (:g, 1, 'pending', 'replica/model', 'a story', :g, :at)"
                ),
                {"g": gid, "at": at},
            )
            conn.execute(
                text(
                    f"UPDATE {SCHEMA}.generations SET status = 'success', completed_at = :done,"
                    " generation_metadata = '{\"cost_usd\": 0.01}' WHERE generation_id = :g"
                ),
                {"g": gid, "done": at + timedelta(seconds=3)},
            )
    return ids


def test_pages_read_the_replica_and_the_primary_folds(replicated, replica, admin_engine):
    from data_access.engine import read_only, replica_state
    from metrics.error_groups import compute
    from queries import catalog, reports

    db = replicated
    assert db.reader is not None
    with read_only(db) as conn:  # the one choke point of every read
        assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
    state = replica_state(db)
    assert state.usable and state.lag_s < 1.0 and not state.cause  # streaming: at most a replay in flight
    before = reports.metric_values(WINDOW, NAMES)
    assert before["attempts"] == _raw_attempts(admin_engine)

    standby = create_engine(replica.url)
    try:
        wait_for_replay(admin_engine, replica.url)  # up to the check above (a commit: its heartbeat)
        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        ids = _pipeline_writes(admin_engine, 3)
        _fresh(db)
        fresh = catalog.freshness(db)  # folds the change log, on the primary
        assert fresh.live, fresh.cause
        with admin_engine.connect() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.genlens_changes")).scalar() == 0
            folded = conn.execute(
                text(f"SELECT count(*) FROM {SCHEMA}.genlens_facts WHERE generation_id = ANY (CAST(:g AS uuid[]))"),
                {"g": ids},
            ).scalar()
        assert folded == 3
        # pages still show the paused replica's figures, and say how far behind it is
        assert reports.metric_values(WINDOW, NAMES) == before
        time.sleep(1.2)
        _fresh(db)
        state = replica_state(db)
        assert state.usable and state.lag_s >= 1.0 and "paused" in state.cause
        with admin_engine.connect() as conn:
            primary_now = conn.execute(text("SELECT now()")).scalar()
        assert catalog.freshness(db).as_of <= primary_now - timedelta(seconds=1)
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception
        side = _sidebar(at)
        assert "Pages read the replica" in side and "behind the primary" in side and "paused" in side
        # writes a page makes go to the primary: new error groups are saved there
        groups = compute(db)
        assert groups.saved and "failed" not in groups.cause

        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        wait_for_replay(admin_engine, replica.url)
    finally:
        standby.dispose()
    _fresh(db)
    after = reports.metric_values(WINDOW, NAMES)
    assert after["attempts"] == before["attempts"] + 3 == _raw_attempts(admin_engine)
    assert after["generations"] == before["generations"] + 3
    assert replica_state(db).lag_s < 1.0
    from data_access.refresh import status

    assert f"pages read the replica {db.reader_label}, current with the primary" in status(db)


def test_the_export_cli_reads_the_replica_and_audits_on_the_primary(replicated, admin_engine, capsys):
    from queries import export

    since, until = WINDOW.since.date().isoformat(), WINDOW.until.date().isoformat()
    assert export.main(["attempts", "--since", since, "--until", until]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) - 1 == _raw_attempts(admin_engine)


def test_a_replica_that_is_down_leaves_pages_on_the_primary_and_says_so(replicated, replica, admin_engine):
    from data_access.engine import read_only, replica_state
    from queries import reports

    db = replicated
    replica.stop()
    try:
        _fresh(db)
        state = replica_state(db)
        assert not state.usable and "cannot be reached" in state.cause
        with read_only(db) as conn:
            assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
        assert reports.metric_values(WINDOW, NAMES)["attempts"] == _raw_attempts(admin_engine)
        at = AppTest.from_file(APP, default_timeout=60)
        at.run()
        assert not at.exception
        assert "the read replica cannot be reached" in _sidebar(at)
        assert "Figures are live" in _sidebar(at)
        from data_access.refresh import status

        assert "the read replica cannot be reached" in status(db)
    finally:
        replica.start()


def test_a_query_the_replica_cancels_gets_its_true_cause(replicated, replica, admin_engine):
    """A standby cancels a query holding what replay must change (here a lock, with no grace):
    the page says so and how to avoid it, not "took longer than the time limit"."""
    import threading

    from data_access.engine import read_only
    from ui.guard import explain

    db = replicated
    with admin_engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {SCHEMA}.scratch (x int)"))
    standby = create_engine(replica.url, isolation_level="AUTOCOMMIT")
    try:
        with standby.connect() as conn:
            conn.execute(text("ALTER SYSTEM SET max_standby_streaming_delay = 0"))
            conn.execute(text("SELECT pg_reload_conf()"))
        wait_for_replay(admin_engine, replica.url)
        caught: list[BaseException] = []

        def read() -> None:
            try:
                with read_only(db) as conn:
                    conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.scratch, pg_sleep(10)"))
            except Exception as exc:  # noqa: BLE001 - what the page would get
                caught.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(1.0)
        with admin_engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {SCHEMA}.scratch"))  # replay needs that table's lock
        reader.join(30)
        assert caught, "the replica did not cancel the query"
        headline, checks = explain(caught[0])
        assert headline == "The read replica cancelled the query to replay the primary's changes."
        assert any("hot_standby_feedback" in c for c in checks)
    finally:
        with standby.connect() as conn:
            conn.execute(text("ALTER SYSTEM RESET max_standby_streaming_delay"))
            conn.execute(text("SELECT pg_reload_conf()"))
        standby.dispose()
