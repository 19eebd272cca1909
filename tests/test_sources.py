"""GENLENS_SOURCE: each seed system's own table, read through GenLens' view, checked by hand.

Every source gets its seed DDL in a schema of its own and a few hand-made rows covering every
status and a malformed value. Expected figures are worked out in the comments.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from data_access import source_demo
from data_access.migrate import create_source_view
from queries.filters import Filters
from queries.reports import fetch_report, summary

APP = str(Path(__file__).resolve().parent.parent / "app.py")
WINDOW = Filters(since=datetime(2026, 4, 1, tzinfo=UTC), until=datetime(2026, 4, 3, tzinfo=UTC))


def T(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2026, 4, day, hh, mm, ss, tzinfo=UTC)


U1, U2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"

ROWS = {
    "generation_jobs": (
        "id, user_id, project_id, status, mode, error, cost_cents, created_at, updated_at",
        [
            # j1 succeeded: success, $1.50, 30 s
            (
                "a0000000-0000-4000-8000-000000000001",
                U1,
                U2,
                "succeeded",
                "lifestyle",
                None,
                150,
                T(1, 10),
                T(1, 10, 0, 30),
            ),
            # j2 failed: $0.50, 10 s
            (
                "a0000000-0000-4000-8000-000000000002",
                U1,
                U2,
                "failed",
                "lifestyle",
                "GPU OOM after 812 steps",
                50,
                T(1, 11),
                T(1, 11, 0, 10),
            ),
            # j3 queued: pending, no cost
            ("a0000000-0000-4000-8000-000000000003", U2, U2, "queued", "portrait", None, None, T(2, 9), T(2, 9)),
            # j4 running with a negative cost (malformed): pending, cost unknown, one metadata issue
            ("a0000000-0000-4000-8000-000000000004", U2, U2, "running", "portrait", None, -5, T(2, 10), T(2, 10, 5)),
            # j5 succeeded: $2.00, 60 s
            ("a0000000-0000-4000-8000-000000000005", U2, U2, "succeeded", "portrait", None, 200, T(2, 12), T(2, 12, 1)),
        ],
    ),
    "api_usage": (
        "id, user_id, function_name, request_id, status, response_time_ms, tokens_used, cost_estimate,"
        " error_message, error_code, metadata, created_at",
        [
            (
                "b0000000-0000-4000-8000-000000000001",
                U1,
                "generate-story",
                "r1",
                "success",
                1200,
                500,
                0.01,
                None,
                None,
                '{"model": "gpt-4o"}',
                T(1, 10),
            ),
            # error without message: error_message falls back to error_code
            (
                "b0000000-0000-4000-8000-000000000002",
                U1,
                "generate-story",
                "r2",
                "error",
                300,
                None,
                None,
                None,
                "UPSTREAM_502",
                '{"model": "gpt-4o"}',
                T(1, 11),
            ),
            # rate_limited, no metadata: model falls back to function_name
            (
                "b0000000-0000-4000-8000-000000000003",
                U2,
                "generate-audio",
                "r3",
                "rate_limited",
                50,
                None,
                None,
                "Too many requests, retry in 30s",
                "RATE",
                None,
                T(2, 9),
            ),
            # malformed metadata (a JSON string): model falls back to function_name
            (
                "b0000000-0000-4000-8000-000000000004",
                U2,
                "generate-audio",
                "r4",
                "success",
                2000,
                1000,
                0.02,
                None,
                None,
                '"oops"',
                T(2, 10),
            ),
            # status NULL (allowed by the seed's CHECK): unknown, neither terminal nor pending
            (
                "b0000000-0000-4000-8000-000000000005",
                U2,
                "generate-story",
                "r5",
                None,
                100,
                None,
                None,
                None,
                None,
                '{"model": "gpt-4o"}',
                T(2, 11),
            ),
        ],
    ),
    "courses": (
        "id, title, user_id, generation_metadata, created_at",
        [
            (
                "c0000000-0000-4000-8000-000000000001",
                "Algebra",
                U1,
                json.dumps(
                    {
                        "model_used": {"metadata": "m-meta", "sections": "m-sec"},
                        "cost_usd": 0.5,
                        "duration_ms": {"total": 20000},
                        "total_tokens": {"total": 3000},
                        "quality_scores": {"overall": 0.9},
                        "retry_count": {"metadata": 1, "sections": [0, 2]},
                    }
                ),
                T(1, 10),
            ),
            (
                "c0000000-0000-4000-8000-000000000002",
                "Biology",
                U1,
                json.dumps(
                    {
                        "model_used": {"metadata": "m-meta"},
                        "cost_usd": 0.25,
                        "duration_ms": {"total": 10000},
                        "total_tokens": {"total": 1000},
                        "quality_scores": {"overall": 0.6},
                    }
                ),
                T(1, 12),
            ),
            # no metadata: not a generation
            ("c0000000-0000-4000-8000-000000000003", "Chemistry", U2, None, T(1, 13)),
            # metadata an array: model unknown, no latency, a metadata issue
            ("c0000000-0000-4000-8000-000000000004", "Drawing", U2, "[1, 2]", T(2, 9)),
            # cost as a string: cost unknown, a metadata issue
            (
                "c0000000-0000-4000-8000-000000000005",
                "Economics",
                U2,
                json.dumps(
                    {
                        "model_used": {"sections": "m-sec"},
                        "cost_usd": "0.3",
                        "duration_ms": {"total": 5000},
                        "quality_scores": {"overall": 0.8},
                    }
                ),
                T(2, 10),
            ),
        ],
    ),
    "stories": (
        "id, title, content, moral, model_used, language, rating, created_at",
        [
            ("d0000000-0000-4000-8000-000000000001", "The fox", "...", "kindness", "gpt-4o", "en", 8, T(1, 10)),
            ("d0000000-0000-4000-8000-000000000002", "El zorro", "...", "honesty", None, "es", None, T(1, 11)),
            ("d0000000-0000-4000-8000-000000000003", "The owl", "...", "courage", "gpt-4o", "en", 11, T(2, 9)),
        ],
    ),
}

# (summary subset, by_model rows [model, attempts, successes, failures, timeouts, rate, p50, p95, cost], daily)
EXPECTED = {
    "generation_jobs": (
        # success 2 (j1, j5) of terminal 3 (j1, j2, j5); cost 1.5 + 0.5 + 2.0; latencies 10, 30, 60 s:
        # p50 30000; p95 at position 2 * 0.95 = 1.9 -> 30000 + 0.9 * 30000 = 57000
        dict(
            generations=5,
            attempts=5,
            success_rate=2 / 3,
            total_cost_usd=4.0,
            cost_per_success_usd=2.0,
            p50_latency_ms=30000,
            p95_latency_ms=57000,
            pending_attempts=2,
            metadata_issues=1,
            avg_quality=None,
        ),
        # portrait: j3, j4, j5 (3 attempts, 1 success, 0 terminal failures); lifestyle: j1, j2
        [
            ("portrait", 3, 1, 0, 0, 1.0, 60000, 60000, 2.0, None),
            ("lifestyle", 2, 1, 1, 0, 0.5, 20000, 29000, 2.0, None),
        ],
        [("2026-04-01", 2, 1, 1, 0, 0.5, 2.0), ("2026-04-02", 3, 1, 0, 0, 1.0, 2.0)],
    ),
    "api_usage": (
        # terminal a1..a4 (a5 has no status), success a1, a4; latencies 50, 300, 1200, 2000:
        # p50 (300 + 1200) / 2 = 750; p95 position 2.85 -> 1200 + 0.85 * 800 = 1880
        dict(
            generations=5,
            attempts=5,
            success_rate=0.5,
            total_cost_usd=0.03,
            cost_per_success_usd=0.015,
            total_tokens=1500,
            p50_latency_ms=750,
            p95_latency_ms=1880,
            pending_attempts=0,
            metadata_issues=0,
        ),
        # gpt-4o: a1, a2, a5 -> latencies 300, 1200: p50 750, p95 300 + 0.95 * 900 = 1155
        # generate-audio: a3, a4 -> latencies 50, 2000: p50 1025, p95 50 + 0.95 * 1950 = 1902.5
        [
            ("gpt-4o", 3, 1, 1, 0, 0.5, 750, 1155, 0.01, None),
            ("generate-audio", 2, 1, 1, 0, 0.5, 1025, 1902.5, 0.02, None),
        ],
        [("2026-04-01", 2, 1, 1, 0, 0.5, 0.01), ("2026-04-02", 3, 1, 1, 0, 0.5, 0.02)],
    ),
    "courses": (
        # c3 has no metadata: 4 generations; cost 0.5 + 0.25 (c5's is a string); quality (0.9 + 0.6 + 0.8) / 3;
        # latencies 5, 10, 20 s: p50 10000, p95 position 1.9 -> 10000 + 0.9 * 10000 = 19000
        dict(
            generations=4,
            attempts=4,
            success_rate=1.0,
            total_cost_usd=0.75,
            cost_per_success_usd=0.1875,
            total_tokens=4000,
            p50_latency_ms=10000,
            p95_latency_ms=19000,
            avg_quality=(0.9 + 0.6 + 0.8) / 3,
            metadata_issues=2,
        ),
        # m-sec: c1 (20 s), c5 (5 s): p50 12500, p95 5000 + 0.95 * 15000 = 19250
        [
            ("m-sec", 2, 2, 0, 0, 1.0, 12500, 19250, 0.5, 0.85),
            ("m-meta", 1, 1, 0, 0, 1.0, 10000, 10000, 0.25, 0.6),
            ("unknown", 1, 1, 0, 0, 1.0, None, None, 0.0, None),
        ],
        [("2026-04-01", 2, 2, 0, 0, 1.0, 0.75), ("2026-04-02", 2, 2, 0, 0, 1.0, 0.0)],
    ),
    "stories": (
        # three successes, nothing known about cost, latency or quality
        dict(
            generations=3,
            attempts=3,
            success_rate=1.0,
            total_cost_usd=0.0,
            p50_latency_ms=None,
            avg_quality=None,
            metadata_issues=0,
        ),
        [("gpt-4o", 2, 2, 0, 0, 1.0, None, None, 0.0, None), ("unknown", 1, 1, 0, 0, 1.0, None, None, 0.0, None)],
        [("2026-04-01", 2, 2, 0, 0, 1.0, 0.0), ("2026-04-02", 1, 1, 0, 0, 1.0, 0.0)],
    ),
}


def _fingerprint(conn, schema: str, table: str):
    """The table's definition (columns, indexes, constraints) and a digest of its rows."""
    cols = conn.execute(
        text(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
        ),
        {"s": schema, "t": table},
    ).all()
    idx = conn.execute(
        text("SELECT indexdef FROM pg_indexes WHERE schemaname = :s AND tablename = :t ORDER BY 1"),
        {"s": schema, "t": table},
    ).all()
    cons = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST(:r AS regclass) ORDER BY 1"
        ),
        {"r": f"{schema}.{table}"},
    ).all()
    rows = conn.execute(
        text(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{schema}\".{table} t")
    ).scalar()
    return cols, idx, cons, rows


@pytest.fixture
def source_db(pg_url, admin_engine, monkeypatch):
    from data_access.engine import get_database

    def use(source: str, create_view: bool = True):
        schema = f"src_{source}"
        with admin_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text("DROP SCHEMA IF EXISTS genlens_test CASCADE"))
        source_demo.create_table(admin_engine, schema, source)
        cols, rows = ROWS[source]
        marks = ", ".join(f":p{i}" for i in range(len(cols.split(","))))
        with admin_engine.begin() as conn:
            for row in rows:
                conn.execute(
                    text(f'INSERT INTO "{schema}".{source} ({cols}) VALUES ({marks})'),
                    {f"p{i}": v for i, v in enumerate(row)},
                )
        with admin_engine.connect() as conn:
            before = _fingerprint(conn, schema, source)
        if create_view:
            create_source_view(admin_engine, schema, source, "genlens_test")
        monkeypatch.setenv("DATABASE_URL", pg_url)
        monkeypatch.setenv("GENLENS_SCHEMA", schema)
        monkeypatch.setenv("GENLENS_SOURCE", source)
        monkeypatch.setenv("GENLENS_VIEW_SCHEMA", "genlens_test")
        get_database.cache_clear()
        import streamlit as st

        st.cache_data.clear()
        return get_database(), before

    yield use
    get_database.cache_clear()


def _rows(df):
    out = []
    for r in df.itertuples(index=False):
        out.append(
            tuple(
                None if (isinstance(v, float) and v != v) else (v.isoformat() if hasattr(v, "isoformat") else v)
                for v in r
            )
        )
    return out


@pytest.mark.parametrize("source", list(ROWS))
def test_source_reports_match_hand_computed(source, source_db):
    db, _ = source_db(source)
    assert not db.inline and "genlens_test" in db.relation
    want_summary, want_by_model, want_daily = EXPECTED[source]
    got = summary(WINDOW)
    for key, value in want_summary.items():
        assert got[key] == (pytest.approx(value) if value is not None else None), key
    assert _rows(fetch_report("by_model", WINDOW)) == [
        tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in want_by_model
    ]
    daily = _rows(fetch_report("daily", WINDOW))
    assert daily == [tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in want_daily]


@pytest.mark.parametrize("source", ["api_usage", "generation_jobs"])
def test_source_error_messages_follow_the_mapping(source, source_db):
    source_db(source)
    errors = fetch_report("errors", WINDOW)
    if source == "api_usage":
        # error_message, else error_code: the rate-limit message and the UPSTREAM_502 code
        assert set(errors["error_signature"]) == {
            "Too many requests, retry in <n>s",
            "<id>",
        }  # UPSTREAM_502: 8+ chars with a digit
    else:
        assert list(errors["error_signature"]) == ["GPU OOM after <n> steps"]


def test_without_a_view_genlens_reads_through_plain_queries(source_db):
    db, _ = source_db("api_usage", create_view=False)
    assert db.inline and db.relation.startswith("(SELECT")
    got = summary(WINDOW)
    assert got["generations"] == 5 and got["success_rate"] == pytest.approx(0.5)


PAGES = [
    "pages/overview.py",
    "pages/reliability.py",
    "pages/cost_quality.py",
    "pages/errors.py",
    "pages/explorer.py",
    "pages/generation.py",
    "pages/reports.py",
]


@pytest.mark.parametrize("source", list(ROWS))
def test_page_tour_leaves_the_source_table_untouched(source, source_db, admin_engine):
    db, before = source_db(source)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["since"] = "2026-04-01"
    at.query_params["until"] = "2026-04-03"
    at.run()
    assert not at.exception
    assert any(m.label == "Generations" for m in at.metric)
    for page in PAGES[1:]:
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
        if page == "pages/reliability.py" and source != "generations":
            # none of the seed sources records a story type: said, not drawn as an empty chart
            assert any("Story type: not available for this source" in i.value for i in at.info)
    create_source_view(admin_engine, db.schema, source, "genlens_test")  # migrate again
    with admin_engine.connect() as conn:
        assert _fingerprint(conn, db.schema, source) == before
