"""Generation detail queries on the demo data: all attempts of one generation in order with the
attempts report's typed values, the retry chain, test and malformed generations, unknown ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy import text

from metrics import planner
from metrics.scope import table
from queries import generation, reports
from queries.filters import FilterError, Filters

W = Filters(since=datetime(2026, 9, 1, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC))
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def report(demo_db) -> pd.DataFrame:
    df = reports.fetch_report("attempts", W)
    df["generation_id"] = df["generation_id"].astype(str)
    return df


def one_id(db, where: str) -> str:
    with db.engine.connect() as conn:
        return str(conn.execute(text(f"SELECT generation_id FROM {table(db)} g WHERE {where} LIMIT 1")).scalar_one())


def test_all_attempts_in_order_with_report_values(report):
    sizes = report.groupby("generation_id").size()
    gid = sizes[sizes >= 3].index[0]
    got = generation.attempts(gid)
    mine = report[report["generation_id"] == gid].sort_values("attempt_number").reset_index(drop=True)
    assert list(got["attempt_number"]) == list(range(1, len(mine) + 1))
    assert list(got["attempt_number"]) == list(mine["attempt_number"])
    for col in ("status", "model_used", "latency_ms", "cost_usd", "tokens", "quality", "error_signature"):
        a = got[col].astype(object).where(got[col].notna(), None).tolist()
        b = mine[col].astype(object).where(mine[col].notna(), None).tolist()
        assert a == b, col
    assert (got["created_at"].diff().dropna() > pd.Timedelta(0)).all()
    assert set(got["generation_id"]) == {gid}
    # The request and the raw JSON come along.
    assert got["prompt"].str.startswith("Write a").all()
    assert isinstance(got["generation_metadata"].iloc[-1], dict)


def test_retry_chain(report):
    sizes = report.groupby("generation_id").size()
    gid = sizes[sizes >= 3].index[0]
    att = generation.attempts(gid)
    chain = generation.retry_chain(gid)
    assert chain["attempts"] == len(att)
    assert chain["final_status"] == att["status"].iloc[-1]
    assert chain["total_cost_usd"] == pytest.approx(att["cost_usd"].sum())
    span = (att["completed_at"].max() - att["created_at"].min()).total_seconds() * 1000
    assert chain["total_ms"] == pytest.approx(span)
    assert chain["pending_attempts"] == 0 and chain["is_test"] is False


def test_ids_are_parsed():
    gid = "3F2A0C4E-1B2D-4C3E-8F4A-5B6C7D8E9F01"
    assert generation.parse_generation_id(f"  {gid} ") == gid.lower()
    for bad in ("", "not-a-uuid", "'; DROP TABLE generations; --", "3f2a0c4e"):
        with pytest.raises(FilterError):
            generation.parse_generation_id(bad)


def test_unknown_id(demo_db):
    assert generation.retry_chain(UNKNOWN) is None
    assert generation.attempts(UNKNOWN).empty


def test_test_generation_is_flagged(demo_db):
    gid = one_id(demo_db, "g.generation_metadata ? 'test_run_id'")
    assert generation.retry_chain(gid)["is_test"] is True
    assert generation.attempts(gid)["is_test"].all()


def test_malformed_metadata_comes_back_as_stored(demo_db):
    gid = one_id(demo_db, "jsonb_typeof(g.generation_metadata) = 'string'")
    att = generation.attempts(gid)
    bad = att[att["metadata_issue"]]
    assert len(bad) >= 1
    assert bad["generation_metadata"].iloc[0] == "metadata unavailable"
    assert bad[["cost_usd", "tokens", "quality"]].isna().all().all()

    gid = one_id(demo_db, "jsonb_typeof(g.generation_metadata) = 'array'")
    att = generation.attempts(gid)
    assert [1, 2, 3] in att["generation_metadata"].tolist()


def test_pending_generation_has_no_total_time(demo_db):
    gid = one_id(demo_db, "g.status = 'pending'")
    chain = generation.retry_chain(gid)
    assert chain["pending_attempts"] >= 1
    assert chain["total_ms"] is None and chain["last_completed_at"] is None
    att = generation.attempts(gid)
    assert att.loc[att["status"] == "pending", "latency_ms"].isna().all()


def test_empty_database(empty_db):
    assert generation.attempts(UNKNOWN).empty
    assert generation.retry_chain(UNKNOWN) is None


def test_retry_chain_is_the_same_from_the_facts_and_the_raw_attempts(demo_db, report):
    sizes = report.groupby("generation_id").size()
    for gid in list(sizes[sizes >= 2].index[:5]) + [one_id(demo_db, "g.status = 'pending'")]:
        with planner.only("raw"):
            raw = generation.retry_chain(gid)
        with planner.only("facts"):
            facts = generation.retry_chain(gid)
        assert raw == facts and raw["attempts"] >= 1, gid
    # the rollups do not answer one generation
    one = Filters(since=W.since, until=W.until, include_tests=True, generation=gid)
    plan = planner.explain(list(generation.CHAIN_METRICS), one)
    assert plan.source == "facts" and ("rollup", "a filter on generation") in plan.declined


def test_a_generation_filter_takes_a_uuid_only():
    with pytest.raises(FilterError, match="generation must be a generation id"):
        Filters(since=W.since, until=W.until, generation="'; DROP TABLE generations; --")
