"""The app served by a real `streamlit run` on the demo schema, driven by Debian's chromium.

The server reads the session's test database (`pg_url`) with GENLENS_SCHEMA=demo: the data the
AppTest tests use, so a browser test computes its expected figures through `queries/` against
the same schema (the `demo_db` fixture points this process at it).
"""

from __future__ import annotations

import pytest

from tests.browser import helpers
from tests.conftest import _load_schema


@pytest.fixture(scope="session")
def demo_env(pg_url, admin_engine) -> dict[str, str]:
    """Environment pointing GenLens at the demo schema of the test database (loaded once)."""
    _load_schema(admin_engine, "demo")
    return {"DATABASE_URL": pg_url, "GENLENS_SCHEMA": "demo"}


@pytest.fixture(scope="session")
def server(demo_env, tmp_path_factory) -> str:
    """Base URL of `streamlit run app.py` on a free port, for the whole session."""
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with helpers.streamlit_server(demo_env, log) as base:
        yield base


@pytest.fixture(scope="session")
def playwright():
    """One Playwright for the session: its sync API cannot start a second time while one runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright, server):
    b = helpers.launch(playwright)
    helpers.warm_up(b, server)
    yield b
    b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(helpers.TIMEOUT_MS)
    yield pg
    context.close()
