"""Database faults and least privilege: each case has a clear outcome on the page, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from streamlit.testing.v1 import AppTest

from data_access import demo_data, embedded
from data_access.engine import get_database
from data_access.migrate import apply_migrations, run_script

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = [
    "pages/reliability.py",
    "pages/cost_quality.py",
    "pages/errors.py",
    "pages/explorer.py",
    "pages/generation.py",
    "pages/reports.py",
]


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["since"] = "2026-10-21"
    at.query_params["until"] = "2026-11-21"
    return at


def _reset():
    if get_database.cache_info().currsize:
        get_database().engine.dispose()
    get_database.cache_clear()
    st.cache_data.clear()


def _errors(at) -> str:
    return " ".join(e.value for e in at.error) + " " + " ".join(m.value for m in at.markdown)


@pytest.fixture
def fresh(monkeypatch):
    _reset()
    yield monkeypatch
    _reset()


def test_unreachable_database_shows_what_to_check(fresh):
    fresh.setenv("DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/nothing")
    at = _app()
    at.run()
    assert not at.exception
    shown = _errors(at)
    assert "cannot be reached" in shown and "DATABASE_URL" in shown
    assert "hunter2" not in shown


def test_bad_schema_setting_is_refused_with_its_reason(fresh, pg_url):
    fresh.setenv("DATABASE_URL", pg_url)
    fresh.setenv("GENLENS_SCHEMA", "public; drop table x")
    at = _app()
    at.run()
    assert not at.exception
    assert "GENLENS_SCHEMA must be a plain lower-case identifier" in _errors(at)


def test_missing_table_says_how_to_create_it(fresh, pg_url):
    fresh.setenv("DATABASE_URL", pg_url)
    fresh.setenv("GENLENS_SCHEMA", "no_such_schema")
    at = _app()
    at.run()
    assert not at.exception
    assert "generations table was not found" in _errors(at)


def test_query_past_the_timeout_asks_to_narrow_the_window(demo_db, monkeypatch):
    monkeypatch.setenv("GENLENS_QUERY_TIMEOUT_MS", "1")
    _reset()
    at = _app()
    at.run()
    assert not at.exception
    assert "Narrow the window" in _errors(at)


def test_pool_exhausted_says_connections_are_busy(demo_db, monkeypatch):
    monkeypatch.setenv("GENLENS_POOL_SIZE", "1")
    monkeypatch.setenv("GENLENS_POOL_TIMEOUT_S", "1")
    _reset()
    held = get_database().engine.connect()  # the only connection, held by "another session"
    try:
        at = _app()
        at.run()
        assert not at.exception
        assert "connections are busy" in _errors(at)
    finally:
        held.close()
    st.cache_data.clear()
    at.run()  # once the connection is back, the page works again
    assert not at.exception and any(m.label == "Generations" for m in at.metric)


def test_database_restart_recovers_on_the_next_rerun(tmp_path, fresh):
    pgdata = tmp_path / "restart"
    url = embedded.start(pgdata)
    try:
        engine = create_engine(url)
        apply_migrations(engine, "public")
        from tests.conftest import DEMO_END

        demo_data.load(engine, "public", 300, days=60, seed=1, end=DEMO_END)
        engine.dispose()
        fresh.setenv("DATABASE_URL", url)
        fresh.setenv("GENLENS_SCHEMA", "public")
        at = _app()
        at.run()
        assert not at.exception and any(m.label == "Generations" for m in at.metric)

        embedded.stop(pgdata)  # the server goes away while the page is open
        st.cache_data.clear()
        at.run()
        assert not at.exception
        assert "cannot be reached" in _errors(at)

        assert embedded.start(pgdata) == url  # back, same socket
        st.cache_data.clear()
        at.run()  # same process, same engine: pre-ping replaces the dead connections
        assert not at.exception and any(m.label == "Generations" for m in at.metric)
    finally:
        _reset()
        embedded.stop(pgdata)


@pytest.fixture
def reader_url(pg_url, admin_engine, demo_db):
    """docs/security.sql applied to the demo schema; the URL of its read-only role."""
    sql = (ROOT / "docs" / "security.sql").read_text()
    with admin_engine.begin() as conn:
        conn.execute(text("SET LOCAL search_path TO demo"))
        run_script(conn, sql)
    return make_url(pg_url).set(username="genlens_reader", password=None).render_as_string(hide_password=False)


def test_read_only_role_cannot_write(reader_url):
    engine = create_engine(reader_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM demo.generations")).scalar() > 0
            with pytest.raises(DBAPIError, match="read-only transaction|permission denied"):
                conn.execute(text("UPDATE demo.generations SET status = 'failed'"))
    finally:
        engine.dispose()


def test_dashboard_works_with_the_read_only_role(reader_url, monkeypatch):
    # The reader's sessions default to read-only, like a hot-standby replica: the tour must not care.
    monkeypatch.setenv("DATABASE_URL", reader_url)
    monkeypatch.setenv("GENLENS_SCHEMA", "demo")
    _reset()
    at = _app()
    at.run()
    assert not at.exception and not at.error
    assert any(m.label == "Generations" and m.value not in ("0", "–") for m in at.metric)
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, page
        assert not at.error, (page, [e.value for e in at.error])
    # ... and the grants let it read the facts table and the rollups (not the raw fallback)
    from datetime import UTC, datetime

    from data_access.engine import get_database
    from data_access.facts import facts_relation
    from metrics import planner
    from queries.filters import Filters

    db = get_database()
    assert facts_relation(db)
    from data_access.facts import ROLLUPS

    month = Filters(since=datetime(2026, 10, 1, tzinfo=UTC), until=datetime(2026, 11, 1, tzinfo=UTC))
    assert planner.rollup_answers(month, ROLLUPS, generations=True)  # security.sql grants every rollup
    _reset()


def test_the_read_only_role_folds_writes_into_the_facts_and_nothing_else(reader_url, admin_engine, monkeypatch):
    """A pipeline's write lands in the change log; the dashboard's read-only role folds it (the one
    write genlens_fold makes as its owner) and reads it from the facts at once; it still cannot
    write the change log or the facts itself."""
    from datetime import UTC, datetime, timedelta

    from data_access.engine import get_database
    from data_access.facts import facts_relation, forget_facts, freshness
    from metrics import planner
    from queries.filters import Filters

    monkeypatch.setenv("DATABASE_URL", reader_url)
    monkeypatch.setenv("GENLENS_SCHEMA", "demo")
    _reset()
    db = get_database()
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    day = Filters(since=at.replace(hour=0), until=at.replace(hour=0) + timedelta(days=1))
    gid = "44444444-4444-4444-8444-444444444444"
    try:
        assert facts_relation(db)
        before = planner.row(day, ["attempts"])["attempts"]
        with admin_engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO demo.generations (generation_id, attempt_number, status, model_used, prompt,"
                    " user_id, created_at) VALUES (:g, 1, 'pending', 'm', 'p', :g, :at)"
                ),
                {"g": gid, "at": at},
            )
        forget_facts(db)
        assert facts_relation(db)  # folded by the reader
        fresh = freshness(db)
        # folded by the reader's role: this check, or the app's folding thread on the same database
        assert fresh.live and fresh.behind == 0
        with planner.only("facts"):
            assert planner.row(day, ["attempts"])["attempts"] == before + 1
        engine = create_engine(reader_url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SET TRANSACTION READ WRITE"))
                with pytest.raises(DBAPIError, match="permission denied"):
                    conn.execute(text("DELETE FROM demo.genlens_changes"))
        finally:
            engine.dispose()
    finally:
        with admin_engine.begin() as conn:
            conn.execute(text("DELETE FROM demo.generations WHERE generation_id = :g"), {"g": gid})
            conn.execute(text("SELECT demo.genlens_fold()"))
        _reset()
