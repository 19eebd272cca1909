"""Admin · test generations: run generations through a provider and watch every attempt land in
the generations table, tagged as test generations. Behind a login (generation.auth).

URL: `?replay=<generation_id>` pre-fills the form from that generation's prompt and parameters
and, after the run, shows its attempts next to the new ones.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from data_access.config import ConfigError
from generation import (
    HEROES,
    INTERESTS,
    LOCKOUT,
    MAX_CONCURRENCY,
    MAX_COUNT,
    MORALS,
    PROVIDERS,
    RELATIONS,
    Access,
    Admin,
    AuthError,
    GenerationRequest,
    LockedOut,
    ReplaySource,
    RunHandle,
    RunOptions,
    StoryParams,
    access_mode,
    admin_database,
    admin_user_id,
    attempts_for,
    available,
    check_password,
    demo_only,
    make_provider,
    model_choices,
    parse_generation_id,
    replay_params,
    start_run,
    supabase_sign_in,
)
from queries.csv_format import dataframe_csv
from queries.filters import STORY_TYPES, Filters
from ui import columns
from ui import format as fmt
from ui.guard import explain, guarded
from ui.links import go, page_link
from ui.state import filters

ADMIN, RUN, NOTICE, REPLAY = "adm_admin", "adm_run", "adm_notice", "adm_replay"
PAGE_MAX_ATTEMPTS = 5
PROVIDER_LABELS = {
    "simulated": "simulated (offline demo profiles)",
    "openai": "openai (OpenAI-compatible endpoint)",
    "supabase-function": "supabase-function (Edge Function)",
}
# A test run's attempts: a single attempt's cost to the micro-dollar.
ATTEMPT_COLUMNS = {
    "cost_usd": columns.column("cost_usd", format="$%.6f"),
    "error_message": columns.column("error_message", width="large"),
}
MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()#+-.!|<>$~"})


def md(value: str) -> str:
    """Configuration text (a host, a function name) made literal inside Markdown."""
    return str(value).translate(MD_SPECIAL)


# --- access ---------------------------------------------------------------------------------------


def sign_in(access: Access) -> Admin | None:
    """The signed-in admin for this session, or None after drawing what the visitor must do."""
    from ui.access import current as principal

    who = principal()
    if who.method != "none":  # GENLENS_AUTH signed this person in, and only admins reach this page
        try:
            user_id = str(uuid.UUID(who.user_id or ""))
        except ValueError:
            user_id = admin_user_id()
        return Admin(who.method, user_id, who.name if "@" in who.name else None)
    if access.mode == "locked":
        st.error(access.message, icon=":material/lock:")
        return None
    if access.mode == "demo":
        st.info(access.message, icon=":material/science:")
        return Admin("demo", admin_user_id())
    current = st.session_state.get(ADMIN)
    if isinstance(current, Admin) and current.method == access.mode:
        who = current.email or "admin"
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.caption(f":material/verified_user: Signed in as {md(who)} ({current.method} login)")
        if right.button("Sign out", icon=":material/logout:", key="adm_sign_out", width="stretch"):
            st.session_state.pop(ADMIN, None)
            st.rerun()
        return current

    st.info(access.message, icon=":material/lock:")
    with st.form("adm_login", clear_on_submit=True, width=420):
        email = st.text_input("Email", key="adm_email") if access.mode == "supabase" else None
        password = st.text_input("Password", type="password", key="adm_password")
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    if submitted:
        try:
            admin = supabase_sign_in(email or "", password) if access.mode == "supabase" else check_password(password)
        except LockedOut as exc:
            st.error(str(exc), icon=":material/timer:")
        except AuthError as exc:
            left = LOCKOUT.tries_left()
            st.error(f"{exc} {left} more tr{'y' if left == 1 else 'ies'} before sign-in pauses for 10 minutes.")
        else:
            st.session_state[ADMIN] = admin
            st.rerun()
    st.caption("After 5 refused sign-ins within 10 minutes, sign-in is refused for 10 minutes.")
    return None


# --- the form -------------------------------------------------------------------------------------


def load_replay() -> ReplaySource | None:
    """?replay=<generation_id>: pre-fill the form once per id; warn and ignore when unusable."""
    raw = st.query_params.get("replay")
    if not raw:
        st.session_state.pop(REPLAY, None)
        return None
    gid = parse_generation_id(raw[:100])
    if gid is None:
        st.warning("Ignored the link's replay: not a generation id (UUID).", icon=":material/link_off:")
        return None
    src = st.session_state.get(REPLAY)
    if isinstance(src, ReplaySource) and src.generation_id == gid:
        return src
    src = replay_params(gid)
    if src is None:
        st.warning("Ignored the link's replay: no generation with that id.", icon=":material/link_off:")
        return None
    ss = st.session_state
    ss[REPLAY] = src
    ss["adm_model"] = src.model
    ss["adm_type"] = src.story_type if src.story_type in STORY_TYPES else "child"
    ss["adm_mode"] = "Custom prompt"
    ss["adm_prompt"] = src.prompt
    ss["adm_moral"] = src.moral or MORALS[0]
    ss["adm_length"] = min(max(src.story_length or 5, 1), 120)
    ss["adm_hero"] = src.hero_appearance or ""
    ss["adm_relation"] = src.relationship_description or ""
    return src


DEFAULTS = {
    "adm_type": "child",
    "adm_mode": "Story template",
    "adm_moral": "kindness",
    "adm_length": 5,
    "adm_hero": HEROES[0],
    "adm_relation": RELATIONS[0],
    "adm_child": "Mia",
    "adm_age": 6,
    "adm_interest": INTERESTS[0],
    "adm_prompt": "",
    "adm_count": 5,
    "adm_attempts": 3,
    "adm_concurrency": 2,
}


def form(admin: Admin, replay: ReplaySource | None):
    """Draw the run form; return (provider name, request or error text, count, max attempts, concurrency)."""
    ss = st.session_state
    for k, v in DEFAULTS.items():  # defaults through session state, so a replay can pre-fill the same keys
        ss.setdefault(k, v)
    usable = available(demo_only=admin.method == "demo")
    names = [p for p in PROVIDERS if usable[p] is None]
    c1, c2, c3 = st.columns([1, 1.4, 0.8])
    provider = c1.selectbox("Provider", names, format_func=PROVIDER_LABELS.get, key="adm_provider")
    models = model_choices(provider)
    if ss.get("adm_model") and ss["adm_model"] not in models:
        models = [ss["adm_model"], *models]
    model = c2.selectbox(
        "Model",
        models,
        key="adm_model",
        accept_new_options=True,
        help="Pick one or type any model id the provider knows.",
    )
    story_type = c3.selectbox("Story type", STORY_TYPES, key="adm_type")
    missing = [f"{p}: {why}" for p, why in usable.items() if why]
    if missing and admin.method != "demo":  # the demo notice above already says why
        st.caption("Not available here: " + " ".join(md(m) for m in missing))

    mode = st.radio(
        "Prompt", ["Story template", "Custom prompt"], key="adm_mode", horizontal=True, label_visibility="collapsed"
    )
    p1, p2, p3, p4 = st.columns(4)
    morals = list(dict.fromkeys([*MORALS, ss["adm_moral"]]))
    moral = p1.selectbox("Moral", morals, key="adm_moral", accept_new_options=True)
    length = p2.number_input("Length (minutes)", min_value=1, max_value=120, key="adm_length")
    hero = p3.text_input("Hero appearance", key="adm_hero", max_chars=300) if story_type != "child" else None
    relation = p4.text_input("Relationship", key="adm_relation", max_chars=300) if story_type == "combined" else None
    if mode == "Story template":
        t1, t2, t3 = st.columns(3)
        name = t1.text_input("Child's name", key="adm_child", max_chars=60)
        age = t2.number_input("Child's age", min_value=2, max_value=14, key="adm_age")
        interests = list(dict.fromkeys([*INTERESTS, ss["adm_interest"]]))
        interest = t3.selectbox("Loves", interests, key="adm_interest", accept_new_options=True)
        story = StoryParams(story_type, name, int(age), interest, moral or "kindness", int(length), hero, relation)
        prompt = story.prompt()
        st.caption("Prompt sent to the model")
        st.code(prompt, language=None, wrap_lines=True)
    else:
        prompt = st.text_area("Prompt (sent as is)", key="adm_prompt", height=140, max_chars=20_000)
        if replay:
            st.caption(f"Pre-filled from generation {replay.generation_id} (prompt and story parameters).")

    r1, r2, r3 = st.columns(3)
    count = r1.number_input("Generations", min_value=1, max_value=MAX_COUNT, key="adm_count", help=f"1 to {MAX_COUNT}")
    max_attempts = r2.number_input(
        "Max attempts",
        min_value=1,
        max_value=PAGE_MAX_ATTEMPTS,
        key="adm_attempts",
        help="Attempts per generation, with exponential backoff between them; the first success ends it.",
    )
    concurrency = r3.slider(
        "Concurrency", min_value=1, max_value=MAX_CONCURRENCY, key="adm_concurrency", help="Generations run at once."
    )
    try:
        request = GenerationRequest(
            model=(model or "").strip(),
            prompt=prompt or "",
            story_type=story_type,
            story_length=int(length),
            hero_appearance=hero or None,
            relationship_description=relation or None,
            moral=moral or None,
            user_id=admin.user_id,
        )
    except ValueError as exc:
        request = str(exc)
    return provider, request, int(count), int(max_attempts), int(concurrency)


def build_provider(name: str, admin: Admin):
    if name == "supabase-function":
        return make_provider(name, access_token=admin.access_token)
    return make_provider(name)


def estimate(provider_name: str, admin: Admin, request: GenerationRequest, count: int, max_attempts: int) -> None:
    try:
        est = build_provider(provider_name, admin).estimate(request, count, max_attempts)
    except ConfigError as exc:
        st.warning(str(exc), icon=":material/settings:")
        return
    value = fmt.usd(est.expected_usd) if est.expected_usd is not None else "unknown"
    st.metric("Estimated cost", value, help=est.basis + " Failed attempts can cost money too.", border=True)
    if est.max_usd is not None:
        st.caption(f"At most {fmt.usd(est.max_usd)} if every generation uses all {max_attempts} attempts.")


def start(
    provider_name: str,
    admin: Admin,
    request: GenerationRequest,
    options: RunOptions,
    replay_of: str | None = None,
) -> None:
    """The Run button's callback: runs before the next script run, so two clicks start one run."""
    ss = st.session_state
    current = ss.get(RUN)
    if isinstance(current, RunHandle) and not current.done:
        ss[NOTICE] = "A run is already in progress; wait for it to finish."
        return
    if admin.method == "demo" and provider_name != "simulated":
        ss[NOTICE] = "Only the simulated provider runs without an admin login."
        return
    try:
        provider = build_provider(provider_name, admin)
        handle = start_run(request, provider, options, admin_database())
        handle.replay_of = replay_of
        ss[RUN] = handle
    except (ConfigError, ValueError) as exc:
        ss[NOTICE] = str(exc)
        return
    audit_run(handle, provider_name, request, options)


def audit_run(handle: RunHandle, provider_name: str, request: GenerationRequest, options: RunOptions) -> None:
    """Record who started which test run; with sign-in on, a run that cannot be recorded is stopped."""
    from data_access import audit
    from ui.access import current as principal

    who = principal()
    detail = {
        "test_run_id": handle.test_run_id,
        "provider": provider_name,
        "model": request.model,
        "count": options.count,
        "max_attempts": options.max_attempts,
        "replay_of": handle.replay_of,
    }
    try:
        audit.record(who.name, who.role, who.method, "test_run", detail=detail)
    except audit.AuditUnavailable as exc:
        if who.method != "none":
            handle.stop.set()
            st.session_state[NOTICE] = f"The run was stopped: {exc}"


# --- the run --------------------------------------------------------------------------------------


COMPARE_COLUMNS = [
    "attempt_number",
    "status",
    "model_used",
    "latency_ms",
    "cost_usd",
    "tokens",
    "quality",
    "error_message",
]


COMPACT = {
    "generation_id": columns.column("generation_id", width="small"),
    "error_message": columns.column("error_message", width="medium"),
}


def attempts_table(df: pd.DataFrame, key: str, name: str, compact: bool = False) -> None:
    """An attempts table and the CSV of exactly its rows and columns."""
    config = columns.config(df.columns, **{**ATTEMPT_COLUMNS, **(COMPACT if compact else {})})
    st.dataframe(df, hide_index=True, width="stretch", column_config=config, key=key)
    st.download_button(
        "Download CSV",
        dataframe_csv(df),
        file_name=name,
        mime="text/csv",
        icon=":material/download:",
        key=f"{key}_csv",
    )


def follow(h: RunHandle) -> None:
    """Progress bar and live attempts table until the background run ends, then a rerun."""
    st.subheader("Running")
    bar = st.progress(0.0, text="Starting…")
    live = st.empty()
    while True:
        finished, attempts, ids = h.progress()
        bar.progress(
            finished / h.total,
            text=f"{finished} of {h.total} generations done · {attempts} attempts started",
        )
        df = attempts_for(ids, h.db)
        live.dataframe(
            df, hide_index=True, width="stretch", column_config=columns.config(df.columns, **ATTEMPT_COLUMNS)
        )
        if h.wait(0.4):
            break
    st.rerun()


def run_filters(f: Filters, h: RunHandle) -> Filters:
    """The sidebar filters narrowed to this run: its days (UTC), test generations, the admin user."""
    first = datetime.combine(h.started_at.astimezone(UTC).date(), time(0), tzinfo=UTC)
    end = h.result.finished_at if h.result else datetime.now(UTC)
    until = datetime.combine(end.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)
    user = None if h.provider.writes_rows else h.request.user_id
    return replace(f, since=first, until=until, models=(), types=(), user=user, statuses=(), include_tests=True)


def results(h: RunHandle, f: Filters, replay: ReplaySource | None) -> None:
    if h.error is not None:
        if isinstance(h.error, (ConfigError, ValueError)):
            st.error(f"The run stopped: {h.error}", icon=":material/error:")
        else:
            headline, checks = explain(h.error)
            st.error(f"The run stopped: {headline}", icon=":material/error:")
            st.markdown("\n".join(f"- {c}" for c in checks))
        st.caption("Attempts already written stay in the table; an interrupted one stays pending.")
        return
    res = h.result
    outcomes = pd.DataFrame(
        [
            {
                "generation_id": o.generation_id,
                "final_status": o.final_status,
                "attempts": o.attempts,
                "cost_usd": o.cost_usd,
                "error_message": o.error_message,
            }
            for o in res.outcomes
        ]
    )
    ok = int((outcomes["final_status"] == "success").sum())
    known = outcomes["cost_usd"].dropna()
    st.subheader("Last run")
    st.caption(
        f"Test run id {res.test_run_id} · {h.provider.describe()} · started {h.started_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    m = st.columns(4)
    m[0].metric("Succeeded", f"{ok} of {len(outcomes)}", border=True, help="Generations whose last attempt succeeded.")
    m[1].metric("Attempts", fmt.count(outcomes["attempts"].sum()), border=True, help="Attempts of these generations.")
    m[2].metric(
        "Cost",
        fmt.usd(known.sum()) if len(known) else fmt.DASH,
        border=True,
        help="Sum of the attempts' known cost_usd (USD); failed attempts can cost money too.",
    )
    m[3].metric(
        "Duration",
        fmt.ms((res.finished_at - res.started_at).total_seconds() * 1000),
        border=True,
        help="Wall-clock time of the whole run, backoff between attempts included.",
    )

    rf = run_filters(f, h)
    if st.button(
        "Open this run in the Explorer",
        icon=":material/table_rows:",
        key="adm_explorer",
        help="The Explorer with test generations included, the run's days and the admin user.",
    ):
        go("explorer", rf)  # switch_page: the sidebar takes the filters from the link
    listed = [o for o in res.outcomes if o.generation_id]
    box = st.expander(f"Each generation's detail page ({len(listed)})", expanded=len(listed) <= 12)
    cols = box.columns(3)
    for i, o in enumerate(listed):
        if o.generation_id:
            with cols[i % 3]:
                page_link(
                    "generation",
                    f"{o.generation_id[:8]}… · {o.final_status} · {o.attempts} attempt{'s' if o.attempts != 1 else ''}",
                    rf,
                    icon=":material/timeline:",
                    generation_id=o.generation_id,
                )
    st.dataframe(
        outcomes,
        hide_index=True,
        width="stretch",
        column_config=columns.config(
            outcomes.columns,
            cost_usd=ATTEMPT_COLUMNS["cost_usd"],
            final_status=columns.text("final status"),
            attempts=columns.number("attempts"),  # this generation's attempts
            error_message=columns.column("error_message", "last error", width="large"),
        ),
        key="adm_outcomes",
    )
    st.download_button(
        "Download CSV",
        dataframe_csv(outcomes),
        file_name=f"genlens_test_run_{res.test_run_id[:8]}_generations.csv",
        mime="text/csv",
        icon=":material/download:",
        key="adm_outcomes_csv",
    )
    ids = [o.generation_id for o in res.outcomes if o.generation_id]
    attempts = attempts_for(ids, h.db)
    st.subheader("Attempts of this run")
    if replay and h.replay_of == replay.generation_id:
        left, right = st.columns(2)
        with left:
            st.caption(f"Original generation {replay.generation_id}")
            original = attempts_for([replay.generation_id], None)[COMPARE_COLUMNS]
            attempts_table(
                original, "adm_original", f"genlens_replay_original_{replay.generation_id[:8]}.csv", compact=True
            )
        with right:
            st.caption("Replay (this run)")
            replayed = attempts[["generation_id", *COMPARE_COLUMNS]]
            attempts_table(
                replayed, "adm_attempts", f"genlens_test_run_{res.test_run_id[:8]}_attempts.csv", compact=True
            )
    else:
        attempts_table(attempts, "adm_attempts", f"genlens_test_run_{res.test_run_id[:8]}_attempts.csv")


# --- the page -------------------------------------------------------------------------------------


def render() -> None:
    f = filters()
    st.title("Admin · test generations")
    st.caption(
        "Runs generations through a provider and records each attempt in the generations table as it happens "
        "(pending, then success, failed or timeout). They carry a test_run_id, so every dashboard figure leaves "
        "them out unless the sidebar's Include test generations is on."
    )
    try:
        demo = demo_only()
        target = admin_database()
    except ConfigError as exc:
        st.error(str(exc), icon=":material/lock:")
        return
    access = access_mode(demo)
    admin = sign_in(access)
    if admin is None:
        return

    replay = load_replay()
    provider_name, request, count, max_attempts, concurrency = form(admin, replay)
    h = st.session_state.get(RUN)
    running = isinstance(h, RunHandle) and not h.done

    left, right = st.columns([1, 2], vertical_alignment="bottom")
    with left:
        if isinstance(request, GenerationRequest):
            estimate(provider_name, admin, request, count, max_attempts)
    with right:
        options = None
        if isinstance(request, GenerationRequest):
            options = RunOptions(count=count, max_attempts=max_attempts, concurrency=concurrency)
        st.button(
            "Running…" if running else f"Run {count} test generation{'s' if count != 1 else ''}",
            type="primary",
            icon=":material/play_arrow:",
            disabled=running or options is None,
            on_click=start,
            args=(provider_name, admin, request, options, replay.generation_id if replay else None),
            key="adm_run_btn",
        )
        where = "embedded demo database" if demo else target.label
        st.caption(f"Writes to {md(where)}, schema {md(target.schema)}, as user {admin.user_id}.")
    if isinstance(request, str):
        st.warning(f"Cannot run yet: {request}", icon=":material/edit:")
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.warning(notice, icon=":material/block:")

    h = st.session_state.get(RUN)
    if not isinstance(h, RunHandle):
        return
    st.divider()
    if not h.done:
        follow(h)
    else:
        results(h, f, replay)


guarded(render)
