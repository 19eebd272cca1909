"""Reliability: for product managers and engineers. How often generations succeed (first try, in the
end, per attempt) over time and by model and story type; how many attempts generations take and what
retries recover; the money and time spent on failed and timed-out attempts; retries inside the
pipeline's phases; pending attempts that never finished."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from queries import reliability, reports
from queries.glossary import help_text
from ui import format as fmt
from ui.data import cached, prefetch
from ui.downloads import csv_download
from ui.guard import guarded
from ui.links import open_generation
from ui.state import filters, has_dimension, not_available

# Same colours as the Overview page for statuses; one colour per rate.
COLORS = {"success": "#2e9e5b", "failed": "#d64545", "timeout": "#e39b24", "pending": "#8a8f98"}
RATES = {
    "first_attempt_success_rate": ("First-attempt success", "#8e6bbf"),
    "success_rate": ("Success (after retries)", "#2e9e5b"),
    "attempt_success_rate": ("Attempt success", "#3b6fd4"),
}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"orientation": "h", "y": 1.15, "x": 0}}


def hours(v) -> str:
    if v is None or pd.isna(v):
        return fmt.DASH
    return f"{v * 60:,.0f} min" if v < 1 else f"{v:,.1f} h"


RATE_COLUMNS = {
    "generations": st.column_config.NumberColumn("generations", help=help_text("generations"), format="%d"),
    "success_rate": st.column_config.NumberColumn("success", format="percent", help=help_text("success_rate")),
    "first_attempt_success_rate": st.column_config.NumberColumn(
        "first-attempt success", format="percent", help=help_text("first_attempt_success_rate")
    ),
    "attempts": st.column_config.NumberColumn("attempts", help=help_text("attempts"), format="%d"),
    "successes": st.column_config.NumberColumn("successful attempts", format="%d"),
    "failures": st.column_config.NumberColumn("failed attempts", format="%d"),
    "timeouts": st.column_config.NumberColumn("timed-out attempts", format="%d"),
    "attempt_success_rate": st.column_config.NumberColumn(
        "attempt success", format="percent", help=help_text("attempt_success_rate")
    ),
    "avg_attempts_per_generation": st.column_config.NumberColumn(
        "attempts per gen.", format="%.2f", help=help_text("avg_attempts_per_generation")
    ),
    "retry_rate": st.column_config.NumberColumn("retry rate", format="percent", help=help_text("retry_rate")),
    "recovered_by_retry": st.column_config.NumberColumn(
        "recovered by retry", format="%d", help=help_text("recovered_by_retry")
    ),
}


# --- KPIs ----------------------------------------------------------------------------------------


def kpis(cur: dict, prev: dict, lost: dict, stale: pd.DataFrame, minutes: int) -> None:
    row = st.columns(4)
    for col, (key, label) in zip(
        row,
        {
            "success_rate": "Success rate",
            "first_attempt_success_rate": "First-attempt success",
            "attempt_success_rate": "Attempt success rate",
            "recovered_by_retry": "Recovered by retry",
        }.items(),
        strict=True,
    ):
        value, delta, color = fmt.kpi(key, cur, prev)
        col.metric(label, value, delta, delta_color=color, help=help_text(key), border=True)
    row = st.columns(4)
    value, delta, color = fmt.kpi("retry_rate", cur, prev)
    row[0].metric("Retry rate", value, delta, delta_color=color, help=help_text("retry_rate"), border=True)
    row[1].metric(
        "Cost of failed attempts",
        fmt.usd(lost.get("lost_cost_usd")),
        help=help_text("failed_attempt_cost_usd"),
        border=True,
    )
    row[2].metric(
        "Time in failed attempts", hours(lost.get("lost_time_h")), help=help_text("failed_attempt_time"), border=True
    )
    row[3].metric(
        f"Stale pending (> {minutes} min)", fmt.count(len(stale)), help=help_text("stale_pending"), border=True
    )
    st.caption(
        f"{fmt.count(cur['generations'])} generations · {fmt.count(cur['attempts'])} attempts · "
        f"{fmt.ratio(cur['avg_attempts_per_generation'])} attempts per generation · "
        f"{fmt.count(lost.get('failed_attempts'))} failed and {fmt.count(lost.get('timeout_attempts'))} "
        "timed-out attempts"
    )


# --- Charts --------------------------------------------------------------------------------------


def rates_chart(df: pd.DataFrame, unit: str) -> go.Figure:
    fig = go.Figure()
    when = "%{x|%Y-%m-%d %H:00}" if unit == "hour" else "%{x|%Y-%m-%d}"
    for key, (label, color) in RATES.items():
        fig.add_scatter(
            x=df["bucket"],
            y=df[key] * 100,
            name=label,
            mode="lines+markers" if len(df) <= 45 else "lines",
            line={"color": color, "width": 2},
            marker={"size": 5},
            hovertemplate=when + "<br>" + label + ": %{y:.1f}%<extra></extra>",
        )
    low = min((df[k].min() for k in RATES if df[k].notna().any()), default=0)
    bottom = max(0, min(90, int((low * 100 - 5) // 10 * 10))) if pd.notna(low) else 0
    fig.update_layout(
        height=340,
        **LAYOUT,
        yaxis={"title": "success rate (%)", "range": [bottom, 100.5], "ticksuffix": "%"},
        xaxis={"title": f"{unit} (UTC)"},
        hovermode="x unified",
    )
    return fig


def failures_chart(df: pd.DataFrame, unit: str) -> go.Figure:
    fig = go.Figure()
    when = "%{x|%Y-%m-%d %H:00}" if unit == "hour" else "%{x|%Y-%m-%d}"
    for key, name in (("failures", "failed"), ("timeouts", "timeout")):
        fig.add_bar(
            x=df["bucket"],
            y=df[key],
            name=f"{name} attempts",
            marker_color=COLORS[name],
            hovertemplate=when + "<br>" + name + ": %{y:,} attempts<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        height=260,
        margin=LAYOUT["margin"],
        legend={**LAYOUT["legend"], "traceorder": "normal"},
        yaxis={"title": "failed and timed-out attempts"},
        xaxis={"title": f"{unit} (UTC)"},
    )
    return fig


def rates_by_chart(df: pd.DataFrame, dim: str) -> go.Figure:
    """A dot per rate and group: the gap between first-attempt and final success is what retries add."""
    labels = df[dim].fillna("(none)").map(fmt.plot_text)
    fig = go.Figure()
    for key, (label, color) in RATES.items():
        fig.add_scatter(
            x=df[key] * 100,
            y=labels,
            name=label,
            mode="markers",
            marker={"color": color, "size": 12, "line": {"width": 1, "color": "white"}},
            customdata=df[["generations", "attempts"]],
            hovertemplate="%{y}<br>"
            + label
            + ": %{x:.1f}%<br>%{customdata[0]:,} generations, %{customdata[1]:,} attempts<extra></extra>",
        )
    low = min((df[k].min() for k in RATES if df[k].notna().any()), default=0)
    left = max(0, min(90, int((low * 100 - 5) // 10 * 10))) if pd.notna(low) else 0
    fig.update_layout(
        height=110 + 42 * len(df),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        xaxis={"title": "success rate (%)", "range": [left, 100.5], "ticksuffix": "%"},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return fig


def failures_by_chart(df: pd.DataFrame, dim: str) -> go.Figure:
    labels = df[dim].fillna("(none)").map(fmt.plot_text)
    fig = go.Figure()
    for key, name in (("failures", "failed"), ("timeouts", "timeout")):
        fig.add_bar(
            x=df[key],
            y=labels,
            orientation="h",
            name=f"{name} attempts",
            marker_color=COLORS[name],
            hovertemplate="%{y}<br>" + name + ": %{x:,} attempts<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        height=110 + 36 * len(df),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "traceorder": "normal"},
        xaxis={"title": "failed and timed-out attempts"},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return fig


def retries_chart(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    x = df["attempts"].astype(str)
    other = df["generations"] - df["succeeded"] - df["failed_final"]
    for series, name, color in (
        (df["succeeded"], "ended in success", COLORS["success"]),
        (df["failed_final"], "ended failed or timed out", COLORS["failed"]),
        (other, "still pending", COLORS["pending"]),
    ):
        if not series.any():
            continue
        fig.add_bar(
            x=x,
            y=series,
            name=name,
            marker_color=color,
            hovertemplate="%{x} attempt(s)<br>" + name + ": %{y:,} generations<extra></extra>",
        )
    # Totals above the bars: the 3- and 4-attempt bars are too small to read against the first one.
    fig.add_scatter(
        x=x,
        y=df["generations"],
        mode="text",
        text=[f"{v:,}" for v in df["generations"]],
        textposition="top center",
        showlegend=False,
        hoverinfo="skip",
    )
    fig.update_layout(
        barmode="stack",
        height=300,
        margin=LAYOUT["margin"],
        legend={**LAYOUT["legend"], "traceorder": "normal"},
        yaxis={"title": "generations", "range": [0, float(df["generations"].max()) * 1.15 if len(df) else 1]},
        xaxis={"title": "attempts the generation took", "type": "category"},
    )
    return fig


# --- Sections ------------------------------------------------------------------------------------


def over_time(f) -> None:
    unit = reliability.bucket_for(f)
    st.subheader(f"Success rates per {unit}")
    df = cached(reliability.rates_over_time, f)
    chart, table = st.tabs(["Chart", "Table"])
    with chart:
        st.plotly_chart(rates_chart(df, unit), width="stretch")
        st.caption(
            "Generation rates sit in the "
            + unit
            + " the generation started; attempt success and the bars below in the "
            + unit
            + " each attempt started."
        )
        st.plotly_chart(failures_chart(df, unit), width="stretch")
    with table:
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            placeholder=fmt.DASH,
            column_config={
                "bucket": st.column_config.DatetimeColumn(
                    f"{unit} (UTC)", format="YYYY-MM-DD HH:mm" if unit == "hour" else "YYYY-MM-DD"
                ),
                **RATE_COLUMNS,
            },
        )
        csv_download(df, f"success_rates_per_{unit}", f, "dl_over_time")


def by_dimension(f, dim: str, title: str) -> None:
    st.subheader(title)
    df = cached(reliability.rates_by, f, dim)
    chart, table = st.tabs(["Chart", "Table"])
    with chart:
        left, right = st.columns([3, 2])
        left.plotly_chart(rates_by_chart(df, dim), width="stretch")
        right.plotly_chart(failures_by_chart(df, dim), width="stretch")
    with table:
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            placeholder=fmt.DASH,
            column_config={
                "model_used": st.column_config.TextColumn("model"),
                "story_type": st.column_config.TextColumn("story type"),
                **RATE_COLUMNS,
            },
        )
        csv_download(df, f"reliability_by_{dim}", f, f"dl_by_{dim}")
    st.caption("A generation counts for the model and story type of its first attempt; attempts count for their own.")


def retries(f, cur: dict) -> None:
    st.subheader("Attempts per generation")
    df = cached(reports.fetch_report, "retries", f)
    left, right = st.columns([3, 2])
    left.plotly_chart(retries_chart(df), width="stretch")
    with right:
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            column_config={
                "attempts": st.column_config.NumberColumn("attempts taken", format="%d"),
                "generations": st.column_config.NumberColumn("generations", format="%d"),
                "succeeded": st.column_config.NumberColumn("ended in success", format="%d"),
                "failed_final": st.column_config.NumberColumn(
                    "ended failed", format="%d", help="Ended failed or timed out."
                ),
            },
        )
        csv_download(df, "retries", f, "dl_retries")
        st.caption(
            f"{fmt.count(cur['recovered_by_retry'])} generations needed a retry and then succeeded "
            f"(retry rate {fmt.pct(cur['retry_rate'])})."
        )


def lost(f, by_model: pd.DataFrame, total: dict) -> None:
    st.subheader("Cost and time spent on failed attempts")
    st.caption(
        f"Failed attempts cost {fmt.usd(total.get('failed_cost_usd'))} and took {hours(total.get('failed_time_h'))}; "
        f"timed-out attempts cost {fmt.usd(total.get('timeout_cost_usd'))} and took "
        f"{hours(total.get('timeout_time_h'))}. That is {fmt.pct(total.get('failure_cost_share'))} of all known cost. "
        "Attempts without a valid cost or latency are left out."
    )
    st.dataframe(
        by_model,
        hide_index=True,
        width="stretch",
        placeholder=fmt.DASH,
        column_order=[c for c in by_model.columns if c != "is_total"],
        column_config={
            "model_used": st.column_config.TextColumn("model"),
            "failed_attempts": st.column_config.NumberColumn("failed attempts", format="%d"),
            "timeout_attempts": st.column_config.NumberColumn("timed-out attempts", format="%d"),
            "failed_cost_usd": st.column_config.NumberColumn("failed: cost (USD)", format="$%.4f"),
            "timeout_cost_usd": st.column_config.NumberColumn("timed out: cost (USD)", format="$%.4f"),
            "lost_cost_usd": st.column_config.NumberColumn(
                "total lost (USD)", format="$%.4f", help=help_text("failed_attempt_cost_usd")
            ),
            "failure_cost_share": st.column_config.NumberColumn("share of model's cost", format="percent"),
            "failed_time_h": st.column_config.NumberColumn("failed: time (h)", format="%.2f h"),
            "timeout_time_h": st.column_config.NumberColumn("timed out: time (h)", format="%.2f h"),
            "lost_time_h": st.column_config.NumberColumn(
                "total time (h)", format="%.2f h", help=help_text("failed_attempt_time")
            ),
        },
    )
    csv_download(by_model.drop(columns=["is_total"]), "failed_attempt_cost_by_model", f, "dl_lost")


def phases(f) -> None:
    st.subheader("Retries inside the pipeline, by phase", help=help_text("phase_retries"))
    df = cached(reliability.phase_retries, f)
    if df.empty:
        st.info(
            "No attempt in this window reports generation_metadata.retry_count. Widen the dates or the filters.",
            icon=":material/info:",
        )
        return
    st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        placeholder=fmt.DASH,
        column_config={
            "phase": st.column_config.TextColumn("phase"),
            "attempts_reporting": st.column_config.NumberColumn("attempts reporting it", format="%d"),
            "attempts_with_retries": st.column_config.NumberColumn("attempts with a retry", format="%d"),
            "retries": st.column_config.NumberColumn("retries", format="%d"),
            "retries_per_attempt": st.column_config.NumberColumn("retries per attempt", format="%.3f"),
        },
    )
    csv_download(df, "phase_retries", f, "dl_phases")


def stale_section(f, stale: pd.DataFrame, minutes: int) -> None:
    st.subheader("Stale pending attempts", help=help_text("stale_pending"))
    if stale.empty:
        st.success(
            f"No attempt of these generations has been pending for more than {minutes} minutes.",
            icon=":material/check_circle:",
        )
        return
    st.caption(
        f"Attempts still pending more than {minutes} minutes after they started (GENLENS_STALE_PENDING_MINUTES), "
        "oldest first. Select a row to open the generation."
    )
    event = st.dataframe(
        stale,
        hide_index=True,
        width="stretch",
        key=f"gl_rel_stale_{f.describe()}",
        on_select="rerun",
        selection_mode="single-row",
        placeholder=fmt.DASH,
        column_config={
            "generation_id": st.column_config.TextColumn("generation"),
            "attempt_number": st.column_config.NumberColumn("attempt", format="%d"),
            "model_used": st.column_config.TextColumn("model"),
            "story_type": st.column_config.TextColumn("story type"),
            "created_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "age_minutes": st.column_config.NumberColumn("pending for (min)", format="%,.0f min"),
        },
    )
    csv_download(stale, "stale_pending", f, "dl_stale")
    rows = event.selection.rows if event is not None else []
    if rows:
        open_generation(f, str(stale.iloc[rows[0]]["generation_id"]))


def render() -> None:
    f = filters()
    st.title("Reliability")
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    st.caption(
        f"Generations started {f.since:%Y-%m-%d} to {last_day} (UTC); deltas compare with the {f.span.days} days "
        f"before. Test generations are {'included' if f.include_tests else 'left out'}."
    )
    minutes = reliability.stale_minutes()
    prefetch(
        (reports.summary, f),
        (reports.summary, f.previous_period()),
        (reliability.failed_attempt_cost, f),
        (reliability.stale_pending, f, minutes),
        (reliability.rates_over_time, f),
        (reliability.rates_by, f, "model_used"),
        *([(reliability.rates_by, f, "story_type")] if has_dimension("story_type") else []),
        (reports.fetch_report, "retries", f),
        (reliability.phase_retries, f),
    )
    cur = cached(reports.summary, f)
    if not cur["generations"]:
        st.info(
            "No generations in this window. Widen the dates or clear the model, type and user filters in the sidebar.",
            icon=":material/search_off:",
        )
        return
    prev = cached(reports.summary, f.previous_period())
    cost = cached(reliability.failed_attempt_cost, f)
    total = cost[cost["is_total"]].iloc[0].to_dict()
    stale = cached(reliability.stale_pending, f, minutes)

    kpis(cur, prev, total, stale, minutes)
    over_time(f)
    by_dimension(f, "model_used", "By model")
    if has_dimension("story_type"):
        by_dimension(f, "story_type", "By story type")
    else:
        st.subheader("By story type")
        not_available("Story type")
    retries(f, cur)
    lost(f, cost[~cost["is_total"]], total)
    phases(f)
    stale_section(f, stale, minutes)


guarded(render)
