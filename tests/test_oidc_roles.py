"""Who an OpenID Connect sign-in lets in, and with which role (access.roles.oidc_principal, role_from_claims).

The claims are what st.user holds after st.login: the ID token's claims plus Streamlit's own keys.
"""

from __future__ import annotations

import pytest

from access import roles
from access.passwords import AuthError
from data_access import config

SETTINGS = (
    "GENLENS_ALLOWED_DOMAINS",
    "GENLENS_ALLOWED_EMAILS",
    "GENLENS_ADMIN_EMAILS",
    "GENLENS_ANALYST_EMAILS",
)


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch, tmp_path):
    """No allow list from the machine's environment or the project's secrets.toml."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "SECRETS_PATH", tmp_path / "secrets.toml")
    return tmp_path / "secrets.toml"


def claims(email, **extra) -> dict:
    """st.user.to_dict() after a sign-in: ID token claims and Streamlit's keys."""
    return {
        "is_logged_in": True,
        "provider": "default",
        "origin": "http://127.0.0.1:8501",
        "iss": "https://idp.example.com",
        "sub": "sub-" + str(email),
        "email": email,
        **extra,
    }


def refused(c: dict) -> str:
    with pytest.raises(AuthError) as info:
        roles.oidc_principal(c)
    return str(info.value)


def test_nobody_is_allowed_in_until_a_rule_is_set():
    assert "GENLENS_ALLOWED_DOMAINS" in refused(claims("vi@example.com", email_verified=True))


def test_allowed_domain_lets_in_a_viewer(monkeypatch):
    monkeypatch.setenv("GENLENS_ALLOWED_DOMAINS", "example.com, other.org")
    who = roles.oidc_principal(claims("Vi@Example.COM", email_verified=True, name="Vi"))
    assert who == roles.Principal("vi@example.com", "viewer", "oidc", "sub-Vi@Example.COM")
    assert roles.oidc_principal(claims("x@other.org")).role == "viewer"  # no email_verified claim: allowed


@pytest.mark.parametrize(
    "email",
    [
        "eve@evil.test",
        "eve@sub.example.com",
        "eve@notexample.com",
        "eve@example.com.evil.test",
        "example.com@evil.test",
    ],
)
def test_other_domains_are_refused_by_name(monkeypatch, email):
    monkeypatch.setenv("GENLENS_ALLOWED_DOMAINS", "example.com")
    assert refused(claims(email)) == f"{email} is not allowed to open this dashboard."


def test_no_email_and_unverified_email_are_refused(monkeypatch):
    monkeypatch.setenv("GENLENS_ALLOWED_DOMAINS", "example.com")
    assert "did not share an email" in refused(claims(None))
    assert "did not share an email" in refused(claims("   "))
    assert "not verified" in refused(claims("vi@example.com", email_verified=False))


def test_allowed_emails_and_staff_lists_let_people_in_from_any_domain(monkeypatch):
    monkeypatch.setenv("GENLENS_ALLOWED_EMAILS", " Guest@Partner.test ,")
    monkeypatch.setenv("GENLENS_ANALYST_EMAILS", "ana@contractor.test")
    monkeypatch.setenv("GENLENS_ADMIN_EMAILS", "root@ops.test")
    assert roles.oidc_principal(claims("guest@partner.test")).role == "viewer"
    assert roles.oidc_principal(claims("ANA@contractor.test")).role == "analyst"
    assert roles.oidc_principal(claims("root@ops.test")).role == "admin"
    assert "not allowed" in refused(claims("other@partner.test"))


def test_settings_come_from_top_level_keys_of_secrets_toml(clean_settings):
    clean_settings.write_text(
        'GENLENS_ALLOWED_DOMAINS = "example.com"\nGENLENS_ADMIN_EMAILS = "boss@example.com"\n'
        '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
    )
    assert roles.oidc_principal(claims("boss@example.com")).role == "admin"
    assert roles.oidc_principal(claims("vi@example.com")).role == "viewer"
    assert "not allowed" in refused(claims("eve@evil.test"))


def test_environment_wins_over_secrets_toml(clean_settings, monkeypatch):
    clean_settings.write_text('GENLENS_ALLOWED_DOMAINS = "example.com"\n')
    monkeypatch.setenv("GENLENS_ALLOWED_DOMAINS", "other.org")
    assert "not allowed" in refused(claims("vi@example.com"))


@pytest.mark.parametrize(
    ("extra", "role"),
    [
        ({"role": "admin"}, "admin"),
        ({"role": "analyst"}, "analyst"),
        ({"roles": ["reader", "analyst"]}, "analyst"),  # Microsoft Entra app roles, Keycloak mappers
        ({"roles": ["analyst", "admin"]}, "admin"),  # the highest wins
        ({"app_metadata": {"role": "admin"}}, "admin"),  # Supabase-shaped tokens
        ({"role": "superuser"}, "viewer"),  # unknown names give nothing
        ({}, "viewer"),
    ],
)
def test_role_from_a_claim(extra, role):
    assert roles.role_from_claims("vi@example.com", extra) == role


def test_role_from_the_email_lists(monkeypatch):
    monkeypatch.setenv("GENLENS_ADMIN_EMAILS", "boss@example.com")
    monkeypatch.setenv("GENLENS_ANALYST_EMAILS", "ana@example.com, boss@example.com")
    assert roles.role_from_claims("Boss@Example.com", {}) == "admin"  # admin list first
    assert roles.role_from_claims("ana@example.com", {}) == "analyst"
    assert roles.role_from_claims("vi@example.com", {}) == "viewer"
    assert roles.role_from_claims(None, {}) == "viewer"
    # A role claim decides before the lists do.
    assert roles.role_from_claims("ana@example.com", {"role": "admin"}) == "admin"


def test_principal_of_a_role_claim_and_what_it_may_open(monkeypatch):
    monkeypatch.setenv("GENLENS_ALLOWED_DOMAINS", "example.com")
    boss = roles.oidc_principal(claims("boss@example.com", roles=["admin"]))
    assert (boss.role, boss.method) == ("admin", "oidc")
    vi = roles.oidc_principal(claims("vi@example.com"))
    opens = {page for page in roles.PAGE_ROLES if roles.can_open(vi.role, page)}
    assert opens == {"overview", "reliability", "cost", "errors", "reports"}
    ana = roles.Principal("ana@example.com", roles.role_from_claims("ana@example.com", {"role": "analyst"}), "oidc")
    assert {p for p in roles.PAGE_ROLES if not ana.allows(roles.PAGE_ROLES[p])} == {"admin", "audit"}


# --- edge cases of the claims --------------------------------------------------------------------------


def test_email_verified_sent_as_a_string_is_honoured(monkeypatch):
    monkeypatch.setenv("GENLENS_ALLOWED_DOMAINS", "example.com")
    assert "not verified" in refused(claims("vi@example.com", email_verified="false"))


def test_an_email_without_at_sign_is_refused(monkeypatch):
    monkeypatch.setenv("GENLENS_ALLOWED_DOMAINS", "example.com")
    refused(claims("example.com"))
