"""The runner with the simulated provider, against the real test PostgreSQL (schema admin_runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from generation import store
from generation.providers import AttemptResult, GenerationRequest, Provider, SimulatedProvider
from generation.runner import RunOptions, run, start_run
from tests.conftest import ROOT

SCHEMA = "admin_runs"
REQ = GenerationRequest(
    model="openai/gpt-4o-mini",
    prompt="Write a child bedtime story for Mia, age 6, who loves dinosaurs. It's 'quoted' -- and 50% odd: ; DROP",
    story_type="child",
    story_length=5,
    moral="kindness",
)
FAST = RunOptions(count=1, max_attempts=3, backoff_s=0)


@pytest.fixture
def db(use_schema):
    return use_schema(SCHEMA)


def rows(admin_engine, generation_id: str, schema: str = SCHEMA) -> list[dict]:
    with admin_engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text(
                    f'SELECT * FROM "{schema}".generations WHERE generation_id = CAST(:g AS uuid) ORDER BY attempt_number'
                ),
                {"g": generation_id},
            ).mappings()
        ]


def test_attempts_recorded_with_retries_tags_and_stage5_metadata(db, admin_engine):
    provider = SimulatedProvider(seed=1, latency_scale=0, script={1: "failed", 2: "timeout", 3: "success"})
    result = run(REQ, provider, RunOptions(count=2, max_attempts=3, backoff_s=0), db=db)

    assert result.ok and len(result.outcomes) == 2
    for o in result.outcomes:
        assert (o.final_status, o.attempts) == ("success", 3)
        assert o.cost_usd is not None and o.cost_usd > 0
        got = rows(admin_engine, o.generation_id)
        assert [r["status"] for r in got] == ["failed", "timeout", "success"]
        assert [r["attempt_number"] for r in got] == [1, 2, 3]
        for r in got:
            assert r["completed_at"] is not None and r["completed_at"] >= r["created_at"]
            assert r["generation_metadata"]["test_run_id"] == result.test_run_id
            assert r["generation_metadata"]["source"] == "admin"
            assert r["prompt"] == REQ.prompt  # stored exactly as given
            assert (r["model_used"], r["story_type"], r["story_length"], r["moral"]) == (
                "openai/gpt-4o-mini",
                "child",
                5,
                "kindness",
            )
        failed, timeout, success = got
        assert failed["error_message"] and failed["full_response"]["error"]["message"] == failed["error_message"]
        assert timeout["error_message"].startswith("Request timed out after ")
        assert success["error_message"] is None
        meta = success["generation_metadata"]
        assert set(meta) >= {"model_used", "total_tokens", "cost_usd", "duration_ms", "quality_scores", "retry_count"}
        assert meta["total_tokens"]["total"] == sum(
            meta["total_tokens"][k] for k in ("metadata", "sections", "validation")
        )
        assert 0 <= meta["quality_scores"]["overall"] <= 1
        assert success["full_response"]["usage"]["total_tokens"] == meta["total_tokens"]["total"]
    assert result.outcomes[0].generation_id != result.outcomes[1].generation_id


def test_gives_up_after_max_attempts_and_records_timeouts(db, admin_engine):
    out = run(REQ, SimulatedProvider(latency_scale=0, timeout_rate=1.0), FAST, db=db).outcomes[0]
    assert (out.final_status, out.attempts, out.cost_usd) == ("timeout", 3, None)
    assert [r["status"] for r in rows(admin_engine, out.generation_id)] == ["timeout"] * 3

    out = run(
        REQ,
        SimulatedProvider(latency_scale=0, script={1: "failed", 2: "failed"}),
        RunOptions(max_attempts=2, backoff_s=0),
        db=db,
    ).outcomes[0]
    assert (out.final_status, out.attempts) == ("failed", 2)
    assert out.error_message == rows(admin_engine, out.generation_id)[-1]["error_message"]


class Probe(Provider):
    """Looks at its own row while the 'model' is being called."""

    name = "probe"

    def __init__(self, admin_engine, outcomes):
        self.engine, self.outcomes, self.seen = admin_engine, list(outcomes), []

    def attempt(self, req, attempt_number, generation_id):
        with self.engine.connect() as conn:  # another connection: sees only committed rows
            self.seen.append(
                conn.execute(
                    text(
                        f'SELECT status, completed_at, generation_metadata FROM "{SCHEMA}".generations '
                        "WHERE generation_id = CAST(:g AS uuid) AND attempt_number = :n"
                    ),
                    {"g": generation_id, "n": attempt_number},
                ).one()
            )
        status = self.outcomes.pop(0)
        if isinstance(status, BaseException):
            raise status
        return AttemptResult(
            status,
            None if status == "success" else "boom",
            None,
            {"cost_usd": 0.01},
            retryable=status != "fatal" and True,
        )


def test_each_attempt_is_committed_as_pending_before_the_call(db, admin_engine):
    probe = Probe(admin_engine, ["failed", "success"])
    out = run(REQ, probe, FAST, db=db).outcomes[0]
    assert (out.final_status, out.attempts, out.cost_usd) == ("success", 2, pytest.approx(0.02))
    assert [s.status for s in probe.seen] == ["pending", "pending"]
    assert all(s.completed_at is None for s in probe.seen)
    # Tagged from the start, so a crashed attempt still counts as a test generation.
    assert probe.seen[0].generation_metadata["source"] == "admin"


def test_a_crash_mid_attempt_leaves_a_pending_row(db, admin_engine):
    probe = Probe(admin_engine, ["failed", KeyboardInterrupt()])
    events = []
    with pytest.raises(KeyboardInterrupt):
        run(REQ, probe, FAST, db=db, on_event=events.append)
    gid = events[0].generation_id
    got = rows(admin_engine, gid)
    assert [r["status"] for r in got] == ["failed", "pending"]
    assert got[1]["completed_at"] is None and got[1]["error_message"] is None
    assert got[1]["generation_metadata"]["test_run_id"] == got[0]["generation_metadata"]["test_run_id"]


def test_a_provider_bug_is_a_failed_attempt_and_the_run_goes_on(db, admin_engine):
    probe = Probe(admin_engine, [ValueError("bad\nsecond line"), "success"])
    out = run(REQ, probe, FAST, db=db).outcomes[0]
    got = rows(admin_engine, out.generation_id)
    assert [r["status"] for r in got] == ["failed", "success"]
    assert got[0]["error_message"] == "Provider error: ValueError: bad"


def test_an_error_a_retry_cannot_fix_is_not_retried(db, admin_engine):
    class Fatal(Provider):
        def attempt(self, req, n, gid):
            return AttemptResult("failed", "HTTP 400: bad request", {"error": {}}, {}, retryable=False)

    out = run(REQ, Fatal(), FAST, db=db).outcomes[0]
    assert (out.final_status, out.attempts) == ("failed", 1)


def test_backoff_waits_between_attempts(db, admin_engine):
    opts = RunOptions(max_attempts=3, backoff_s=0.2)
    assert [opts.delay(n) for n in (1, 2, 3, 4)] == [0, 0.2, 0.4, 0.8]
    assert RunOptions(backoff_s=20, backoff_max_s=30).delay(5) == 30
    out = run(
        REQ, SimulatedProvider(latency_scale=0, script={1: "failed", 2: "failed", 3: "failed"}), opts, db=db
    ).outcomes[0]
    a, b, c = rows(admin_engine, out.generation_id)
    assert b["created_at"] - a["completed_at"] >= timedelta(seconds=0.2)
    assert c["created_at"] - b["completed_at"] >= timedelta(seconds=0.4)


def test_concurrent_generations_and_progress_events(db, admin_engine):
    events, lock = [], threading.Lock()

    def on_event(e):
        with lock:
            events.append(e)

    provider = SimulatedProvider(seed=5, latency_scale=0.002)
    result = run(
        REQ, provider, RunOptions(count=8, max_attempts=2, concurrency=4, backoff_s=0), db=db, on_event=on_event
    )
    ids = {o.generation_id for o in result.outcomes}
    assert len(ids) == 8 and [o.index for o in result.outcomes] == list(range(8))
    finished = [e for e in events if e.kind == "generation_finished"]
    assert len(finished) == 8
    with admin_engine.connect() as conn:
        n, pending = conn.execute(
            text(
                f"SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM \"{SCHEMA}\".generations "
                "WHERE generation_metadata->>'test_run_id' = :t"
            ),
            {"t": result.test_run_id},
        ).one()
    assert n == sum(o.attempts for o in result.outcomes) == sum(e.kind == "attempt_started" for e in events)
    assert pending == 0


def test_seeded_runs_repeat_their_outcomes(db):
    def statuses(seed):
        p = SimulatedProvider(seed=seed, latency_scale=0, fail_rate=0.5, timeout_rate=0.2)
        return [(o.final_status, o.attempts) for o in run(REQ, p, RunOptions(count=6, backoff_s=0), db=db).outcomes]

    assert statuses(42) == statuses(42)


def test_background_handle_reports_progress(db):
    h = start_run(REQ, SimulatedProvider(latency_scale=0), RunOptions(count=3, backoff_s=0), db)
    assert h.wait(30) and h.error is None
    done, attempts, ids = h.progress()
    assert done == 3 and len(ids) == 3 and attempts >= 3
    assert h.result.test_run_id == h.test_run_id
    assert set(store.attempts_for(ids, db)["generation_id"]) == set(ids)


def test_invalid_requests_and_options_are_refused():
    with pytest.raises(ValueError):
        GenerationRequest(model="m", prompt="a\x00b")
    with pytest.raises(ValueError):
        GenerationRequest(model="m", prompt="  ")
    with pytest.raises(ValueError):
        GenerationRequest(model="m", prompt="p", story_type="epic")
    for bad in ({"count": 0}, {"count": 51}, {"concurrency": 5}, {"max_attempts": 0}):
        with pytest.raises(ValueError):
            RunOptions(**bad)


def test_simulated_estimate_follows_the_profile():
    cheap = SimulatedProvider(latency_scale=0).estimate(REQ, 10, 3)
    dear = SimulatedProvider(latency_scale=0).estimate(
        GenerationRequest(model="anthropic/claude-3.5-sonnet", prompt="p"), 10, 3
    )
    assert 0 < cheap.expected_usd < cheap.max_usd
    assert dear.expected_usd > 10 * cheap.expected_usd


def test_default_metrics_leave_the_run_out(use_schema):
    from queries.filters import Filters
    from queries.reports import summary

    db = use_schema("admin_metrics")
    result = run(
        REQ,
        SimulatedProvider(latency_scale=0, script={1: "failed", 2: "success"}),
        RunOptions(count=3, backoff_s=0),
        db=db,
    )
    now = datetime.now(UTC)
    f = Filters(since=now - timedelta(days=1), until=now + timedelta(days=1))
    assert summary(f)["generations"] == 0
    with_tests = summary(Filters(since=f.since, until=f.until, include_tests=True))
    assert with_tests["generations"] == 3 and with_tests["attempts"] == 6
    assert with_tests["success_rate"] == 1.0 and with_tests["recovered_by_retry"] == 3
    assert with_tests["total_cost_usd"] == pytest.approx(sum(o.cost_usd for o in result.outcomes))


def test_a_killed_process_leaves_its_attempt_pending(use_schema, pg_url, admin_engine):
    use_schema("admin_kill")
    env = {**os.environ, "DATABASE_URL": pg_url, "GENLENS_SCHEMA": "admin_kill"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "generation.run", "--provider", "simulated", "--latency-scale", "10", "--seed", "3"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        found = None
        while time.monotonic() < deadline and found is None:
            with admin_engine.connect() as conn:
                found = conn.execute(
                    text("SELECT generation_id, status, generation_metadata FROM admin_kill.generations")
                ).first()
            if found is None:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.1)
        assert found is not None, "the runner never wrote its pending row"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    (row,) = rows(admin_engine, str(found.generation_id), "admin_kill")
    assert row["status"] == "pending" and row["completed_at"] is None
    assert row["generation_metadata"]["source"] == "admin"
    # Nothing else is lost, and once older than GENLENS_STALE_PENDING_MINUTES the attempt shows as
    # stale on the Reliability page (its clock moved forward here instead of waiting 15 minutes).
    with admin_engine.begin() as conn:
        n = conn.execute(text("SELECT count(*) FROM admin_kill.generations")).scalar()
        conn.execute(text("UPDATE admin_kill.generations SET created_at = created_at - interval '20 minutes'"))
    assert n == 1
    # a page shows writes at most seconds old: ask again now instead of waiting (data_access.facts)
    from data_access.engine import get_database
    from data_access.facts import forget_facts
    from queries.filters import Filters
    from queries.reliability import stale_pending

    forget_facts(get_database())
    created = row["created_at"] - timedelta(minutes=20)
    f = Filters(since=created - timedelta(days=1), until=created + timedelta(days=1), include_tests=True)
    stale = stale_pending(f)
    assert list(stale["generation_id"]) == [str(found.generation_id)]
    assert stale["age_minutes"].iloc[0] > 15
