"""Plotly figures of the Reliability page: success rates over time and by a dimension, failures,
and how many attempts generations take."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ui import format as fmt
from ui.charts import STATUS_COLORS

# One colour per rate; statuses as everywhere else.
RATES = {
    "first_attempt_success_rate": ("First-attempt success", "#8e6bbf"),
    "success_rate": ("Success (after retries)", "#2e9e5b"),
    "attempt_success_rate": ("Attempt success", "#3b6fd4"),
}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "legend": {"orientation": "h", "y": 1.15, "x": 0}}


def _when(unit: str) -> str:
    return "%{x|%Y-%m-%d %H:00}" if unit == "hour" else "%{x|%Y-%m-%d}"


def _floor(df: pd.DataFrame) -> int:
    """The axis' lower end: 5 points under the lowest rate, rounded down to 10, at most 90."""
    low = min((df[k].min() for k in RATES if df[k].notna().any()), default=0)
    return max(0, min(90, int((low * 100 - 5) // 10 * 10))) if pd.notna(low) else 0


def rates_chart(df: pd.DataFrame, unit: str) -> go.Figure:
    fig = go.Figure()
    when = _when(unit)
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
    fig.update_layout(
        height=340,
        **LAYOUT,
        yaxis={"title": "success rate (%)", "range": [_floor(df), 100.5], "ticksuffix": "%"},
        xaxis={"title": f"{unit} (UTC)"},
        hovermode="x unified",
    )
    return fig


def failures_chart(df: pd.DataFrame, unit: str) -> go.Figure:
    fig = go.Figure()
    when = _when(unit)
    for key, name in (("failures", "failed"), ("timeouts", "timeout")):
        fig.add_bar(
            x=df["bucket"],
            y=df[key],
            name=f"{name} attempts",
            marker_color=STATUS_COLORS[name],
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
    fig.update_layout(
        height=110 + 42 * len(df),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        xaxis={"title": "success rate (%)", "range": [_floor(df), 100.5], "ticksuffix": "%"},
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
            marker_color=STATUS_COLORS[name],
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
    """Generations by the number of attempts they took, split by how they ended."""
    fig = go.Figure()
    x = df["attempts"].astype(str)
    other = df["generations"] - df["succeeded"] - df["failed_final"]
    for series, name, color in (
        (df["succeeded"], "ended in success", STATUS_COLORS["success"]),
        (df["failed_final"], "ended failed or timed out", STATUS_COLORS["failed"]),
        (other, "still pending", STATUS_COLORS["pending"]),
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
