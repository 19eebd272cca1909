"""Plotly figures of the Cost & Quality page: where the money goes, the quality / cost / latency
trade-off per model, tokens and time by phase, and the quality histogram."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from ui import format as fmt
from ui.charts import BLUE, layout, model_colors

BAND_RED = "rgba(214, 69, 69, 0.12)"
RED, ORANGE = "#d64545", "#e39b24"


def model_cost_chart(df: pd.DataFrame) -> go.Figure:
    d = df.sort_values("total_cost_usd")
    fig = go.Figure(
        go.Bar(
            x=d["total_cost_usd"],
            y=[fmt.plot_text(m) for m in d["model_used"]],
            orientation="h",
            marker_color=BLUE,
            customdata=d[["attempts", "avg_cost_usd"]].to_numpy(),
            hovertemplate="%{y}<br>total cost: $%{x:,.2f}<br>%{customdata[0]:,} attempts"
            "<br>avg per attempt: $%{customdata[1]:.4f}<extra></extra>",
        )
    )
    return layout(fig, height=max(220, 60 + 40 * len(d)), xaxis={"title": "total cost (USD)", "tickprefix": "$"})


def daily_cost_chart(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    colors = model_colors(df["model_used"].unique())
    for model, part in df.groupby("model_used", sort=True):
        fig.add_bar(
            x=part["day"],
            y=part["total_cost_usd"],
            name=fmt.plot_text(model),
            marker_color=colors[model],
            hovertemplate="%{x|%Y-%m-%d}<br>%{fullData.name}: $%{y:,.2f}<extra></extra>",  # name: data, not template
        )
    return layout(
        fig,
        barmode="stack",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        yaxis={"title": "cost (USD)", "tickprefix": "$"},
        xaxis={"title": "day (UTC)"},
        height=400,
    )


def story_type_chart(df: pd.DataFrame) -> go.Figure:
    labels = df["story_type"].fillna("(none)").map(fmt.plot_text)
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=df["total_cost_usd"],
            marker_color=BLUE,
            customdata=df[["generations", "cost_per_success_usd"]].to_numpy(),
            hovertemplate="%{x}<br>total cost: $%{y:,.2f}<br>%{customdata[0]:,} generations"
            "<br>cost per successful generation: $%{customdata[1]:.4f}<extra></extra>",
        )
    )
    return layout(
        fig, height=320, yaxis={"title": "total cost (USD)", "tickprefix": "$"}, xaxis={"title": "story type"}
    )


def tradeoff_chart(df: pd.DataFrame) -> go.Figure:
    """One point per model: x avg cost per attempt, y avg quality, size and colour p95 latency."""
    d = df.dropna(subset=["avg_cost_usd", "avg_quality"])
    p95_s = d["p95_latency_ms"].fillna(0) / 1000
    top = max(float(p95_s.max()), 1.0) if len(d) else 1.0
    # Room around the points for their labels (log axis: the range is in powers of ten).
    positive = d["avg_cost_usd"][d["avg_cost_usd"] > 0]
    x_range = None
    if len(positive):
        lo, hi = math.log10(float(positive.min())), math.log10(float(positive.max()))
        pad = max(0.25, (hi - lo) * 0.12)
        x_range = [lo - pad, hi + pad]
    q_lo, q_hi = float(d["avg_quality"].min()), float(d["avg_quality"].max())
    q_pad = max(0.02, (q_hi - q_lo) * 0.15)
    fig = go.Figure(
        go.Scatter(
            cliponaxis=False,
            x=d["avg_cost_usd"],
            y=d["avg_quality"],
            mode="markers+text",
            text=[fmt.plot_text(m) for m in d["model_used"]],
            textposition="top center",
            marker={
                "size": 14 + 36 * p95_s / top,
                "color": p95_s,
                "colorscale": "YlOrRd",
                "showscale": True,
                "colorbar": {"title": {"text": "p95 latency (s)"}},
                "line": {"width": 1, "color": "#444"},
            },
            customdata=pd.concat(
                [p95_s, d["cost_per_success_attempt_usd"], d["attempts"], d["successes"]], axis=1
            ).to_numpy(),
            hovertemplate="<b>%{text}</b><br>avg cost per attempt: $%{x:.4f}"
            "<br>cost per successful attempt: $%{customdata[1]:.4f}<br>avg quality: %{y:.3f}"
            "<br>p95 latency: %{customdata[0]:.1f} s<br>%{customdata[2]:,} attempts, "
            "%{customdata[3]:,} successful<extra></extra>",
        )
    )
    return layout(
        fig,
        height=440,
        xaxis={
            "title": "avg cost per attempt (USD, log scale)",
            "type": "log",
            "tickprefix": "$",
            "range": x_range,
            "dtick": 1,
            "minor": {"showgrid": True},
        },
        yaxis={"title": "avg quality (0–1)", "range": [max(0.0, q_lo - q_pad), min(1.05, q_hi + q_pad * 1.5)]},
        showlegend=False,
    )


def phase_chart(df: pd.DataFrame, per_model: bool) -> go.Figure:
    """Average tokens and duration per attempt for each pipeline phase, side by side (per model: grouped)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("avg tokens per attempt", "avg duration per attempt (s)"))
    if per_model:
        colors = model_colors(df["model_used"].unique())
        for model, part in df.groupby("model_used", sort=True):
            name = fmt.plot_text(model)
            fig.add_bar(
                x=part["phase"],
                y=part["avg_phase_tokens"],
                name=name,
                legendgroup=name,
                marker_color=colors[model],
                hovertemplate="%{fullData.name}<br>%{x}: %{y:,.0f} tokens<extra></extra>",
                row=1,
                col=1,
            )
            fig.add_bar(
                x=part["phase"],
                y=part["avg_phase_duration_ms"] / 1000,
                name=name,
                legendgroup=name,
                showlegend=False,
                marker_color=colors[model],
                hovertemplate="%{fullData.name}<br>%{x}: %{y:,.2f} s<extra></extra>",
                row=1,
                col=2,
            )
        fig.update_layout(barmode="group", legend={"orientation": "h", "y": 1.12, "yanchor": "bottom"})
    else:
        fig.add_bar(
            x=df["phase"],
            y=df["avg_phase_tokens"],
            marker_color=BLUE,
            showlegend=False,
            customdata=df[["phase_tokens", "attempts_with_phase_tokens"]].to_numpy(),
            hovertemplate="%{x}: %{y:,.0f} tokens on average<br>%{customdata[0]:,} tokens over "
            "%{customdata[1]:,} attempts<extra></extra>",
            row=1,
            col=1,
        )
        fig.add_bar(
            x=df["phase"],
            y=df["avg_phase_duration_ms"] / 1000,
            marker_color=ORANGE,
            showlegend=False,
            customdata=df[["attempts_with_phase_duration"]].to_numpy(),
            hovertemplate="%{x}: %{y:,.2f} s on average<br>over %{customdata[0]:,} attempts<extra></extra>",
            row=1,
            col=2,
        )
    fig.update_yaxes(title_text="tokens", row=1, col=1)
    fig.update_yaxes(title_text="seconds", ticksuffix=" s", row=1, col=2)
    return layout(fig, height=380)


def histogram_chart(df: pd.DataFrame, quality_lt: float) -> go.Figure:
    """Attempts per quality bin; the bins below the low-quality threshold red, on a red band."""
    mids = (df["bin_start"] + df["bin_end"]) / 2
    low = df["bin_end"] <= quality_lt
    fig = go.Figure(
        go.Bar(
            x=mids,
            y=df["attempts"],
            width=(df["bin_end"] - df["bin_start"]) * 0.95,
            marker_color=[RED if b else BLUE for b in low],
            customdata=df[["bin_start", "bin_end"]].to_numpy(),
            hovertemplate="quality %{customdata[0]:.2f}–%{customdata[1]:.2f}: %{y:,} attempts<extra></extra>",
        )
    )
    fig.add_vrect(
        x0=0,
        x1=quality_lt,
        fillcolor=BAND_RED,
        line_width=0,
        layer="below",
        annotation_text=f"below {quality_lt:g}: low quality",
        annotation_position="top left",
    )
    fig.add_vline(x=quality_lt, line_color=RED, line_dash="dash")
    return layout(
        fig,
        height=340,
        xaxis={"title": "quality score (0–1)", "range": [0, 1.005], "dtick": 0.1},
        yaxis={"title": "attempts"},
        bargap=0,
    )
