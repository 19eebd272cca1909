"""Issue 5 in a real browser: an admin signs in, runs 5 simulated test generations from the form,
watches them finish and opens one of them on the Generation detail page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from generation.auth import hash_password
from tests.browser import helpers
from tests.conftest import _load_schema

pytestmark = pytest.mark.browser

SCHEMA = "admin_browser"
PASSWORD = "browser-admin-password"


@pytest.fixture(scope="module")
def admin_server(pg_url, admin_engine, tmp_path_factory):
    """`streamlit run app.py` on its own schema, with an admin password and fast simulated attempts."""
    _load_schema(admin_engine, SCHEMA)
    env = {
        "DATABASE_URL": pg_url,
        "GENLENS_SCHEMA": SCHEMA,
        "GENLENS_ADMIN_PASSWORD_HASH": hash_password(PASSWORD, n=2**12),
        "GENLENS_SIM_LATENCY_SCALE": "0.02",
        "GENLENS_ADMIN_BACKOFF_S": "0.05",
    }
    log = tmp_path_factory.mktemp("streamlit-admin") / "server.log"
    with helpers.streamlit_server(env, log) as base:
        yield base


@pytest.fixture(scope="module")
def admin_browser(playwright, admin_server):
    b = helpers.launch(playwright)
    helpers.warm_up(b, admin_server)
    yield b
    b.close()


@pytest.fixture
def admin_page(admin_browser):
    context = admin_browser.new_context(viewport={"width": 1400, "height": 1600})
    pg = context.new_page()
    pg.set_default_timeout(helpers.TIMEOUT_MS)
    yield pg
    context.close()


def test_admin_runs_five_simulated_generations_and_opens_one(admin_page, admin_server, admin_engine):
    page = admin_page
    page.goto(f"{admin_server}/admin")
    helpers.wait_ready(page, 'input[type="password"]')
    expect(page.get_by_role("button", name=re.compile("Run .* test generation"))).to_have_count(0)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    run = page.get_by_role("button", name="Run 5 test generations")
    expect(run).to_be_enabled()
    assert page.locator('input[type="password"]').count() == 0

    run.click()
    page.get_by_role("heading", name="Last run").wait_for(timeout=120_000)
    helpers.wait_ready(page)
    shown = helpers.metrics(page)
    assert re.fullmatch(r"\d of 5", shown["Succeeded"]), shown
    expect(page.get_by_role("button", name="Run 5 test generations")).to_be_enabled()

    with admin_engine.connect() as conn:
        gens = conn.execute(
            text(
                f"SELECT generation_id, max(attempt_number) AS attempts, count(*) FILTER (WHERE status = 'pending') AS pending,"
                " min(generation_metadata->>'test_run_id') AS run"
                f' FROM "{SCHEMA}".generations GROUP BY generation_id'
            )
        ).all()
    assert len(gens) == 5 and all(g.pending == 0 for g in gens)
    assert len({g.run for g in gens}) == 1
    assert int(shown["Attempts"]) == sum(g.attempts for g in gens)

    ids = {str(g.generation_id) for g in gens}
    # The Explorer, narrowed to this run: test generations on, the run's days, the admin user.
    page.get_by_role("button", name="Open this run in the Explorer").click()
    page.wait_for_url(re.compile(r"/explorer\?"))
    helpers.wait_ready(page, '[data-testid="stDataFrame"]')
    query = parse_qs(urlsplit(page.url).query)
    assert query["tests"] == ["1"]
    expect(page.get_by_role("switch", name="Include test generations")).to_be_checked()
    rows = helpers.grid_rows(page.locator('[data-testid="stDataFrame"]').first, 1)
    assert rows and {r[0] for r in rows} <= ids

    # Back to the admin page in the same session: the run's results are still there.
    page.get_by_role("link", name="Admin · test generations").click()
    helpers.wait_ready(page, '[data-testid="stMetric"]')
    links = page.locator('a[href*="generation_id="]')
    expect(links).to_have_count(5)
    first = links.first
    gid = parse_qs(urlsplit(first.get_attribute("href")).query)["generation_id"][0]
    assert gid in ids

    first.click()
    page.wait_for_url(re.compile(r"/generation\?"))
    helpers.wait_ready(page, '[data-testid="stPlotlyChart"]')
    expect(page.get_by_role("heading", name="Generation detail")).to_be_visible()
    assert page.get_by_label("Generation id").input_value() == gid
    expect(page.get_by_text("This is a test generation")).to_be_visible()
