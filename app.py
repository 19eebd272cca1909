"""GenLens: the router and the frame. Sign-in, page config, navigation, shared filters, the database line."""

from __future__ import annotations

import streamlit as st

from ui.guard import error_panel

st.set_page_config(page_title="GenLens", page_icon=":material/insights:", layout="wide")

# (section, page key for access.roles.PAGE_ROLES, st.Page arguments)
PAGES = [
    (
        "Metrics",
        "overview",
        dict(page="pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    ),
    (
        "Metrics",
        "reliability",
        dict(page="pages/reliability.py", title="Reliability", icon=":material/autorenew:", url_path="reliability"),
    ),
    (
        "Metrics",
        "cost",
        dict(page="pages/cost_quality.py", title="Cost & Quality", icon=":material/payments:", url_path="cost"),
    ),
    ("Debug", "errors", dict(page="pages/errors.py", title="Errors", icon=":material/bug_report:", url_path="errors")),
    (
        "Debug",
        "explorer",
        dict(page="pages/explorer.py", title="Explorer", icon=":material/table_rows:", url_path="explorer"),
    ),
    (
        "Debug",
        "generation",
        dict(page="pages/generation.py", title="Generation detail", icon=":material/timeline:", url_path="generation"),
    ),
    (
        "Export",
        "reports",
        dict(page="pages/reports.py", title="Reports", icon=":material/download:", url_path="reports"),
    ),
    (
        "Admin",
        "admin",
        dict(page="pages/admin.py", title="Admin · test generations", icon=":material/science:", url_path="admin"),
    ),
    ("Admin", "audit", dict(page="pages/audit.py", title="Audit trail", icon=":material/policy:", url_path="audit")),
]


def navigation_for(role: str) -> dict[str, list]:
    from access import can_open

    sections: dict[str, list] = {}
    for section, key, args in PAGES:
        if can_open(role, key):
            sections.setdefault(section, []).append(st.Page(**args))
    return sections


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
    replica_line(db)
    from queries.catalog import fast_path

    ttl = db.settings.cache_ttl_seconds
    cache = f", each result kept up to {ttl} s (Refresh data to requery)" if ttl else ""
    live, why = fast_path(db)
    if live:
        from queries.catalog import freshness, replica

        fresh = freshness(db)
        behind = (
            f" ({fresh.behind:,} writes from the last few seconds are still being folded in)" if fresh.behind else ""
        )
        lagging = replica(db)
        if lagging is not None and lagging.behind:
            st.sidebar.caption(
                f":material/schedule: Figures are exact as of the replica's replay point: every write committed "
                f"before {fresh.as_of:%H:%M:%S} UTC is in{behind}. Pages query again as the replica catches up."
            )
        else:
            st.sidebar.caption(
                f":material/bolt: Figures are live: every write committed before "
                f"{fresh.as_of:%H:%M:%S} UTC is in{behind}. New writes reach GenLens' facts table within "
                "seconds, and pages query again when one has."
            )
    else:
        st.sidebar.caption(
            f":material/hourglass: Figures are computed from the raw attempts on each query{cache}, so large "
            f"tables are slower. Why: {why}."
        )


def replica_line(db) -> None:
    """Where pages read when GENLENS_READ_URL names a streaming replica, and how far behind it is."""
    from queries.catalog import replica

    state = replica(db)
    if state is None:
        return
    if not state.usable:
        st.sidebar.warning(f"{state.cause}.", icon=":material/call_split:")
        return
    lag = f"{state.lag_s:,.0f} s behind the primary" if state.lag_s >= 1 else "current with the primary"
    line = f"Pages read the replica **{db.reader_label}**, {lag}; folding and every other write go to the primary." + (
        f" Now: {state.cause}." if state.cause else ""
    )
    if state.behind:
        st.sidebar.warning(line, icon=":material/call_split:")
    else:
        st.sidebar.caption(f":material/call_split: {line}")


def main() -> None:
    try:
        from ui.access import principal

        who = principal()  # draws the sign-in page and stops when nobody is signed in
    except Exception as exc:  # noqa: BLE001 - a panel, never a traceback
        st.title("GenLens")
        error_panel(exc)
        st.stop()
    nav = st.navigation(navigation_for(who.role))
    try:
        with st.spinner("Starting the database…"):
            from data_access.engine import get_database

            db = get_database()
        from data_access.sources import get_source
        from queries.catalog import known_models
        from ui.access import account_line
        from ui.data import cached, refresh, start_folding
        from ui.filters import sidebar_filters
        from ui.notes import data_quality_note
        from ui.state import set_filters

        start_folding()  # once per server process
        models = cached(known_models)
        f = sidebar_filters(models, get_source(db.source).dimensions)
        set_filters(f)
        if st.sidebar.button("Refresh data", icon=":material/refresh:", help="Clear cached results and query again"):
            refresh()
            st.rerun()
        database_line()
        account_line(who, db.settings.embedded)
        data_quality_note(f)
    except Exception as exc:  # noqa: BLE001 - a panel, never a traceback
        st.title("GenLens")
        error_panel(exc)
        st.stop()
    nav.run()


main()
