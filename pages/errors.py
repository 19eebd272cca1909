"""Errors: for engineers. Failed and timed-out attempts by error group (one group per template,
docs/glossary.md "Error groups"), with each group's state (new, regressed, ongoing, resolved), a daily
trend, the attempts behind one group (linked to the generation detail), each group's share of the
day's failures, and the groups that first appeared in this window. Admins mark a group known or
ignored, with a note (recorded in the audit trail).

URL parameters: `signature` (one of the window's groups) selects a group; `state` (comma-separated
states) narrows the table."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from queries import errors, reports
from queries.glossary import help_text
from ui import attempts, columns
from ui import format as fmt
from ui import kpis as kpis_ui
from ui.access import current
from ui.charts import failure_share_chart
from ui.data import cached, prefetch, refresh
from ui.downloads import csv_download
from ui.guard import guarded
from ui.state import filters

PARAM = "signature"
STATE_PARAM = "state"
TABLE_KEY = "gl_err_signatures"
MAX_SIGNATURE_LEN = 200
HELP = {
    "signatures": help_text("error_signature") + " Here: distinct groups among failed and timed-out attempts.",
    "trend": "Occurrences per UTC day, from the first to the last day of the window.",
    "state": (
        "new: first seen in this window; regressed: back after at least {q} quiet days; resolved: no "
        "occurrence in the last {q} days of the window; ongoing: the rest (GENLENS_ERROR_QUIET_DAYS = {q})."
    ),
    "mark": "An admin's mark: known (being handled) or ignored (expected noise), with a note.",
}
MARK_LABELS = {"": "no mark", "known": "known", "ignored": "ignored"}
MINUTES = "YYYY-MM-DD HH:mm"
# Columns of both signature tables (the window's signatures and the new ones).
SIGNATURE_COLUMNS = {
    "error_signature": columns.column("error_signature", width="large"),
    "occurrences": columns.number("attempts", help="Attempts with this signature."),
    "first_seen": columns.when("first seen (UTC)", format=MINUTES),
    "models": columns.text("models"),
}


def url_signature(valid: set[str]) -> str | None:
    """The `signature` URL parameter when it names one of the window's signatures; else warn, None."""
    raw = st.query_params.get(PARAM)
    if raw is None:
        return None
    if raw and len(raw) <= MAX_SIGNATURE_LEN and raw in valid:
        return raw
    st.warning(
        "Ignored the link's signature: no failed or timed-out attempt in this window has it. "
        "Widen the dates or pick a signature in the table.",
        icon=":material/link_off:",
    )
    del st.query_params[PARAM]
    return None


def kpis(summary: dict, n_signatures: int, n_new: int) -> None:
    cols = st.columns(5)
    for col, name in zip(cols, ("failures", "timeouts", "failure_rate"), strict=False):
        kpis_ui.box(col, name, summary, None)
    cols[3].metric("Error groups", fmt.count(n_signatures), help=HELP["signatures"], border=True)
    cols[4].metric("New error groups", fmt.count(n_new), help=help_text("new_signatures"), border=True)


def grouping_notice() -> None:
    """Say when the groups are not GenLens' saved ones, or some are not saved yet (and why)."""
    _, cause = cached(errors.grouping_status)
    if cause:
        st.warning(f"Error groups: {cause}.", icon=":material/warning:")


def url_states() -> list[str]:
    """The `state` URL parameter as known states (unknown ones dropped with a warning)."""
    raw = st.query_params.get(STATE_PARAM)
    if not raw:
        return []
    asked = [s.strip() for s in raw.split(",") if s.strip()]
    known = [s for s in errors.STATES if s in asked]
    if len(known) != len(set(asked)):
        st.warning(
            f"Ignored unknown states in the link; the states are {', '.join(errors.STATES)}.",
            icon=":material/link_off:",
        )
    return known


def state_filter(table: pd.DataFrame) -> pd.DataFrame:
    """A state picker above the table; the rows of the picked states (all when none is picked)."""
    counts = table["state"].value_counts()
    picked = st.pills(
        "State",
        errors.STATES,
        selection_mode="multi",
        default=url_states(),
        format_func=lambda s: f"{s} ({fmt.count(int(counts.get(s, 0)))})",
        key="gl_err_states",
        help=HELP["state"].format(q=current_quiet_days()),
    )
    if picked:
        st.query_params[STATE_PARAM] = ",".join(picked)
        return table[table["state"].isin(picked)].reset_index(drop=True)
    st.query_params.pop(STATE_PARAM, None)
    return table


def current_quiet_days() -> int:
    from data_access.engine import get_database

    return int(get_database().settings.error_quiet_days)


def signature_table(f, table: pd.DataFrame, trends: pd.DataFrame, preselect: str | None) -> str | None:
    """The groups table with a daily trend column; returns the selected group, if any."""
    st.subheader("Error groups", help=help_text("error_signature"))
    st.caption("Most frequent first. Select a row to list its attempts.")
    full = table
    table = state_filter(table)
    if table.empty:
        st.info("No error group of this window is in the picked states.", icon=":material/filter_alt_off:")
        csv_download(full, "errors", f, "dl_errors")
        return None
    shown = table.merge(trends[["error_signature", "daily_counts"]], on="error_signature", how="left")
    # uuid.UUID cells would show as byte lists; the CSV below keeps the report's own values.
    shown["example_generation_id"] = shown["example_generation_id"].astype(str)
    default = None
    at = shown.index[shown["error_signature"] == preselect]
    if preselect is not None and len(at):  # a linked group the state filter hides is not selected
        default = {"selection": {"rows": [int(at[0])]}}
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        # Keyed by the filters: a row number means another signature once the window changes.
        key=f"{TABLE_KEY}_{f.describe()}",
        on_select="rerun",
        selection_mode="single-row",
        selection_default=default,
        placeholder=fmt.DASH,
        column_order=[
            "error_signature",
            "state",
            "occurrences",
            "generations",
            "daily_counts",
            "first_seen",
            "last_seen",
            "models",
            "mark",
            "example_generation_id",
        ],
        column_config=columns.config(
            shown.columns,
            **SIGNATURE_COLUMNS,
            daily_counts=columns.bars("per day", help=HELP["trend"]),
            last_seen=columns.when("last seen (UTC)", format=MINUTES),
            example_generation_id=columns.text("latest generation"),
            state=columns.text("state", help=HELP["state"].format(q=current_quiet_days())),
            mark=columns.text("mark", help=HELP["mark"]),
        ),
    )
    # The CSV is the errors report itself (the same file as `python -m queries.export errors`).
    csv_download(full, "errors", f, "dl_errors")
    rows = event.selection.rows if event is not None else []
    if rows:
        chosen = str(shown.iloc[rows[0]]["error_signature"])
        if st.query_params.get(PARAM) != chosen:
            st.query_params[PARAM] = chosen
        return chosen
    if PARAM in st.query_params:
        del st.query_params[PARAM]
    return None


def mark_form(f, signature: str) -> None:
    """An admin's known / ignored mark on the selected group, with a note (audit trail)."""
    states = cached(errors.group_states, f)
    row = states[states["error_signature"] == signature]
    gid = row["group_id"].iloc[0] if not row.empty else None
    mark, note = (row["mark"].iloc[0], row["note"].iloc[0]) if not row.empty else (None, None)
    if mark:
        st.caption(f"Marked {mark}" + (f": {note}" if note else "") + ".")
    if not current().allows("admin"):
        return
    if gid is None or pd.isna(gid):
        st.caption("This group is not saved in GenLens' tables, so it cannot be marked here (see the warning above).")
        return
    with st.form(f"gl_err_mark_{int(gid)}", border=True):
        st.markdown("**Mark this group** (admins; recorded in the audit trail)")
        choice = st.radio(
            "Mark",
            list(MARK_LABELS),
            index=list(MARK_LABELS).index(mark or ""),
            format_func=MARK_LABELS.get,
            horizontal=True,
        )
        text = st.text_input("Note", value=note or "", max_chars=500, placeholder="e.g. provider incident, ticket 123")
        if st.form_submit_button("Save mark"):
            try:
                who = current()
                errors.set_mark(int(gid), choice or None, text, who.name, who.role, who.method)
            except (ValueError, errors.MarkRefused) as exc:
                st.error(str(exc))
                return
            refresh()
            st.success(f"Group {int(gid)}: {MARK_LABELS[choice]}.")
            st.rerun()


def signature_attempts(f, signature: str) -> None:
    st.subheader("Attempts in this group")
    if not current().allows("analyst"):
        st.info(
            "Attempt-level rows (messages, generations) are for analysts; viewers see the aggregates above.",
            icon=":material/visibility_off:",
        )
        return
    st.code(signature, language=None, wrap_lines=True)
    df = cached(errors.signature_attempts, f, signature)
    more = f" (the newest {fmt.count(errors.ATTEMPTS_LIMIT)})" if len(df) >= errors.ATTEMPTS_LIMIT else ""
    st.caption(f"{fmt.count(len(df))} attempts{more}, newest first. Select a row to open its generation.")
    attempts.table(df, f, key=f"gl_err_attempts_{f.describe()}_{signature}")
    csv_download(df, "signature_attempts", f, "dl_sig_attempts")


def new_section(f, new: pd.DataFrame) -> None:
    st.subheader("New error groups in this window", help=help_text("new_signatures"))
    if new.empty:
        st.info(
            f"No error group appeared for the first time in this window: every error seen here was already seen "
            f"before {f.since:%Y-%m-%d}.",
            icon=":material/check_circle:",
        )
        return
    st.caption("Error groups never seen before this window, newest first occurrence first.")
    st.dataframe(
        new,
        hide_index=True,
        width="stretch",
        placeholder=fmt.DASH,
        column_config=columns.config(new.columns, **SIGNATURE_COLUMNS, first_seen_ever=SIGNATURE_COLUMNS["first_seen"]),
    )
    csv_download(new, "new_signatures", f, "dl_new")


def share_section(f, share: pd.DataFrame) -> None:
    st.subheader("Share of failures by error group, per day")
    st.caption(
        f"Each UTC day's failed and timed-out attempts, split among the {errors.SHARE_SIGNATURES} most frequent "
        "error groups of the window and all others. Hover for the counts."
    )
    st.plotly_chart(failure_share_chart(share), width="stretch")
    csv_download(share, "failure_share_per_day", f, "dl_share")


def render() -> None:
    f = filters()
    st.title("Errors")
    last_day = (f.until - timedelta(days=1)).strftime("%Y-%m-%d")
    st.caption(
        f"Failed and timed-out attempts of generations started {f.since:%Y-%m-%d} to {last_day} (UTC). "
        f"Test generations are {'included' if f.include_tests else 'left out'}."
    )
    prefetch(
        (errors.failure_summary, f),
        (reports.fetch_report, "errors", f),
        (errors.new_signatures, f),
        (errors.signature_trends, f),
        (errors.failure_share, f),
    )
    summary = cached(errors.failure_summary, f).iloc[0].to_dict()
    if not summary["lost_attempts"]:
        st.query_params.pop(PARAM, None)
        st.info(
            "No failed or timed-out attempts in this window - widen the dates or clear the model, type and "
            "user filters in the sidebar.",
            icon=":material/search_off:",
        )
        return
    table = cached(reports.fetch_report, "errors", f)
    new = cached(errors.new_signatures, f)
    kpis(summary, len(table), len(new))
    grouping_notice()
    if summary["failures_without_message"]:
        st.caption(
            f"{fmt.count(summary['failures_without_message'])} failed or timed-out attempts have no error message, "
            "so no error group; they count in the share chart as “no error message”."
        )
    if not table.empty:
        preselect = url_signature(set(table["error_signature"]))
        trends = cached(errors.signature_trends, f)
        chosen = signature_table(f, table, trends, preselect)
        if chosen is not None:
            mark_form(f, chosen)
            signature_attempts(f, chosen)
    new_section(f, new)
    share_section(f, cached(errors.failure_share, f))


guarded(render)
