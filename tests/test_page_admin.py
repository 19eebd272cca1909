"""The admin page in AppTest: locked, signed in with a password, a run through the form, replays."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from generation import auth
from generation.providers import GenerationRequest, SimulatedProvider
from generation.runner import RunOptions, run, start_run
from tests.conftest import ROOT

APP = str(ROOT / "app.py")
SCHEMA = "admin_page"
PASSWORD = "page-test-password"
ADMIN_ID = "00000000-0000-4000-8000-0000000000a7"
TODAY = datetime.now(UTC).date()


@pytest.fixture
def page_env(use_schema, monkeypatch):
    for name in ("GENLENS_ADMIN_PASSWORD_HASH", "SUPABASE_URL", "SUPABASE_ANON_KEY", "GENLENS_ADMIN_AUTH"):
        monkeypatch.delenv(name, raising=False)
    for name in ("GENLENS_OPENAI_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY", "GENLENS_ADMIN_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GENLENS_SIM_LATENCY_SCALE", "0.001")
    monkeypatch.setenv("GENLENS_ADMIN_BACKOFF_S", "0")
    monkeypatch.setenv("GENLENS_ADMIN_USER_ID", ADMIN_ID)
    auth.LOCKOUT.reset()
    db = use_schema(SCHEMA)
    yield db
    auth.LOCKOUT.reset()


@pytest.fixture
def with_password(page_env, monkeypatch):
    monkeypatch.setenv("GENLENS_ADMIN_PASSWORD_HASH", auth.hash_password(PASSWORD, n=2**10))
    return page_env


def open_admin(**params: str) -> AppTest:
    """The admin page in AppTest, reached through app.py's navigation like a visitor would."""
    window = {"since": str(TODAY - timedelta(days=1)), "until": str(TODAY + timedelta(days=1))}
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in window.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    for k, v in {**window, **params}.items():
        at.query_params[k] = v
    at.switch_page("pages/admin.py")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Admin · test generations"
    return at


def sign_in(at: AppTest, password: str = PASSWORD) -> AppTest:
    at.text_input(key="adm_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click()
    return at.run()


def admin_rows(admin_engine, test_run_id: str | None = None) -> list:
    """The admin user's attempts in the page's schema (of one test run when given), oldest first."""
    with admin_engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    f'SELECT generation_id, attempt_number, status, generation_metadata FROM "{SCHEMA}".generations '
                    "WHERE user_id = CAST(:u AS uuid) AND (CAST(:t AS text) IS NULL OR generation_metadata->>'test_run_id' = :t) "
                    "ORDER BY created_at"
                ),
                {"u": ADMIN_ID, "t": test_run_id},
            ).mappings()
        )


def run_ids(admin_engine) -> set[str]:
    return {r["generation_metadata"]["test_run_id"] for r in admin_rows(admin_engine)}


def frames(at: AppTest, column: str) -> list:
    """The DataFrames shown on the page that have `column`, in page order."""
    return [d.value for d in at.dataframe if column in d.value.columns]


def test_locked_without_a_login_on_a_real_database(page_env):
    at = open_admin()  # the page as registered in app.py's navigation
    assert any("This page is locked" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "adm_run_btn"]
    assert not [t for t in at.text_input if t.key == "adm_password"]  # nothing to sign in with


def test_wrong_passwords_then_lockout(with_password, admin_engine):
    at = open_admin()
    for _ in range(5):
        sign_in(at, "wrong")
        assert not at.exception
        assert "Wrong password." in at.error[0].value
    sign_in(at, PASSWORD)
    assert "Too many refused sign-ins" in at.error[0].value
    assert not [b for b in at.button if b.key == "adm_run_btn"]
    assert PASSWORD not in str(at._tree)


def test_signed_in_admin_runs_two_simulated_generations(with_password, admin_engine):
    at = open_admin()
    assert not [b for b in at.button if b.key == "adm_run_btn"]
    sign_in(at)
    assert not at.exception
    assert [b for b in at.button if b.key == "adm_run_btn"]
    assert at.selectbox(key="adm_provider").options == [
        "simulated (offline demo profiles)"
    ]  # no openai key, no Supabase here
    at.number_input(key="adm_count").set_value(2)
    at.number_input(key="adm_attempts").set_value(2)
    at.run()
    est = [m for m in at.metric if m.label == "Estimated cost"]
    assert est and est[0].value.startswith("$")
    before = run_ids(admin_engine)
    at.button(key="adm_run_btn").click()
    at.run(timeout=120)
    assert not at.exception, at.exception

    (new_run,) = run_ids(admin_engine) - before  # one click, one run
    rows = admin_rows(admin_engine, new_run)
    gens = {r["generation_id"] for r in rows}
    assert len(gens) == 2
    assert all(r["status"] != "pending" for r in rows)
    assert all(r["generation_metadata"]["source"] == "admin" for r in rows)

    (outcomes,) = frames(at, "final_status")
    assert sorted(outcomes["generation_id"]) == sorted(str(g) for g in gens)
    (attempts,) = frames(at, "attempt_number")
    assert len(attempts) == len(rows)
    assert at.button(key="adm_run_btn").disabled is False  # ready for the next run
    assert any(m.label == "Succeeded" for m in at.metric)
    links = {e.proto.label: e.proto for e in at.get("page_link")}
    details = [link for link in links.values() if link.page.endswith("generation")]
    assert len(details) == 2
    for link in details:
        q = parse_qs(link.query_string)
        assert q["generation_id"][0] in {str(g) for g in gens}
        assert q["tests"] == ["1"] and q["user"] == [ADMIN_ID]
        day = at.session_state["adm_run"].started_at.date()
        assert q["since"] == [str(day)] and q["until"] == [str(day + timedelta(days=1))]

    # The Explorer button: the sidebar takes the run's filters (test generations on, admin user).
    assert [t.value for t in at.sidebar.toggle] == [False]
    at.button(key="adm_explorer").click()
    at.run(timeout=60)
    assert not at.exception, at.exception
    assert at.title[0].value == "Explorer"
    assert [t.value for t in at.sidebar.toggle] == [True]  # Include test generations
    assert ADMIN_ID in [t.value for t in at.sidebar.text_input]


class Gated(SimulatedProvider):
    """Simulated attempts that wait for a gate: a run that is visibly still going."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__(latency_scale=0, script={1: "success"})
        self.gate = gate

    def attempt(self, req, attempt_number, generation_id):
        self.gate.wait(30)
        return super().attempt(req, attempt_number, generation_id)


def test_a_second_click_while_running_starts_nothing(with_password, admin_engine):
    at = open_admin()
    sign_in(at)
    assert at.button(key="adm_run_btn").disabled is False
    before = run_ids(admin_engine)
    gate = threading.Event()
    req = GenerationRequest(model="openai/gpt-4o-mini", prompt="first run", user_id=ADMIN_ID)
    first = start_run(req, Gated(gate), RunOptions(count=1, backoff_s=0), with_password)
    at.session_state["adm_run"] = first  # a run started by the first click, still going
    timer = threading.Timer(1.5, gate.set)
    timer.start()
    try:
        at.button(key="adm_run_btn").click()  # the second click, on the still-enabled button
        at.run(timeout=60)
    finally:
        gate.set()
        timer.cancel()
    assert not at.exception, at.exception
    assert at.session_state["adm_run"] is first and first.done
    assert run_ids(admin_engine) - before == {first.test_run_id}
    assert at.button(key="adm_run_btn").disabled is False  # enabled again once the run ended


def test_replay_prefills_and_compares(with_password, page_env, admin_engine):
    src = GenerationRequest(
        model="google/gemini-1.5-flash",
        prompt="Replay me: a **hero** story with $x$ and <b>tags</b>",
        story_type="hero",
        story_length=7,
        hero_appearance="a tiny fox with a red scarf",
        moral="honesty",
        user_id="11111111-1111-4111-8111-111111111111",
    )
    original = run(
        src,
        SimulatedProvider(latency_scale=0, script={1: "failed", 2: "success"}),
        RunOptions(backoff_s=0),
        db=page_env,
    )
    gid = original.outcomes[0].generation_id

    at = open_admin(replay=gid)
    sign_in(at)
    assert at.text_area(key="adm_prompt").value == src.prompt
    assert at.selectbox(key="adm_model").value == "google/gemini-1.5-flash"
    assert at.selectbox(key="adm_type").value == "hero"
    assert at.number_input(key="adm_length").value == 7
    assert at.text_input(key="adm_hero").value == "a tiny fox with a red scarf"
    at.selectbox(key="adm_model").set_value("openai/gpt-4o-mini")  # same prompt, another model
    at.number_input(key="adm_count").set_value(1)
    at.run()
    at.button(key="adm_run_btn").click()
    at.run(timeout=120)
    assert not at.exception, at.exception
    orig, new = frames(at, "attempt_number")  # side by side: the original, then the replay
    assert list(orig["status"]) == ["failed", "success"] and set(orig["model_used"]) == {"google/gemini-1.5-flash"}
    assert set(new["model_used"]) == {"openai/gpt-4o-mini"} and gid not in set(new["generation_id"])
    (row,) = [r for r in admin_rows(admin_engine, at.session_state["adm_run"].test_run_id) if r["attempt_number"] == 1]
    with admin_engine.connect() as conn:
        stored = conn.execute(
            text(
                f'SELECT prompt, story_length, hero_appearance, moral FROM "{SCHEMA}".generations WHERE generation_id = :g'
            ),
            {"g": row["generation_id"]},
        ).first()
    assert tuple(stored) == (src.prompt, 7, "a tiny fox with a red scarf", "honesty")


def test_bad_replay_links_warn(with_password):
    at = open_admin(replay="not-a-uuid")
    sign_in(at)
    assert any("not a generation id" in w.value for w in at.warning)
    at = open_admin(replay="00000000-0000-4000-8000-000000000000")
    sign_in(at)
    assert any("no generation with that id" in w.value for w in at.warning)


def test_demo_database_allows_simulated_runs_without_login(page_env, monkeypatch):
    import generation
    from generation import store

    monkeypatch.setattr(store, "demo_only", lambda: True)
    monkeypatch.setattr(generation, "demo_only", lambda: True)  # the facade's name, once pages import it
    at = open_admin()
    assert any("embedded demo database" in i.value for i in at.info)
    assert at.selectbox(key="adm_provider").options == ["simulated (offline demo profiles)"]
    assert [b for b in at.button if b.key == "adm_run_btn"]
