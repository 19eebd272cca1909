"""Error groups kept in GenLens' tables (metrics/error_groups.py) against a real PostgreSQL: placed
once in first-seen order and saved, never renumbered as new messages arrive, the same from
concurrent processes, the same in memory where GenLens may not write, the same as
`python -m queries.signatures group`; and their lifecycle states and admins' marks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import make_url, text

from data_access.engine import Database, build_engine
from metrics import error_groups
from metrics.signatures import mask
from queries import errors, reports
from queries.filters import Filters
from tests.conftest import ROOT

SCHEMA = "errgroups"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)
_ids = iter(range(1, 10**6))


@pytest.fixture
def db(use_schema, admin_engine) -> Database:
    got = use_schema(SCHEMA)
    with admin_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {SCHEMA}.generations"))
        conn.execute(text(f"TRUNCATE {SCHEMA}.{error_groups.MEMBERS}, {SCHEMA}.{error_groups.GROUPS}"))
        conn.execute(text(f"DELETE FROM {SCHEMA}.genlens_audit"))
    error_groups.forget(got)
    return got


def fail(engine, message: str, at: datetime, *, model: str = "m1", test: bool = False) -> str:
    """One generation whose only attempt failed with `message` at `at`."""
    gid = str(uuid.UUID(int=next(_ids)))
    meta = {"test_run_id": "t1"} if test else {}
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO {SCHEMA}.generations (generation_id, attempt_number, status, model_used, prompt,"
                " user_id, story_type, error_message, generation_metadata, created_at, completed_at)"
                " VALUES (:g, 1, 'failed', :m, 'p', :u, 'hero', :e, CAST(:meta AS jsonb), :c, :c)"
            ),
            {"g": gid, "m": model, "u": str(uuid.UUID(int=7)), "e": message, "meta": json.dumps(meta), "c": at},
        )
    return gid


def saved(engine) -> tuple[dict[int, str], dict[str, int]]:
    with engine.connect() as conn:
        groups = dict(conn.execute(text(f"SELECT group_id, label FROM {SCHEMA}.{error_groups.GROUPS}")).all())
        members = dict(conn.execute(text(f"SELECT signature, group_id FROM {SCHEMA}.{error_groups.MEMBERS}")).all())
    return groups, members


def fresh(db: Database) -> error_groups.Groups:
    from data_access import facts

    facts.fold_now(db)  # the writes of this test folded in, as a page would a few seconds later
    error_groups.forget(db)
    return error_groups.groups(db)


RATE = "Rate limit exceeded: retry after {n}s (request id req_{rid})"
OVERLOADED = "Error code: 529 - {{'type': 'error', 'error': {{'type': 'overloaded_error', 'message': 'Overloaded'}}}}"
INVALID = (
    "Error code: 400 - {{'type': 'error', 'error': {{'type': 'invalid_request_error', "
    "'message': 'max_tokens: {n} > 8192'}}}}"
)


def test_groups_are_saved_in_first_seen_order_and_never_renumbered(db, admin_engine):
    fail(admin_engine, RATE.format(n=30, rid="egunkxrxfvie"), T0)
    fail(admin_engine, RATE.format(n=5, rid="qwhbnzmdplas"), T0 + timedelta(hours=1))  # letters-only ids
    fail(admin_engine, OVERLOADED.format(), T0 + timedelta(hours=2))
    fail(admin_engine, INVALID.format(n=9000), T0 + timedelta(hours=3))
    g = fresh(db)
    assert g.saved and g.cause == ""
    groups, members = saved(admin_engine)
    assert len(groups) == 3, groups  # the two rate limits are one group; Anthropic's two kinds stay apart
    rate, overloaded, invalid = (
        members[mask(m)] for m in (RATE.format(n=30, rid="egunkxrxfvie"), OVERLOADED.format(), INVALID.format(n=9000))
    )
    assert (rate, overloaded, invalid) == (1, 2, 3)  # numbered in first-seen order
    assert groups[rate] == "Rate limit exceeded: retry after <n>s (request id <*>)"
    # New messages: one more rate limit (joins group 1), a new kind (group 4); nothing moves.
    fail(admin_engine, RATE.format(n=12, rid="zzyxwvutsrqp"), T0 + DAY)
    fail(admin_engine, "Connection reset by peer (errno 104)", T0 + DAY)
    g = fresh(db)
    groups2, members2 = saved(admin_engine)
    assert {s: members2[s] for s in members} == members  # every placed signature keeps its group
    assert len(groups2) == 4 and members2[mask("Connection reset by peer (errno 104)")] == 4
    assert members2[mask(RATE.format(n=12, rid="zzyxwvutsrqp"))] == rate
    # The report lists groups by label, the page's and the CLI's.
    f = Filters(since=T0 - DAY, until=T0 + 2 * DAY)
    table = reports.fetch_report("errors", f).set_index("error_signature")
    assert table.loc[groups[rate], "occurrences"] == 3
    assert set(table.index) == set(groups2.values())


def test_concurrent_syncs_place_each_signature_once(db, admin_engine, pg_url):
    for k in range(40):
        fail(
            admin_engine,
            f"Worker pool {k % 7} failed: kind_{k % 5} exhausted after {k} tries",
            T0 + k * timedelta(minutes=1),
        )
    engines = [build_engine(pg_url, db.settings) for _ in range(4)]
    results: list[error_groups.Groups] = []
    errors_seen: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def run(engine):
        try:
            start.wait()
            results.append(error_groups.compute(Database(engine, db.settings, db.label, db.relation)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors_seen.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert not errors_seen, errors_seen
    groups, members = saved(admin_engine)
    assert all(r.labels == results[0].labels for r in results)  # every process sees one grouping
    assert set(groups) == set(range(1, len(groups) + 1))  # no number twice, none skipped
    assert set(members) == set(results[0].labels)


def test_a_reader_that_may_not_write_groups_in_memory_and_says_so(db, admin_engine, pg_url):
    fail(admin_engine, RATE.format(n=30, rid="egunkxrxfvie"), T0)
    fail(admin_engine, "Connection reset by peer (errno 104)", T0 + DAY)
    fresh(db)  # saved: two groups
    fail(admin_engine, RATE.format(n=7, rid="plokmijnuhby"), T0 + 2 * DAY)
    fail(admin_engine, "Model 'x/y' is currently unavailable", T0 + 2 * DAY)
    with admin_engine.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS groups_reader"))
        conn.execute(text("CREATE ROLE groups_reader LOGIN PASSWORD 'r'"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {SCHEMA} TO groups_reader"))
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO groups_reader"))
        conn.execute(text(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {SCHEMA} TO groups_reader"))
        conn.execute(text(f"ALTER TABLE {SCHEMA}.generations DISABLE ROW LEVEL SECURITY"))
    url = make_url(pg_url).set(username="groups_reader", password="r")
    engine = build_engine(url.render_as_string(hide_password=False), db.settings)
    try:
        reader = Database(engine, db.settings, "reader", db.relation)
        got = error_groups.compute(reader)
        assert got.unsaved == 2 and "may not write" in got.cause and "2 new signatures" in got.cause
        assert len(saved(admin_engine)[0]) == 2  # nothing written
        # the same grouping the owner then saves
        assert got.labels == fresh(db).labels
    finally:
        engine.dispose()
        with admin_engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {SCHEMA}.generations ENABLE ROW LEVEL SECURITY"))
            conn.execute(text("DROP OWNED BY groups_reader"))
            conn.execute(text("DROP ROLE groups_reader"))


def test_without_the_facts_table_groups_are_the_same(db, admin_engine):
    for k, m in enumerate(
        [RATE.format(n=3, rid="abcdefghijkl"), OVERLOADED.format(), RATE.format(n=4, rid="mnbvcxzlkjhg")]
    ):
        fail(admin_engine, m, T0 + k * timedelta(hours=1))
    with_facts = fresh(db).labels
    with admin_engine.begin() as conn:  # as if the migrations had not run
        conn.execute(text(f"TRUNCATE {SCHEMA}.{error_groups.MEMBERS}, {SCHEMA}.{error_groups.GROUPS}"))
    from dataclasses import replace

    raw = replace(db, settings=replace(db.settings, use_facts=False))
    got = error_groups.compute(raw, write=False)
    assert got.labels == with_facts
    assert "not yet saved" in got.cause and "every failed attempt" in got.cause


def test_the_cli_groups_as_the_page_does(demo_db):
    """The demo's failed attempts, oldest first, through `python -m queries.signatures group`: each
    message's label is its row's group in the attempts report."""
    f = Filters(since=datetime(2026, 9, 1, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
    rows = reports.fetch_report("attempts", f)
    rows = rows[rows["error_signature"].notna()].sort_values(["created_at", "generation_id", "attempt_number"])
    lines = "".join(json.dumps(m) + "\n" for m in rows["error_message"])
    out = subprocess.run(
        [sys.executable, "-m", "queries.signatures", "group"],
        input=lines,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.splitlines()
    assert out == list(rows["error_signature"])
    assert len(set(out)) == len(reports.fetch_report("errors", f))


# --- lifecycle ---------------------------------------------------------------------------------------


def test_states_new_ongoing_regressed_resolved(db, admin_engine):
    """A window of 10 days ending at T0 + 30 days; N = 7 quiet days."""
    since, until = T0 + 20 * DAY, T0 + 30 * DAY
    # new: first seen in the window
    fail(admin_engine, "Brand new failure in the renderer", since + 2 * DAY)
    # ongoing: seen before the window and every few days since
    for d in range(0, 30, 3):
        fail(admin_engine, "Steady failure in the exporter", T0 + d * DAY)
    # regressed: seen before, quiet for 10 days, back in the window
    fail(admin_engine, "Flaky failure in the uploader", T0 + 5 * DAY)
    fail(admin_engine, "Flaky failure in the uploader", T0 + 16 * DAY + timedelta(hours=1))  # before the window
    fail(admin_engine, "Flaky failure in the uploader", since + 6 * DAY)  # 10 days later: back
    # resolved: seen in the window's first days, quiet for the last 7
    fail(admin_engine, "Old failure in the indexer", T0 + 10 * DAY)
    fail(admin_engine, "Old failure in the indexer", since + 1 * DAY)
    # only in a test generation before the window: new unless tests are included
    fail(admin_engine, "Sometimes failure in the mailer", T0 + 2 * DAY, test=True)
    fail(admin_engine, "Sometimes failure in the mailer", since + 8 * DAY)
    # first seen in the window's first hour: new, but not in a window starting at noon that day
    fail(admin_engine, "Morning failure in the scheduler", since + timedelta(hours=1))
    fail(admin_engine, "Morning failure in the scheduler", since + 5 * DAY)
    f = Filters(since=since, until=until)
    states = errors.group_states(f).set_index("error_signature")["state"].to_dict()
    assert states["Brand new failure in the renderer"] == "new"
    assert states["Steady failure in the exporter"] == "ongoing"
    assert states["Flaky failure in the uploader"] == "regressed"
    assert states["Old failure in the indexer"] == "resolved"
    assert states["Sometimes failure in the mailer"] == "new"
    assert states["Morning failure in the scheduler"] == "new"
    assert {k for k, v in states.items() if v == "new"} == set(errors.new_signatures(f)["error_signature"])
    noon = Filters(since=since + timedelta(hours=12), until=until)
    at_noon = errors.group_states(noon).set_index("error_signature")["state"].to_dict()
    assert (
        at_noon["Morning failure in the scheduler"] == "ongoing"
        and at_noon["Brand new failure in the renderer"] == "new"
    )
    assert {k for k, v in at_noon.items() if v == "new"} == set(errors.new_signatures(noon)["error_signature"])
    with_tests = errors.group_states(Filters(since=since, until=until, include_tests=True))
    assert with_tests.set_index("error_signature").at["Sometimes failure in the mailer", "state"] == "regressed"
    # The errors report carries the state: the same on the page, in its CSV and from the CLI.
    report = reports.fetch_report("errors", f)
    assert list(report.columns[-2:]) == ["state", "mark"]
    assert report.set_index("error_signature")["state"].to_dict() == {k: states[k] for k in report["error_signature"]}
    # A shorter quiet period: with N = 3 the uploader, last seen 3 days before the window's end, is
    # resolved too, and the exporter (every 3 days) has never been quiet for 3 whole days.
    states3 = errors.group_states(f, replace_quiet(db, 3)).set_index("error_signature")["state"].to_dict()
    assert (
        states3["Old failure in the indexer"] == "resolved" and states3["Flaky failure in the uploader"] == "resolved"
    )
    assert states3["Steady failure in the exporter"] == "ongoing"
    # A longer one: nothing has been quiet for 12 days, so the indexer is ongoing again.
    states12 = errors.group_states(f, replace_quiet(db, 12)).set_index("error_signature")["state"].to_dict()
    assert (
        states12["Old failure in the indexer"] == "ongoing" and states12["Flaky failure in the uploader"] == "ongoing"
    )


def replace_quiet(db: Database, days: int) -> Database:
    from dataclasses import replace

    return replace(db, settings=replace(db.settings, error_quiet_days=days))


def test_an_admin_marks_a_group_and_the_audit_trail_records_it(db, admin_engine):
    fail(admin_engine, OVERLOADED.format(), T0)
    g = fresh(db)
    ((label, gid),) = g.ids.items()
    errors.set_mark(gid, "known", "  provider incident INC-42  ", "ana", "admin", "password")
    f = Filters(since=T0 - DAY, until=T0 + DAY)
    row = errors.group_states(f).iloc[0]
    assert (row["group_id"], row["mark"], row["note"]) == (gid, "known", "provider incident INC-42")
    assert reports.fetch_report("errors", f).iloc[0]["mark"] == "known"
    with admin_engine.connect() as conn:
        audit = conn.execute(text(f"SELECT actor, action, detail FROM {SCHEMA}.genlens_audit")).one()
    assert audit[0] == "ana" and audit[1] == "error_mark"
    assert audit[2] == {"group_id": gid, "label": label, "mark": "known", "note": "provider incident INC-42"}
    errors.set_mark(gid, None, "", "ana", "admin", "password")  # cleared
    assert errors.group_states(f).iloc[0]["mark"] is None
    with pytest.raises(ValueError, match="there is no error group 999"):
        errors.set_mark(999, "ignored", "", "ana", "admin", "password")
    with pytest.raises(ValueError, match="a mark is one of known, ignored"):
        errors.set_mark(gid, "fixed", "", "ana", "admin", "password")
