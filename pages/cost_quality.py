"""Cost & Quality: where the money, tokens and time go, how good the stories are, and the outliers.

Page URL parameters (besides the sidebar's): cost_gt (USD), slow_ms (ms), quality_lt (0-1), the
thresholds of the expensive, slow and low-quality lists. A bad value is ignored with a warning.
"""

from __future__ import annotations

import html
import math
import tempfile
from datetime import timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from queries import cost_quality as cq
from queries import reports
from queries.filters import Filters
from queries.glossary import help_text
from ui import format as fmt
from ui import links
from ui.data import cached, prefetch
from ui.downloads import csv_download
from ui.guard import guarded
from ui.state import filters, has_dimension, not_available

KPIS = {
    "total_cost_usd": "Total cost",
    "cost_per_success_usd": "Cost per success",
    "total_tokens": "Total tokens",
    "avg_quality": "Avg quality",
}
MODEL_COLORS = ("#3b6fd4", "#2e9e5b", "#e39b24", "#8e5bd4", "#d64545", "#1aa3a3", "#c2549d", "#7a8a2e", "#8a8f98")
BAND_RED = "rgba(214, 69, 69, 0.12)"
SPOOL_BYTES = 8 * 2**20

# URL parameter -> (widget key, label, step, format, help)
THRESHOLD_WIDGETS = {
    "cost_gt": (
        "cq_cost_gt",
        "Expensive: cost above (USD)",
        0.01,
        "%.4f",
        "An attempt costing more than this is listed.",
    ),
    "slow_ms": (
        "cq_slow_ms",
        "Slow: duration above (ms)",
        1000.0,
        "%.0f",
        "generation_metadata.duration_ms.total, the generator's own timing, above this.",
    ),
    "quality_lt": (
        "cq_quality_lt",
        "Low quality: score below (0–1)",
        0.05,
        "%.2f",
        "quality_scores.overall below this. The red band on the histogram.",
    ),
}
_SEEN = "cq_url_seen"
_WARN = "cq_url_warnings"
LIST_LABELS = {"expensive": "Expensive", "slow": "Slow", "low_quality": "Low quality"}


def compact(v) -> str:
    """A large count in a KPI box: 120.1 M, 45.2 k."""
    if v is None or pd.isna(v):
        return fmt.DASH
    for size, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(v) >= size:
            return f"{v / size:,.1f}{suffix}"
    return fmt.count(v)


# --- thresholds in the URL --------------------------------------------------------------------


def sync_thresholds() -> None:
    """Load the threshold inputs from the URL when it changed since we last wrote it."""
    ss = st.session_state
    current = {p: st.query_params.get(p) for p in THRESHOLD_WIDGETS}
    seen = ss.get(_SEEN)
    if seen == current and all(w[0] in ss for w in THRESHOLD_WIDGETS.values()):
        return
    warnings = []
    for param, (key, *_rest) in THRESHOLD_WIDGETS.items():
        if seen is None or seen.get(param) != current[param] or key not in ss:
            value, warn = cq.parse_threshold(param, current[param])
            ss[key] = float(value if value is not None else getattr(cq.DEFAULT_THRESHOLDS, param))
            if warn:
                warnings.append(warn)
    ss[_WARN] = warnings
    ss[_SEEN] = current


def write_thresholds() -> None:
    ss = st.session_state
    for param, (key, *_rest) in THRESHOLD_WIDGETS.items():
        value = float(ss[key])
        if value == getattr(cq.DEFAULT_THRESHOLDS, param):
            if param in st.query_params:
                del st.query_params[param]
        else:
            text = f"{value:g}"
            if st.query_params.get(param) != text:
                st.query_params[param] = text
    ss[_SEEN] = {p: st.query_params.get(p) for p in THRESHOLD_WIDGETS}


def threshold_inputs() -> cq.Thresholds:
    sync_thresholds()
    cols = st.columns(3)
    values = {}
    for col, (param, (key, label, step, number_format, help_)) in zip(cols, THRESHOLD_WIDGETS.items(), strict=True):
        _, low, high, _meaning = cq.THRESHOLD_PARAMS[param]
        values[param] = col.number_input(
            label, min_value=low, max_value=high, step=step, format=number_format, key=key, help=help_
        )
    write_thresholds()
    for w in st.session_state.get(_WARN, []):
        st.warning(w, icon=":material/link_off:")
    return cq.Thresholds(**{k: float(v) for k, v in values.items()})


# --- charts -----------------------------------------------------------------------------------


def _layout(fig: go.Figure, height: int = 360, **kw) -> go.Figure:
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10}, **kw)
    return fig


def _colors(models) -> dict[str, str]:
    return {m: MODEL_COLORS[i % len(MODEL_COLORS)] for i, m in enumerate(sorted(models))}


def model_cost_chart(df: pd.DataFrame) -> go.Figure:
    d = df.sort_values("total_cost_usd")
    fig = go.Figure(
        go.Bar(
            x=d["total_cost_usd"],
            y=[html.escape(str(m)) for m in d["model_used"]],  # plotly renders tags in labels
            orientation="h",
            marker_color="#3b6fd4",
            customdata=d[["attempts", "avg_cost_usd"]].to_numpy(),
            hovertemplate="%{y}<br>total cost: $%{x:,.2f}<br>%{customdata[0]:,} attempts"
            "<br>avg per attempt: $%{customdata[1]:.4f}<extra></extra>",
        )
    )
    return _layout(fig, height=max(220, 60 + 40 * len(d)), xaxis={"title": "total cost (USD)", "tickprefix": "$"})


def daily_cost_chart(df: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    colors = _colors(df["model_used"].unique())
    for model, part in df.groupby("model_used", sort=True):
        fig.add_bar(
            x=part["day"],
            y=part["total_cost_usd"],
            name=html.escape(str(model)),
            marker_color=colors[model],
            hovertemplate="%{x|%Y-%m-%d}<br>%{fullData.name}: $%{y:,.2f}<extra></extra>",  # name: data, not template
        )
    return _layout(
        fig,
        barmode="stack",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
        yaxis={"title": "cost (USD)", "tickprefix": "$"},
        xaxis={"title": "day (UTC)"},
        height=400,
    )


def story_type_chart(df: pd.DataFrame) -> go.Figure:
    labels = df["story_type"].fillna("(none)")
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=df["total_cost_usd"],
            marker_color="#3b6fd4",
            customdata=df[["generations", "cost_per_success_usd"]].to_numpy(),
            hovertemplate="%{x}<br>total cost: $%{y:,.2f}<br>%{customdata[0]:,} generations"
            "<br>cost per successful generation: $%{customdata[1]:.4f}<extra></extra>",
        )
    )
    return _layout(
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
            text=[html.escape(str(m)) for m in d["model_used"]],
            textposition="top center",
            marker={
                "size": 14 + 36 * p95_s / top,
                "color": p95_s,
                "colorscale": "YlOrRd",
                "showscale": True,
                "colorbar": {"title": {"text": "p95 latency (s)"}},
                "line": {"width": 1, "color": "#444"},
            },
            customdata=pd.concat([p95_s, d["cost_per_success_usd"], d["attempts"], d["successes"]], axis=1).to_numpy(),
            hovertemplate="<b>%{text}</b><br>avg cost per attempt: $%{x:.4f}"
            "<br>cost per successful attempt: $%{customdata[1]:.4f}<br>avg quality: %{y:.3f}"
            "<br>p95 latency: %{customdata[0]:.1f} s<br>%{customdata[2]:,} attempts, "
            "%{customdata[3]:,} successful<extra></extra>",
        )
    )
    return _layout(
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
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("avg tokens per attempt", "avg duration per attempt (s)"))
    if per_model:
        colors = _colors(df["model_used"].unique())
        for model, part in df.groupby("model_used", sort=True):
            name = html.escape(str(model))
            fig.add_bar(
                x=part["phase"],
                y=part["avg_tokens"],
                name=name,
                legendgroup=name,
                marker_color=colors[model],
                hovertemplate="%{fullData.name}<br>%{x}: %{y:,.0f} tokens<extra></extra>",
                row=1,
                col=1,
            )
            fig.add_bar(
                x=part["phase"],
                y=part["avg_duration_ms"] / 1000,
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
            y=df["avg_tokens"],
            marker_color="#3b6fd4",
            showlegend=False,
            customdata=df[["total_tokens", "attempts_with_tokens"]].to_numpy(),
            hovertemplate="%{x}: %{y:,.0f} tokens on average<br>%{customdata[0]:,} tokens over "
            "%{customdata[1]:,} attempts<extra></extra>",
            row=1,
            col=1,
        )
        fig.add_bar(
            x=df["phase"],
            y=df["avg_duration_ms"] / 1000,
            marker_color="#e39b24",
            showlegend=False,
            customdata=df[["attempts_with_duration"]].to_numpy(),
            hovertemplate="%{x}: %{y:,.2f} s on average<br>over %{customdata[0]:,} attempts<extra></extra>",
            row=1,
            col=2,
        )
    fig.update_yaxes(title_text="tokens", row=1, col=1)
    fig.update_yaxes(title_text="seconds", ticksuffix=" s", row=1, col=2)
    return _layout(fig, height=380)


def histogram_chart(df: pd.DataFrame, quality_lt: float) -> go.Figure:
    mids = (df["bin_start"] + df["bin_end"]) / 2
    low = df["bin_end"] <= quality_lt
    fig = go.Figure(
        go.Bar(
            x=mids,
            y=df["attempts"],
            width=(df["bin_end"] - df["bin_start"]) * 0.95,
            marker_color=["#d64545" if b else "#3b6fd4" for b in low],
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
    fig.add_vline(x=quality_lt, line_color="#d64545", line_dash="dash")
    return _layout(
        fig,
        height=340,
        xaxis={"title": "quality score (0–1)", "range": [0, 1.005], "dtick": 0.1},
        yaxis={"title": "attempts"},
        bargap=0,
    )


# --- sections ---------------------------------------------------------------------------------


def cost_section(f: Filters, models: pd.DataFrame) -> None:
    st.subheader("Where the money goes")
    by_model_tab, by_day_tab, by_type_tab = st.tabs(["By model", "By day", "By story type"])
    with by_model_tab:
        st.plotly_chart(model_cost_chart(models), width="stretch")
        st.dataframe(
            models,
            hide_index=True,
            width="stretch",
            column_config={
                "model_used": st.column_config.TextColumn("model"),
                "successes": st.column_config.NumberColumn("successful attempts"),
                "attempts_with_cost": st.column_config.NumberColumn("attempts with a cost"),
                "total_cost_usd": st.column_config.NumberColumn(
                    "total cost (USD)", format="$%.2f", help=help_text("total_cost_usd")
                ),
                "avg_cost_usd": st.column_config.NumberColumn("avg cost per attempt (USD)", format="$%.4f"),
                "cost_per_success_usd": st.column_config.NumberColumn(
                    "cost per successful attempt (USD)",
                    format="$%.4f",
                    help="The model's total cost (failed attempts included) / its successful attempts.",
                ),
                "avg_quality": st.column_config.NumberColumn(
                    "avg quality (0–1)", format="%.3f", help=help_text("avg_quality")
                ),
                "p50_latency_ms": st.column_config.NumberColumn("p50 latency (ms)", format="%.0f"),
                "p95_latency_ms": st.column_config.NumberColumn(
                    "p95 latency (ms)", format="%.0f", help=help_text("p95_latency_ms")
                ),
                "total_tokens": st.column_config.NumberColumn("tokens", help=help_text("total_tokens")),
            },
        )
        csv_download(models, "cost_by_model", f, "cq_dl_models")
    with by_day_tab:
        daily = cached(cq.cost_by_day, f)
        st.plotly_chart(daily_cost_chart(daily), width="stretch")
        st.dataframe(
            daily,
            hide_index=True,
            width="stretch",
            column_config={
                "day": st.column_config.DateColumn("day (UTC)"),
                "model_used": st.column_config.TextColumn("model"),
                "total_cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.4f"),
            },
        )
        csv_download(daily, "cost_by_day", f, "cq_dl_daily")
    with by_type_tab:
        if not has_dimension("story_type"):
            not_available("Story type")
            return
        types = cached(cq.cost_by_story_type, f)
        st.plotly_chart(story_type_chart(types), width="stretch")
        st.dataframe(
            types,
            hide_index=True,
            width="stretch",
            column_config={
                "story_type": st.column_config.TextColumn("story type"),
                "successful_generations": st.column_config.NumberColumn("successful generations"),
                "total_cost_usd": st.column_config.NumberColumn("total cost (USD)", format="$%.2f"),
                "avg_cost_usd": st.column_config.NumberColumn("avg cost per attempt (USD)", format="$%.4f"),
                "cost_per_success_usd": st.column_config.NumberColumn(
                    "cost per successful generation (USD)", format="$%.4f", help=help_text("cost_per_success_usd")
                ),
            },
        )
        csv_download(types, "cost_by_story_type", f, "cq_dl_types")


def tradeoff_section(models: pd.DataFrame) -> None:
    st.subheader("Quality vs cost vs latency, per model")
    st.caption(
        "Up and to the left is better: higher quality for less money. Bigger, redder points are slower "
        "(p95 attempt latency). Hover a point for the numbers."
    )
    if models[["avg_cost_usd", "avg_quality"]].dropna().empty:
        st.info("No attempt in this window reports both a cost and a quality score.", icon=":material/search_off:")
        return
    st.plotly_chart(tradeoff_chart(models), width="stretch")


def phase_section(f: Filters) -> None:
    st.subheader("Tokens and time by phase")
    per_model = st.toggle("Per model", key="cq_phase_per_model")
    phases = cached(cq.phase_usage, f, per_model)
    if phases.empty:
        st.info(
            "No attempt in this window reports per-phase tokens or durations "
            "(generation_metadata.total_tokens.<phase>, duration_ms.<phase>).",
            icon=":material/search_off:",
        )
        return
    st.plotly_chart(phase_chart(phases, per_model), width="stretch")
    st.dataframe(
        phases,
        hide_index=True,
        width="stretch",
        column_config={
            "model_used": st.column_config.TextColumn("model"),
            "attempts_with_tokens": st.column_config.NumberColumn("attempts with tokens"),
            "total_tokens": st.column_config.NumberColumn("total tokens"),
            "avg_tokens": st.column_config.NumberColumn("avg tokens per attempt", format="%.0f"),
            "attempts_with_duration": st.column_config.NumberColumn("attempts with a duration"),
            "total_duration_ms": st.column_config.NumberColumn("total duration (ms)", format="%.0f"),
            "avg_duration_ms": st.column_config.NumberColumn("avg duration per attempt (ms)", format="%.0f"),
        },
    )
    csv_download(phases, "phases_by_model" if per_model else "phases", f, "cq_dl_phases")


def quality_section(f: Filters, t: cq.Thresholds, counts: dict) -> None:
    st.subheader("Quality distribution")
    hist = cached(cq.quality_histogram, f)
    if hist.empty:
        st.info(
            "No attempt in this window reports a quality score (generation_metadata.quality_scores.overall).",
            icon=":material/search_off:",
        )
        return
    known = counts["with_quality"]
    st.caption(
        f"{fmt.count(known)} attempts report a quality score; {fmt.count(counts['low_quality'])} "
        f"({fmt.pct(counts['low_quality'] / known if known else None)}) score below {t.quality_lt:g} (red)."
    )
    st.plotly_chart(histogram_chart(hist, t.quality_lt), width="stretch")
    with st.expander("Histogram as a table"):
        st.dataframe(
            hist,
            hide_index=True,
            width="stretch",
            column_config={
                "bin_start": st.column_config.NumberColumn("from (score)", format="%.2f"),
                "bin_end": st.column_config.NumberColumn("to (score, excluded but 1.0)", format="%.2f"),
            },
        )
        csv_download(hist, "quality_histogram", f, "cq_dl_hist")


def csv_maker(kind: str, f: Filters, threshold: float):
    """A callable for st.download_button: the full list as CSV, streamed through a spooled file."""

    def make() -> bytes:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            cq.write_outliers_csv(kind, f, threshold, spool)
            spool.seek(0)
            return spool.read()

    return make


OUTLIER_COLUMNS = {
    "generation_id": st.column_config.TextColumn("generation", width=290, pinned=True),
    "attempt_number": st.column_config.NumberColumn("attempt", format="%d"),
    "model_used": st.column_config.TextColumn("model"),
    "created_at": st.column_config.DatetimeColumn("started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "cost_usd": st.column_config.NumberColumn("cost (USD)", format="$%.4f"),
    "duration_ms": st.column_config.NumberColumn("duration (ms)", format="%.0f"),
    "quality": st.column_config.NumberColumn("quality (0–1)", format="%.3f"),
    "latency_ms": st.column_config.NumberColumn("latency (ms)", format="%.0f"),
}


def outlier_section(f: Filters, t: cq.Thresholds, counts: dict) -> None:
    st.subheader("Expensive, slow and low-quality attempts")
    st.caption("Attempts beyond each threshold, worst first. Change a threshold to redraw the lists.")
    thresholds = {"expensive": t.cost_gt, "slow": t.slow_ms, "low_quality": t.quality_lt}
    rules = {
        "expensive": f"cost above {fmt.usd(t.cost_gt)}",
        "slow": f"generator duration above {fmt.ms(t.slow_ms)}",
        "low_quality": f"quality below {t.quality_lt:g}",
    }
    known = {"expensive": "with_cost", "slow": "with_duration", "low_quality": "with_quality"}
    tabs = st.tabs([f"{LIST_LABELS[k]} ({fmt.count(counts[k])})" for k in LIST_LABELS])
    for tab, kind in zip(tabs, LIST_LABELS, strict=True):
        with tab:
            n = counts[kind]
            if not n:
                st.info(
                    f"No attempt with {rules[kind]} among {fmt.count(counts[known[kind]])} attempts reporting "
                    "that value. Change the threshold above to see more.",
                    icon=":material/search_off:",
                )
                continue
            rows = cached(cq.outliers, kind, f, thresholds[kind])
            shown = len(rows)
            more = f"; the {fmt.count(shown)} worst are shown, the CSV has all" if shown < n else ""
            st.caption(f"{fmt.count(n)} attempts with {rules[kind]}{more}. Click a row to open its generation.")
            event = st.dataframe(
                rows,
                hide_index=True,
                width="stretch",
                column_config=OUTLIER_COLUMNS,
                on_select="rerun",
                selection_mode="single-row",
                key=f"cq_list_{kind}",
            )
            picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
            if picked:
                links.open_generation(f, str(rows.iloc[picked[0]]["generation_id"]))
            csv_download(
                csv_maker(kind, f, thresholds[kind]),
                kind,
                f,
                key=f"cq_dl_{kind}",
                label=f"Download CSV (all {fmt.count(n)} rows)",
            )


def render() -> None:
    f = filters()
    st.title("Cost & Quality")
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    st.caption(
        f"Generations started {f.since:%Y-%m-%d} to {last_day} (UTC), compared with the {f.span.days} days "
        f"before. Test generations are {'included' if f.include_tests else 'left out'}. Costs in USD, "
        "failed attempts included; attempts without a valid value are left out, never counted as 0."
    )
    prefetch(
        (reports.summary, f),
        (reports.summary, f.previous_period()),
        (cq.by_model, f),
        (cq.cost_by_day, f),
        (cq.cost_by_story_type, f),
        (cq.quality_histogram, f),
    )
    cur = cached(reports.summary, f)
    if not cur["generations"]:
        st.info(
            "No generations in this window. Widen the dates or clear the model, type and user filters in the sidebar.",
            icon=":material/search_off:",
        )
        return
    prev = cached(reports.summary, f.previous_period())
    cols = st.columns(len(KPIS) + 1)
    for col, (key, label) in zip(cols, KPIS.items(), strict=False):
        if key == "total_tokens":
            value = compact(cur[key])
            delta = None
            if prev and prev.get(key):
                delta = f"{(cur[key] - prev[key]) / prev[key] * 100:+.1f}%"
            col.metric(label, value, delta, delta_color="off", help=help_text(key), border=True)
            continue
        value, delta, color = fmt.kpi(key, cur, prev)
        col.metric(label, value, delta, delta_color=color, help=help_text(key), border=True)

    st.markdown("**Outlier thresholds**")
    t = threshold_inputs()
    counts = cached(cq.outlier_counts, f, t)
    share = counts["low_quality"] / counts["with_quality"] if counts["with_quality"] else None
    cols[-1].metric(
        f"Quality below {t.quality_lt:g}",
        fmt.pct(share),
        help="Share of attempts reporting a quality score whose score is below the low-quality threshold.",
        border=True,
    )

    models = cached(cq.by_model, f)
    cost_section(f, models)
    tradeoff_section(models)
    phase_section(f)
    quality_section(f, t, counts)
    outlier_section(f, t, counts)


guarded(render)
