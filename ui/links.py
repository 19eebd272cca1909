"""Links between pages that carry the current filters (and page-specific parameters) along."""

from __future__ import annotations

import streamlit as st

from queries.filters import Filters
from ui.filters import filter_params

PAGE_FILES = {
    "overview": "pages/overview.py",
    "reliability": "pages/reliability.py",
    "cost": "pages/cost_quality.py",
    "errors": "pages/errors.py",
    "explorer": "pages/explorer.py",
    "generation": "pages/generation.py",
    "reports": "pages/reports.py",
    "admin": "pages/admin.py",
    "audit": "pages/audit.py",
}


def page_link(page: str, label: str, f: Filters, icon: str | None = None, **extra: str | list[str]) -> None:
    """st.page_link to one of PAGE_FILES with the filters and `extra` as URL parameters."""
    params = {**filter_params(f), **extra}
    st.page_link(PAGE_FILES[page], label=label, icon=icon, query_params=params)


def go(page: str, f: Filters, **extra: str | list[str]) -> None:
    """Switch to a page now (e.g. after a row click), carrying the filters along.

    switch_page drops widget state; the sidebar re-reads the filters from the URL it is given.
    """
    from ui.filters import _INIT

    st.session_state.pop(_INIT, None)
    st.switch_page(PAGE_FILES[page], query_params={**filter_params(f), **extra})
