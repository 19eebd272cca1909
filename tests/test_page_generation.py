"""The Generation detail page in AppTest: a generation from the URL shows all its attempts; bad,
unknown and missing ids say so; test and malformed generations are flagged."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from metrics.scope import table
from queries import generation

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def open_generation(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    base = {"since": "2026-10-21", "until": "2026-11-21", **params}
    for k, v in base.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    for k, v in base.items():
        at.query_params[k] = v
    at.switch_page("pages/generation.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Generation detail"
    return at


def one_id(db, where: str) -> str:
    with db.engine.connect() as conn:
        sql = f"SELECT generation_id FROM {table(db)} g WHERE {where} ORDER BY generation_id LIMIT 1"
        return str(conn.execute(text(sql)).scalar_one())


def texts(at: AppTest) -> str:
    return "\n".join([t.value for t in at.text] + [c.value for c in at.code])


def test_a_retried_generation_shows_every_attempt(demo_db):
    gid = one_id(
        demo_db,
        "g.generation_id IN (SELECT generation_id FROM "
        + table(demo_db)
        + " GROUP BY 1 HAVING count(*) >= 3 AND bool_or(status = 'timeout'))",
    )
    at = open_generation(generation_id=gid)
    att = generation.attempts(gid)
    shown = at.dataframe[0].value
    assert list(shown["attempt_number"]) == list(att["attempt_number"]) == list(range(1, len(att) + 1))
    assert list(shown["status"]) == list(att["status"])
    assert at.text_input(key="gd_generation_id").value == gid
    body = texts(at)
    assert f"Retry chain: {len(att)} attempts · final status {att['status'].iloc[-1]}" in body
    assert f"/generation?generation_id={gid}" in body
    assert "Story type:" in body and "User id:" in body
    assert len(at.expander) == len(att)
    # Failed attempts show their error signature.
    failed = att[att["error_signature"].notna()]
    assert len(failed) >= 1
    for sig in failed["error_signature"]:
        assert sig in body
    assert not at.warning


def test_invalid_id_warns(demo_db):
    at = open_generation(generation_id="not-a-uuid'; --")
    assert any("not a generation id" in w.value for w in at.warning)
    assert not at.dataframe


def test_unknown_id_says_so(demo_db):
    at = open_generation(generation_id=UNKNOWN)
    assert any("No generation with this id" in i.value for i in at.info)
    assert not at.dataframe


def test_no_id_asks_for_one(demo_db):
    at = open_generation()
    assert any("Paste a generation id" in i.value for i in at.info)


def test_pasting_an_id_loads_it_and_updates_the_url(demo_db):
    gid = one_id(demo_db, "g.status = 'success'")
    at = open_generation()
    at.text_input(key="gd_generation_id").set_value(gid.upper()).run()
    assert not at.exception
    assert at.query_params["generation_id"] in (gid.upper(), [gid.upper()])
    assert len(at.dataframe[0].value) == len(generation.attempts(gid))


def test_outside_the_window_and_test_generation(demo_db):
    # A test generation, with a sidebar window that holds no data: found by id anyway.
    gid = one_id(demo_db, "g.generation_metadata ? 'test_run_id'")
    at = open_generation(generation_id=gid, since="2020-01-01", until="2020-01-08")
    assert any("test generation" in i.value for i in at.info)
    assert len(at.dataframe[0].value) == len(generation.attempts(gid))


def test_malformed_metadata_is_shown_as_stored(demo_db):
    gid = one_id(demo_db, "jsonb_typeof(g.generation_metadata) = 'string'")
    at = open_generation(generation_id=gid)
    assert any("malformed generation_metadata" in w.value for w in at.warning)
    assert '"metadata unavailable"' in texts(at)


def test_pending_generation(demo_db):
    gid = one_id(demo_db, "g.status = 'pending'")
    at = open_generation(generation_id=gid)
    assert "pending" in texts(at)
    assert any("still pending" in c.value for c in at.caption)


def test_empty_database(empty_db):
    at = open_generation(generation_id=UNKNOWN)
    assert any("No generation with this id" in i.value for i in at.info)
