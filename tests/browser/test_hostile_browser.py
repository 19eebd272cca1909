"""Hostile stored text in a real browser: nothing runs, nothing renders as HTML, Markdown or LaTeX.

Also the first request of a fresh server being a deep link: it must get the app's frame.
"""

from __future__ import annotations

import pytest

from tests import hostile
from tests.browser import helpers
from tests.conftest import _load_schema

pytestmark = pytest.mark.browser
WINDOW = "since=2026-05-01&until=2026-05-04"
PAGES = [
    "/",
    "/reliability",
    "/cost",
    "/errors",
    "/explorer",
    f"/generation?generation_id={hostile.rows()[0]['generation_id']}&",
    "/reports",
    "/reports?report=errors&",
]


@pytest.fixture(scope="module")
def hostile_server(pg_url, admin_engine, tmp_path_factory):
    _load_schema(admin_engine, "hostile")
    log = tmp_path_factory.mktemp("hostile-streamlit") / "server.log"
    with helpers.streamlit_server({"DATABASE_URL": pg_url, "GENLENS_SCHEMA": "hostile"}, log) as base:
        yield base


@pytest.fixture(scope="module")
def hostile_browser(playwright, hostile_server):
    b = helpers.launch(playwright)
    yield b
    b.close()


def _url(base: str, path: str) -> str:
    sep = "" if path.endswith("&") else ("&" if "?" in path else "?")
    return f"{base}{path}{sep}{WINDOW}"


def test_a_deep_link_as_the_first_request_gets_the_app_frame(hostile_server, hostile_browser):
    # This module's server is fresh: nobody has loaded "/" yet (no warm-up on purpose).
    page = hostile_browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(_url(hostile_server, "/errors"), timeout=helpers.TIMEOUT_MS)
        helpers.wait_ready(page, '[data-testid="stSidebarNav"]')
        helpers.wait_ready(page, "h1")
        assert page.locator("h1").first.inner_text().strip() == "Errors"
        assert page.get_by_text("Filters", exact=True).count() == 1  # the sidebar's filters: app.py ran
        assert "since=2026-05-01" in page.url
    finally:
        page.close()


@pytest.mark.parametrize("path", PAGES)
def test_hostile_text_stays_text(path, hostile_server, hostile_browser):
    page = hostile_browser.new_page(viewport={"width": 1400, "height": 1000})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(_url(hostile_server, path), timeout=helpers.TIMEOUT_MS)
        helpers.wait_ready(page, "h1")
        page.wait_for_timeout(1500)  # charts and grids draw after the script run
        helpers.wait_ready(page)
        assert helpers.page_errors(page) == []
        assert page.evaluate("window.__pwned") is None, "stored <script>/onerror ran"
        assert dialogs == []
        assert page.locator('img[src="x"]').count() == 0, "stored <img> became an element"
        assert page.locator("script:has-text('__pwned')").count() == 0
        assert page.locator(".katex").count() == 0, "stored $$...$$ rendered as LaTeX"
        assert page.locator("b:has-text('evil')").count() == 0, "stored <b> rendered in a label"
        assert page.locator("a[href^='javascript:']").count() == 0
        # Plotly hover and axis text: entities, never markup.
        assert page.locator(".js-plotly-plot b:has-text('evil')").count() == 0
    finally:
        page.close()
