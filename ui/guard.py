"""Pages never show a traceback: database and input errors become a panel saying what to check."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from queries.filters import FilterError

log = logging.getLogger("genlens.page")


def _is_connection_error(exc: BaseException) -> bool:
    import psycopg
    from sqlalchemy import exc as sa_exc

    from data_access.engine import DatabaseUnavailable

    if isinstance(exc, (DatabaseUnavailable, ConnectionError, psycopg.OperationalError, psycopg.InterfaceError)):
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def explain(exc: BaseException) -> tuple[str, list[str]]:
    """(headline, things to check) for an exception raised while reading the database."""
    name = type(exc).__name__
    text = str(exc).lower()
    from data_access.config import ConfigError

    if isinstance(exc, ConfigError):
        return ("GenLens is not configured correctly.", [str(exc)])
    if "conflict with recovery" in text:
        return (
            "The read replica cancelled the query to replay the primary's changes.",
            [
                "Press Refresh data and try again.",
                "If it keeps happening, set hot_standby_feedback = on on the replica (GENLENS_READ_URL),"
                " or raise its max_standby_streaming_delay.",
            ],
        )
    if "statement timeout" in text or "canceling statement" in text or name == "QueryCanceled":
        return (
            "The query took longer than the time limit.",
            [
                "Narrow the window or the filters and try again.",
                "The limit is GENLENS_QUERY_TIMEOUT_MS (default 15000 ms).",
            ],
        )
    if "queuepool" in text or "pool limit" in text or name == "TimeoutError" and "pool" in text:
        return ("All database connections are busy.", ["Wait a moment and press Refresh data."])
    if "does not exist" in text and ("relation" in text or "schema" in text):
        return (
            "The generations table was not found.",
            [
                "Check GENLENS_SCHEMA names the schema holding `generations`.",
                "Apply the migrations: python -m data_access.migrate",
            ],
        )
    if "permission denied" in text:
        return (
            "The database user may not read the generations table.",
            ["Grant SELECT on generations to the dashboard's role (docs/security.sql)."],
        )
    if not _is_connection_error(exc):
        return (
            "This part of the page could not be drawn.",
            [
                "Press Refresh data and try again.",
                "If it keeps happening, report it with the error type below and the page's link.",
            ],
        )
    return (
        "The database cannot be reached.",
        [
            "Check DATABASE_URL (or [connections.genlens] url in .streamlit/secrets.toml).",
            "Is the server running and reachable from here? On Supabase, use the pooler host if IPv6 is unavailable.",
            "Then press Refresh data; the app reconnects on its own.",
        ],
    )


def error_panel(exc: BaseException) -> None:
    headline, checks = explain(exc)
    log.warning("page error: %s: %s", type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    st.error(headline, icon=":material/error:")
    st.markdown("\n".join(f"- {c}" for c in checks))
    st.caption(f"Error type: {type(exc).__name__}")


def ensure_app_frame() -> None:
    """Rerun through app.py when Streamlit ran a page file on its own.

    With a `pages/` folder next to app.py, Streamlit starts every new server in its legacy
    multipage mode, so the very first request for a deep link (/errors?signature=...) runs
    pages/errors.py without app.py's frame: no filters, no navigation. app.py's st.navigation
    turns that mode off for the process; a page that finds it still on turns it off and reruns.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without that mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def guarded(render: Callable[[], None]) -> None:
    """Run a page body; bad input shows a warning, any failure an error panel."""
    ensure_app_frame()
    try:
        render()
    except FilterError as exc:
        st.warning(str(exc), icon=":material/warning:")
    except Exception as exc:  # noqa: BLE001 - the whole point: no traceback reaches a page
        error_panel(exc)
