"""The shared sidebar filters, mirrored in the URL so every view is a shareable link.

URL parameters: since, until (YYYY-MM-DD, UTC; until excluded), model and type (repeatable),
user (a UUID), tests=1. A bad value is dropped with a visible warning; the rest still applies.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from queries.filters import STORY_TYPES, FilterError, Filters, default_window, parse_day, parse_user

KEYS = ("since", "until", "model", "type", "user", "tests")
MAX_PARAM_LEN = 200
_INIT = "gl_filters_initialised"
WIDGET_KEYS = ("gl_dates", "gl_models", "gl_types", "gl_user", "gl_tests")
_WARN = "gl_url_warnings"


def _short(v: str) -> str:
    v = v.replace("\x00", "")
    return v[:40] + "…" if len(v) > 40 else v


def parse_params(params: dict[str, list[str]], known_models: list[str]) -> tuple[dict, list[str]]:
    """Initial widget values from URL params, and a warning per value that could not be used."""
    warnings: list[str] = []
    since, until = default_window()

    def one(key: str) -> str | None:
        vals = params.get(key) or []
        return vals[-1] if vals else None

    raw_since, raw_until = one("since"), one("until")
    try:
        if raw_until:
            until = parse_day(raw_until[:MAX_PARAM_LEN], "until")
            if not raw_since:
                since = until - timedelta(days=30)
    except FilterError as e:
        warnings.append(f"Ignored the link's {e}")
    try:
        if raw_since:
            since = parse_day(raw_since[:MAX_PARAM_LEN], "since")
    except FilterError as e:
        warnings.append(f"Ignored the link's {e}")
    if until <= since:
        warnings.append("Ignored the link's dates: until must be after since.")
        since, until = default_window()

    models = []
    for m in params.get("model") or []:
        if not m or len(m) > MAX_PARAM_LEN or "\x00" in m:
            warnings.append(f"Ignored the link's model {_short(m)!r}: not a model name.")
        elif m not in models:
            models.append(m)
    unknown = [m for m in models if m not in known_models]
    if unknown and known_models:
        warnings.append("No data for model " + ", ".join(repr(_short(m)) for m in unknown) + " yet.")

    types = []
    for t in params.get("type") or []:
        if t in STORY_TYPES:
            if t not in types:
                types.append(t)
        else:
            warnings.append(f"Ignored the link's type {_short(t)!r}: use child, hero or combined.")

    user = None
    if one("user"):
        try:
            user = parse_user(one("user")[:MAX_PARAM_LEN])
        except FilterError as e:
            warnings.append(f"Ignored the link's {e}")

    tests = one("tests")
    if tests not in (None, "0", "1"):
        warnings.append(f"Ignored the link's tests={_short(tests)!r}: use tests=1.")
    return {
        "since": since,
        "until": until,
        "models": models,
        "types": types,
        "user": user,
        "include_tests": tests == "1",
    }, warnings


def _url_params() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in KEYS}


def reread_from_url() -> None:
    """Seed the sidebar's widgets from the URL again on the next run (before st.switch_page)."""
    st.session_state.pop(_INIT, None)


def sidebar_filters(known_models: list[str], dimensions: frozenset[str] = frozenset({"story_type", "user"})) -> Filters:
    """Draw the sidebar filters and return the Filters they describe; keep the URL in step."""
    ss = st.session_state
    # Seed the widgets from the URL on a session's first run, and again whenever their state is
    # gone: st.switch_page drops widget state, and the link it followed carries the filters.
    if not ss.get(_INIT) or any(k not in ss for k in WIDGET_KEYS):
        values, warnings = parse_params(_url_params(), known_models)
        ss["gl_dates"] = (values["since"].date(), (values["until"] - timedelta(days=1)).date())
        ss["gl_models"] = values["models"]
        ss["gl_types"] = values["types"]
        ss["gl_user"] = values["user"] or ""
        ss["gl_tests"] = values["include_tests"]
        ss[_WARN] = warnings
        ss[_INIT] = True

    sb = st.sidebar
    sb.header("Filters")
    dates = sb.date_input("Dates (UTC)", key="gl_dates", help="First and last day included, in UTC.")
    options = sorted(set(known_models) | set(ss["gl_models"]))
    models = sb.multiselect("Models", options, key="gl_models", placeholder="All models")
    if "story_type" in dimensions:
        types = sb.multiselect("Story types", list(STORY_TYPES), key="gl_types", placeholder="All types")
    else:
        types = []
        sb.caption("Story types: not available for this source")
    if "user" in dimensions:
        user_text = sb.text_input("User id", key="gl_user", placeholder="any user (paste a UUID)", max_chars=64)
    else:
        user_text = ""
        sb.caption("User: not available for this source")
    tests = sb.toggle(
        "Include test generations",
        key="gl_tests",
        help="Generations started from the admin page carry a test_run_id and are left out by default.",
    )

    for w in ss.get(_WARN, []):
        sb.warning(w, icon=":material/link_off:")

    if isinstance(dates, (tuple, list)) and len(dates) == 2:
        first, last = dates
    elif isinstance(dates, (tuple, list)) and len(dates) == 1:
        first = last = dates[0]  # the user is still picking the end date
    else:
        first = last = dates
    since = datetime.combine(first, time(0), tzinfo=UTC)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)

    user = None
    if user_text.strip():
        try:
            user = parse_user(user_text)
        except FilterError as e:
            sb.warning(f"Ignored the user filter: {e}", icon=":material/warning:")

    f = Filters(
        since=since, until=until, models=tuple(models), types=tuple(types), user=user, include_tests=bool(tests)
    )
    write_params(f)
    return f


def filter_params(f: Filters) -> dict[str, str | list[str]]:
    """The URL parameters that describe `f` (for links between pages)."""
    p: dict[str, str | list[str]] = {"since": f.since.strftime("%Y-%m-%d"), "until": f.until.strftime("%Y-%m-%d")}
    if f.models:
        p["model"] = list(f.models)
    if f.types:
        p["type"] = list(f.types)
    if f.user:
        p["user"] = f.user
    if f.include_tests:
        p["tests"] = "1"
    return p


def write_params(f: Filters) -> None:
    wanted = filter_params(f)
    for k in KEYS:
        if k in wanted:
            v = wanted[k]
            if (st.query_params.get_all(k) if isinstance(v, list) else st.query_params.get(k)) != v:
                st.query_params[k] = v
        elif k in st.query_params:
            del st.query_params[k]
