"""Generation detail: one generation's attempts as a timeline and a table, with the raw prompt,
response and metadata of each, and what the user asked for.

Reached by URL ?generation_id=<uuid> (the Explorer's row click) or by pasting an id. Not limited
by the sidebar window: a generation is found by its id alone.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from queries import generation
from queries.filters import FilterError
from ui import columns
from ui import format as fmt
from ui.charts import attempt_timeline
from ui.data import cached
from ui.downloads import csv_download
from ui.guard import guarded
from ui.links import page_link
from ui.state import filters

PARAM = "generation_id"
KEY = "gd_generation_id"
_SEEN = "gd_url_seen"

# One generation's attempts: milliseconds and a single attempt's cost to the micro-dollar matter here.
MILLIS = "YYYY-MM-DD HH:mm:ss.SSS"
DETAIL_COLUMNS = {
    "created_at": columns.column("created_at", format=MILLIS),
    "completed_at": columns.column("completed_at", format=MILLIS),
    "cost_usd": columns.column("cost_usd", format="$%.6f"),
    "error_message": columns.column("error_message", width="large"),
}
TABLE_COLUMNS = [
    "attempt_number",
    "status",
    "model_used",
    "created_at",
    "completed_at",
    "latency_ms",
    "cost_usd",
    "tokens",
    "quality",
    "error_message",
    "error_signature",
]


def sync_id() -> None:
    """The text input follows the URL when the URL changed (a link, Back); the URL follows the input."""
    ss = st.session_state
    current = st.query_params.get(PARAM)
    if ss.get(_SEEN, object()) != current or KEY not in ss:
        ss[KEY] = (current or "")[:200]
        ss[_SEEN] = current


def write_id(value: str) -> None:
    if value:
        if st.query_params.get(PARAM) != value:
            st.query_params[PARAM] = value
    elif PARAM in st.query_params:
        del st.query_params[PARAM]
    st.session_state[_SEEN] = st.query_params.get(PARAM)


def page_url(gid: str) -> str:
    """The page's address for this generation: the dashboard's host when Streamlit knows it."""
    path = f"/generation?generation_id={gid}"
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts): a relative link
        url = None
    if url:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            base = parts.path.rsplit("/", 1)[0] if parts.path.rstrip("/").endswith("generation") else parts.path
            return f"{parts.scheme}://{parts.netloc}{base.rstrip('/')}{path}"
    return path


def chain_line(chain: dict) -> str:
    n = int(chain["attempts"])
    if chain["total_ms"] is not None:
        total = f"first start to last completion {fmt.ms(chain['total_ms'])}"
    elif chain["pending_attempts"]:
        total = "still pending"
    else:
        total = "total time unknown"
    cost = f"total cost {fmt.usd(chain['total_cost_usd'])}" if chain["attempts_with_cost"] else "no cost reported"
    return f"Retry chain: {n} attempt{'s' if n != 1 else ''} · final status {chain['final_status']} · {cost} · {total}"


def show_json(label: str, value) -> None:
    st.markdown(f"**{label}**")
    if value is None or (isinstance(value, float) and pd.isna(value)):
        st.text("NULL (nothing stored)")
    elif isinstance(value, (dict, list)):
        if isinstance(value, list):
            st.caption("Stored as a JSON array, not an object.")
        st.json(value, expanded=True)
    else:
        # A JSON string or number: shown exactly as stored, never parsed again.
        st.caption(f"Stored as a JSON {type(value).__name__.replace('str', 'string')}, not an object.")
        st.code(json.dumps(value, ensure_ascii=False), language=None, wrap_lines=True)


def request_text(first: pd.Series) -> str:
    def v(x) -> str:
        return fmt.DASH if x is None or (isinstance(x, float) and pd.isna(x)) else str(x)

    length = first["story_length"]
    length_text = fmt.DASH if length is None or pd.isna(length) else f"{int(length)} minutes"
    return "\n".join(
        [
            f"Story type:        {v(first['story_type'])}",
            f"Length:            {length_text}",
            f"Moral:             {v(first['moral'])}",
            f"Hero appearance:   {v(first['hero_appearance'])}",
            f"Relationship:      {v(first['relationship_description'])}",
            f"User id:           {v(first['user_id'])}",
        ]
    )


def render() -> None:
    f = filters()
    st.title("Generation detail")
    st.caption("One generation and all its attempts, found by id: the sidebar's dates and filters do not apply here.")
    sync_id()
    raw = st.text_input("Generation id", key=KEY, max_chars=200, placeholder="paste a generation id (UUID)")
    write_id(raw.strip())
    if not raw.strip():
        st.info(
            "Paste a generation id above, or click a row in the Explorer to open its generation here.",
            icon=":material/search:",
        )
        page_link("explorer", "Open the Explorer", f, icon=":material/table_rows:")
        return
    try:
        gid = generation.parse_generation_id(raw)
    except FilterError as e:
        st.warning(str(e), icon=":material/warning:")
        return

    chain = cached(generation.retry_chain, gid)
    if chain is None:
        st.info(
            "No generation with this id. Check that it was copied whole; ids of other environments "
            "are not in this database.",
            icon=":material/search_off:",
        )
        return
    att = cached(generation.attempts, gid)

    st.text(chain_line(chain))
    if chain["is_test"]:
        st.info("This is a test generation (its metadata carries a test_run_id).", icon=":material/science:")
    if chain["pending_attempts"]:
        st.caption(f"{fmt.count(chain['pending_attempts'])} attempt(s) still pending: drawn hatched up to now.")
    if att["metadata_issue"].any():
        st.warning(
            "Some attempts have malformed generation_metadata: their invalid cost, tokens, duration or quality "
            "show as –. The raw metadata is below.",
            icon=":material/data_alert:",
        )

    st.subheader("Attempts")
    st.plotly_chart(attempt_timeline(att), width="stretch")
    table = att[TABLE_COLUMNS]
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        placeholder=fmt.DASH,
        column_config=columns.config(table.columns, **DETAIL_COLUMNS),
    )
    csv_download(table, f"generation_{gid}", None)

    st.subheader("What the user asked for")
    st.code(request_text(att.iloc[0]), language=None, wrap_lines=True)

    st.subheader("Each attempt")
    for _, a in att.iterrows():
        title = f"Attempt {int(a['attempt_number'])} · {a['status']} · {a['created_at']:%Y-%m-%d %H:%M:%S} UTC"
        with st.expander(title, expanded=len(att) == 1):
            if isinstance(a["error_signature"], str):
                st.markdown("**Error group**")
                st.code(a["error_signature"], language=None, wrap_lines=True)
                st.markdown("**Error message**")
                st.code(a["error_message"], language=None, wrap_lines=True)
            elif isinstance(a["error_message"], str):
                st.markdown("**Error message**")
                st.code(a["error_message"], language=None, wrap_lines=True)
            st.markdown("**Prompt**")
            st.code(a["prompt"], language=None, wrap_lines=True)
            show_json("generation_metadata", a["generation_metadata"])
            show_json("full_response", a["full_response"])

    st.subheader("Link to this generation")
    st.code(page_url(gid), language=None)
    st.caption("Works for anyone who can open this dashboard (the host is the dashboard's own address).")
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    page_link(
        "explorer",
        f"Back to the Explorer ({f.since:%Y-%m-%d} to {last_day})",
        f,
        icon=":material/table_rows:",
    )
    # Replay (admins): the admin page pre-fills its form from this generation and compares the runs.
    page_link("admin", "Re-run as a test generation", f, icon=":material/replay:", replay=gid)


guarded(render)
