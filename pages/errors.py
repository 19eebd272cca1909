"""Errors: for engineers. Failed and timed-out attempts grouped by error signature, with a daily
trend per signature, the attempts behind one signature (linked to the generation detail), each
signature's share of the day's failures, and the signatures that first appeared in this window.

URL parameter: `signature` (one of the window's signatures) selects a signature."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from queries import errors, reports
from queries.glossary import help_text
from ui import attempts, columns
from ui import format as fmt
from ui import kpis as kpis_ui
from ui.access import current
from ui.charts import failure_share_chart
from ui.data import cached, prefetch
from ui.downloads import csv_download
from ui.guard import guarded
from ui.state import filters

PARAM = "signature"
TABLE_KEY = "gl_err_signatures"
MAX_SIGNATURE_LEN = 200
HELP = {
    "signatures": help_text("error_signature") + " Here: distinct signatures among failed and timed-out attempts.",
    "trend": "Occurrences per UTC day, from the first to the last day of the window.",
}
MINUTES = "YYYY-MM-DD HH:mm"
# Columns of both signature tables (the window's signatures and the new ones).
SIGNATURE_COLUMNS = {
    "error_signature": columns.column("error_signature", width="large"),
    "occurrences": columns.number("attempts", help="Attempts with this signature."),
    "first_seen": columns.when("first seen (UTC)", format=MINUTES),
    "models": columns.text("models"),
}


def url_signature(valid: set[str]) -> str | None:
    """The `signature` URL parameter when it names one of the window's signatures; else warn, None."""
    raw = st.query_params.get(PARAM)
    if raw is None:
        return None
    if raw and len(raw) <= MAX_SIGNATURE_LEN and raw in valid:
        return raw
    st.warning(
        "Ignored the link's signature: no failed or timed-out attempt in this window has it. "
        "Widen the dates or pick a signature in the table.",
        icon=":material/link_off:",
    )
    del st.query_params[PARAM]
    return None


def kpis(summary: dict, n_signatures: int, n_new: int) -> None:
    cols = st.columns(5)
    for col, name in zip(cols, ("failures", "timeouts", "failure_rate"), strict=False):
        kpis_ui.box(col, name, summary, None)
    cols[3].metric("Error signatures", fmt.count(n_signatures), help=HELP["signatures"], border=True)
    cols[4].metric("New signatures", fmt.count(n_new), help=help_text("new_signatures"), border=True)


def signature_table(f, table: pd.DataFrame, trends: pd.DataFrame, preselect: str | None) -> str | None:
    """The signatures table with a daily trend column; returns the selected signature, if any."""
    st.subheader("Error signatures", help=help_text("error_signature"))
    st.caption("Most frequent first. Select a row to list its attempts.")
    shown = table.merge(trends[["error_signature", "daily_counts"]], on="error_signature", how="left")
    # uuid.UUID cells would show as byte lists; the CSV below keeps the report's own values.
    shown["example_generation_id"] = shown["example_generation_id"].astype(str)
    default = None
    if preselect is not None:
        default = {"selection": {"rows": [int(shown.index[shown["error_signature"] == preselect][0])]}}
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        # Keyed by the filters: a row number means another signature once the window changes.
        key=f"{TABLE_KEY}_{f.describe()}",
        on_select="rerun",
        selection_mode="single-row",
        selection_default=default,
        placeholder=fmt.DASH,
        column_order=[
            "error_signature",
            "occurrences",
            "generations",
            "daily_counts",
            "first_seen",
            "last_seen",
            "models",
            "example_generation_id",
        ],
        column_config=columns.config(
            shown.columns,
            **SIGNATURE_COLUMNS,
            daily_counts=columns.bars("per day", help=HELP["trend"]),
            last_seen=columns.when("last seen (UTC)", format=MINUTES),
            example_generation_id=columns.text("latest generation"),
        ),
    )
    # The CSV is the errors report itself (the same file as `python -m queries.export errors`).
    csv_download(table, "errors", f, "dl_errors")
    rows = event.selection.rows if event is not None else []
    if rows:
        chosen = str(shown.iloc[rows[0]]["error_signature"])
        if st.query_params.get(PARAM) != chosen:
            st.query_params[PARAM] = chosen
        return chosen
    if PARAM in st.query_params:
        del st.query_params[PARAM]
    return None


def signature_attempts(f, signature: str) -> None:
    st.subheader("Attempts with this signature")
    if not current().allows("analyst"):
        st.info(
            "Attempt-level rows (messages, generations) are for analysts; viewers see the aggregates above.",
            icon=":material/visibility_off:",
        )
        return
    st.code(signature, language=None, wrap_lines=True)
    df = cached(errors.signature_attempts, f, signature)
    more = f" (the newest {fmt.count(errors.ATTEMPTS_LIMIT)})" if len(df) >= errors.ATTEMPTS_LIMIT else ""
    st.caption(f"{fmt.count(len(df))} attempts{more}, newest first. Select a row to open its generation.")
    attempts.table(df, f, key=f"gl_err_attempts_{f.describe()}_{signature}")
    csv_download(df, "signature_attempts", f, "dl_sig_attempts")


def new_section(f, new: pd.DataFrame) -> None:
    st.subheader("New signatures in this window", help=help_text("new_signatures"))
    if new.empty:
        st.info(
            f"No signature appeared for the first time in this window: every error seen here was already seen "
            f"before {f.since:%Y-%m-%d}.",
            icon=":material/check_circle:",
        )
        return
    st.caption("Signatures never seen before this window, newest first occurrence first.")
    st.dataframe(
        new,
        hide_index=True,
        width="stretch",
        placeholder=fmt.DASH,
        column_config=columns.config(new.columns, **SIGNATURE_COLUMNS, first_seen_ever=SIGNATURE_COLUMNS["first_seen"]),
    )
    csv_download(new, "new_signatures", f, "dl_new")


def share_section(f, share: pd.DataFrame) -> None:
    st.subheader("Share of failures by signature, per day")
    st.caption(
        f"Each UTC day's failed and timed-out attempts, split among the {errors.SHARE_SIGNATURES} most frequent "
        "signatures of the window and all others. Hover for the counts."
    )
    st.plotly_chart(failure_share_chart(share), width="stretch")
    csv_download(share, "failure_share_per_day", f, "dl_share")


def render() -> None:
    f = filters()
    st.title("Errors")
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    st.caption(
        f"Failed and timed-out attempts of generations started {f.since:%Y-%m-%d} to {last_day} (UTC). "
        f"Test generations are {'included' if f.include_tests else 'left out'}."
    )
    prefetch(
        (errors.failure_summary, f),
        (reports.fetch_report, "errors", f),
        (errors.new_signatures, f),
        (errors.signature_trends, f),
        (errors.failure_share, f),
    )
    summary = cached(errors.failure_summary, f).iloc[0].to_dict()
    if not summary["lost_attempts"]:
        st.query_params.pop(PARAM, None)
        st.info(
            "No failed or timed-out attempts in this window - widen the dates or clear the model, type and "
            "user filters in the sidebar.",
            icon=":material/search_off:",
        )
        return
    table = cached(reports.fetch_report, "errors", f)
    new = cached(errors.new_signatures, f)
    kpis(summary, len(table), len(new))
    if summary["failures_without_message"]:
        st.caption(
            f"{fmt.count(summary['failures_without_message'])} failed or timed-out attempts have no error message, "
            "so no signature; they count in the share chart as “no error message”."
        )
    if not table.empty:
        preselect = url_signature(set(table["error_signature"]))
        trends = cached(errors.signature_trends, f)
        chosen = signature_table(f, table, trends, preselect)
        if chosen is not None:
            signature_attempts(f, chosen)
    new_section(f, new)
    share_section(f, cached(errors.failure_share, f))


guarded(render)
