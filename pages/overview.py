"""Overview: the landing page for product managers. KPIs against the previous period, the daily
trend by status, and the by-model table with its CSV."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from queries import reports
from ui import columns, kpis
from ui import format as fmt
from ui.charts import daily_status_chart
from ui.data import cached, prefetch
from ui.downloads import csv_download
from ui.guard import guarded
from ui.links import page_link
from ui.state import filters


def render() -> None:
    f = filters()
    st.title("Overview")
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    st.caption(
        f"Generations started {f.since:%Y-%m-%d} to {last_day} (UTC), compared with the "
        f"{f.span.days} days before. Test generations are {'included' if f.include_tests else 'left out'}."
    )
    prefetch(
        (reports.summary, f),
        (reports.summary, f.previous_period()),
        (reports.fetch_report, "daily", f),
        (reports.fetch_report, "by_model", f),
    )
    cur = cached(reports.summary, f)
    prev = cached(reports.summary, f.previous_period())
    if not cur["generations"]:
        st.info(
            "No generations in this window. Widen the dates or clear the model, type and user filters in the sidebar.",
            icon=":material/search_off:",
        )
        return
    kpis.row("overview", cur, prev)
    st.caption(
        f"{fmt.count(cur['attempts'])} attempts · attempt success rate {fmt.pct(cur['attempt_success_rate'])} · "
        f"cost per successful generation {fmt.usd(cur['cost_per_success_usd'])} · "
        f"p50 latency {fmt.ms(cur['p50_latency_ms'])} · {fmt.count(cur['pending_attempts'])} pending"
    )
    links = st.columns(4)
    with links[0]:
        page_link("reliability", "Success rates and retries", f, icon=":material/autorenew:")
    with links[1]:
        page_link("cost", "Cost, tokens and quality", f, icon=":material/payments:")
    with links[2]:
        page_link("errors", "Error groups", f, icon=":material/bug_report:")
    with links[3]:
        page_link("reports", "CSV reports", f, icon=":material/download:")

    st.subheader("Attempts per day by status")
    daily = cached(reports.fetch_report, "daily", f)
    st.plotly_chart(daily_status_chart(daily), width="stretch")

    st.subheader("By model")
    by_model = cached(reports.fetch_report, "by_model", f)
    st.dataframe(
        by_model,
        hide_index=True,
        width="stretch",
        column_config=columns.config(by_model.columns, total_cost_usd=columns.column("total_cost_usd", format="$%.2f")),
    )
    csv_download(by_model, "by_model", f)


guarded(render)
