"""Reliability: for product managers and engineers. How often generations succeed (first try, in the
end, per attempt) over time and by model and story type; how many attempts generations take and what
retries recover; the money and time spent on failed and timed-out attempts; retries inside the
pipeline's phases; pending attempts that never finished."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from queries import reliability, reports
from queries.glossary import help_text
from ui import attempts, columns
from ui import format as fmt
from ui import kpis as kpis_ui
from ui import reliability_charts as charts
from ui.data import cached, prefetch
from ui.downloads import csv_download
from ui.guard import guarded
from ui.state import filters, has_dimension, not_available


def hours(v) -> str:
    if v is None or pd.isna(v):
        return fmt.DASH
    return f"{v * 60:,.0f} min" if v < 1 else f"{v:,.1f} h"


# --- KPIs ----------------------------------------------------------------------------------------


def kpis(cur: dict, prev: dict, lost: dict, stale: pd.DataFrame, minutes: int) -> None:
    names = list(kpis_ui.titles("reliability"))  # four in the first row, the rest lead the second
    row = st.columns(4)
    for col, name in zip(row, names[:4], strict=True):
        kpis_ui.box(col, name, cur, prev)
    row = st.columns(4)
    for col, name in zip(row, names[4:], strict=False):
        kpis_ui.box(col, name, cur, prev)
    row[1].metric(
        "Cost of failed attempts",
        fmt.usd(lost.get("lost_cost_usd")),
        help=help_text("lost_cost_usd"),
        border=True,
    )
    row[2].metric("Time in failed attempts", hours(lost.get("lost_time_h")), help=help_text("lost_time_h"), border=True)
    row[3].metric(
        f"Stale pending (> {minutes} min)", fmt.count(len(stale)), help=help_text("stale_pending"), border=True
    )
    st.caption(
        f"{fmt.count(cur['generations'])} generations · {fmt.count(cur['attempts'])} attempts · "
        f"{fmt.ratio(cur['avg_attempts_per_generation'])} attempts per generation · "
        f"{fmt.count(lost.get('failures'))} failed and {fmt.count(lost.get('timeouts'))} "
        "timed-out attempts"
    )


# --- Sections ------------------------------------------------------------------------------------


def over_time(f) -> None:
    unit = reliability.bucket_for(f)
    st.subheader(f"Success rates per {unit}")
    df = cached(reliability.rates_over_time, f)
    chart, table = st.tabs(["Chart", "Table"])
    with chart:
        st.plotly_chart(charts.rates_chart(df, unit), width="stretch")
        st.caption(
            "Generation rates sit in the "
            + unit
            + " the generation started; attempt success and the bars below in the "
            + unit
            + " each attempt started."
        )
        st.plotly_chart(charts.failures_chart(df, unit), width="stretch")
    with table:
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            placeholder=fmt.DASH,
            column_config=columns.config(
                df.columns,
                bucket=columns.column(
                    "bucket", f"{unit} (UTC)", format="YYYY-MM-DD HH:mm" if unit == "hour" else "YYYY-MM-DD"
                ),
            ),
        )
        csv_download(df, f"success_rates_per_{unit}", f, "dl_over_time")


def by_dimension(f, dim: str, title: str) -> None:
    st.subheader(title)
    df = cached(reliability.rates_by, f, dim)
    chart, table = st.tabs(["Chart", "Table"])
    with chart:
        left, right = st.columns([3, 2])
        left.plotly_chart(charts.rates_by_chart(df, dim), width="stretch")
        right.plotly_chart(charts.failures_by_chart(df, dim), width="stretch")
    with table:
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            placeholder=fmt.DASH,
            column_config=columns.config(df.columns),
        )
        csv_download(df, f"reliability_by_{dim}", f, f"dl_by_{dim}")
    st.caption("A generation counts for the model and story type of its first attempt; attempts count for their own.")


def retries(f, cur: dict) -> None:
    st.subheader("Attempts per generation")
    df = cached(reports.fetch_report, "retries", f)
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.retries_chart(df), width="stretch")
    with right:
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            column_config=columns.config(
                df.columns,
                attempts=columns.number("attempts taken"),  # a number of attempts, not the metric
                succeeded=columns.number("ended in success"),
                failed_final=columns.number("ended failed", help="Ended failed or timed out."),
            ),
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
        column_config=columns.config(by_model.columns),
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
        column_config=columns.config(
            df.columns, phase_retries_per_attempt=columns.column("phase_retries_per_attempt", format="%.3f")
        ),
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
    attempts.table(
        stale,
        f,
        key=f"gl_rel_stale_{f.describe()}",
        age_minutes=columns.number("pending for (min)", format="%,.0f min"),
    )
    csv_download(stale, "stale_pending", f, "dl_stale")


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
