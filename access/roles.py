"""Roles, sign-in modes and the checks behind them.

GENLENS_AUTH picks how people sign in:
- none (default): open; everyone is an analyst, the admin page keeps its own lock (docs/admin.md);
- password: shared passwords per role, stored only as hashes: GENLENS_VIEWER_PASSWORD_HASH,
  GENLENS_ANALYST_PASSWORD_HASH, GENLENS_ADMIN_PASSWORD_HASH (`python -m generation.passwd`; hashing and
  the lockout: access.passwords);
- supabase: Supabase Auth (SUPABASE_URL, SUPABASE_ANON_KEY), role from app_metadata.role;
- oidc: Streamlit's st.login with [auth] in .streamlit/secrets.toml; who may enter is limited by
  GENLENS_ALLOWED_DOMAINS / GENLENS_ALLOWED_EMAILS, the role comes from a `role`/`roles` claim or from
  GENLENS_ADMIN_EMAILS / GENLENS_ANALYST_EMAILS; everyone else allowed in is a viewer.
Settings come from the environment or top-level keys of .streamlit/secrets.toml
(data_access.config.setting). This package never imports `generation` (which imports it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from access.passwords import LOCKOUT, AuthError, Lockout, verify_password
from data_access.config import ConfigError, setting
from queries.masking import masking_forced
from queries.policy import VIEWER_REPORTS

# VIEWER_REPORTS (reports a viewer may export) and masking_forced() (GENLENS_MASK) are defined in
# queries/, which the export CLI shares and which must not import access; re-exported here.
__all__ = [
    "MODES",
    "PAGE_ROLES",
    "ROLES",
    "VIEWER_REPORTS",
    "Principal",
    "allows",
    "anonymous",
    "can_open",
    "masking_forced",
    "mode",
    "oidc_principal",
    "password_sign_in",
    "role_from_claims",
    "supabase_sign_in",
]

ROLES = ("viewer", "analyst", "admin")
MODES = ("none", "password", "supabase", "oidc")

# The least role that may open each page (keys as in ui/links.PAGE_FILES).
PAGE_ROLES = {
    "overview": "viewer",
    "reliability": "viewer",
    "cost": "viewer",
    "errors": "viewer",
    "reports": "viewer",
    "explorer": "analyst",
    "generation": "analyst",
    "admin": "admin",
    "audit": "admin",
}


@dataclass(frozen=True)
class Principal:
    """Who is signed in. `name` is what the audit trail records (an email, or the role's name)."""

    name: str
    role: str
    method: str  # none | password | supabase | oidc
    user_id: str | None = None
    access_token: str | None = field(default=None, repr=False)

    def allows(self, need: str) -> bool:
        return allows(self.role, need)


def allows(role: str, need: str) -> bool:
    return ROLES.index(role) >= ROLES.index(need)


def can_open(role: str, page: str) -> bool:
    return allows(role, PAGE_ROLES[page])


def mode() -> str:
    m = (setting("GENLENS_AUTH") or "none").lower()
    if m not in MODES:
        raise ConfigError(f"GENLENS_AUTH must be one of {', '.join(MODES)}, got {m[:40]!r}")
    return m


def anonymous() -> Principal:
    """Open access (GENLENS_AUTH=none): every page, as before sign-in existed; the admin page keeps
    its own lock (docs/admin.md)."""
    return Principal("anonymous", "admin", "none")


def password_sign_in(password: str, lockout: Lockout = LOCKOUT) -> Principal:
    """The role whose password hash matches (admin first), or AuthError; counts toward the lockout."""
    lockout.check()
    hashes = {role: setting(f"GENLENS_{role.upper()}_PASSWORD_HASH") for role in reversed(ROLES)}
    if not any(hashes.values()):
        raise AuthError("No role passwords are configured (GENLENS_VIEWER/ANALYST/ADMIN_PASSWORD_HASH).")
    for role, encoded in hashes.items():
        if encoded and verify_password(password or "", encoded):
            lockout.success()
            return Principal(role, role, "password")
    lockout.failure()
    raise AuthError("Wrong password.")


def _list(name: str) -> set[str]:
    return {v.strip().lower() for v in (setting(name) or "").split(",") if v.strip()}


def role_from_claims(email: str | None, claims: dict) -> str:
    """admin / analyst from a role claim or the email lists; everyone else is a viewer."""
    claimed = claims.get("role") or claims.get("roles") or (claims.get("app_metadata") or {}).get("role")
    claimed = claimed if isinstance(claimed, list) else [claimed]
    for role in ("admin", "analyst", "viewer"):
        if role in claimed:
            return role
    e = (email or "").lower()
    if e and e in _list("GENLENS_ADMIN_EMAILS"):
        return "admin"
    if e and e in _list("GENLENS_ANALYST_EMAILS"):
        return "analyst"
    return "viewer"


def oidc_principal(claims: dict) -> Principal:
    """The signed-in OIDC user, if the allow rules let them in; AuthError otherwise."""
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise AuthError("Your identity provider did not share an email address.")
    if str(claims.get("email_verified")).strip().lower() == "false":  # some providers send a string
        raise AuthError("Your email address is not verified with your identity provider.")
    domains, emails = _list("GENLENS_ALLOWED_DOMAINS"), _list("GENLENS_ALLOWED_EMAILS")
    staff = _list("GENLENS_ADMIN_EMAILS") | _list("GENLENS_ANALYST_EMAILS")
    if not (domains or emails or staff):
        raise AuthError("Nobody is allowed in yet: set GENLENS_ALLOWED_DOMAINS or GENLENS_ALLOWED_EMAILS.")
    local, _, domain = email.rpartition("@")
    if not ((local and domain in domains) or email in emails or email in staff):
        raise AuthError(f"{email} is not allowed to open this dashboard.")
    return Principal(email, role_from_claims(email, claims), "oidc", str(claims.get("sub") or "") or None)


def supabase_sign_in(email: str, password: str, lockout: Lockout = LOCKOUT) -> Principal:
    """Supabase Auth (email and password); the role is app_metadata.role (viewer when unset)."""
    lockout.check()
    url, key = setting("SUPABASE_URL"), setting("SUPABASE_ANON_KEY")
    if not (url and key):
        raise AuthError("Supabase Auth is not configured (SUPABASE_URL, SUPABASE_ANON_KEY).")
    if not email or not password:
        raise AuthError("Enter your email and password.")
    from supabase import create_client
    from supabase.lib.client_options import SyncClientOptions
    from supabase_auth.errors import AuthApiError, AuthRetryableError

    try:
        client = create_client(url, key, options=SyncClientOptions(auto_refresh_token=False, persist_session=False))
        response = client.auth.sign_in_with_password({"email": email.strip(), "password": password})
    except AuthRetryableError:
        raise AuthError("Supabase Auth cannot be reached; try again later.") from None
    except AuthApiError as exc:
        if exc.status in (400, 401, 403, 422):
            lockout.failure()
            raise AuthError("Wrong email or password.") from None
        raise AuthError(f"Supabase Auth answered HTTP {exc.status}; try again later.") from None
    except Exception as exc:  # noqa: BLE001 - network trouble: say so, count nothing
        raise AuthError(f"Supabase Auth cannot be reached ({type(exc).__name__}).") from None
    user = response.user
    if user is None:
        lockout.failure()
        raise AuthError("Wrong email or password.")
    lockout.success()
    role = (user.app_metadata or {}).get("role")
    token = response.session.access_token if response.session else None
    return Principal(user.email or email, role if role in ROLES else "viewer", "supabase", user.id, token)
