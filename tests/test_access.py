"""Issue 9: sign-in for every page, roles, masking of personal data, the audit trail.

A `pii` schema holds generations whose prompts, errors and responses carry emails, phone numbers,
children's names and user ids; a viewer's pages and files must contain none of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from access import roles
from access.passwords import LOCKOUT, AuthError, hash_password
from queries import masking
from tests.fakes.supabase_server import SupabaseServer

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SCHEMA = "pii"
U1, U2 = "5a1e0000-0000-4000-8000-00000000aa01", "5a1e0000-0000-4000-8000-00000000aa02"
EMAIL, PHONE, CHILD = "mia.parent@example.com", "+1 415 555 0199", "Thornberry"
SECRETS = [EMAIL, "bob@example.org", "555 0199", CHILD, U1, U2, "Once upon a time"]
PASSWORDS = {"viewer": "view-pass", "analyst": "analyst-pass", "admin": "admin-pass"}
WINDOW = {"since": "2026-06-01", "until": "2026-06-03"}


def _load(admin_engine) -> None:
    with admin_engine.begin() as conn:
        if conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.generations")).scalar():
            return
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {SCHEMA}.children (name text)"))
        conn.execute(text(f"INSERT INTO {SCHEMA}.children VALUES ('{CHILD}'), ('Zebedee')"))
        rows = [
            (
                "5a1e0000-0000-4000-8000-0000000000c1",
                1,
                "failed",
                U1,
                f"Rejected for user {U2}: contact bob@example.org",
                None,
                "2026-06-01T10:00:00Z",
            ),
            (
                "5a1e0000-0000-4000-8000-0000000000c1",
                2,
                "success",
                U1,
                None,
                json.dumps({"content": f"Once upon a time, {CHILD} wrote to {EMAIL}"}),
                "2026-06-01T10:00:30Z",
            ),
            (
                "5a1e0000-0000-4000-8000-0000000000c2",
                1,
                "success",
                U2,
                None,
                json.dumps({"content": "Once upon a time"}),
                "2026-06-02T09:00:00Z",
            ),
        ]
        for gid, n, status, user, err, resp, at in rows:
            conn.execute(
                text(
                    f"INSERT INTO {SCHEMA}.generations (generation_id, attempt_number, status, model_used, prompt,"
                    " user_id, story_type, error_message, full_response, generation_metadata, created_at,"
                    " completed_at) VALUES (:g, :n, :s, 'gpt-4o', :p, :u, 'child', :e, CAST(:r AS jsonb),"
                    " CAST(:m AS jsonb), :at, CAST(:at AS timestamptz) + interval '5 seconds')"
                ),
                {
                    "g": gid,
                    "n": n,
                    "s": status,
                    "u": user,
                    "e": err,
                    "r": resp,
                    "at": at,
                    "p": f"Write a story for {CHILD} (parent {EMAIL}, {PHONE}) who loves space.",
                    "m": json.dumps({"cost_usd": 0.01, "quality_scores": {"overall": 0.8}}),
                },
            )


@pytest.fixture
def pii(use_schema, admin_engine, monkeypatch):
    db = use_schema(SCHEMA)
    _load(admin_engine)
    monkeypatch.setenv("GENLENS_MASK_NAMES_FROM", f"{SCHEMA}.children.name")
    masking._names_cache.clear()
    with admin_engine.begin() as conn:
        conn.execute(text(f"DELETE FROM {SCHEMA}.genlens_audit"))
    return db


@pytest.fixture
def password_mode(pii, monkeypatch):
    monkeypatch.setenv("GENLENS_AUTH", "password")
    for role, pw in PASSWORDS.items():
        monkeypatch.setenv(f"GENLENS_{role.upper()}_PASSWORD_HASH", hash_password(pw, n=2**10))
    LOCKOUT.reset()
    yield
    LOCKOUT.reset()


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in WINDOW.items():
        at.query_params[k] = v
    at.run()
    return at


def _sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input[0].input(password)
    at.button[0].click()
    at.run()
    for k, v in WINDOW.items():
        at.query_params[k] = v
    return at


def _visible_text(at: AppTest) -> str:
    parts = []
    for kind in (
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "info",
        "warning",
        "error",
        "success",
        "code",
        "text",
        "json",
    ):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [d.value.to_csv() for d in at.dataframe]
    return "\n".join(parts)


def _files_text(files: dict) -> str:
    return "\n".join((v() if callable(v) else v).decode() for v in files.values())


def test_sign_in_is_required_and_wrong_passwords_lock_out(password_mode):
    at = _open()
    assert not at.exception
    assert not at.metric and [t.label for t in at.text_input] == ["Password"]
    for _ in range(5):
        _sign_in(at, "guess")
        assert "Wrong password." in at.error[0].value
    _sign_in(at, PASSWORDS["analyst"])
    assert "Too many refused sign-ins" in at.error[0].value
    assert not at.metric
    assert all(pw not in str(at._tree) for pw in PASSWORDS.values())


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("viewer", ["reliability", "cost_quality", "errors", "reports"], ["explorer", "generation", "admin", "audit"]),
        ("analyst", ["explorer", "generation", "reports"], ["admin", "audit"]),
        ("admin", ["explorer", "admin", "audit"], []),
    ],
)
def test_each_role_sees_its_pages(password_mode, role, allowed, refused):
    at = _sign_in(_open(), PASSWORDS[role])
    assert not at.exception and any(m.label == "Generations" for m in at.metric)
    assert f"Signed in as **{role}** · {role}" in _visible_text(at)
    for page in allowed:
        at.switch_page(f"pages/{page}.py")
        at.run()
        assert not at.exception and not at.error, (role, page)
    for page in refused:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"pages/{page}.py")


def test_viewer_pages_and_files_carry_no_personal_data(password_mode, offered):
    at = _sign_in(_open(), PASSWORDS["viewer"])
    seen = [_visible_text(at)]
    for page in ("reliability", "cost_quality", "errors", "reports"):
        for k, v in WINDOW.items():
            at.query_params[k] = v
        at.switch_page(f"pages/{page}.py")
        at.run()
        assert not at.exception and not at.error, page
        seen.append(_visible_text(at))
    # The errors page still groups the message; the email inside it is redacted.
    assert "Rejected for user <uuid>: contact [redacted]" in "\n".join(seen)
    assert offered, "the viewer's pages offer CSV downloads"
    everything = "\n".join(seen) + _files_text(offered)
    for secret in SECRETS:
        assert secret not in everything, secret


def test_mask_for_everyone_covers_prompts_and_streamed_csv(pii, offered, monkeypatch):
    monkeypatch.setenv("GENLENS_MASK", "1")  # open access, but masked
    at = _open()
    at.query_params["generation_id"] = "5a1e0000-0000-4000-8000-0000000000c1"
    for k, v in WINDOW.items():
        at.query_params[k] = v
    at.switch_page("pages/generation.py")
    at.run()
    assert not at.exception and not at.error
    shown = _visible_text(at)
    assert "Write a story for [redacted] (parent [redacted], [redacted]) who loves space." in shown
    for k, v in WINDOW.items():
        at.query_params[k] = v
    at.switch_page("pages/explorer.py")
    at.run()
    shown += _visible_text(at)
    streamed = _files_text({k: v for k, v in offered.items() if callable(v)})
    assert "user-" in streamed and "[redacted]" in streamed  # hashed users, redacted messages
    for secret in SECRETS[:-1]:  # an analyst still reads the (redacted) response itself
        assert secret not in shown + streamed, secret


def test_hashed_user_ids_still_count_distinct_users():
    policy = masking.MaskPolicy(True, b"salt")
    a, b = masking.hash_user(U1, policy), masking.hash_user(U2, policy)
    assert a == masking.hash_user(U1.upper(), policy) and a != b and U1 not in a


def test_exports_are_recorded_in_the_audit_trail(password_mode, offered, admin_engine):
    at = _sign_in(_open(), PASSWORDS["analyst"])
    for k, v in WINDOW.items():
        at.query_params[k] = v
    at.switch_page("pages/explorer.py")
    at.run()
    (name,) = [k for k, v in offered.items() if callable(v) and "attempts" in k]
    data = offered[name]()
    with admin_engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT actor, role, method, action, report, row_count, filters FROM {SCHEMA}.genlens_audit")
        ).one()
    assert row[:6] == ("analyst", "analyst", "password", "export", "attempts", data.decode().count("\n") - 1)
    assert row.filters["since"].startswith("2026-06-01")


def test_export_refused_when_the_audit_trail_cannot_be_written(password_mode, offered, monkeypatch):
    at = _sign_in(_open(), PASSWORDS["analyst"])
    for k, v in WINDOW.items():
        at.query_params[k] = v
    at.switch_page("pages/explorer.py")
    at.run()
    (build,) = [v for k, v in offered.items() if callable(v) and "attempts" in k]
    monkeypatch.setenv("GENLENS_ADMIN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    from data_access import audit

    audit._writer_engine.cache_clear()
    with pytest.raises(audit.AuditUnavailable):
        build()
    audit._writer_engine.cache_clear()


def test_admin_runs_are_recorded(password_mode, admin_engine, monkeypatch):
    monkeypatch.setenv("GENLENS_SIM_LATENCY_SCALE", "0")
    monkeypatch.setenv("GENLENS_ADMIN_BACKOFF_S", "0")
    at = _sign_in(_open(), PASSWORDS["admin"])
    at.switch_page("pages/admin.py")
    at.run()
    assert not at.exception and not at.error
    at.number_input(key="adm_count").set_value(1)
    at.run()
    at.button(key="adm_run_btn").click()
    at.run(timeout=120)
    with admin_engine.connect() as conn:
        (actor, action, detail) = conn.execute(
            text(f"SELECT actor, action, detail FROM {SCHEMA}.genlens_audit WHERE action = 'test_run'")
        ).one()
    assert (actor, action, detail["count"], detail["provider"]) == ("admin", "test_run", 1, "simulated")


def test_supabase_mode_reads_the_role_from_app_metadata(pii, admin_engine, monkeypatch):
    users = {
        "pm@example.com": ("pm-pass", {"role": "viewer"}),
        "eng@example.com": ("eng-pass", {"role": "analyst"}),
        "new@example.com": ("new-pass", {}),
    }
    with SupabaseServer(users=users, engine=admin_engine, schema=SCHEMA) as srv:
        monkeypatch.setenv("SUPABASE_URL", srv.url)
        monkeypatch.setenv("SUPABASE_ANON_KEY", "anon-key")
        monkeypatch.setenv("GENLENS_AUTH", "supabase")
        LOCKOUT.reset()
        assert roles.supabase_sign_in("eng@example.com", "eng-pass").role == "analyst"
        assert roles.supabase_sign_in("new@example.com", "new-pass").role == "viewer"  # no role: least
        with pytest.raises(AuthError, match="Wrong email or password"):
            roles.supabase_sign_in("pm@example.com", "nope")
        at = _open()
        at.text_input[0].input("pm@example.com")
        at.text_input[1].input("pm-pass")
        at.button[0].click()
        at.run()
        assert not at.exception and any(m.label == "Generations" for m in at.metric)
        assert "pm@example.com" in _visible_text(at).replace("\\", "")
        with pytest.raises(ValueError):
            at.switch_page("pages/explorer.py")
    LOCKOUT.reset()


def test_cli_viewer_role_is_aggregate_only_and_masked(pii, pg_url):
    env = {
        "DATABASE_URL": pg_url,
        "GENLENS_SCHEMA": SCHEMA,
        "PATH": "/usr/bin:/bin",
        "GENLENS_MASK_NAMES_FROM": f"{SCHEMA}.children.name",
    }
    base = [sys.executable, "-m", "queries.export", "--since", WINDOW["since"], "--until", WINDOW["until"]]
    refused = subprocess.run(
        [*base[:3], "attempts", *base[3:], "--role", "viewer"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "viewer may export" in refused.stderr
    errors = subprocess.run(
        [*base[:3], "errors", *base[3:], "--role", "viewer"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert errors.returncode == 0 and "[redacted]" in errors.stdout and "bob@example.org" not in errors.stdout
    analyst = subprocess.run([*base[:3], "attempts", *base[3:]], cwd=ROOT, env=env, capture_output=True, text=True)
    assert analyst.returncode == 0 and "bob@example.org" in analyst.stdout  # operators see the data
