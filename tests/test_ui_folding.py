"""The dashboard's folding thread: writes reach the facts while nobody reads."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import text


def test_the_folding_thread_folds_writes_while_nobody_reads(demo_db, admin_engine, monkeypatch):
    import streamlit as st

    from ui import data

    monkeypatch.setenv("GENLENS_FOLD_EVERY_MS", "100")
    st.cache_resource.clear()
    gid = "55555555-5555-4555-8555-555555555555"
    try:
        thread = data.start_folding()
        assert thread is not None and thread.is_alive()
        with admin_engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO demo.generations (generation_id, attempt_number, status, model_used, prompt,"
                    " user_id, created_at) VALUES (:g, 1, 'pending', 'm', 'p', :g, :at)"
                ),
                {"g": gid, "at": datetime(2026, 11, 20, 11, 0, tzinfo=UTC)},
            )
        for _ in range(100):  # no read here: only the thread folds
            with admin_engine.connect() as conn:
                n = conn.execute(text("SELECT count(*) FROM demo.genlens_facts WHERE generation_id = :g"), {"g": gid})
                if n.scalar():
                    break
            time.sleep(0.1)
        with admin_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM demo.genlens_changes")).scalar() == 0
            assert (
                conn.execute(
                    text("SELECT count(*) FROM demo.genlens_facts WHERE generation_id = :g"), {"g": gid}
                ).scalar()
                == 1
            )
    finally:
        monkeypatch.setenv("GENLENS_FOLD_EVERY_MS", "0")  # the thread stops at its next turn
        st.cache_resource.clear()
        thread.join(5)
        assert not thread.is_alive()
        with admin_engine.begin() as conn:
            conn.execute(text("DELETE FROM demo.generations WHERE generation_id = :g"), {"g": gid})
            conn.execute(text("SELECT demo.genlens_fold()"))


def test_no_thread_when_folding_is_off(monkeypatch):
    import streamlit as st

    from ui import data

    monkeypatch.setenv("GENLENS_FOLD_EVERY_MS", "0")
    st.cache_resource.clear()
    assert data.start_folding() is None
