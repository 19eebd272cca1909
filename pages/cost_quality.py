"""Cost & Quality: where the money, tokens and time go, how good the stories are, and the outliers.

Page URL parameters (besides the sidebar's): cost_gt (USD), slow_ms (ms), quality_lt (0-1), the
thresholds of the expensive, slow and low-quality lists. A bad value is ignored with a warning.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from queries import cost_quality as cq
from queries import reports
from queries.filters import Filters
from queries.glossary import help_text
from ui import attempts, columns
from ui import cost_charts as charts
from ui import format as fmt
from ui import kpis as kpis_ui
from ui.data import cached, prefetch
from ui.downloads import capped_download, csv_download, spooled
from ui.guard import guarded
from ui.state import filters, has_dimension, not_available

KPIS = kpis_ui.titles("cost")

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
USD2 = "$%.2f"  # totals: cents are enough


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


# --- sections ---------------------------------------------------------------------------------


def cost_section(f: Filters, models: pd.DataFrame) -> None:
    st.subheader("Where the money goes")
    by_model_tab, by_day_tab, by_type_tab = st.tabs(["By model", "By day", "By story type"])
    with by_model_tab:
        st.plotly_chart(charts.model_cost_chart(models), width="stretch")
        st.dataframe(
            models,
            hide_index=True,
            width="stretch",
            column_config=columns.config(models.columns, total_cost_usd=columns.column("total_cost_usd", format=USD2)),
        )
        csv_download(models, "cost_by_model", f, "cq_dl_models")
    with by_day_tab:
        daily = cached(cq.cost_by_day, f)
        st.plotly_chart(charts.daily_cost_chart(daily), width="stretch")
        st.dataframe(
            daily,
            hide_index=True,
            width="stretch",
            column_config=columns.config(daily.columns),
        )
        csv_download(daily, "cost_by_day", f, "cq_dl_daily")
    with by_type_tab:
        if not has_dimension("story_type"):
            not_available("Story type")
            return
        types = cached(cq.cost_by_story_type, f)
        st.plotly_chart(charts.story_type_chart(types), width="stretch")
        st.dataframe(
            types,
            hide_index=True,
            width="stretch",
            column_config=columns.config(
                types.columns,
                total_cost_usd=columns.column("total_cost_usd", format=USD2),
            ),
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
    st.plotly_chart(charts.tradeoff_chart(models), width="stretch")


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
    st.plotly_chart(charts.phase_chart(phases, per_model), width="stretch")
    st.dataframe(
        phases,
        hide_index=True,
        width="stretch",
        column_config=columns.config(phases.columns),
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
    st.plotly_chart(charts.histogram_chart(hist, t.quality_lt), width="stretch")
    with st.expander("Histogram as a table"):
        st.dataframe(
            hist,
            hide_index=True,
            width="stretch",
            column_config={
                "bin_start": columns.number("from (score)", format="%.2f"),
                "bin_end": columns.number("to (score, excluded but 1.0)", format="%.2f"),
            },
        )
        csv_download(hist, "quality_histogram", f, "cq_dl_hist")


def csv_maker(kind: str, f: Filters, threshold: float, limit: int | None):
    """A callable for st.download_button: the list (its first `limit` rows) as CSV, built in a temp
    file on disk (the one copy held is the one Streamlit serves)."""

    def make() -> bytes:
        return spooled(lambda out: cq.write_outliers_csv(kind, f, threshold, out, limit=limit))

    return make


OUTLIER_CSV_BYTES = 130  # bytes per outlier row (9 columns), measured on the demo data


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
            label, limit = capped_download(n, OUTLIER_CSV_BYTES)
            in_csv = "all" if limit is None else f"the first {fmt.count(limit)}"
            more = f"; the {fmt.count(shown)} worst are shown, the CSV has {in_csv}" if shown < n else ""
            st.caption(f"{fmt.count(n)} attempts with {rules[kind]}{more}. Click a row to open its generation.")
            attempts.table(rows, f, key=f"cq_list_{kind}")
            csv_download(csv_maker(kind, f, thresholds[kind], limit), kind, f, key=f"cq_dl_{kind}", label=label)


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
    cur = cached(reports.metric_values, f, ("generations", *KPIS))
    if not cur["generations"]:
        st.info(
            "No generations in this window. Widen the dates or clear the model, type and user filters in the sidebar.",
            icon=":material/search_off:",
        )
        return
    prev = cached(reports.metric_values, f.previous_period(), ("generations", *KPIS))
    # two rows of three: a row of six cuts dollar amounts and token counts short
    cols = [*st.columns(3), *st.columns(3)]
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
