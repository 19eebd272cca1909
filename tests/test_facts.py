"""The facts table (data_access/facts.py): same numbers as the raw attempts, kept current by its
triggers on every kind of write, never failing a write, and left aside whenever it is not usable."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from data_access import facts as facts_mod
from data_access.facts import ROLLUP, ROLLUP_ERROR, facts_relation, forget_facts
from metrics import derived, planner
from queries import cost_quality, data_quality, errors, explorer, reliability, reports
from queries.filters import Filters
from tests.conftest import DEMO_END, ROOT
from tests.rollups import fold, rollup_snapshot

# Whole UTC days (the rollups answer it) ...
DEMO_WINDOW = Filters(
    since=(DEMO_END - timedelta(days=30)).replace(hour=0), until=(DEMO_END + timedelta(days=1)).replace(hour=0)
)
# ... and one ending mid-day (the facts table answers it)
NOON = {"since": DEMO_END - timedelta(days=30), "until": DEMO_END}
WIDE = Filters(since=datetime(2020, 1, 1, tzinfo=UTC), until=datetime(2030, 1, 1, tzinfo=UTC))


def _queries(f: Filters) -> dict[str, object]:
    """Every query a page or report runs over the scope, by name -> a callable returning a frame."""
    out: dict[str, object] = {f"report:{name}": (lambda n=name: reports.fetch_report(n, f)) for name in reports.COLUMNS}
    out |= {
        "data_quality.issue_kinds": lambda: data_quality.metadata_issue_kinds(f),
        "errors.failure_summary": lambda: errors.failure_summary(f),
        "errors.signature_trends": lambda: errors.signature_trends(f),
        "errors.failure_share": lambda: errors.failure_share(f),
        "errors.new_signatures": lambda: errors.new_signatures(f),
        "reliability.rates_over_time": lambda: reliability.rates_over_time(f),
        "reliability.rates_by_model": lambda: reliability.rates_by(f, "model_used"),
        "reliability.rates_by_type": lambda: reliability.rates_by(f, "story_type"),
        "reliability.failed_attempt_cost": lambda: reliability.failed_attempt_cost(f),
        "reliability.phase_retries": lambda: reliability.phase_retries(f),
        # age_minutes moves with now(); the rows are what must agree
        "reliability.stale_pending": lambda: reliability.stale_pending(f, minutes=1).drop(columns="age_minutes"),
        "cost.by_model": lambda: cost_quality.by_model(f),
        "cost.by_day": lambda: cost_quality.cost_by_day(f),
        "cost.by_story_type": lambda: cost_quality.cost_by_story_type(f),
        "cost.phase_usage": lambda: cost_quality.phase_usage(f, per_model=True),
        "cost.phase_usage_total": lambda: cost_quality.phase_usage(f),
        "cost.quality_histogram": lambda: cost_quality.quality_histogram(f),
        "cost.quality_histogram_7": lambda: cost_quality.quality_histogram(f, bins=7),
        **{
            f"cost.outliers_{kind}": (lambda k=kind, v=limit: cost_quality.outliers(k, f, v))
            for kind, limit in (("expensive", 0.002), ("slow", 1000.0), ("low_quality", 0.8))
        },
        "cost.outlier_counts": lambda: pd.DataFrame([cost_quality.outlier_counts(f, cost_quality.Thresholds())]),
        "explorer.count": lambda: pd.DataFrame([{"n": explorer.explorer_count(f, explorer.ExplorerQuery())}]),
        "explorer.count_failed": lambda: pd.DataFrame(
            [{"n": explorer.explorer_count(explorer.with_statuses(f, ("failed", "timeout")), explorer.ExplorerQuery())}]
        ),
        "explorer.page": lambda: explorer.explorer_page(f, explorer.ExplorerQuery(), limit=40).rows,
        "explorer.page_by_cost": lambda: (
            explorer.explorer_page(f, explorer.ExplorerQuery(sort="cost_usd", descending=False), limit=40).rows
        ),
        "explorer.search": lambda: explorer.explorer_page(f, explorer.ExplorerQuery(text="a"), limit=40).rows,
    }
    return out


def _both_ways(db, monkeypatch, f: Filters) -> tuple[dict, dict]:
    # every write folded first (waiting for a fold another thread runs): pages may otherwise read
    # facts up to MAX_LAG_S behind generations, and this compares them exactly
    fold(db.engine, db.schema)
    assert facts_relation(db), "the facts table should be in use here"
    with_facts = {name: fn() for name, fn in _queries(f).items()}
    monkeypatch.setenv("GENLENS_FACTS", "0")
    from data_access.engine import get_database

    get_database().engine.dispose()
    get_database.cache_clear()
    raw_db = get_database()
    assert facts_relation(raw_db) == ""
    raw = {name: fn() for name, fn in _queries(f).items()}
    return with_facts, raw


def _same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        left, right = a[name], b[name]
        assert list(left.columns) == list(right.columns), name
        assert len(left) == len(right), name
        pd.testing.assert_frame_equal(
            left.reset_index(drop=True), right.reset_index(drop=True), check_dtype=False, obj=name, rtol=1e-12
        )


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"include_tests": True},
        {"models": ("openai/gpt-4o-mini", "deepseek/deepseek-chat")},
        {"models": ("openai/gpt-4o-mini",)},
        {"models": ("deepseek/deepseek-chat",), "include_tests": True},
        {"statuses": ("failed", "timeout")},
        {"types": ("hero",)},
        NOON,
        {**NOON, "include_tests": True},
    ],
    ids=["plain", "tests", "models", "model", "model-tests", "status", "type", "noon", "noon-tests"],
)
def test_every_query_gives_the_raw_numbers_on_demo_data(demo_db, monkeypatch, variant):
    f = replace(DEMO_WINDOW, **variant)
    # the daily rollup answers any model and story type filter over whole days, generation figures
    # included (the pure generations' sums and the others live); not a status filter or hours; so
    # does the error rollup (attempt counts), keyed by model and story type too
    daily = set(variant) <= {"include_tests", "models", "types"}
    assert planner.rollup_answers(f, (ROLLUP_ERROR,)) == daily
    assert planner.rollup_answers(f, (ROLLUP,)) == daily
    assert planner.rollup_answers(f, (ROLLUP,), generations=True) == daily
    with_facts, raw = _both_ways(demo_db, monkeypatch, f)
    assert len(with_facts["report:attempts"]) > 100
    _same(with_facts, raw)


def test_every_query_gives_the_raw_numbers_on_handmade_data(handmade_db, monkeypatch):
    with_facts, raw = _both_ways(handmade_db, monkeypatch, WIDE)
    _same(with_facts, raw)


def test_loose_table_gets_no_facts_and_writes_still_work(hostile_db, admin_engine):
    """A team's table without the canonical key: nothing installed, pages read it directly."""
    assert facts_relation(hostile_db) == ""
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('hostile.genlens_facts')")).scalar() is None
    assert reports.summary(WIDE)["attempts"] > 0


# --- triggers: every kind of write ----------------------------------------------------------


@pytest.fixture
def scratch(pg_url, use_schema, admin_engine):
    """A fresh migrated schema `facts_scratch` (no rows), with GenLens pointed at it."""
    from data_access.migrate import apply_migrations

    with admin_engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS facts_scratch CASCADE"))
    apply_migrations(admin_engine, "facts_scratch")
    from tests import conftest

    conftest._loaded.add("facts_scratch")
    db = use_schema("facts_scratch")
    yield db
    with admin_engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS facts_scratch CASCADE"))
    conftest._loaded.discard("facts_scratch")


T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
GID = "11111111-1111-4111-8111-111111111111"
USER = "22222222-2222-4222-8222-222222222222"


def _insert(conn, gid: str, n: int, status: str, at: datetime, meta: str | None = '{"cost_usd": 0.01}') -> None:
    conn.execute(
        text(
            "INSERT INTO facts_scratch.generations (generation_id, attempt_number, status, model_used, prompt,"
            " user_id, error_message, generation_metadata, created_at, completed_at)"
            " VALUES (:g, :n, :s, 'm', 'p', :u, :e, CAST(:meta AS jsonb), :at, :done)"
        ),
        {
            "g": gid,
            "n": n,
            "s": status,
            "u": USER,
            "e": "boom 42" if status == "failed" else None,
            "meta": meta,
            "at": at,
            "done": None if status == "pending" else at + timedelta(seconds=3),
        },
    )


def _fact(admin_engine, gid: str = GID) -> list[dict]:
    """The facts rows of one generation, the change log folded first."""
    fold(admin_engine)
    with admin_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT attempt_number, scope_at, gen_attempts, final_status, first_status, is_final, is_test,"
                " status, latency_ms, CAST(cost_usd AS float8) AS cost_usd, error_signature"
                " FROM facts_scratch.genlens_facts WHERE generation_id = :g ORDER BY attempt_number"
            ),
            {"g": gid},
        ).mappings()
        return [dict(r) for r in rows]


def test_folding_follows_inserts_updates_deletes_and_truncate(scratch, admin_engine):
    assert facts_relation(scratch)
    f = Filters(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1))
    with admin_engine.begin() as conn:
        _insert(conn, GID, 1, "failed", T0)
    # the write only logged the generation: the facts learn of it when the log is folded
    with admin_engine.connect() as conn:
        logged = conn.execute(text("SELECT CAST(generation_id AS text) FROM facts_scratch.genlens_changes")).all()
        in_facts = conn.execute(text("SELECT count(*) FROM facts_scratch.genlens_facts")).scalar()
    assert logged == [(GID,)] and in_facts == 0
    (a1,) = _fact(admin_engine)
    assert (a1["gen_attempts"], a1["final_status"], a1["first_status"], a1["is_final"]) == (1, "failed", "failed", True)
    assert a1["error_signature"] == "boom <n>" and a1["latency_ms"] == pytest.approx(3000)

    # a retry: the generation's final status and attempt count change on both rows
    with admin_engine.begin() as conn:
        _insert(conn, GID, 2, "pending", T0 + timedelta(minutes=1))
    a1, a2 = _fact(admin_engine)
    assert (a1["gen_attempts"], a1["final_status"], a1["is_final"]) == (2, "pending", False)
    assert (a2["final_status"], a2["is_final"], a2["latency_ms"]) == ("pending", True, None)
    assert reports.summary(f)["pending_attempts"] == 1

    # the pending attempt finishes (an UPDATE)
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE facts_scratch.generations SET status = 'success', completed_at = created_at + interval '2 s'"
                " WHERE generation_id = :g AND attempt_number = 2"
            ),
            {"g": GID},
        )
    a1, a2 = _fact(admin_engine)
    assert (a1["final_status"], a2["status"], a2["latency_ms"]) == ("success", "success", pytest.approx(2000))
    s = reports.summary(f)
    assert (s["success_rate"], s["recovered_by_retry"], s["pending_attempts"]) == (1.0, 1, 0)

    # metadata marks it a test generation: the whole generation leaves the default scope
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                'UPDATE facts_scratch.generations SET generation_metadata = \'{"test_run_id": "t1"}\''
                " WHERE generation_id = :g AND attempt_number = 2"
            ),
            {"g": GID},
        )
    assert all(r["is_test"] for r in _fact(admin_engine))
    assert reports.summary(f)["generations"] == 0

    # a key change moves the rows (UPDATE of generation_id)
    other = "33333333-3333-4333-8333-333333333333"
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE facts_scratch.generations SET generation_id = :o WHERE generation_id = :g AND attempt_number = 1"
            ),
            {"g": GID, "o": other},
        )
    (a2,) = _fact(admin_engine)
    (o1,) = _fact(admin_engine, other)
    assert (a2["gen_attempts"], a2["scope_at"]) == (1, T0 + timedelta(minutes=1))
    assert (o1["gen_attempts"], o1["final_status"], o1["is_test"]) == (1, "failed", False)

    with admin_engine.begin() as conn:
        conn.execute(text("DELETE FROM facts_scratch.generations WHERE generation_id = :g"), {"g": GID})
    assert _fact(admin_engine) == []
    with admin_engine.begin() as conn:
        conn.execute(text("TRUNCATE facts_scratch.generations"))
    assert _fact(admin_engine, other) == []
    assert facts_relation(scratch)


def test_concurrent_writers_of_one_generation_leave_consistent_facts(scratch, pg_url, admin_engine):
    """B adds attempt 2 while A's attempt 1 is not committed yet: after both, both rows know both."""
    import time

    engine = create_engine(pg_url, pool_size=2)
    a_inserted = threading.Event()
    errors_seen: list[BaseException] = []

    def a() -> None:
        try:
            with engine.begin() as conn:
                _insert(conn, GID, 1, "failed", T0 + timedelta(minutes=1))
                a_inserted.set()
                time.sleep(1.0)  # B's insert runs (and waits for this generation) meanwhile
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors_seen.append(exc)

    def b() -> None:
        try:
            a_inserted.wait(10)
            with engine.begin() as conn:
                _insert(conn, GID, 2, "success", T0 + timedelta(minutes=2))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors_seen.append(exc)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    engine.dispose()
    assert not errors_seen
    rows = _fact(admin_engine)
    assert [r["attempt_number"] for r in rows] == [1, 2]
    assert {(r["gen_attempts"], r["final_status"], r["first_status"]) for r in rows} == {(2, "success", "failed")}


def test_a_failing_derivation_never_fails_the_write_and_repairs_itself(scratch, admin_engine):
    """Sabotaged facts table: the write to generations succeeds, the fold fails and pages read the
    raw table saying why; once the cause is gone the next check folds and pages read the facts."""
    from data_access import refresh

    with admin_engine.begin() as conn:
        conn.execute(
            text("ALTER TABLE facts_scratch.genlens_facts ADD CONSTRAINT no_failed CHECK (status <> 'failed')")
        )
    with admin_engine.begin() as conn:
        _insert(conn, GID, 1, "failed", T0)
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM facts_scratch.generations")).scalar() == 1
    forget_facts(scratch)
    assert facts_relation(scratch) == ""
    why = refresh.status(scratch)
    assert "folding the change log failed" in why and "no_failed" in why and "read generations directly" in why
    f = Filters(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1))
    assert reports.summary(f)["attempts"] == 1  # read from generations
    with admin_engine.connect() as conn:  # nothing lost: the write waits in the log
        assert conn.execute(text("SELECT count(*) FROM facts_scratch.genlens_changes")).scalar() == 1
    with admin_engine.begin() as conn:
        conn.execute(text("ALTER TABLE facts_scratch.genlens_facts DROP CONSTRAINT no_failed"))
    forget_facts(scratch)
    assert facts_relation(scratch)  # the check folded it
    with admin_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM facts_scratch.genlens_facts")).scalar() == 1
    assert reports.summary(f)["attempts"] == 1


def test_disabled_triggers_mean_raw_reads_until_refresh(scratch, admin_engine, capsys):
    from data_access import demo_data, refresh

    demo_data.load(admin_engine, "facts_scratch", 200, days=5, seed=3, end=T0)
    assert facts_relation(scratch)
    with admin_engine.connect() as conn:
        n_raw = conn.execute(text("SELECT count(*) FROM facts_scratch.generations")).scalar()
        n_facts = conn.execute(text("SELECT count(*) FROM facts_scratch.genlens_facts")).scalar()
    assert n_raw == n_facts > 200  # the bulk load rebuilt the facts and switched its trigger back on

    with admin_engine.begin() as conn:
        conn.execute(text("ALTER TABLE facts_scratch.generations DISABLE TRIGGER genlens_facts_insert"))
        _insert(conn, GID, 1, "success", T0 - timedelta(hours=1))
    forget_facts(scratch)
    assert facts_relation(scratch) == ""
    f = Filters(since=T0 - timedelta(days=10), until=T0 + timedelta(days=1))
    raw_summary = reports.summary(f)
    assert refresh.main(["--check"]) == 0
    assert "triggers are off" in capsys.readouterr().out

    assert refresh.main([]) == 0
    out = capsys.readouterr().out
    assert f"rebuilt genlens_facts: {n_raw + 1:,} attempts" in out and "pages read genlens_facts" in out
    assert facts_relation(scratch)
    assert reports.summary(f) == raw_summary


def test_an_older_facts_table_is_left_aside_until_migrated(scratch, admin_engine, capsys):
    """The dashboard updated before its newest migration ran: the facts table lacks this version's
    columns, so pages read generations directly (same figures) and `refresh --check` says why."""
    from data_access import demo_data, refresh

    demo_data.load(admin_engine, "facts_scratch", 200, days=5, seed=3, end=T0)
    f = Filters(since=T0 - timedelta(days=10), until=T0 + timedelta(days=1), models=("openai/gpt-4o-mini",))
    assert facts_relation(scratch)
    with_facts = reports.summary(f)
    with admin_engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE facts_scratch.genlens_facts DROP COLUMN {facts_mod.FACTS_MARK} CASCADE"))
    forget_facts(scratch)
    assert facts_relation(scratch) == ""
    assert reports.summary(f) == with_facts
    assert refresh.main(["--check"]) == 0
    assert "from an earlier GenLens: run `python -m data_access.migrate`" in capsys.readouterr().out


def test_a_reader_without_select_on_facts_reads_generations(scratch, admin_engine, pg_url):
    from sqlalchemy import make_url

    from data_access.engine import Database, build_engine

    with admin_engine.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS facts_reader"))
        conn.execute(text("CREATE ROLE facts_reader LOGIN PASSWORD 'r'"))
        conn.execute(text("GRANT USAGE ON SCHEMA facts_scratch TO facts_reader"))
        conn.execute(text("GRANT SELECT ON facts_scratch.generations TO facts_reader"))
        conn.execute(text("ALTER TABLE facts_scratch.generations DISABLE ROW LEVEL SECURITY"))
        _insert(conn, GID, 1, "success", T0)
    url = make_url(pg_url).set(username="facts_reader", password="r")
    engine = build_engine(url.render_as_string(hide_password=False), scratch.settings)
    try:
        reader = Database(engine, scratch.settings, "reader", scratch.relation)
        assert facts_relation(reader) == ""
        f = Filters(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1))
        assert reports.summary(f, reader)["attempts"] == 1
    finally:
        engine.dispose()
        with admin_engine.begin() as conn:
            conn.execute(text("DROP OWNED BY facts_reader"))
            conn.execute(text("DROP ROLE facts_reader"))


def test_the_full_script_is_frozen():
    """0106 is `migration_sql()` as it shipped: applied files never change, so later changes ship
    as generated deltas (tests/test_derived_migrations.py pins every applied file)."""
    import hashlib

    path = ROOT / "supabase" / "migrations" / derived.FULL_SCRIPT
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == "efdcb888ddb49bd4543f8cc7922fab3a04158a96a1b5a1deb71cadc4c9d5ffd6", f"{path} changed"


@pytest.mark.parametrize("since", ["20260105", "20260106"], ids=["from-0104", "from-0105"])
def test_the_facts_migration_upgrades_a_database_of_an_earlier_one(pg_url, admin_engine, monkeypatch, since):
    """A database that got the migrations before `since` (rows loaded, a reader granted the
    rollup) takes the rest: the facts table gains its new columns and the rollups their new ones,
    both then equal a full rebuild, and the reader keeps its grants and gets the new tables."""
    from data_access import demo_data
    from data_access.migrate import LEDGER, apply_migrations, migration_files

    schema = "facts_upgrade"
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text("DROP ROLE IF EXISTS upgrade_reader"))
        conn.execute(text("CREATE ROLE upgrade_reader"))
    newest = [p for p in migration_files() if p.name >= since]
    assert newest, "the migrations to upgrade with"
    monkeypatch.setattr("data_access.schema.migration_files", lambda: [p for p in migration_files() if p not in newest])
    apply_migrations(admin_engine, schema)
    with admin_engine.begin() as conn:
        columns = {
            r[0]
            for r in conn.execute(
                text("SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"),
                {"s": schema, "t": facts_mod.TABLE},
            )
        }
        assert "m_final" not in columns, "an earlier facts table"
        if since == "20260105":
            for table in facts_mod.NEWER_ROLLUPS:
                assert conn.execute(text(f"SELECT to_regclass('{schema}.{table}')")).scalar() is None
    demo_data.load(admin_engine, schema, 200, days=10, seed=3, end=T0)
    with admin_engine.begin() as conn:
        conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO upgrade_reader"))
        conn.execute(text(f"GRANT SELECT ON {schema}.genlens_rollup TO upgrade_reader"))
    monkeypatch.undo()
    try:
        assert apply_migrations(admin_engine, schema) == [p.name for p in newest]
        with admin_engine.connect() as conn:
            facts = conn.execute(text(f"SELECT * FROM {schema}.{facts_mod.TABLE} ORDER BY 1, 2")).mappings().all()
            assert sum(r["m_final"] for r in facts) > 0, "the new columns are filled in"
        with admin_engine.begin() as conn:
            assert conn.execute(text(f"SELECT count(*) FROM {schema}.{LEDGER}")).scalar() == len(migration_files())
            for table in ("genlens_rollup", *facts_mod.NEWER_ROLLUPS):
                assert conn.execute(
                    text("SELECT has_table_privilege('upgrade_reader', :t, 'SELECT')"), {"t": f"{schema}.{table}"}
                ).scalar(), table
        upgraded = rollup_snapshot(admin_engine, schema)
        assert all(upgraded), "rows in every rollup"
        with admin_engine.begin() as conn:
            conn.execute(text(f"SELECT {schema}.genlens_facts_rebuild()"))
        assert rollup_snapshot(admin_engine, schema) == upgraded
        with admin_engine.connect() as conn:
            rebuilt = conn.execute(text(f"SELECT * FROM {schema}.{facts_mod.TABLE} ORDER BY 1, 2")).mappings().all()
        assert [dict(r) for r in rebuilt] == [dict(r) for r in facts]
    finally:
        with admin_engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text("DROP OWNED BY upgrade_reader"))
            conn.execute(text("DROP ROLE upgrade_reader"))


# --- rollups: kept by deltas, equal to a rebuild and to the raw figures -------------------------


def test_rollups_follow_every_write_and_equal_a_rebuild(scratch, admin_engine, monkeypatch):
    from data_access import demo_data

    demo_data.load(admin_engine, "facts_scratch", 300, days=10, seed=5, end=T0)
    with admin_engine.begin() as conn:  # a mix of writes, each through the triggers
        conn.execute(
            text(
                "UPDATE facts_scratch.generations SET status = 'success', completed_at = created_at + interval '7 s'"
                " WHERE status = 'failed' AND attempt_number = 1 AND created_at < :t"
            ),
            {"t": T0 - timedelta(days=5)},
        )
        conn.execute(text("DELETE FROM facts_scratch.generations WHERE attempt_number = 2 AND status = 'timeout'"))
        conn.execute(
            text(
                "UPDATE facts_scratch.generations SET generation_metadata = jsonb_build_object('test_run_id', 'x')"
                " WHERE generation_id IN (SELECT generation_id FROM facts_scratch.generations LIMIT 5)"
            )
        )
        _insert(conn, GID, 1, "success", T0 - timedelta(days=2))
        _insert(conn, GID, 2, "failed", T0 - timedelta(days=1, hours=23))  # a retry on the next UTC day
    incremental = rollup_snapshot(admin_engine)
    assert incremental[0] and incremental[1]

    day0 = T0.replace(hour=0)
    windows = [
        Filters(since=day0 - timedelta(days=10), until=day0 + timedelta(days=1)),
        Filters(since=day0 - timedelta(days=3), until=day0, include_tests=True),
    ]
    frames = {
        "rates_by_model": lambda f: reliability.rates_by(f, "model_used"),
        "rates_by_type": lambda f: reliability.rates_by(f, "story_type"),
        "failed_attempt_cost": reliability.failed_attempt_cost,
        "phase_retries": reliability.phase_retries,
        "cost_by_story_type": cost_quality.cost_by_story_type,
        "failure_summary": errors.failure_summary,
        "signature_trends": errors.signature_trends,
        "failure_share": errors.failure_share,
        "retries": lambda f: reports.fetch_report("retries", f),
        "quality_histogram": cost_quality.quality_histogram,
        "outlier_counts": lambda f: pd.DataFrame([cost_quality.outlier_counts(f, cost_quality.Thresholds())]),
    }
    for f in windows:
        assert planner.rollup_answers(f, facts_mod.ROLLUPS, generations=True)
        for name in ("summary", "daily", "by_model"):
            assert planner.explain(reports.PLANNED[name][0], f, reports.PLANNED[name][1]).source == "rollup"
            with planner.only("facts"):
                over_facts = reports.fetch_report(name, f)
            pd.testing.assert_frame_equal(
                reports.fetch_report(name, f), over_facts, check_dtype=False, obj=name, rtol=1e-12
            )
        from_rollups = {name: fn(f) for name, fn in frames.items()}
        with planner.only("facts"):  # the same figures over the facts rows
            for name, fn in frames.items():
                assert len(from_rollups[name]), name
                pd.testing.assert_frame_equal(from_rollups[name], fn(f), check_dtype=False, obj=name, rtol=1e-12)
    # A model filter: the attempt-level frames still come from the rollups, and still agree.
    busiest = reports.fetch_report("by_model", windows[0])["model_used"]
    by_model = replace(windows[0], models=(busiest.iloc[0], busiest.iloc[-1]))
    attempt_level = {
        "daily": lambda f: reports.fetch_report("daily", f),
        "by_model": lambda f: reports.fetch_report("by_model", f),
        "failed_attempt_cost": reliability.failed_attempt_cost,
        "failure_summary": errors.failure_summary,
        "cost_by_model": cost_quality.by_model,
        "cost_by_day": cost_quality.cost_by_day,
        "phase_usage": lambda f: cost_quality.phase_usage(f, per_model=True),
        "issue_kinds": data_quality.metadata_issue_kinds,
    }
    assert planner.rollup_answers(by_model, (ROLLUP,))
    from_rollups = {name: fn(by_model) for name, fn in attempt_level.items()}
    assert set(from_rollups["by_model"]["model_used"]) == set(by_model.models)
    # ... and a filter on one model: its generation figures too (the per-model generation sums)
    one = replace(windows[0], models=(busiest.iloc[0],))
    assert planner.rollup_answers(one, (ROLLUP,), generations=True)
    assert planner.rollup_answers(by_model, (ROLLUP,), generations=True)  # pure sums + the mixed, live
    summary_one = reports.fetch_report("summary", one)
    assert summary_one["generations"].iloc[0] > 0
    with planner.only("facts"):
        for name, fn in attempt_level.items():
            pd.testing.assert_frame_equal(from_rollups[name], fn(by_model), check_dtype=False, obj=name, rtol=1e-12)
        pd.testing.assert_frame_equal(summary_one, reports.fetch_report("summary", one), check_dtype=False, rtol=1e-12)
    with admin_engine.begin() as conn:
        conn.execute(text("SELECT facts_scratch.genlens_facts_rebuild()"))
    assert rollup_snapshot(admin_engine) == incremental


def test_a_filter_on_one_model_narrows_each_generation_to_that_model(scratch, admin_engine, monkeypatch):
    """Generations that fell back to another model on a retry: under a filter on one model, each
    generation's figures (count, final and first status, attempts) are over its attempts of that
    model (METRICS.md), from the per-model facts and rollup sums as from the raw attempts."""
    from data_access import demo_data

    demo_data.load(admin_engine, "facts_scratch", 400, days=10, seed=11, end=T0)
    with admin_engine.begin() as conn:
        # second attempts go to a fallback model a day later, heroes as child stories: the model's
        # first attempt, day and type differ from the generation's; third attempts go back
        conn.execute(
            text(
                "UPDATE facts_scratch.generations SET model_used = 'fallback/m',"
                " story_type = CASE WHEN story_type = 'hero' THEN 'child' ELSE story_type END,"
                " created_at = created_at + interval '1 day', completed_at = completed_at + interval '1 day'"
                " WHERE attempt_number = 2"
            )
        )
        mixed = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT generation_id FROM facts_scratch.generations"
                " GROUP BY 1 HAVING count(DISTINCT model_used) > 1) AS x"
            )
        ).scalar()
    assert mixed >= 10
    day0 = T0.replace(hour=0)
    window = Filters(since=day0 - timedelta(days=10), until=day0 + timedelta(days=1))
    first = reports.fetch_report("by_model", window)["model_used"]
    first = next(m for m in first if m != "fallback/m")
    short = Filters(since=day0 - timedelta(days=3), until=day0)  # hour buckets
    noon = Filters(since=day0 - timedelta(days=6, hours=-7), until=day0 - timedelta(hours=1))  # no rollup
    # one model; two, a type, both: the retries report then from the pure generations' rollup rows
    # and the mixed generations live
    narrowed = [{"models": ("fallback/m",)}, {"models": (first,)}, {"models": (first, "fallback/m")}]
    narrowed += [{"types": ("hero",)}, {"models": (first, "fallback/m"), "types": ("child", "combined")}]
    retries = reports.PLANNED["retries"]
    for f in (replace(w, **n) for w in (window, short, noon) for n in narrowed):
        assert planner.rollup_answers(f, (ROLLUP,), generations=True) == (f.since.hour == 0)
        if f.since.hour == 0 and (f.types or len(f.models) > 1):
            assert planner.explain(retries[0], f, retries[1]).source == "retries_rollup"
        summary = reports.fetch_report("summary", f).iloc[0]
        assert summary["generations"] > 0
        with_facts, raw = _both_ways(scratch, monkeypatch, f)
        _same(with_facts, raw)
        monkeypatch.delenv("GENLENS_FACTS")
        from data_access.engine import get_database

        get_database().engine.dispose()
        get_database.cache_clear()
        forget_facts(get_database())
    # the fallback model's generations are those that retried; none of them is in its first attempt
    with admin_engine.connect() as conn:
        retried = conn.execute(
            text(
                "SELECT count(DISTINCT generation_id) FROM facts_scratch.generations WHERE attempt_number = 2"
                " AND generation_id IN (SELECT generation_id FROM facts_scratch.generations"
                " GROUP BY 1 HAVING min(created_at) >= :s AND min(created_at) < :u)"
            ),
            {"s": window.since, "u": window.until},
        ).scalar()
    fallback = reports.summary(replace(window, models=("fallback/m",)))
    assert fallback["generations"] == retried


def test_rollups_answer_only_whole_unfiltered_days(demo_db):
    def answers(f, tables=(ROLLUP,), generations=False):
        return planner.rollup_answers(f, tables, generations)

    assert answers(DEMO_WINDOW, (ROLLUP_ERROR,))
    assert answers(replace(DEMO_WINDOW, include_tests=True), (ROLLUP_ERROR,))
    assert answers(replace(DEMO_WINDOW, models=("openai/gpt-4o-mini",)), (ROLLUP_ERROR,))
    assert not answers(replace(DEMO_WINDOW, statuses=("failed",)))
    assert not answers(replace(DEMO_WINDOW, since=DEMO_WINDOW.since + timedelta(hours=3)))
    # attempt-level sums: a model or story type filter narrows the rollup rows; other attempt filters do not
    assert answers(replace(DEMO_WINDOW, models=("openai/gpt-4o-mini",)))
    assert answers(replace(DEMO_WINDOW, types=("hero",)))  # the attempt's story type is a key
    assert answers(replace(DEMO_WINDOW, types=("hero",)), (ROLLUP_ERROR,))
    assert not answers(replace(DEMO_WINDOW, types=("hero",)), (facts_mod.ROLLUP_RETRIES,))  # no type key
    assert not answers(replace(DEMO_WINDOW, user="0b0e5a6e-4c1e-4d0c-9a43-2c7a0d5e8f11"))
    hours = replace(DEMO_WINDOW, models=("openai/gpt-4o-mini",), since=DEMO_WINDOW.since + timedelta(hours=3))
    assert not answers(hours)


def test_a_backlog_too_big_for_the_budget_drains_in_smaller_folds(scratch, admin_engine):
    """Every generation rewritten at once: the first fold of the whole log outlasts a tiny budget's
    statement timeout, so the dashboard folds smaller batches and the log still drains."""
    from data_access import demo_data
    from data_access import facts as facts_mod

    demo_data.load(admin_engine, "facts_scratch", 3000, days=5, seed=3, end=T0)
    with admin_engine.begin() as conn:
        conn.execute(text("UPDATE facts_scratch.generations SET completed_at = completed_at"))
        waiting = conn.execute(text("SELECT count(*) FROM facts_scratch.genlens_changes")).scalar()
    assert waiting >= 3000
    facts_mod._batches.pop(scratch.engine, None)
    for _ in range(200):
        f = facts_mod.catch_up(scratch, budget_s=0.02)  # folds must finish within 80 ms
        if f.behind == 0:
            break
    assert f.live and f.behind == 0, f
    assert facts_mod._batches[scratch.engine] < facts_mod.FOLD_BATCH  # it had to shrink
    fold(admin_engine)
    before = rollup_snapshot(admin_engine)
    with admin_engine.begin() as conn:
        conn.execute(text("SELECT facts_scratch.genlens_facts_rebuild()"))
    assert rollup_snapshot(admin_engine) == before
