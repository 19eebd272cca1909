"""Reports: every CSV report of METRICS.md for the sidebar's filters, previewed, downloadable
(byte for byte the CLI's output) and as the `python -m queries.export` command for cron."""

from __future__ import annotations

import re
import shlex
import uuid
from dataclasses import replace
from datetime import time, timedelta
from itertools import islice

import pandas as pd
import streamlit as st

from access import VIEWER_REPORTS
from queries import masking, reports
from queries.filters import STATUSES, Filters
from queries.glossary import GLOSSARY, term
from ui import columns
from ui import format as fmt
from ui.access import current
from ui.data import TTL, cached
from ui.downloads import capped_download, csv_download, spooled
from ui.guard import guarded
from ui.state import filters

DEFAULT = "summary"
BIG = "attempts"  # the one report that can have millions of rows: previewed, streamed to CSV
PREVIEW_ROWS = 1_000
LABELS = {
    "summary": "Summary",
    "by_model": "By model",
    "daily": "Daily",
    "retries": "Retries",
    "errors": "Errors",
    "attempts": "Attempts",
    "metrics": "Every metric",
}
_REPORT_KEY = "rp_report"
_REPORT_SEEN = "rp_report_url"
_STATUS_KEY = "rp_statuses"
_STATUS_SEEN = "rp_status_url"

# The preview is headed by the CSV's own column names (what a script reading the file sees), with
# the registry's formats and tooltips; a unit the name does not carry is added.
UNIT_SUFFIX = {"pct": " (%)", "score": " (0–1)", "date": " (UTC)", "datetime": " (UTC)"}
SECONDS = "YYYY-MM-DD HH:mm:ss"
FORMATTED = (
    "model_used",
    "day",
    "success_rate",
    "attempt_success_rate",
    "first_attempt_success_rate",
    "retry_rate",
    "avg_attempts_per_generation",
    "cost_per_success_usd",
    "cost_usd",
    "p50_latency_ms",
    "p95_latency_ms",
    "latency_ms",
    "avg_quality",
    "quality",
    "created_at",
    "completed_at",
    "error_signature",
)


def csv_column(name: str, **kw):
    return columns.column(name, name + UNIT_SUFFIX.get(columns.kind(name), ""), **kw)


COLUMN_CONFIG = {
    **{name: csv_column(name) for name in FORMATTED},
    "total_cost_usd": csv_column("total_cost_usd", format="$%.2f"),
    "first_seen": columns.when("first_seen (UTC)", format=SECONDS),
    "last_seen": columns.when("last_seen (UTC)", format=SECONDS),
}


def _shown(value: str) -> str:
    # URL text goes into a Markdown-rendered warning: keep only characters that render as themselves.
    clean = re.sub(r"[^A-Za-z0-9_-]", "?", value)
    return clean[:40] + ("…" if len(clean) > 40 else "")


def available() -> list[str]:
    """The reports this role may export: viewers get the aggregates only."""
    return [r for r in reports.REPORTS if current().allows("analyst") or r in VIEWER_REPORTS]


def _from_url() -> tuple[str, tuple[str, ...]]:
    """The report and statuses the link asks for; bad values warn and are ignored."""
    raw = st.query_params.get("report")
    report = DEFAULT
    if raw is not None:
        if raw in available():
            report = raw
        elif raw in reports.REPORTS:
            st.warning(
                f"The {raw} report is attempt-level, for analysts. Showing {DEFAULT}.", icon=":material/visibility_off:"
            )
        else:
            st.warning(
                f"Ignored the link's report {_shown(raw)}: choose one of {', '.join(reports.REPORTS)}. "
                f"Showing {DEFAULT}.",
                icon=":material/link_off:",
            )
    statuses: list[str] = []
    for s in st.query_params.get_all("status"):
        if s in STATUSES:
            if s not in statuses:
                statuses.append(s)
        else:
            st.warning(f"Ignored the link's status {_shown(s)}: use {', '.join(STATUSES)}.", icon=":material/link_off:")
    return report, tuple(statuses)


def _sync(key: str, seen_key: str, url_value) -> None:
    # The URL wins when it changed since we last wrote it (a new link); else the widget keeps its value.
    ss = st.session_state
    if key not in ss or ss.get(seen_key) != url_value:
        ss[key] = url_value


def pick_report() -> tuple[str, tuple[str, ...]]:
    url_report, url_statuses = _from_url()
    _sync(_REPORT_KEY, _REPORT_SEEN, url_report)
    _sync(_STATUS_KEY, _STATUS_SEEN, list(url_statuses))
    left, right = st.columns([2, 3])
    name = left.selectbox(
        "Report",
        available(),
        key=_REPORT_KEY,
        format_func=lambda k: f"{LABELS.get(k, k)} ({k})",
    )
    statuses = right.multiselect(
        "Attempt statuses",
        list(STATUSES),
        key=_STATUS_KEY,
        placeholder="All statuses",
        help="Narrows the attempts counted (as --status). A generation stays in scope if any of its attempts remains.",
    )
    if st.query_params.get("report") != name:
        st.query_params["report"] = name
    st.session_state[_REPORT_SEEN] = name
    if statuses and st.query_params.get_all("status") != list(statuses):
        st.query_params["status"] = list(statuses)
    elif not statuses and "status" in st.query_params:
        del st.query_params["status"]
    st.session_state[_STATUS_SEEN] = list(statuses)
    return name, tuple(statuses)


def _day_arg(dt) -> str:
    return dt.strftime("%Y-%m-%d") if dt.time() == time(0) else dt.isoformat()


def cli_command(name: str, f: Filters) -> str:
    """The `python -m queries.export` command that writes this report for these filters."""
    args = ["python", "-m", "queries.export", name, "--since", _day_arg(f.since), "--until", _day_arg(f.until)]
    for m in f.models:
        args += ["--model", m]
    for t in f.types:
        args += ["--type", t]
    if f.user:
        args += ["--user", f.user]
    for s in f.statuses:
        args += ["--status", s]
    if f.include_tests:
        args.append("--include-tests")
    return " ".join(shlex.quote(a) for a in args)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def attempts_preview(f: Filters, limit: int, policy_key: str) -> pd.DataFrame:
    """The newest `limit` attempts of the attempts report: the server-side cursor stops there."""
    with reports.stream_report(BIG, f) as (columns, rows):
        return pd.DataFrame(list(islice(rows, limit)), columns=columns)


def streamed_csv(name: str, f: Filters, limit: int | None = None):
    """A callable for st.download_button: the report (its first `limit` rows) as the CLI writes it,
    built on click into a temp file on disk."""

    def build() -> bytes:
        return spooled(lambda out: reports.write_report(name, f, out.write, encode=True, limit=limit))

    return build


def for_display(df: pd.DataFrame) -> pd.DataFrame:
    """UUID cells as text: Arrow would otherwise draw them as a dict of bytes."""
    out = df
    for col in df.columns:
        if df[col].dtype == object and df[col].map(lambda v: isinstance(v, uuid.UUID)).any():
            out = out.copy() if out is df else out
            out[col] = df[col].map(lambda v: str(v) if isinstance(v, uuid.UUID) else v)
    return out


def metric_rows(df: pd.DataFrame) -> pd.DataFrame:
    """A one-row report of metrics read down a page: one line per metric, as a page shows it."""
    row = df.iloc[0] if len(df) else {}
    return pd.DataFrame(
        [
            {
                "metric": term(k).label,
                "value": fmt.value(k, None if len(df) == 0 or pd.isna(row[k]) else row[k]),
                "column": k,
                "unit": term(k).unit,
                "definition": term(k).help,
            }
            for k in df.columns
        ],
        columns=["metric", "value", "column", "unit", "definition"],
    )


def glossary() -> None:
    with st.expander("What the summary columns mean", icon=":material/menu_book:"):
        rows = [
            {"column": k, "metric": GLOSSARY[k].label, "unit": GLOSSARY[k].unit, "definition": GLOSSARY[k].help}
            for k in reports.COLUMNS["summary"]
            if k in GLOSSARY
        ]
        st.table(pd.DataFrame(rows), hide_index=True)
        st.caption("A rate with nothing to divide by is blank in the CSV and – on a page, never 0.")


def render() -> None:
    st.title("Reports")
    name, statuses = pick_report()
    f = replace(filters(), statuses=statuses)
    description = reports.REPORTS[name]
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    st.caption(
        f"Generations started {f.since:%Y-%m-%d} to {last_day} (UTC), with the sidebar's filters"
        f"{' and the statuses above' if statuses else ''}. Test generations are "
        f"{'included' if f.include_tests else 'left out'}. {description[0].upper()}{description[1:]}."
    )

    if name == BIG:
        total = int(cached(reports.summary, f)["attempts"])
        df = (
            attempts_preview(f, PREVIEW_ROWS, masking.current().key)
            if total
            else pd.DataFrame(columns=reports.COLUMNS[BIG])
        )
    else:
        df = cached(reports.fetch_report, name, f)
        total = len(df)

    empty = total == 0 or (name == "summary" and not df.iloc[0]["generations"])
    if empty:
        st.info(
            "No generations in this window match these filters, so the report has no data. Widen the dates, "
            "clear the model, type and user filters in the sidebar, or clear the statuses above.",
            icon=":material/search_off:",
        )
    if name == BIG:
        shown = min(total, PREVIEW_ROWS)
        st.caption(
            f"Preview: the newest {fmt.count(shown)} of {fmt.count(total)} attempts. The CSV has all {fmt.count(total)}."
        )
    elif name == "metrics":
        st.caption(f"{fmt.count(len(df.columns))} metrics, one per line; the CSV has them as one row.")
    else:
        st.caption(f"{fmt.count(total)} row{'s' if total != 1 else ''}; the CSV has the same rows.")
    if name == "metrics":  # some forty columns: read down, not across (the CSV keeps the one row)
        st.dataframe(metric_rows(df), hide_index=True, width="stretch", height=600)
    else:
        st.dataframe(
            for_display(df), hide_index=True, width="stretch", column_config=COLUMN_CONFIG, placeholder=fmt.DASH
        )

    if name == BIG:
        label, limit = capped_download(total)
        csv_download(
            streamed_csv(name, f, limit),
            name,
            f,
            label=label,
            help="The first lines of the file the command below writes, which has every row."
            if limit
            else "The same file the command below writes.",
        )
    else:
        csv_download(df, name, f, help="The same file the command below writes.")

    st.subheader("Run it from cron")
    st.code(cli_command(name, f), language="bash")
    st.caption(
        "Writes the same CSV to stdout (add --output FILE to write a file). It reads the database named by "
        "DATABASE_URL and GENLENS_SCHEMA, as the dashboard does. Leave out --since and --until for the last 30 days."
    )
    if name == "summary":
        glossary()


guarded(render)
