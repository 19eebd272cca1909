"""Configuration, engine, migrations, demo data and the embedded first start, on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from data_access import demo_data
from data_access.config import ConfigError, _secrets_url, load_settings, validate_schema
from data_access.engine import connect_args_for, describe_url, normalize_url, read_only
from data_access.migrate import apply_migrations, migration_files, run_script
from queries.signatures import signature


def test_urls_accept_both_prefixes_and_hide_the_password():
    assert normalize_url("postgresql://u:p@h:5432/db") == "postgresql+psycopg://u:p@h:5432/db"
    assert normalize_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    shown = describe_url("postgresql://postgres:s3cret@db.example.supabase.co:6543/postgres")
    assert shown == "db.example.supabase.co:6543/postgres" and "s3cret" not in shown
    assert describe_url("postgresql://postgres:@/postgres?host=/tmp/sock") == "/tmp/sock/postgres"


def test_pooler_port_turns_prepared_statements_off():
    assert connect_args_for("postgresql://u:p@pooler.example.com:6543/postgres")["prepare_threshold"] is None
    assert "prepare_threshold" not in connect_args_for("postgresql://u:p@db.example.com:5432/postgres")


def test_settings_validate_schema_and_numbers(monkeypatch):
    monkeypatch.setenv("GENLENS_SCHEMA", "tales")
    monkeypatch.setenv("GENLENS_QUERY_TIMEOUT_MS", "2500")
    s = load_settings()
    assert (s.schema, s.query_timeout_ms, s.stale_pending_minutes) == ("tales", 2500, 15)
    for bad in ('public"; drop table x; --', "Tales", "", "a b"):
        with pytest.raises(ConfigError):
            validate_schema(bad)
    monkeypatch.setenv("GENLENS_QUERY_TIMEOUT_MS", "soon")
    with pytest.raises(ConfigError, match="GENLENS_QUERY_TIMEOUT_MS"):
        load_settings()


def test_secrets_toml_url(tmp_path):
    f = tmp_path / "secrets.toml"
    f.write_text('[connections.genlens]\nurl = "postgresql://u:p@h/db"\n')
    assert _secrets_url(f) == "postgresql://u:p@h/db"
    f.write_text("not = [toml")
    with pytest.raises(ConfigError, match="secrets.toml"):
        _secrets_url(f)


def test_migrations_are_idempotent_and_recorded(admin_engine):
    schema = "mig_test"
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    first = apply_migrations(admin_engine, schema)
    assert first == [p.name for p in migration_files()]
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO {schema}.generations (generation_id, attempt_number, model_used, prompt, user_id)"
                " VALUES (gen_random_uuid(), 1, 'm', 'p', gen_random_uuid())"
            )
        )
    assert apply_migrations(admin_engine, schema) == []
    # Running the SQL itself again (as `supabase db push` might) changes nothing and keeps the data.
    with admin_engine.begin() as conn:
        conn.execute(text(f"SET LOCAL search_path TO {schema}"))
        for p in migration_files():
            run_script(conn, p.read_text())
    with admin_engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {schema}.generations")).scalar() == 1
        ledger = conn.execute(text(f"SELECT count(*) FROM {schema}.genlens_schema_migrations")).scalar()
        assert ledger == len(migration_files())
        rls = conn.execute(
            text("SELECT relrowsecurity FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": f"{schema}.generations"}
        ).scalar()
        assert rls is True
        idx = {
            r[0] for r in conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = :s"), {"s": schema})
        }
        assert {"idx_generations_created_at", "idx_generations_metadata", "idx_generations_model_created_at"} <= idx
        # the facts migrations ran again in order: the rollup holds the row, with today's columns
        rollup = conn.execute(
            text(f"SELECT first_model, attempts, gens, mgens FROM {schema}.genlens_rollup WHERE attempts <> 0")
        )
        assert [tuple(r) for r in rollup] == [("m", 1, 1, 1)]
        # ... and the facts row has the newest columns (the earlier files' functions leave them out)
        facts = conn.execute(text(f"SELECT m_gen_attempts, m_final FROM {schema}.genlens_facts"))
        assert [tuple(r) for r in facts] == [(1, True)]
        # Plain PostgreSQL has no auth schema: no Supabase policies were created.
        n = conn.execute(text("SELECT count(*) FROM pg_policies WHERE schemaname = :s"), {"s": schema}).scalar()
        assert n == 0
        cols = (
            conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = 'generations' ORDER BY ordinal_position"
                ),
                {"s": schema},
            )
            .scalars()
            .all()
        )
    assert cols == [
        "generation_id",
        "attempt_number",
        "status",
        "model_used",
        "prompt",
        "user_id",
        "story_type",
        "story_length",
        "hero_appearance",
        "relationship_description",
        "moral",
        "error_message",
        "full_response",
        "generation_metadata",
        "created_at",
        "completed_at",
    ]


def test_supabase_policies_where_auth_exists(admin_engine):
    schema = "mig_supabase"
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text("CREATE SCHEMA IF NOT EXISTS auth"))
        conn.execute(
            text("CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS 'SELECT NULL::uuid'")
        )
        for role in ("service_role", "authenticated"):
            conn.execute(
                text(f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            )
    try:
        apply_migrations(admin_engine, schema)
        with admin_engine.connect() as conn:
            names = set(
                conn.execute(text("SELECT policyname FROM pg_policies WHERE schemaname = :s"), {"s": schema}).scalars()
            )
        assert names == {"Service role has full access", "Users can view own generations"}
    finally:
        with admin_engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text("DROP SCHEMA auth CASCADE"))


def test_page_transactions_are_read_only_and_timed(demo_db, monkeypatch):
    with pytest.raises(DBAPIError, match="read-only transaction"):
        with read_only(demo_db) as conn:
            conn.execute(text("DELETE FROM demo.generations"))
    from dataclasses import replace

    fast = replace(demo_db, settings=replace(demo_db.settings, query_timeout_ms=200))
    with pytest.raises(DBAPIError, match="statement timeout"):
        with read_only(fast) as conn:
            conn.execute(text("SELECT pg_sleep(2)"))


END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_demo_data_is_deterministic_for_a_seed():
    a = list(demo_data.generate_rows(300, 10, 3, END))
    b = list(demo_data.generate_rows(300, 10, 3, END))
    c = list(demo_data.generate_rows(300, 10, 4, END))
    assert a == b and a != c


def test_demo_data_is_realistic():
    rows = [line.rstrip("\n").split("\t") for line in demo_data.generate_rows(6000, 60, 7, END)]
    models = {r[3] for r in rows}
    assert len(models) >= 5
    by_model = {m: [r[2] for r in rows if r[3] == m] for m in models}
    fail_rates = sorted(round(s.count("failed") / len(s), 3) for s in by_model.values())
    assert len(set(fail_rates)) == len(fail_rates) and fail_rates[-1] > 2 * fail_rates[0]
    assert max(int(r[1]) for r in rows) == 4
    errors = [r[11] for r in rows if r[2] in ("failed", "timeout")]
    assert all(e != "\\N" for e in errors)
    assert len(set(errors)) > len(errors) / 3  # variable parts: ids, seconds, positions
    assert len({signature(e) for e in errors}) >= 12
    metas = [r[13] for r in rows]
    assert any(m == "\\N" for m in metas) and any(m.startswith("[") for m in metas)
    assert any('"test_run_id"' in m for m in metas)
    assert any('"sections_similarity"' in m and '"retry_count"' in m for m in metas)
    assert sum(1 for r in rows if r[2] == "pending") >= 1
    # Retries are seconds apart, after the previous attempt completed.
    by_gen: dict[str, list] = {}
    for r in rows:
        by_gen.setdefault(r[0], []).append(r)
    gaps = []
    for attempts in by_gen.values():
        for prev, nxt in zip(attempts, attempts[1:], strict=False):
            gap = datetime.fromisoformat(nxt[14]) - datetime.fromisoformat(prev[15])
            gaps.append(gap.total_seconds())
    assert gaps and min(gaps) >= 2 and max(gaps) < 60


def test_embedded_first_start_loads_demo_once(tmp_path, monkeypatch):
    from data_access import embedded
    from data_access.engine import get_database

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("data_access.config._secrets_url", lambda path=None: None)
    monkeypatch.setenv("GENLENS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GENLENS_SCHEMA", "public")
    monkeypatch.setattr("data_access.bootstrap.FIRST_START_GENERATIONS", 500)
    get_database.cache_clear()
    try:
        db = get_database()
        assert db.settings.embedded and db.label == "embedded demo database"
        with db.engine.connect() as conn:
            n = conn.execute(text("SELECT count(DISTINCT generation_id) FROM public.generations")).scalar()
        assert n == 500
        get_database().engine.dispose()
        get_database.cache_clear()
        db = get_database()  # second start: same data, nothing loaded again
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(DISTINCT generation_id) FROM public.generations")).scalar() == 500
    finally:
        if get_database.cache_info().currsize:
            get_database().engine.dispose()
        get_database.cache_clear()
        embedded.stop(tmp_path / "pg")
