"""Errors: for engineers. Failed and timed-out attempts grouped by error signature, with a daily
trend per signature, the attempts behind one signature (linked to the generation detail), each
signature's share of the day's failures, and the signatures that first appeared in this window.

URL parameter: `signature` (one of the window's signatures) selects a signature."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from queries import errors, reports
from queries.glossary import help_text
from ui import format as fmt
from ui.access import current
from ui.data import cached, prefetch
from ui.downloads import csv_download
from ui.guard import guarded
from ui.links import open_generation
from ui.state import filters

PARAM = "signature"
TABLE_KEY = "gl_err_signatures"
MAX_SIGNATURE_LEN = 200
LEGEND_LEN = 60
# Top signatures in a qualitative palette readable on white; "other" grey, "no message" light grey.
SERIES_COLORS = ["#3b6fd4", "#d64545", "#e39b24", "#2e9e5b", "#8e6bbf", "#1b9aaa", "#b5651d", "#c2185b"]
OTHER_COLOR, NO_MESSAGE_COLOR = "#8a8f98", "#c9ccd1"

HELP = {
    "signatures": help_text("error_signature") + " Here: distinct signatures among failed and timed-out attempts.",
    "trend": "Occurrences per UTC day, from the first to the last day of the window.",
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
    cols[0].metric(
        "Failed attempts", fmt.count(summary["failed_attempts"]), help=help_text("failed_attempts"), border=True
    )
    cols[1].metric(
        "Timed-out attempts", fmt.count(summary["timeout_attempts"]), help=help_text("timeout_attempts"), border=True
    )
    cols[2].metric("Failure rate", fmt.pct(summary["failure_rate"]), help=help_text("failure_rate"), border=True)
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
        column_config={
            "error_signature": st.column_config.TextColumn("signature", width="large"),
            "occurrences": st.column_config.NumberColumn("attempts", format="%d", help="Attempts with this signature."),
            "generations": st.column_config.NumberColumn("generations", format="%d"),
            "daily_counts": st.column_config.BarChartColumn("per day", help=HELP["trend"], y_min=0),
            "first_seen": st.column_config.DatetimeColumn("first seen (UTC)", format="YYYY-MM-DD HH:mm"),
            "last_seen": st.column_config.DatetimeColumn("last seen (UTC)", format="YYYY-MM-DD HH:mm"),
            "models": st.column_config.TextColumn("models"),
            "example_generation_id": st.column_config.TextColumn("latest generation"),
        },
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
    event = st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        key=f"gl_err_attempts_{f.describe()}_{signature}",
        on_select="rerun",
        selection_mode="single-row",
        placeholder=fmt.DASH,
        column_config={
            "generation_id": st.column_config.TextColumn("generation"),
            "attempt_number": st.column_config.NumberColumn("attempt", format="%d"),
            "status": st.column_config.TextColumn("status"),
            "model_used": st.column_config.TextColumn("model"),
            "created_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%,.0f ms"),
            "error_message": st.column_config.TextColumn("error message", width="large"),
        },
    )
    csv_download(df, "signature_attempts", f, "dl_sig_attempts")
    rows = event.selection.rows if event is not None else []
    if rows:
        open_generation(f, str(df.iloc[rows[0]]["generation_id"]))


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
        column_config={
            "error_signature": st.column_config.TextColumn("signature", width="large"),
            "first_seen_ever": st.column_config.DatetimeColumn("first seen (UTC)", format="YYYY-MM-DD HH:mm"),
            "occurrences": st.column_config.NumberColumn("attempts", format="%d"),
            "generations": st.column_config.NumberColumn("generations", format="%d"),
            "models": st.column_config.TextColumn("models"),
        },
    )
    csv_download(new, "new_signatures", f, "dl_new")


def share_chart(share: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for order, part in share.groupby("series_order", sort=True):
        kind = part["series_kind"].iloc[0]
        if kind == "top":
            sig = str(part["error_signature"].iloc[0])
            short = sig if len(sig) <= LEGEND_LEN else sig[: LEGEND_LEN - 1] + "…"
            name = f"{int(part['rank'].iloc[0])}. {fmt.plot_text(short)}"
            hover = fmt.plot_text(sig)
            color = SERIES_COLORS[(int(order) - 1) % len(SERIES_COLORS)]
        elif kind == "other":
            name = hover = "all other signatures"
            color = OTHER_COLOR
        else:
            name = hover = "no error message"
            color = NO_MESSAGE_COLOR
        fig.add_scatter(
            x=part["day"],
            y=part["share"] * 100,
            name=name,
            mode="lines",
            stackgroup="share",
            line={"width": 0.5, "color": color},
            fillcolor=color,
            customdata=part[["failures", "day_failures"]],
            # Stored text goes through `text`, never into the template, where %{...} would be read.
            text=[hover] * len(part),
            hovertemplate="%{x|%Y-%m-%d}<br>%{text}"
            "<br>%{y:.1f}% of failures (%{customdata[0]:,} of %{customdata[1]:,} attempts)<extra></extra>",
        )
    fig.update_layout(
        height=480,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.2, "x": 0, "yanchor": "top", "traceorder": "normal"},
        yaxis={"title": "share of failed + timed-out attempts (%)", "range": [0, 100], "ticksuffix": "%"},
        xaxis={"title": None},
        hovermode="closest",
    )
    return fig


def share_section(f, share: pd.DataFrame) -> None:
    st.subheader("Share of failures by signature, per day")
    st.caption(
        f"Each UTC day's failed and timed-out attempts, split among the {errors.SHARE_SIGNATURES} most frequent "
        "signatures of the window and all others. Hover for the counts."
    )
    st.plotly_chart(share_chart(share), width="stretch")
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
    if not summary["failures"]:
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
    if summary["without_message"]:
        st.caption(
            f"{fmt.count(summary['without_message'])} failed or timed-out attempts have no error message, "
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
