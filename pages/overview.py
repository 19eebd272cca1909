"""Overview: the landing page for product managers. KPIs against the previous period, the daily
trend by status, and the by-model table with its CSV."""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import streamlit as st

from queries import reports
from queries.glossary import help_text
from ui import format as fmt
from ui.data import cached, prefetch
from ui.downloads import csv_download
from ui.guard import guarded
from ui.links import page_link
from ui.state import filters

KPIS = {
    "generations": "Generations",
    "success_rate": "Success rate",
    "avg_attempts_per_generation": "Avg attempts",
    "total_cost_usd": "Total cost",
    "p95_latency_ms": "p95 latency",
    "avg_quality": "Avg quality",
}
STATUS_COLORS = {"success": "#2e9e5b", "failed": "#d64545", "timeout": "#e39b24", "pending": "#8a8f98"}


def kpi_row(cur: dict, prev: dict) -> None:
    for col, (key, label) in zip(st.columns(len(KPIS)), KPIS.items(), strict=True):
        value, delta, color = fmt.kpi(key, cur, prev)
        col.metric(label, value, delta, delta_color=color, help=help_text(key), border=True)


def daily_chart(daily) -> go.Figure:
    fig = go.Figure()
    day = daily["day"]
    pending = daily["attempts"] - daily["successes"] - daily["failures"] - daily["timeouts"]
    for name, series in (
        ("success", daily["successes"]),
        ("failed", daily["failures"]),
        ("timeout", daily["timeouts"]),
        ("pending", pending),
    ):
        fig.add_bar(
            x=day,
            y=series,
            name=name,
            marker_color=STATUS_COLORS[name],
            hovertemplate="%{x|%Y-%m-%d}<br>" + name + ": %{y:,} attempts<extra></extra>",
        )
    fig.add_scatter(
        x=day,
        y=daily["attempt_success_rate"] * 100,
        name="attempt success rate",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#3b6fd4", "width": 2},
        hovertemplate="%{x|%Y-%m-%d}<br>attempt success rate: %{y:.1f}%<extra></extra>",
    )
    fig.update_layout(
        barmode="stack",
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.12},
        yaxis={"title": "attempts"},
        yaxis2={
            "title": "success rate (%)",
            "overlaying": "y",
            "side": "right",
            "range": [0, 101],
            "showgrid": False,
            "tickvals": [0, 25, 50, 75, 100],
            "ticksuffix": "%",
        },
        xaxis={"title": "day (UTC)"},
    )
    return fig


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
    kpi_row(cur, prev)
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
        page_link("errors", "Error signatures", f, icon=":material/bug_report:")
    with links[3]:
        page_link("reports", "CSV reports", f, icon=":material/download:")

    st.subheader("Attempts per day by status")
    daily = cached(reports.fetch_report, "daily", f)
    st.plotly_chart(daily_chart(daily), width="stretch")

    st.subheader("By model")
    by_model = cached(reports.fetch_report, "by_model", f)
    st.dataframe(
        by_model,
        hide_index=True,
        width="stretch",
        column_config={
            "model_used": st.column_config.TextColumn("model"),
            "attempt_success_rate": st.column_config.NumberColumn(
                "attempt success", format="percent", help=help_text("attempt_success_rate")
            ),
            "p50_latency_ms": st.column_config.NumberColumn("p50 latency (ms)", format="%.0f"),
            "p95_latency_ms": st.column_config.NumberColumn("p95 latency (ms)", format="%.0f"),
            "total_cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.2f"),
            "avg_quality": st.column_config.NumberColumn("avg quality (0–1)", format="%.3f"),
        },
    )
    csv_download(by_model, "by_model", f)


guarded(render)
