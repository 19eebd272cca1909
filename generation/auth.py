"""Who may start test generations.

- GENLENS_ADMIN_PASSWORD_HASH set: a password, checked against a scrypt hash
  (`scrypt$n$r$p$salt_b64$hash_b64`, made by `python -m generation.passwd`; PBKDF2 hashes
  `pbkdf2_sha256$iterations$salt_b64$hash_b64` are accepted too) in constant time.
- SUPABASE_URL and SUPABASE_ANON_KEY set: Supabase Auth (email + password through supabase-py),
  and the user's `app_metadata.role` must be "admin".
- Both set: the password, unless GENLENS_ADMIN_AUTH=supabase says otherwise.
- Neither: the page works only on the embedded demo database with the simulated provider; it is
  locked on any other database.

After 5 refused sign-ins within 10 minutes every sign-in is refused for 10 minutes (one counter for
the whole process, shared by all sessions). Passwords and keys are never logged or shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from access.passwords import (
    LOCK_S,
    LOCKOUT,
    MAX_FAILURES,
    SCRYPT_N,
    SCRYPT_P,
    SCRYPT_R,
    WINDOW_S,
    AuthError,
    LockedOut,
    Lockout,
    hash_password,
    verify_password,
)
from access.roles import supabase_sign_in as supabase_principal
from generation import settings

# Hashing and the lockout live in access.passwords (access never imports generation); re-exported
# here for the admin page and `python -m generation.passwd`.
__all__ = [
    "LOCK_S",
    "LOCKOUT",
    "MAX_FAILURES",
    "SCRYPT_N",
    "SCRYPT_P",
    "SCRYPT_R",
    "WINDOW_S",
    "Access",
    "Admin",
    "AuthError",
    "LockedOut",
    "Lockout",
    "access_mode",
    "check_password",
    "hash_password",
    "supabase_sign_in",
    "verify_password",
]


@dataclass(frozen=True)
class Admin:
    """A signed-in admin (or the demo mode's anonymous one). The token stays out of repr."""

    method: str  # password | supabase | demo
    user_id: str  # user_id of the test generations this admin starts
    email: str | None = None
    access_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Access:
    mode: str  # password | supabase | demo | locked
    message: str  # what the page says about it


def access_mode(demo_database: bool) -> Access:
    """How the admin page is unlocked here, from the settings (never reveals a secret)."""
    has_hash = bool(settings.get("GENLENS_ADMIN_PASSWORD_HASH"))
    has_supabase = bool(settings.get("SUPABASE_URL") and settings.get("SUPABASE_ANON_KEY"))
    wanted = (settings.get("GENLENS_ADMIN_AUTH") or "").lower()
    if wanted not in ("", "password", "supabase"):
        return Access("locked", "GENLENS_ADMIN_AUTH must be password or supabase.")
    if wanted == "supabase" or (has_supabase and not has_hash and wanted != "password"):
        if has_supabase:
            return Access("supabase", "Sign in with your Supabase account; it needs app_metadata.role = admin.")
        return Access("locked", "GENLENS_ADMIN_AUTH=supabase needs SUPABASE_URL and SUPABASE_ANON_KEY.")
    if has_hash:
        return Access("password", "Enter the admin password.")
    if demo_database:
        return Access(
            "demo",
            "No admin login is configured. Because GenLens is using its embedded demo database, you can run "
            "simulated test generations here; on any other database this page stays locked until "
            "GENLENS_ADMIN_PASSWORD_HASH or Supabase Auth is set up (docs/admin.md).",
        )
    return Access(
        "locked",
        "This page is locked: no admin login is configured. Set GENLENS_ADMIN_PASSWORD_HASH (make one with "
        "`python -m generation.passwd`) or SUPABASE_URL and SUPABASE_ANON_KEY for Supabase Auth; see docs/admin.md.",
    )


def check_password(password: str, lockout: Lockout = LOCKOUT) -> Admin:
    lockout.check()
    encoded = settings.get("GENLENS_ADMIN_PASSWORD_HASH")
    if not encoded:
        raise AuthError("No admin password is configured.")
    if not verify_password(password or "", encoded):
        lockout.failure()
        raise AuthError("Wrong password.")
    lockout.success()
    return Admin("password", settings.admin_user_id())


def supabase_sign_in(email: str, password: str, lockout: Lockout = LOCKOUT) -> Admin:
    """Sign in through Supabase Auth (supabase-py) and require app_metadata.role == "admin"."""
    who = supabase_principal(email, password, lockout)
    if who.role != "admin":
        lockout.failure()
        raise AuthError('This account is not an admin: its app_metadata.role must be "admin".')
    return Admin("supabase", who.user_id or settings.admin_user_id(), who.name, who.access_token)
