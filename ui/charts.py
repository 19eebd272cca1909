"""Plotly figures shared by the pages, and the palette every chart uses.

Stored text (model names, story types, error messages) reaches a figure only through
`ui.format.plot_text`: Plotly reads <b>, <br>, <a> in labels and hovers as markup. It goes into
`x`, `y`, `name` or `text`, never into a hovertemplate, where %{...} would be read.
Theme modules: ui.reliability_charts, ui.cost_charts.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ui import format as fmt

STATUS_COLORS = {"success": "#2e9e5b", "failed": "#d64545", "timeout": "#e39b24", "pending": "#8a8f98"}
BLUE = "#3b6fd4"
MODEL_COLORS = (BLUE, "#2e9e5b", "#e39b24", "#8e5bd4", "#d64545", "#1aa3a3", "#c2549d", "#7a8a2e", "#8a8f98")
MARGIN = {"l": 10, "r": 10, "t": 30, "b": 10}


def layout(fig: go.Figure, height: int = 360, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=MARGIN, **kw)
    return fig


def model_colors(models) -> dict[str, str]:
    """One colour per model, stable for a set of models (sorted by name)."""
    return {m: MODEL_COLORS[i % len(MODEL_COLORS)] for i, m in enumerate(sorted(models))}


# --- Overview ------------------------------------------------------------------------------------


def daily_status_chart(daily: pd.DataFrame) -> go.Figure:
    """Attempts per day stacked by status, with the attempt success rate on a second axis."""
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
        line={"color": BLUE, "width": 2},
        hovertemplate="%{x|%Y-%m-%d}<br>attempt success rate: %{y:.1f}%<extra></extra>",
    )
    return layout(
        fig,
        height=380,
        barmode="stack",
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


# --- Errors --------------------------------------------------------------------------------------

# Top signatures in a qualitative palette readable on white; "other" grey, "no message" light grey.
SERIES_COLORS = [BLUE, "#d64545", "#e39b24", "#2e9e5b", "#8e6bbf", "#1b9aaa", "#b5651d", "#c2185b"]
OTHER_COLOR, NO_MESSAGE_COLOR = "#8a8f98", "#c9ccd1"
LEGEND_LEN = 60


def failure_share_chart(share: pd.DataFrame) -> go.Figure:
    """Each day's failures split among the top signatures, all others and no message (stacked %)."""
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
            name = hover = "all other error groups"
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
            customdata=part[["lost_attempts", "day_lost_attempts"]],
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


# --- Generation detail ---------------------------------------------------------------------------

HOVER_ERROR_CHARS = 160


def _hover_text(v) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return fmt.DASH
    s = str(v)
    return fmt.plot_text(s[:HOVER_ERROR_CHARS] + ("…" if len(s) > HOVER_ERROR_CHARS else ""))


def attempt_timeline(att: pd.DataFrame) -> go.Figure:
    """One horizontal bar per attempt, created_at to completed_at; pending ones run to now, hatched."""
    fig = go.Figure()
    now = pd.Timestamp(att["queried_at"].iloc[0]).tz_convert("UTC").as_unit("us")
    labels = [f"attempt {n}" for n in att["attempt_number"]]
    for status, color in STATUS_COLORS.items():
        part = att[att["status"] == status]
        if part.empty:
            continue
        pending = status == "pending"
        start = pd.to_datetime(part["created_at"], utc=True).dt.as_unit("us")
        # All-NULL completions come back as an object column: make it a time column first.
        end = pd.to_datetime(part["completed_at"], utc=True).dt.as_unit("us").fillna(now)
        end = end.where(end >= start, start)  # a completion before the start: drawn as a sliver
        width_ms = (end - start).dt.total_seconds() * 1000
        custom = pd.DataFrame(
            {
                "status": part["status"],
                "latency": [fmt.ms(v) for v in part["latency_ms"]],
                "error": [_hover_text(v) for v in part["error_message"]],
                "start": [t.strftime("%Y-%m-%d %H:%M:%S") for t in start],
                "end": ["still pending" if pending else "ended " + t.strftime("%Y-%m-%d %H:%M:%S UTC") for t in end],
                "cost": [fmt.usd(v) for v in part["cost_usd"]],
            }
        )
        fig.add_bar(
            base=start,
            x=width_ms.clip(lower=50),  # a sub-pixel bar would vanish
            y=[f"attempt {n}" for n in part["attempt_number"]],
            orientation="h",
            name=status + (" (running to now)" if pending else ""),
            marker={
                "color": color,
                "pattern": (
                    {"shape": "/", "bgcolor": "#d5d8dd", "fgcolor": "#6b7079", "solidity": 0.35}
                    if pending
                    else {"shape": ""}
                ),
                "line": {"width": 1.5 if pending else 0, "color": "#6b7079" if pending else color},
            },
            customdata=custom.to_numpy(),
            hovertemplate="%{y}: <b>%{customdata[0]}</b><br>started %{customdata[3]} UTC<br>"
            "%{customdata[4]}<br>latency %{customdata[1]} · cost %{customdata[5]}"
            "<br>error: %{customdata[2]}<extra></extra>",
        )
    return layout(
        fig,
        height=130 + 36 * len(att),
        barmode="overlay",
        xaxis={"type": "date", "title": "time (UTC)"},
        yaxis={"autorange": "reversed", "categoryorder": "array", "categoryarray": labels},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
    )
