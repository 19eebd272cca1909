"""The supabase-function provider and Supabase Auth sign-in, against a local Supabase stand-in."""

from __future__ import annotations

import uuid

import pytest

from generation import auth
from generation.providers import GenerationRequest, SupabaseFunctionProvider
from generation.runner import RunOptions, run
from tests.fakes.supabase_server import SupabaseServer

SCHEMA = "admin_runs"
USERS = {"admin@example.com": ("right-password", {"role": "admin"}), "pm@example.com": ("pm-password", {})}
REQ = GenerationRequest(model="openai/gpt-4o-mini", prompt="Write a story about courage.", moral="courage")
FAST = RunOptions(count=1, max_attempts=3, backoff_s=0, poll_s=0.05, follow_timeout_s=10)


@pytest.fixture
def db(use_schema):
    return use_schema(SCHEMA)


@pytest.fixture
def supa(db, admin_engine, monkeypatch):
    with SupabaseServer(users=USERS, engine=admin_engine, schema=SCHEMA, slow_s=0.4) as srv:
        monkeypatch.setenv("SUPABASE_URL", srv.url)
        monkeypatch.setenv("SUPABASE_ANON_KEY", "anon-key")
        monkeypatch.delenv("SUPABASE_SERVICE_ROLE_KEY", raising=False)
        monkeypatch.delenv("GENLENS_ADMIN_PASSWORD_HASH", raising=False)
        yield srv


def test_function_writes_its_rows_and_the_runner_follows_them(db, supa):
    events = []
    p = SupabaseFunctionProvider(function="generate-story")
    result = run(REQ, p, FAST, db=db, on_event=events.append)
    (out,) = result.outcomes
    assert (out.final_status, out.attempts) == ("success", 2)
    assert out.cost_usd == pytest.approx(0.002 + 0.004)
    (call,) = supa.invocations
    body = call["body"]
    assert body["test_run_id"] == result.test_run_id and body["source"] == "admin"
    assert (body["prompt"], body["model"], body["max_attempts"], body["moral"]) == (
        REQ.prompt,
        REQ.model,
        3,
        "courage",
    )
    assert call["authorization"] == "Bearer anon-key"
    assert [(e.kind, e.attempt_number, e.status) for e in events if e.kind.startswith("attempt")] == [
        ("attempt_finished", 1, "failed"),
        ("attempt_finished", 2, "success"),
    ]


def test_runner_follows_pending_rows_until_they_complete(db, supa):
    events = []
    p = SupabaseFunctionProvider(function="slow-story", access_token="user-jwt")
    (out,) = run(REQ, p, FAST, db=db, on_event=events.append).outcomes
    assert (out.final_status, out.attempts) == ("success", 1)
    statuses = [(e.kind, e.status) for e in events if e.kind.startswith("attempt")]
    assert statuses == [("attempt_started", "pending"), ("attempt_finished", "success")]
    assert supa.invocations[0]["authorization"] == "Bearer user-jwt"


def test_function_errors_are_failed_generations_without_rows(db, supa):
    (out,) = run(REQ, SupabaseFunctionProvider(function="broken"), FAST, db=db).outcomes
    assert out.generation_id is None and out.final_status == "failed" and out.attempts == 0
    assert "HTTP 500" in out.error_message and "model pipeline crashed" in out.error_message
    (out,) = run(REQ, SupabaseFunctionProvider(function="no-id"), FAST, db=db).outcomes
    assert out.final_status == "failed" and "did not report a generation_id" in out.error_message


def test_supabase_auth_admin_role_required(supa):
    lock = auth.Lockout()
    admin = auth.supabase_sign_in("admin@example.com", "right-password", lock)
    assert admin.method == "supabase" and admin.email == "admin@example.com"
    assert admin.user_id == str(uuid.uuid5(uuid.NAMESPACE_URL, "admin@example.com"))
    assert admin.access_token == "jwt-for-admin@example.com" and "jwt" not in repr(admin)
    with pytest.raises(auth.AuthError, match="not an admin"):
        auth.supabase_sign_in("pm@example.com", "pm-password", lock)
    with pytest.raises(auth.AuthError, match="Wrong email or password"):
        auth.supabase_sign_in("admin@example.com", "nope", lock)
    assert lock.tries_left() == 3


def test_supabase_auth_locks_out_after_five_refusals(supa):
    lock = auth.Lockout()
    for _ in range(5):
        with pytest.raises(auth.AuthError):
            auth.supabase_sign_in("admin@example.com", "guess", lock)
    calls = len(supa.sign_ins)
    with pytest.raises(auth.LockedOut):
        auth.supabase_sign_in("admin@example.com", "right-password", lock)
    assert len(supa.sign_ins) == calls  # refused without asking Supabase


def test_access_mode_prefers_the_configured_login(supa, monkeypatch):
    assert auth.access_mode(demo_database=False).mode == "supabase"
    monkeypatch.setenv("GENLENS_ADMIN_PASSWORD_HASH", "scrypt$16$1$1$c2FsdA==$aGFzaA==")
    assert auth.access_mode(demo_database=False).mode == "password"
    monkeypatch.setenv("GENLENS_ADMIN_AUTH", "supabase")
    assert auth.access_mode(demo_database=False).mode == "supabase"


def test_unreachable_supabase_auth_counts_no_failure(monkeypatch):
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SUPABASE_ANON_KEY", "anon-key")
    lock = auth.Lockout()
    with pytest.raises(auth.AuthError, match="cannot be reached"):
        auth.supabase_sign_in("admin@example.com", "right-password", lock)
    assert lock.tries_left() == 5
