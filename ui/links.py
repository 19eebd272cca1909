"""Links between pages that carry the current filters (and page-specific parameters) along."""

from __future__ import annotations

import streamlit as st

from access import can_open
from queries.filters import Filters
from ui.access import current
from ui.filters import filter_params, reread_from_url

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
    if not can_open(current().role, page):
        return  # a link to a page this role may not open would only lead to "page not found"
    params = {**filter_params(f), **extra}
    st.page_link(PAGE_FILES[page], label=label, icon=icon, query_params=params)


def go(page: str, f: Filters, **extra: str | list[str]) -> None:
    """Switch to a page now (e.g. after a row click), carrying the filters along.

    switch_page drops widget state; the sidebar re-reads the filters from the URL it is given.
    """
    if not can_open(current().role, page):
        st.warning("That page is not available to your role.", icon=":material/visibility_off:")
        return
    reread_from_url()
    st.switch_page(PAGE_FILES[page], query_params={**filter_params(f), **extra})


def open_generation(f: Filters, generation_id: str) -> None:
    """Open the Generation detail page for a clicked row (every page's tables do this)."""
    go("generation", f, generation_id=generation_id)
