"""python -m data_access.import_rows: a team's existing attempts into generations, with GenLens'
facts current afterwards, and bad input stopped at its line with nothing imported."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from data_access.demo_data import COLUMNS
from queries.filters import Filters
from tests.rollups import rollup_snapshot

SCHEMA = "import_scratch"
WINDOW = Filters(since=datetime(2026, 9, 1, tzinfo=UTC), until=datetime(2026, 11, 21, tzinfo=UTC))
NAMES = ("attempts", "generations", "success_rate", "retry_rate", "total_cost_usd", "p95_latency_ms", "avg_quality")


@pytest.fixture
def scratch(admin_engine, use_schema, monkeypatch):
    """An empty migrated schema, GenLens pointed at it."""
    from data_access.migrate import apply_migrations
    from tests import conftest

    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    apply_migrations(admin_engine, SCHEMA)
    conftest._loaded.add(SCHEMA)
    yield use_schema(SCHEMA)
    with admin_engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    conftest._loaded.discard(SCHEMA)


def _demo_csv(admin_engine, path, where: str = "true") -> int:
    """The demo schema's attempts as CSV with a header, as `COPY ... TO` or a spreadsheet writes them."""
    raw = admin_engine.raw_connection()
    try:
        with raw.cursor() as cur, open(path, "wb") as out:
            sql = f"COPY (SELECT {COLUMNS} FROM demo.generations WHERE {where}) TO STDOUT WITH (FORMAT csv, HEADER)"
            with cur.copy(sql) as copy:
                for data in copy:
                    out.write(data)
            return cur.rowcount
    finally:
        raw.close()


def _count(admin_engine, sql: str) -> int:
    with admin_engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _figures(schema_db):
    import streamlit as st

    from queries import reports

    st.cache_data.clear()
    return reports.metric_values(WINDOW, NAMES, schema_db)


def test_a_csv_into_an_empty_table_gives_the_same_figures(demo_db, scratch, admin_engine, tmp_path, capsys):
    from data_access import import_rows
    from data_access.facts import forget_facts

    expected = _figures(demo_db)
    n = _demo_csv(admin_engine, tmp_path / "attempts.csv")
    assert import_rows.main([str(tmp_path / "attempts.csv")]) == 0
    out = capsys.readouterr().out
    assert f"imported {n:,} attempts" in out and "indexes rebuilt" in out and "pages read genlens_facts" in out
    forget_facts(scratch)
    assert _count(admin_engine, f"SELECT count(*) FROM {SCHEMA}.genlens_facts") == n
    assert _figures(scratch) == expected
    assert rollup_snapshot(admin_engine, SCHEMA) == rollup_snapshot(admin_engine, "demo")


def test_json_lines_into_a_table_with_rows_are_folded_in(demo_db, scratch, admin_engine, tmp_path, capsys):
    """The half of the demo generations started before a day as CSV first, then the rest as JSON
    Lines into the table that now has rows: the change log is folded and the figures equal the demo's."""
    from data_access import import_rows

    expected = _figures(demo_db)
    cut = "created_at < '2026-11-01'"
    first = _demo_csv(
        admin_engine, tmp_path / "old.csv", f"generation_id IN (SELECT generation_id FROM demo.generations WHERE {cut})"
    )
    assert import_rows.main([str(tmp_path / "old.csv")]) == 0
    raw = admin_engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(
                f"SELECT to_jsonb(g) FROM (SELECT {COLUMNS} FROM demo.generations WHERE generation_id NOT IN"
                f" (SELECT generation_id FROM demo.generations WHERE {cut})) AS g"
            )
            rows = [r[0] for r in cur.fetchall()]
    finally:
        raw.close()
    with open(tmp_path / "new.jsonl", "w", encoding="utf-8") as out:
        for r in rows:
            out.write(json.dumps(r) + "\n")
    assert import_rows.main([str(tmp_path / "new.jsonl")]) == 0
    out = capsys.readouterr().out
    assert f"imported {len(rows):,} attempts" in out and "folded into the facts" in out
    assert _count(admin_engine, f"SELECT count(*) FROM {SCHEMA}.genlens_changes") == 0
    assert _count(admin_engine, f"SELECT count(*) FROM {SCHEMA}.generations") == first + len(rows)
    assert _figures(scratch) == expected
    assert rollup_snapshot(admin_engine, SCHEMA) == rollup_snapshot(admin_engine, "demo")


GOOD = "00000000-0000-4000-8000-00000000000{}"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            "generation_id,attempt_number,model_used,prompt,user_id,created_at\n"
            + "".join(f"{GOOD.format(i)},1,m,p,{GOOD.format(i)},2026-11-01T10:00:00Z\n" for i in range(3))
            + f"{GOOD.format(9)},1,m,p,{GOOD.format(9)},not-a-date\n",
            "line 5, column created_at: invalid input syntax for type timestamp with time zone",
        ),
        ("generation_id,attempt,model_used,prompt,user_id\n", "line 1: unknown column 'attempt'"),
        ("generation_id,attempt_number,prompt,user_id\n", "line 1: required column missing: model_used"),
        ("", "the file is empty"),
        (
            "generation_id,attempt_number,model_used,prompt,user_id\n"
            + f"{GOOD.format(1)},1,m,p,{GOOD.format(1)}\n" * 2,
            "duplicate attempt: Key (generation_id, attempt_number)=(00000000-0000-4000-8000-000000000001, 1)",
        ),
    ],
    ids=["bad timestamp", "unknown column", "missing column", "empty", "duplicate attempt"],
)
def test_bad_csv_is_stopped_at_its_line_and_nothing_is_imported(scratch, admin_engine, tmp_path, capsys, content, said):
    from data_access import import_rows

    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert import_rows.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and said in err and "Traceback" not in err
    assert _count(admin_engine, f"SELECT count(*) FROM {SCHEMA}.generations") == 0


def test_bad_json_lines_name_their_line(scratch, admin_engine, tmp_path, capsys):
    from data_access import import_rows

    ok = {
        "generation_id": GOOD.format(1),
        "attempt_number": 1,
        "model_used": "m",
        "prompt": "p",
        "user_id": GOOD.format(1),
    }
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ok) + "\n\n" + json.dumps({**ok, "attempt_number": 2, "extra": 1}) + "\n")
    assert import_rows.main([str(path)]) == 2
    assert "line 3: column 'extra' is not in the first object's columns" in capsys.readouterr().err
    path.write_text(json.dumps(ok) + "\n{not json\n")
    assert import_rows.main([str(path)]) == 2
    assert "line 2: not JSON" in capsys.readouterr().err
    assert _count(admin_engine, f"SELECT count(*) FROM {SCHEMA}.generations") == 0


def test_an_attempt_already_in_the_table_stops_the_import_at_its_line(scratch, admin_engine, tmp_path, capsys):
    from data_access import import_rows

    path = tmp_path / "rows.csv"
    path.write_text(
        "generation_id,attempt_number,model_used,prompt,user_id,status\n"
        + "".join(f"{GOOD.format(i)},1,m,p,{GOOD.format(i)},success\n" for i in range(3))
    )
    assert import_rows.main([str(path)]) == 0
    again = tmp_path / "again.csv"
    again.write_text(
        "generation_id,attempt_number,model_used,prompt,user_id,status\n"
        f"{GOOD.format(7)},1,m,p,{GOOD.format(7)},success\n{GOOD.format(2)},1,m,p,{GOOD.format(2)},failed\n"
    )
    capsys.readouterr()
    assert import_rows.main([str(again)]) == 2
    err = capsys.readouterr().err
    assert "line 3: duplicate attempt: Key (generation_id, attempt_number)=" in err and "already exists" in err
    assert _count(admin_engine, f"SELECT count(*) FROM {SCHEMA}.generations") == 3


def test_progress_tells_how_far_the_reading_is(scratch, admin_engine, tmp_path):
    from data_access import import_rows

    rows = "".join(f"{GOOD.format(i)},1,m,p,{GOOD.format(i)}\n" for i in range(3))
    (tmp_path / "a.csv").write_text("generation_id,attempt_number,model_used,prompt,user_id\n" + rows)
    said: list[str] = []
    assert import_rows.import_file(admin_engine, SCHEMA, str(tmp_path / "a.csv"), progress=said.append).attempts == 3
    assert said and all(s.endswith("MiB read") and " of " in s for s in said)
    ok = {
        "generation_id": GOOD.format(5),
        "attempt_number": 1,
        "model_used": "m",
        "prompt": "p",
        "user_id": GOOD.format(5),
    }
    (tmp_path / "b.jsonl").write_text(json.dumps(ok) + "\n")
    said.clear()
    assert import_rows.import_file(admin_engine, SCHEMA, str(tmp_path / "b.jsonl"), progress=said.append).attempts == 1
    assert said == ["1 attempt read"]
