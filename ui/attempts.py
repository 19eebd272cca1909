"""The attempt table: attempt rows (one per attempt, with a generation_id column), one row
selectable; selecting a row opens that generation on the Generation detail page, with the
filters carried along. The Explorer, the outlier lists, the stale pending attempts and the
attempts of an error signature all draw it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from queries.filters import Filters
from ui import columns
from ui import format as fmt
from ui.links import open_generation

# Wide enough for a whole UUID, and kept in view while the other columns scroll.
COLUMNS = {
    "generation_id": columns.column("generation_id", width=290, pinned=True),
    "error_message": columns.column("error_message", width="large"),
}


def table(rows: pd.DataFrame, f: Filters, key: str, *, height: int | str = "auto", **overrides) -> None:
    """Draw `rows` as the attempt table; `overrides` as in ui.columns.config (a page's own columns).

    `key` should change with whatever changes the rows (filters, page, list): a selected row number
    would otherwise point at another attempt once the rows change.
    """
    event = st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        height=height,
        key=key,
        on_select="rerun",
        selection_mode="single-row",
        placeholder=fmt.DASH,
        column_config=columns.config(rows.columns, **{**COLUMNS, **overrides}),
    )
    picked = event.selection.rows if event is not None and hasattr(event, "selection") else []
    if picked:
        open_generation(f, str(rows.iloc[picked[0]]["generation_id"]))
