"""The data-quality note every page carries when the window holds malformed metadata."""

from __future__ import annotations

import streamlit as st

from queries.data_quality import metadata_issue_kinds
from queries.filters import Filters
from ui.data import cached
from ui.links import page_link


def data_quality_note(f: Filters) -> None:
    kinds = cached(metadata_issue_kinds, f)
    if kinds.empty:
        return
    box = st.sidebar.container(border=True)
    box.markdown(":material/data_alert: **Data quality**")
    box.caption(
        "Some attempts carry malformed generation_metadata; their invalid values are left out of every "
        "figure (never counted as 0)."
    )
    for row in kinds.itertuples():
        box.caption(f"{row.attempts:,} · {row.label}")
    with box:
        page_link("explorer", "Show them in the Explorer", f, icon=":material/table_rows:", issues="1")
