"""Who may see what: sign-in modes (GENLENS_AUTH), roles and the pages each role may open.

Pure Python, no Streamlit: ui/access.py draws the sign-in, queries/masking.py hides personal data.
Pages and ui/ import from here (the facade), not from the modules: `access.roles` (roles, sign-in
modes, page rights) and `access.passwords` (password hashes, the sign-in lockout). This package
imports data_access and queries, never generation (which imports it).
"""

from access.passwords import LOCKOUT, AuthError, LockedOut, Lockout, hash_password, verify_password
from access.roles import (
    MODES,
    PAGE_ROLES,
    ROLES,
    VIEWER_REPORTS,
    Principal,
    allows,
    anonymous,
    can_open,
    masking_forced,
    mode,
    oidc_principal,
    password_sign_in,
    role_from_claims,
    supabase_sign_in,
)

__all__ = [
    "LOCKOUT",
    "MODES",
    "PAGE_ROLES",
    "ROLES",
    "VIEWER_REPORTS",
    "AuthError",
    "LockedOut",
    "Lockout",
    "Principal",
    "allows",
    "anonymous",
    "can_open",
    "hash_password",
    "masking_forced",
    "mode",
    "oidc_principal",
    "password_sign_in",
    "role_from_claims",
    "supabase_sign_in",
    "verify_password",
]
