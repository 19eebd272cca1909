"""GenLens: the router and the frame. Page config, navigation, shared filters, the database line."""

from __future__ import annotations

import streamlit as st

from ui.guard import error_panel

st.set_page_config(page_title="GenLens", page_icon=":material/insights:", layout="wide")

PAGES = {
    "Metrics": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/reliability.py", title="Reliability", icon=":material/autorenew:", url_path="reliability"),
        st.Page("pages/cost_quality.py", title="Cost & Quality", icon=":material/payments:", url_path="cost"),
    ],
    "Debug": [
        st.Page("pages/errors.py", title="Errors", icon=":material/bug_report:", url_path="errors"),
        st.Page("pages/explorer.py", title="Explorer", icon=":material/table_rows:", url_path="explorer"),
        st.Page("pages/generation.py", title="Generation detail", icon=":material/timeline:", url_path="generation"),
    ],
    "Export": [
        st.Page("pages/reports.py", title="Reports", icon=":material/download:", url_path="reports"),
    ],
    "Admin": [
        st.Page("pages/admin.py", title="Admin · test generations", icon=":material/science:", url_path="admin"),
    ],
}


def database_line() -> None:
    from data_access.engine import get_database
    from data_access.sources import get_source

    db = get_database()
    where = "embedded demo database (local)" if db.settings.embedded else db.label
    source = get_source(db.source)
    st.sidebar.caption(
        f":material/database: Reading **{where}**, source `{source.name}` (table `{db.schema}.{source.table}`; "
        f"one generation is {source.grain})"
        + (" through plain queries: GenLens may not create its view here." if db.inline else "")
    )


def main() -> None:
    nav = st.navigation(PAGES)
    try:
        with st.spinner("Starting the database…"):
            from data_access.engine import get_database

            get_database()
        from data_access.sources import get_source
        from queries.catalog import known_models
        from ui.data import cached, refresh
        from ui.filters import sidebar_filters
        from ui.state import set_filters

        models = cached(known_models)
        set_filters(sidebar_filters(models, get_source(get_database().source).dimensions))
        if st.sidebar.button("Refresh data", icon=":material/refresh:", help="Clear cached results and query again"):
            refresh()
            st.rerun()
        database_line()
        from ui.notes import data_quality_note
        from ui.state import filters

        data_quality_note(filters())
    except Exception as exc:  # noqa: BLE001 - a panel, never a traceback
        st.title("GenLens")
        error_panel(exc)
        st.stop()
    nav.run()


main()
