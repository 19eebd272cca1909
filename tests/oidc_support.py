"""A real OpenID Connect provider on 127.0.0.1 for the `oidc` sign-in tests, and Streamlit's [auth] secrets.

The provider is `oidc-provider-mock` (a Flask app built on Authlib): it publishes a discovery
document, signs RS256 ID tokens with its own key (published at /jwks), runs the authorization-code
flow, and shows an authorization page where the test types the subject (`sub`) to sign in as. The
claims of a subject are the ones registered with `User(sub, claims)`; an unknown subject gets
{"email": sub}. Any client id and secret are accepted (the mock's default: client registration is
not required), so the secrets name a fixed pair.
"""

from __future__ import annotations

import secrets
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import authlib.deprecate  # noqa: F401 - first: on import it turns its warnings on ("always")
import werkzeug.serving

with warnings.catch_warnings():  # the mock imports authlib.jose, which Authlib deprecates
    warnings.simplefilter("ignore")
    from oidc_provider_mock import User
    from oidc_provider_mock import app as provider_app

CLIENT_ID = "genlens-test"
CLIENT_SECRET = "genlens-test-secret"


@contextmanager
def oidc_provider(users: Sequence[User] = ()) -> Iterator[str]:
    """The provider on a free port of 127.0.0.1, in a background thread; yields its issuer URL."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, provider_app(user_claims=users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


def auth_secrets(issuer: str, cookie_secret: str | None = None) -> str:
    """secrets.toml text with Streamlit's [auth] section for `issuer`.

    `{port}` in redirect_uri is Streamlit's own placeholder for server.port, so the file can be
    written before the server picks its port.
    """
    cookie_secret = cookie_secret or secrets.token_urlsafe(32)
    return (
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{cookie_secret}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
    )


def write_auth_secrets(path: Path, issuer: str) -> dict[str, str]:
    """Write the secrets file; returns the environment that points `streamlit run` at it only."""
    path.write_text(auth_secrets(issuer))
    return {"STREAMLIT_SECRETS_FILES": str(path)}


# --- driving the sign-in in a browser (Playwright pages) -------------------------------------------


def sign_in(page, base: str, issuer: str, sub: str) -> None:
    """From GenLens' sign-in page, through the provider's authorization page as `sub`, back to GenLens."""
    from tests.browser.helpers import wait_ready

    page.goto(base + "/")
    wait_ready(page, 'button:has-text("Sign in")')
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(issuer + "/oauth2/authorize**")
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(base + "/**")


def end_provider_session(page, base: str, issuer: str) -> None:
    """After st.logout: the provider's end-session page (RP-initiated logout), confirmed, back to GenLens."""
    page.wait_for_url(issuer + "/oauth2/end_session**")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(base + "/**")


def nav_labels(page) -> list[str]:
    """The page titles listed in the sidebar navigation, in order (icons left out)."""
    return page.locator('[data-testid="stSidebarNavLink"]').evaluate_all(
        "links => links.map(a => a.innerText.trim().split('\\n').pop().trim())"
    )
