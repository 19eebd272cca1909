"""GENLENS_AUTH=oidc end to end: a real OpenID Connect provider on 127.0.0.1 (oidc-provider-mock),
`streamlit run app.py` with Streamlit's [auth] secrets pointing at it, and Debian's chromium signing
in through the provider's authorization page.

One server serves the module; the test of a new server's sign-in page starts its own (a new server
is in Streamlit's pages-directory mode until some session runs st.navigation).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import oidc_support
from tests.browser import helpers
from tests.oidc_support import User, end_provider_session, nav_labels, sign_in

pytestmark = [
    pytest.mark.browser,
    # The provider runs in this process; its Authlib calls are Authlib's deprecated ones.
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
]

VIEWER_PAGES = ["Overview", "Reliability", "Cost & Quality", "Errors", "Reports"]
ANALYST_ONLY = ["Explorer", "Generation detail"]
ADMIN_ONLY = ["Admin · test generations", "Audit trail"]
USERS = [
    User(sub="vi@example.com", claims={"email": "vi@example.com", "email_verified": True, "name": "Vi Ewer"}),
    User(sub="ana@example.com", claims={"email": "ana@example.com", "email_verified": True, "name": "Ana Lyst"}),
    # Not in any list: the provider's role claim makes this one an admin.
    User(sub="boss@example.com", claims={"email": "boss@example.com", "email_verified": True, "role": "admin"}),
    User(sub="unverified@example.com", claims={"email": "unverified@example.com", "email_verified": False}),
    # eve@evil.test is not registered: the provider gives an unknown subject {"email": sub}.
]
SIGN_IN_BUTTON = 'button:has-text("Sign in")'
SIDEBAR = '[data-testid="stSidebar"]'
DATA = '[data-testid="stMetric"], [data-testid="stDataFrame"], [data-testid="stPlotlyChart"]'


@pytest.fixture(scope="module")
def issuer() -> str:
    with oidc_support.oidc_provider(USERS) as url:
        yield url


@pytest.fixture(scope="module")
def oidc_env(demo_env, issuer, tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("oidc-secrets")
    return {
        **demo_env,
        **oidc_support.write_auth_secrets(tmp / "secrets.toml", issuer),
        "GENLENS_AUTH": "oidc",
        "GENLENS_ALLOWED_DOMAINS": "example.com",
        "GENLENS_ANALYST_EMAILS": "ana@example.com",
    }


@pytest.fixture(scope="module")
def oidc_app(oidc_env, tmp_path_factory) -> str:
    """`streamlit run app.py` with GENLENS_AUTH=oidc on the demo schema; its base URL."""
    with helpers.streamlit_server(oidc_env, tmp_path_factory.mktemp("streamlit-oidc") / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def oidc_browser(playwright):
    b = helpers.launch(playwright)
    yield b
    b.close()


@pytest.fixture
def page(oidc_browser):
    """A fresh browser context per test: no cookie of another test's sign-in."""
    context = oidc_browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(helpers.TIMEOUT_MS)
    yield pg
    context.close()


def signed_in(page, base: str, issuer: str, sub: str) -> None:
    sign_in(page, base, issuer, sub)
    helpers.wait_ready(page, '[data-testid="stSidebarNav"]')
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    helpers.wait_ready(page, '[data-testid="stMetric"]')
    assert not helpers.page_errors(page)


# --- before sign-in -----------------------------------------------------------------------------------


def test_new_servers_sign_in_page_lists_no_page(page, oidc_env, tmp_path):
    with helpers.streamlit_server(oidc_env, tmp_path / "server.log") as fresh:
        page.goto(fresh + "/")
        helpers.wait_ready(page, SIGN_IN_BUTTON)
        assert page.locator(DATA).count() == 0
        assert nav_labels(page) == []


def test_deep_link_before_sign_in_shows_only_the_sign_in_page(page, oidc_app):
    page.goto(oidc_app + "/explorer")
    helpers.wait_ready(page, SIGN_IN_BUTTON)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.locator(DATA).count() == 0
    expect(page.get_by_role("heading", name="Explorer")).to_have_count(0)
    assert not any(c["name"] == "_streamlit_user" for c in page.context.cookies())


# --- signed in --------------------------------------------------------------------------------------


def test_viewer_sees_aggregate_pages_only(page, oidc_app, issuer):
    signed_in(page, oidc_app, issuer, "vi@example.com")
    expect(page.locator(SIDEBAR)).to_contain_text("Signed in as vi@example.com · viewer")
    assert nav_labels(page) == VIEWER_PAGES

    # A link to an analyst page does not open it: Streamlit runs the viewer's default page instead.
    page.goto(oidc_app + "/explorer")
    helpers.wait_ready(page, '[data-testid="stSidebarNav"]')
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Explorer")).to_have_count(0)
    assert nav_labels(page) == VIEWER_PAGES
    expect(page.locator(SIDEBAR)).to_contain_text("Signed in as vi@example.com · viewer")


def test_analyst_from_the_email_list_sees_explorer_but_not_admin(page, oidc_app, issuer):
    signed_in(page, oidc_app, issuer, "ana@example.com")
    expect(page.locator(SIDEBAR)).to_contain_text("Signed in as ana@example.com · analyst")
    shown = nav_labels(page)
    assert set(VIEWER_PAGES + ANALYST_ONLY) <= set(shown), shown
    assert not set(ADMIN_ONLY) & set(shown), shown

    page.locator('[data-testid="stSidebarNavLink"]', has_text="Explorer").click()
    helpers.wait_ready(page, '[data-testid="stDataFrame"], [data-testid="stAlert"]')
    expect(page.get_by_role("heading", name="Explorer", level=1)).to_be_visible()
    assert not helpers.page_errors(page)


def test_role_claim_from_the_provider_makes_an_admin(page, oidc_app, issuer):
    signed_in(page, oidc_app, issuer, "boss@example.com")
    expect(page.locator(SIDEBAR)).to_contain_text("Signed in as boss@example.com · admin")
    assert set(VIEWER_PAGES + ANALYST_ONLY + ADMIN_ONLY) == set(nav_labels(page))


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        ("eve@evil.test", "eve@evil.test is not allowed to open this dashboard."),
        ("unverified@example.com", "Your email address is not verified with your identity provider."),
        pytest.param(
            "[eve](https://evil.test/phish)@evil.test",
            "[eve](https://evil.test/phish)@evil.test is not allowed to open this dashboard.",
            id="markdown-in-email",
        ),
    ],
)
def test_refused_account_sees_nothing_and_can_sign_out(page, oidc_app, issuer, sub, message):
    sign_in(page, oidc_app, issuer, sub)
    helpers.wait_ready(page, '[data-testid="stAlertContentError"]')
    refusal = page.locator('[data-testid="stAlertContentError"]')
    expect(refusal).to_contain_text(message)  # the text as typed, nothing rendered from it
    assert page.locator(DATA).count() == 0
    assert not set(VIEWER_PAGES + ANALYST_ONLY + ADMIN_ONLY) & set(nav_labels(page))
    expect(page.get_by_text("Signed in as")).to_have_count(0)

    page.get_by_role("button", name="Sign out").click()
    end_provider_session(page, oidc_app, issuer)
    helpers.wait_ready(page, SIGN_IN_BUTTON)
    assert not any(c["name"] == "_streamlit_user" for c in page.context.cookies())


def test_sign_out_ends_the_session_here_and_at_the_provider(page, oidc_app, issuer):
    signed_in(page, oidc_app, issuer, "vi@example.com")
    assert any(c["name"] == "_streamlit_user" for c in page.context.cookies())

    helpers.wait_ready(page)  # a click during a rerun can be dropped: wait for the script to finish
    page.locator(SIDEBAR).get_by_role("button", name="Sign out").click()
    end_provider_session(page, oidc_app, issuer)  # Streamlit sent the browser to the provider's end_session
    helpers.wait_ready(page, SIGN_IN_BUTTON)
    assert not any(c["name"] == "_streamlit_user" for c in page.context.cookies())

    # Coming back is not signed in: the identity cookie is gone, not just this session's state.
    page.goto(oidc_app + "/reliability")
    helpers.wait_ready(page, SIGN_IN_BUTTON)
    assert page.locator(DATA).count() == 0
    expect(page.get_by_text("Signed in as")).to_have_count(0)
