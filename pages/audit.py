"""Audit trail (admins): who exported which report with which filters, who ran test generations, and
who marked an error group known or ignored."""

from __future__ import annotations

import streamlit as st

from queries.audit import audit_rows
from ui import columns
from ui.data import cached
from ui.downloads import csv_download
from ui.guard import guarded
from ui.state import filters


def render() -> None:
    f = filters()
    st.title("Audit trail")
    st.caption(
        f"Exports, test runs and marks on error groups from {f.since:%Y-%m-%d} to {f.until:%Y-%m-%d} (UTC, end excluded), newest first. "
        "Written by the admin connection into GenLens' own table genlens_audit."
    )
    action = st.segmented_control(
        "Show", ["all", "export", "test_run", "error_mark"], default="all", key="audit_action"
    )
    rows = cached(audit_rows, f.since, f.until, None if action in (None, "all") else action)
    if rows.empty:
        st.info("Nothing recorded in this window. Widen the dates in the sidebar.", icon=":material/history:")
        return
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "at": columns.when("at (UTC)"),
            "row_count": columns.number("rows"),
        },
    )
    st.caption(f"{len(rows):,} entries")
    csv_download(rows, "audit", f, "dl_audit")  # the table as shown: same rows, same columns


guarded(render)
