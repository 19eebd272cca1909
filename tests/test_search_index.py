"""The Explorer's search through the trigram index: the same attempts as reading every prompt and
error message, kept exact by the fold through inserts, updates and deletes; used for texts of
three letters or more; and when the index is missing the page says so and still searches."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from data_access import facts
from queries import explorer
from queries.explorer import ExplorerQuery
from queries.filters import Filters
from tests.rollups import fold, text_mismatches

SCHEMA = "search_scratch"
T0 = datetime(2026, 11, 20, tzinfo=UTC)
W = Filters(since=T0 - timedelta(days=10), until=T0 + timedelta(days=1))
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
# texts worth searching: rare and common words, case, phrases, an error-only text, literal % and _
# and backslash, accents, a quote, and ones too short for the index
TEXTS = [
    "zyxwvut", "ZYXWVUT", "dragon", "loves dragons", "rate limit", "timed out", "Überfluß", "naïve café",
    "100%", "finish_reason", "a\\b", "it's", "o'clock", "ab", "é", "%", "_", "xq",
]  # fmt: skip


@pytest.fixture
def scratch(use_schema, admin_engine):
    from data_access import demo_data
    from data_access.migrate import apply_migrations
    from tests import conftest

    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    apply_migrations(admin_engine, SCHEMA)
    demo_data.load(admin_engine, SCHEMA, 400, days=10, seed=11, end=T0)
    conftest._loaded.add(SCHEMA)
    db = use_schema(SCHEMA)
    yield db
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    conftest._loaded.discard(SCHEMA)


def _insert(admin_engine, prompt: str, error: str | None, status: str = "failed") -> str:
    gid = str(uuid.uuid4())
    with admin_engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO {SCHEMA}.generations (generation_id, attempt_number, status, model_used, story_type,"
                " prompt, error_message, created_at, completed_at, generation_metadata, user_id)"
                " VALUES (:g, 1, :s, 'gpt-4o-mini', 'hero', :p, :e, :t, :t, '{}', gen_random_uuid())"
            ),
            {"g": gid, "s": status, "p": prompt, "e": error, "t": T0 - timedelta(hours=3)},
        )
    return gid


def _matches(q: ExplorerQuery) -> list[tuple[str, int]]:
    rows = []
    after = None
    while True:
        page = explorer.explorer_page(W, q, after, 500)
        rows += [(str(g), int(a)) for g, a in zip(page.rows["generation_id"], page.rows["attempt_number"], strict=True)]
        if page.next_after is None:
            return rows
        after = page.next_after


def _both_ways(monkeypatch, q: ExplorerQuery) -> tuple[list, list]:
    """(through the index, reading every attempt) for the same query."""
    indexed = _matches(q)
    with monkeypatch.context() as m:
        m.setattr(explorer, "indexed_search", lambda q, db: "")
        scanned = _matches(q)
    return indexed, scanned


def test_the_index_finds_what_reading_every_attempt_finds_through_writes(scratch, admin_engine, monkeypatch):
    rare = _insert(admin_engine, "Write a story about a zyxwvut who sings", None, "success")
    err = _insert(admin_engine, "Write a poem", "Upstream said: Überfluß at 100% of quota (finish_reason=a\\b)")
    _insert(admin_engine, "Tell it's naïve café o'clock", None, "success")
    fold(admin_engine, SCHEMA)
    assert text_mismatches(admin_engine, SCHEMA) == 0
    assert facts.search_text(scratch).relation  # the index is in use for these texts
    for t in TEXTS:
        indexed, scanned = _both_ways(monkeypatch, ExplorerQuery(text=t))
        assert indexed == scanned, t
    assert _matches(ExplorerQuery(text="zyxwvut")) == [(rare, 1)]
    assert (err, 1) in _matches(ExplorerQuery(text="überfluß"))  # case-insensitive, in the error only

    # an update of the text, an update of the status only, a delete: the fold keeps the text exact
    with admin_engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {SCHEMA}.generations SET prompt = 'no longer rare' WHERE generation_id = :g"), {"g": rare}
        )
        conn.execute(text(f"UPDATE {SCHEMA}.generations SET status = 'timeout' WHERE generation_id = :g"), {"g": err})
        conn.execute(
            text(
                f"DELETE FROM {SCHEMA}.generations WHERE generation_id IN"
                f" (SELECT generation_id FROM {SCHEMA}.generations WHERE prompt ILIKE '%dragon%' LIMIT 5)"
            )
        )
    fold(admin_engine, SCHEMA)
    facts.forget_facts(scratch)
    assert text_mismatches(admin_engine, SCHEMA) == 0
    assert _matches(ExplorerQuery(text="zyxwvut")) == []
    assert _matches(ExplorerQuery(text="no longer rare")) == [(rare, 1)]
    for t in ("dragon", "Überfluß", "rate limit"):
        indexed, scanned = _both_ways(monkeypatch, ExplorerQuery(text=t))
        assert indexed == scanned, t
    # a TRUNCATE empties it too
    with admin_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {SCHEMA}.generations"))
    assert text_mismatches(admin_engine, SCHEMA) == 0


def test_the_trigram_index_serves_a_search_and_short_texts_read_the_attempts(scratch, admin_engine):
    assert explorer.search_mode(ExplorerQuery(text="dragon")).relation
    assert explorer.search_mode(ExplorerQuery(text="dragon")).indexed
    short = explorer.search_mode(ExplorerQuery(text="ab"))
    assert short.relation and not short.indexed and "three letters" in short.cause  # the table, read whole
    assert not explorer.search_mode(ExplorerQuery(text="a_b%")).indexed
    # the condition the Explorer writes can be answered from the index (planner steered off the
    # sequential scan it prefers on a table this small)
    with admin_engine.connect() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                text(
                    f"EXPLAIN SELECT 1 FROM {SCHEMA}.genlens_text t"
                    " WHERE t.prompt ILIKE :p ESCAPE '\\' OR t.error_message ILIKE :p ESCAPE '\\'"
                ),
                {"p": explorer.like_pattern("zyxwvut")},
            )
        )
    assert facts.TEXT_INDEX in plan, plan


def test_without_the_index_the_search_still_works_and_the_page_says_why(scratch, admin_engine, monkeypatch):
    gid = _insert(admin_engine, "A tale of a qwertyz", None, "success")
    fold(admin_engine, SCHEMA)
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP INDEX {SCHEMA}.{facts.TEXT_INDEX}"))
    facts.forget_facts(scratch)
    mode = explorer.search_mode(ExplorerQuery(text="qwertyz"))
    assert not mode.relation and not mode.indexed and "no trigram index" in mode.cause
    assert _matches(ExplorerQuery(text="qwertyz")) == [(gid, 1)]
    at = AppTest.from_file(str(ROOT / "pages" / "explorer.py"), default_timeout=60)
    at.query_params["since"] = f"{W.since:%Y-%m-%d}"
    at.query_params["until"] = f"{W.until - timedelta(days=1):%Y-%m-%d}"
    at.query_params["q"] = "qwertyz"
    at.run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "reads every attempt's prompt and error message" in captions and "no trigram index" in captions
    assert "of 1 attempts" in captions


def test_a_past_window_pages_its_own_attempts_and_its_late_retries(scratch, admin_engine):
    """A window in the past: the first page (newest first) starts at the window's newest attempts,
    a retry written two days after the window's end included (its generation started inside), and
    no later attempt; the count is the attempts report's."""
    from queries import reports

    past = Filters(since=T0 - timedelta(days=8), until=T0 - timedelta(days=6))
    gid = str(uuid.uuid4())
    late = past.until + timedelta(days=2)
    with admin_engine.begin() as conn:
        for n, at in ((1, past.until - timedelta(minutes=1)), (2, late)):
            conn.execute(
                text(
                    f"INSERT INTO {SCHEMA}.generations (generation_id, attempt_number, status, model_used,"
                    " story_type, prompt, created_at, completed_at, generation_metadata, user_id)"
                    " VALUES (:g, :n, :s, 'gpt-4o-mini', 'hero', 'late retry', :t, :t, '{}', gen_random_uuid())"
                ),
                {"g": gid, "n": n, "s": "failed" if n == 1 else "success", "t": at},
            )
    fold(admin_engine, SCHEMA)
    facts.forget_facts(scratch)
    assert explorer._attempts_before(past, scratch) > late  # the rollup's bound admits the retry
    page = explorer.explorer_page(past, ExplorerQuery(), None, 50)
    assert (str(page.rows["generation_id"].iloc[0]), int(page.rows["attempt_number"].iloc[0])) == (gid, 2)
    assert page.rows["created_at"].max() == late
    report = reports.fetch_report("attempts", past)
    assert explorer.explorer_count(past, ExplorerQuery()) == len(report)
    report["generation_id"] = report["generation_id"].astype(str)
    newest = report.sort_values(["created_at", "generation_id", "attempt_number"], ascending=False).head(50)
    assert [str(g) for g in page.rows["generation_id"]] == [str(g) for g in newest["generation_id"]]
