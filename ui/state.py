"""What app.py hands to the page being drawn: the database label and the current filters."""

from __future__ import annotations

import streamlit as st

from queries.filters import Filters

_FILTERS = "gl_current_filters"


def set_filters(f: Filters) -> None:
    st.session_state[_FILTERS] = f


def filters() -> Filters:
    """The sidebar's filters for this run (app.py sets them before the page runs)."""
    f = st.session_state.get(_FILTERS)
    return f if f is not None else Filters.default()


def has_dimension(name: str) -> bool:
    """Whether the configured source records `name` (story_type, user, language, rating)."""
    from data_access.engine import get_database
    from data_access.sources import get_source

    return name in get_source(get_database().source).dimensions


def not_available(what: str) -> None:
    st.info(f"{what}: not available for this source (GENLENS_SOURCE).", icon=":material/block:")
