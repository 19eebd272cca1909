"""The derived tables' migrations (metrics/derived.py): applied files never change, the newest delta
is the generator's output, and it brings a database of the full script to today's shape, on real
PostgreSQL: fresh, upgraded with rows in it, run twice, and next to a database without GenLens'
derived tables."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from data_access import facts as facts_mod
from data_access.migrate import apply_migrations, migration_files, run_script
from metrics import derived, registry
from tests.conftest import ROOT
from tests.rollups import fold, rollup_snapshot

MIGRATIONS = ROOT / "supabase" / "migrations"
# Applied files never change. To ship the next delta: add the current NEWEST_DELTA here with its
# sha256, write the new file with `python -m metrics.derived delta > ...` and name it below.
PINNED_MIGRATIONS = {
    "20260101000000_create_generations.sql": "73e1c7f3e7c1681faa00ab5f5794ffe9143e1a63229ab00ec55af5b3215a88b2",
    "20260102000000_create_genlens_audit.sql": "e71cd0261cfc2f930d15b01f504866f7a6e1a7c332219a366fb0f34d66c90a60",
    "20260103000000_scope_index.sql": "b9773fb3e3b979109c6bd283559eb1f4177e0f26d3dd9da5a63b43f284714fb5",
    "20260104000000_genlens_facts.sql": "9043c5bf042526f5347ded46f6366c65dd7f2422c2ea077ffd65abac15adf123",
    "20260105000000_genlens_rollups.sql": "cf769b05df25ea1f9a7093ef65ac2bcd3b990ab735d0c80d87971f9aba3217c3",
    # the full script, frozen (python -m metrics.derived no longer prints exactly this)
    "20260106000000_genlens_model_facts.sql": "efdcb888ddb49bd4543f8cc7922fab3a04158a96a1b5a1deb71cadc4c9d5ffd6",
    "20260107000000_genlens_rollup_value_counts.sql": "e52b3c76449e170a4941e0924d4052ad59f16911e74b5ab50a805f8faeca9c5a",
    "20260108000000_genlens_change_log.sql": "34b5b11e54076ad0125525ad2a7a6b9dcf42b0427c5ad3698bd49487379b6222",
    "20260109000000_genlens_search_text.sql": "465bb3777ccd00d1010df6a0ad06cd2c7927bfeed0dd2566b6c26b717f8c7d3f",
    # hand-written: the audit trail records marks on error groups
    "20260109500000_genlens_audit_error_marks.sql": "8698a3d4f809613a7294caa99554caf10e82ac56efd6e0df02076a3b99d6526a",
    "20260110000000_genlens_error_groups.sql": "30811dcfa6cffddcf3264d05ffb47a6308804d1c45ee31701b189a34ded4c840",
    "20260111000000_genlens_scoped_value_indexes.sql": "27f488274be6571912d1955903b763a01f24f33cac71384410e269424fa55968",
}
NEWEST_DELTA = "20260112000000_genlens_text_index_per_schema.sql"
# the delta that added the value columns (the tests below migrate a database up to it)
VALUE_DELTA = "20260107000000_genlens_rollup_value_counts.sql"
NEW_COLUMNS = ("tokens_n", "duration_sum", "latency_n")
# the pure generations' sums (20260108)
PURE_COLUMNS = ("pgens", "pgens_first_success", "pgens_first_terminal", "pgens_retried", "pattempts")
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def test_applied_migrations_never_change():
    names = [p.name for p in migration_files()]
    assert names[-1] == NEWEST_DELTA, "a newer migration: pin NEWEST_DELTA in PINNED_MIGRATIONS, name the new one"
    for name in names[:-1]:
        assert name in PINNED_MIGRATIONS, f"pin {name} (applied files never change)"
        digest = hashlib.sha256((MIGRATIONS / name).read_bytes()).hexdigest()
        assert digest == PINNED_MIGRATIONS[name], f"{name} changed; ship the change as a new delta instead"


def test_the_newest_delta_is_the_generated_sql(capsys):
    path = MIGRATIONS / NEWEST_DELTA
    assert path.read_text() == derived.delta_sql(), f"run: python -m metrics.derived delta > {path}"
    assert derived.main(["delta"]) == 0
    assert capsys.readouterr().out == path.read_text()
    assert derived.main(["bogus"]) == 2


def test_the_rollup_keeps_a_sum_and_a_count_of_every_value():
    assert derived.ROLLUP_VALUE_COLUMNS == {
        "cost_usd": ("cost_usd", "cost_n"),
        "tokens": ("tokens", "tokens_n"),
        "duration_ms": ("duration_sum", "duration_n"),
        "quality": ("quality_sum", "quality_n"),
        "latency_ms": ("latency_sum", "latency_n"),
    }
    assert set(derived.ROLLUP_VALUE_COLUMNS) == set(registry.VALUES)
    sums = dict(derived.ROLLUP_SUMS)
    for value, (total, n) in derived.ROLLUP_VALUE_COLUMNS.items():
        x = value if registry.VALUES[value].numeric else f"CAST({value} AS numeric)"
        assert sums[total] == f"COALESCE(sum({x}), 0)"
        assert sums[n] == f"count({value})"
        assert total in derived.ROLLUP_NUMERIC and n not in derived.ROLLUP_NUMERIC
    d = derived.delta()
    assert [c for c, _ in d.rollup_columns] == [*NEW_COLUMNS, *PURE_COLUMNS]
    assert d.facts_columns == (("pure", "boolean"),) and d.refacts and d.rerollup
    assert d.functions == (
        "genlens_facts_sync",
        "genlens_fold",
        "genlens_pending",
        "genlens_rollup_rebuild",
        "genlens_facts_rebuild",
        "genlens_facts_on_truncate",
        "genlens_facts_on_insert",
        "genlens_facts_on_update",
        "genlens_facts_on_delete",
    )


def test_a_delta_refuses_what_it_cannot_ship(monkeypatch):
    monkeypatch.setattr(derived, "ROLLUP_SUMS", [s for s in derived.ROLLUP_SUMS if s[0] != "cost_n"])
    with pytest.raises(NotImplementedError, match="cost_n removed"):
        derived.delta_sql()
    monkeypatch.undo()
    monkeypatch.setattr(derived, "ROLLUP_KEY", (*derived.ROLLUP_KEY, "user_id"))
    with pytest.raises(NotImplementedError, match="key changed"):
        derived.delta_sql()


# --- on PostgreSQL -------------------------------------------------------------------------------


def _drop(admin_engine, *schemas: str) -> None:
    with admin_engine.begin() as conn:
        for s in schemas:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {s} CASCADE"))


def _from(first: str) -> list[str]:
    """The migration files from `first` on, in order (what a database older than it applies)."""
    return [p.name for p in migration_files() if p.name >= first]


def _migrate_until(admin_engine, schema: str, monkeypatch, before: str) -> None:
    """`schema` with the migration files older than `before` only."""
    files = migration_files()
    with monkeypatch.context() as m:
        m.setattr("data_access.schema.migration_files", lambda: [p for p in files if p.name < before])
        apply_migrations(admin_engine, schema)


def _columns(admin_engine, schema: str, table: str) -> dict[str, tuple]:
    with admin_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
                " WHERE table_schema = :s AND table_name = :t"
            ),
            {"s": schema, "t": table},
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def _value_sums(admin_engine, schema: str) -> tuple[list, list]:
    """Per (scope day, model, status): every value's sum and count from the rollup, and straight
    from the facts rows."""
    cols = [c for pair in derived.ROLLUP_VALUE_COLUMNS.values() for c in pair]
    rollup = ", ".join(f"sum({c})" for c in cols)
    facts = ", ".join(
        f"COALESCE(sum({v if registry.VALUES[v].numeric else f'CAST({v} AS numeric)'}), 0), count({v})"
        for v in derived.ROLLUP_VALUE_COLUMNS
    )
    fold(admin_engine, schema)
    with admin_engine.connect() as conn:
        from_rollup = conn.execute(
            text(
                f"SELECT scope_day, model_used, status, {rollup} FROM {schema}.genlens_rollup"
                " GROUP BY 1, 2, 3 HAVING sum(attempts) <> 0 ORDER BY 1, 2, 3"
            )
        ).all()
        from_facts = conn.execute(
            text(
                f"SELECT CAST(scope_at AT TIME ZONE 'UTC' AS date), model_used, status, {facts}"
                f" FROM {schema}.genlens_facts GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
            )
        ).all()
    return [tuple(r) for r in from_rollup], [tuple(r) for r in from_facts]


def _writes(admin_engine, schema: str) -> None:
    """A mix of writes through the triggers: values appear, change and disappear."""
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                f"UPDATE {schema}.generations SET status = 'success', completed_at = created_at + interval '7 s'"
                " WHERE status = 'failed' AND attempt_number = 1 AND created_at < :t"
            ),
            {"t": T0 - timedelta(days=5)},
        )
        conn.execute(text(f"DELETE FROM {schema}.generations WHERE attempt_number = 2 AND status = 'timeout'"))
        conn.execute(
            text(
                f"UPDATE {schema}.generations SET generation_metadata = '{{}}'"
                f" WHERE generation_id IN (SELECT generation_id FROM {schema}.generations ORDER BY 1 LIMIT 7)"
            )
        )
        conn.execute(
            text(
                f"UPDATE {schema}.generations"
                " SET generation_metadata = jsonb_build_object('total_tokens', 1234, 'duration_ms', 4321.5)"
                f" WHERE generation_id IN (SELECT generation_id FROM {schema}.generations ORDER BY 1 DESC LIMIT 5)"
            )
        )


def _rebuild(admin_engine, schema: str) -> None:
    with admin_engine.begin() as conn:
        conn.execute(text(f"SELECT {schema}.genlens_facts_rebuild()"))


def _run(admin_engine, schema: str, sql: str) -> None:
    with admin_engine.begin() as conn:
        conn.execute(text(f"SET LOCAL search_path TO {schema}, public"))
        run_script(conn, sql)


def test_a_fresh_database_has_the_value_columns_and_keeps_them_on_every_write(admin_engine, monkeypatch):
    """All files on an empty schema: the new columns, kept by the triggers' deltas equal to a
    rebuild and to the facts rows; and the same tables and functions as the full script today."""
    from data_access import demo_data

    schema, full = "delta_fresh", "delta_full"
    _drop(admin_engine, schema, full)
    try:
        apply_migrations(admin_engine, schema)
        columns = _columns(admin_engine, schema, facts_mod.ROLLUP)
        assert {c: columns[c][:3] for c in NEW_COLUMNS} == {
            "tokens_n": ("bigint", "NO", "0"),
            "duration_sum": ("numeric", "NO", "0"),
            "latency_n": ("bigint", "NO", "0"),
        }
        demo_data.load(admin_engine, schema, 300, days=10, seed=5, end=T0)
        _writes(admin_engine, schema)
        incremental = rollup_snapshot(admin_engine, schema)
        from_rollup, from_facts = _value_sums(admin_engine, schema)
        assert from_rollup == from_facts and len(from_rollup) > 10
        totals = [sum(r[i] for r in from_rollup) for i in range(3, 3 + 2 * len(registry.VALUES))]
        assert all(totals), "every value known somewhere"
        _rebuild(admin_engine, schema)
        assert rollup_snapshot(admin_engine, schema) == incremental

        # a fresh install with today's full script gives the same tables and functions
        _migrate_until(admin_engine, full, monkeypatch, "20260104")
        _run(admin_engine, full, derived.migration_sql())
        # (types and nullability: columns an older file created have no DEFAULT, which no insert needs)
        for table in (facts_mod.TABLE, f"{facts_mod.TABLE}_broken", *facts_mod.ROLLUPS):
            shape = {c: t[:2] for c, t in _columns(admin_engine, schema, table).items()}
            assert {c: t[:2] for c, t in _columns(admin_engine, full, table).items()} == shape, table
        with admin_engine.connect() as conn:
            q = text(
                "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = :s AND p.proname LIKE 'genlens%' ORDER BY 1"
            )
            functions = conn.execute(q, {"s": schema}).all()
            assert conn.execute(q, {"s": full}).all() == functions
            assert {f for f, _ in functions} == set(derived.functions())
    finally:
        _drop(admin_engine, schema, full)


def test_a_database_of_the_full_script_with_rows_gets_the_columns_filled(admin_engine, monkeypatch):
    """Migrated up to 0106 with rows in it (a reader granted the rollup), then to the end: the new
    columns hold what the facts rows say, equal to a rebuild; the reader may read them; later
    writes keep them."""
    from data_access import demo_data

    schema = "delta_upgrade"
    _drop(admin_engine, schema)
    with admin_engine.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS delta_reader"))
        conn.execute(text("CREATE ROLE delta_reader"))
    try:
        _migrate_until(admin_engine, schema, monkeypatch, VALUE_DELTA)
        assert not set(NEW_COLUMNS) & set(_columns(admin_engine, schema, facts_mod.ROLLUP))
        demo_data.load(admin_engine, schema, 300, days=10, seed=3, end=T0)
        _writes(admin_engine, schema)
        with admin_engine.begin() as conn:
            conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO delta_reader"))
            conn.execute(text(f"GRANT SELECT ON {schema}.genlens_rollup TO delta_reader"))
        assert apply_migrations(admin_engine, schema) == _from(VALUE_DELTA)
        assert set(NEW_COLUMNS) <= set(_columns(admin_engine, schema, facts_mod.ROLLUP))
        with admin_engine.connect() as conn:
            rollup = conn.execute(
                text(f"SELECT sum(tokens_n), sum(duration_sum), sum(latency_n) FROM {schema}.genlens_rollup")
            ).one()
            facts = conn.execute(
                text(
                    "SELECT count(tokens), COALESCE(sum(duration_ms), 0), count(latency_ms)"
                    f" FROM {schema}.genlens_facts"
                )
            ).one()
            assert tuple(rollup) == tuple(facts) and all(facts)
            for c in NEW_COLUMNS:
                assert conn.execute(
                    text("SELECT has_column_privilege('delta_reader', :t, :c, 'SELECT')"),
                    {"t": f"{schema}.genlens_rollup", "c": c},
                ).scalar(), c
        from_rollup, from_facts = _value_sums(admin_engine, schema)
        assert from_rollup == from_facts
        upgraded = rollup_snapshot(admin_engine, schema)
        _rebuild(admin_engine, schema)
        assert rollup_snapshot(admin_engine, schema) == upgraded
        # the triggers now keep the new columns too
        _writes(admin_engine, schema)
        with admin_engine.begin() as conn:
            conn.execute(text(f"DELETE FROM {schema}.generations WHERE attempt_number = 1 AND status = 'success'"))
        after = rollup_snapshot(admin_engine, schema)
        from_rollup, from_facts = _value_sums(admin_engine, schema)
        assert from_rollup == from_facts
        _rebuild(admin_engine, schema)
        assert rollup_snapshot(admin_engine, schema) == after
    finally:
        _drop(admin_engine, schema)
        with admin_engine.begin() as conn:
            conn.execute(text("DROP OWNED BY delta_reader"))
            conn.execute(text("DROP ROLE delta_reader"))


def test_the_delta_twice_or_after_older_files_ran_again_is_harmless(admin_engine):
    """The delta again changes nothing; every file again in order (as `supabase db push` may: the
    full script's rebuild leaves the new columns at 0) ends with the delta filling them again."""
    from data_access import demo_data

    schema = "delta_twice"
    _drop(admin_engine, schema)
    try:
        apply_migrations(admin_engine, schema)
        demo_data.load(admin_engine, schema, 200, days=10, seed=9, end=T0)
        _writes(admin_engine, schema)
        before = rollup_snapshot(admin_engine, schema)
        _run(admin_engine, schema, derived.delta_sql())
        _run(admin_engine, schema, (MIGRATIONS / NEWEST_DELTA).read_text())
        assert rollup_snapshot(admin_engine, schema) == before
        _run(admin_engine, schema, (MIGRATIONS / "20260106000000_genlens_model_facts.sql").read_text())
        with admin_engine.connect() as conn:
            assert conn.execute(text(f"SELECT sum(tokens_n) FROM {schema}.genlens_rollup")).scalar() == 0
        for p in migration_files():
            _run(admin_engine, schema, p.read_text())
        assert rollup_snapshot(admin_engine, schema) == before
        from_rollup, from_facts = _value_sums(admin_engine, schema)
        assert from_rollup == from_facts
    finally:
        _drop(admin_engine, schema)


def _filenodes(admin_engine, schema: str) -> dict[str, int]:
    """The storage file of the facts table and of each rollup: a rebuild (TRUNCATE) changes it."""
    with admin_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_relation_filenode(c.oid) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = :s AND c.relkind = 'r' AND c.relname LIKE 'genlens\\_%'"
                " AND c.relname NOT LIKE 'genlens\\_audit%'"
            ),
            {"s": schema},
        ).all()
    return dict(rows)


def test_the_delta_rebuilds_only_what_an_earlier_version_built(admin_engine):
    """The newest delta on a database it already brought up to date rebuilds nothing (no table of
    the facts or rollups gets new storage), yet after the full script ran again (its own older
    derivation installed and rebuilt) the newest delta alone builds the facts and rollups again,
    equal to what they were."""
    from data_access import demo_data

    schema = "delta_rebuilds"
    _drop(admin_engine, schema)
    try:
        apply_migrations(admin_engine, schema)
        demo_data.load(admin_engine, schema, 200, days=10, seed=5, end=T0)
        _writes(admin_engine, schema)
        before = rollup_snapshot(admin_engine, schema)
        nodes = _filenodes(admin_engine, schema)
        assert {derived.TABLE, "genlens_rollup", "genlens_rollup_error"} <= set(nodes)
        _run(admin_engine, schema, (MIGRATIONS / NEWEST_DELTA).read_text())
        assert _filenodes(admin_engine, schema) == nodes
        assert rollup_snapshot(admin_engine, schema) == before
        _run(admin_engine, schema, (MIGRATIONS / derived.FULL_SCRIPT).read_text())
        rebuilt = _filenodes(admin_engine, schema)
        _run(admin_engine, schema, (MIGRATIONS / NEWEST_DELTA).read_text())
        after = _filenodes(admin_engine, schema)
        assert after[derived.TABLE] != rebuilt[derived.TABLE]  # built again by today's derivation
        assert rollup_snapshot(admin_engine, schema) == before
        from_rollup, from_facts = _value_sums(admin_engine, schema)
        assert from_rollup == from_facts
    finally:
        _drop(admin_engine, schema)


def test_the_delta_does_nothing_without_the_derived_tables(admin_engine):
    """A team's table without the canonical key (the full script installed nothing) and a schema
    without any GenLens table: the delta runs, creates nothing and fails nothing."""
    from tests import hostile

    loose, bare = "delta_loose", "delta_bare"
    _drop(admin_engine, loose, bare)
    try:
        hostile.create_loose_table(admin_engine, loose)
        assert NEWEST_DELTA in apply_migrations(admin_engine, loose)
        with admin_engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {bare}"))
        _run(admin_engine, bare, derived.delta_sql())
        tables = [facts_mod.TABLE, f"{facts_mod.TABLE}_broken", *facts_mod.ROLLUPS]
        with admin_engine.connect() as conn:
            for s in (loose, bare):
                found = conn.execute(
                    text(
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = :s AND c.relname = ANY (:t)"
                        " UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                        " WHERE n.nspname = :s AND p.proname = ANY (:f)"
                    ),
                    {"s": s, "t": tables, "f": list(derived.functions())},
                ).all()
                assert found == [], s
    finally:
        _drop(admin_engine, loose, bare)


def test_a_rollup_without_todays_columns_is_not_read_until_migrated(admin_engine, use_schema, monkeypatch):
    """The dashboard updated before the delta ran: the daily rollup lacks its new columns and the
    histograms their story type key, so the rollup sources leave them aside (the facts rows
    answer) until the migration runs."""
    from tests import conftest

    assert facts_mod.ROLLUP_LATEST_MARK in {c for c, _ in derived.delta().rollup_columns}
    schema = "delta_unread"
    _drop(admin_engine, schema)
    _migrate_until(admin_engine, schema, monkeypatch, VALUE_DELTA)
    conftest._loaded.add(schema)
    try:
        db = use_schema(schema)
        readable = facts_mod.readable_rollups(db)
        # the daily rollup, the histograms (no story type key yet) and the retries rollup (no pure
        # generations' keys yet) are left aside, the others read
        unread = {facts_mod.ROLLUP, facts_mod.ROLLUP_LATENCY, facts_mod.ROLLUP_ERROR, facts_mod.ROLLUP_RETRIES}
        assert not unread & readable
        assert facts_mod.ROLLUP_MODEL_RETRIES in readable
        assert apply_migrations(admin_engine, schema) == _from(VALUE_DELTA)
        facts_mod.forget_facts(db)
        assert facts_mod.readable_rollups(db) == frozenset(facts_mod.ROLLUPS)
    finally:
        conftest._loaded.discard(schema)
        _drop(admin_engine, schema)


def test_a_schema_gets_its_own_trigram_index_where_public_has_one(admin_engine):
    """The migrations run with search_path "<schema>, public": an index of that name in public (a
    GenLens there, for another app) must not stop this schema's own from being made."""
    schema = "trgm_scratch"
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text("CREATE TABLE public.idx_genlens_text_trgm (x int)"))  # what public may hold
    try:
        apply_migrations(admin_engine, schema)
        with admin_engine.connect() as conn:
            made = conn.execute(
                text(
                    "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:ix) AND indrelid = to_regclass(:t)"
                ),
                {"ix": f"{schema}.idx_genlens_text_trgm", "t": f"{schema}.genlens_text"},
            ).scalar()
        assert made is True
    finally:
        with admin_engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS public.idx_genlens_text_trgm"))
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
