"""Page server times: an AppTest run of app.py on each page of its navigation, cold cache."""

from __future__ import annotations

import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"


_PAGE = re.compile(r"""["'](pages/[A-Za-z0-9_]+\.py)["']""")


def _page_args() -> list[tuple[str, str]]:
    """(page file, the text of its registration up to the next page) for each page in app.py."""
    app = APP.read_text()
    hits = list(_PAGE.finditer(app))
    out, seen = [], set()
    for i, m in enumerate(hits):
        end = hits[i + 1].start() if i + 1 < len(hits) else len(app)
        rest = app[m.end() : end].split("\n", 3)
        if m.group(1) not in seen:
            seen.add(m.group(1))
            out.append((m.group(1), "\n".join(rest[:3])))
    return out


def navigation_pages() -> list[str]:
    """The page files registered in app.py's navigation, in menu order."""
    return [page for page, _ in _page_args()]


def default_page(pages: list[str]) -> str:
    for page, rest in _page_args():
        if re.search(r"default\s*=\s*True", rest.split(")")[0]):
            return page
    return pages[0]


def url_path(page: str) -> str:
    """The URL path st.navigation gives a page ("" for the default, url_path=..., else the file stem)."""
    for p, rest in _page_args():
        if p == page:
            args = rest.split(")")[0]
            if re.search(r"default\s*=\s*True", args):
                return ""
            u = re.search(r"""url_path\s*=\s*["']([^"']+)["']""", args)
            return u.group(1) if u else Path(page).stem
    return Path(page).stem


def page_param(page: str, default: str) -> str:
    """The page's own URL parameter (its PARAM constant), e.g. generation_id."""
    m = re.search(r"""^PARAM\s*=\s*["']([a-z_]+)["']""", (ROOT / page).read_text(), re.M)
    return m.group(1) if m else default


_statements = {"n": 0, "engine": None}


def _count_statements() -> None:
    """Count the SQL statements GenLens's engine runs (SET excluded): queries per cold page."""
    from sqlalchemy import event

    from data_access.engine import get_database

    engine = get_database().engine
    if _statements["engine"] is engine:
        return

    def before(conn, cursor, statement, params, context, executemany) -> None:
        if not statement.lstrip().upper().startswith("SET "):
            _statements["n"] += 1

    event.listen(engine, "before_cursor_execute", before)
    _statements["engine"] = engine


def statements_in_last_run() -> int:
    return _statements["n"]


def run_page(
    page: str, params: dict[str, str], is_default: bool, timeout: float = 600
) -> tuple[float, str | None, str | None]:
    """Seconds of one cold AppTest run of app.py showing `page`; the exception, and st.error text, if any.

    st.cache_data is cleared first, so every query of the frame (sidebar) and of the page runs.
    """
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui.data import drain

    drain()
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    for k, v in params.items():
        at.query_params[k] = v
    if not is_default:
        # st.navigation registers pages by their url_path only once app.py has run: a first run
        # (the default page), then a cold cache for the page timed.
        at.run()
        drain()
        st.cache_data.clear()
        at.switch_page(page)
    _count_statements()
    _statements["n"] = 0
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    drain()  # what the page started in the background must not run into the next measurement
    problem = "; ".join(str(e.message)[:200] for e in at.exception) or None
    shown = "; ".join(str(e.value)[:200] for e in at.error) or None
    return elapsed, problem, shown
