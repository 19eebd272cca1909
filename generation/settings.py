"""Admin settings from the environment or `.streamlit/secrets.toml` (top-level keys), read per call
through data_access.config.setting.

Secrets (API keys, the password hash) are read here and handed to the code that needs them; they
are never logged, shown on a page or put into an error message.
"""

from __future__ import annotations

import math
import uuid

from data_access.config import ConfigError, setting

# The user_id of test generations started with the password login (Supabase Auth uses the user's id).
DEFAULT_ADMIN_USER_ID = "00000000-0000-4000-8000-00000000ad01"


def get(name: str, default: str | None = None) -> str | None:
    """The environment's value, else secrets.toml's top-level key of that name, else `default`
    (data_access.config.setting, GenLens' one settings reader)."""
    return setting(name, default)


def first(*names: str) -> str | None:
    for n in names:
        v = get(n)
        if v:
            return v
    return None


def number(name: str, default: float, minimum: float = 0.0, maximum: float = math.inf) -> float:
    raw = get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw[:40]!r}") from None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum:g} and {maximum:g}, got {value:g}")
    return value


def admin_user_id() -> str:
    raw = get("GENLENS_ADMIN_USER_ID", DEFAULT_ADMIN_USER_ID)
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ConfigError(f"GENLENS_ADMIN_USER_ID must be a UUID, got {raw[:40]!r}") from None


def admin_database_url() -> str | None:
    return get("GENLENS_ADMIN_DATABASE_URL")


def sim_latency_scale() -> float:
    """Simulated latencies are the demo profiles' times this factor (0.05: a 6 s attempt takes 0.3 s)."""
    return number("GENLENS_SIM_LATENCY_SCALE", 0.05, 0.0, 10.0)


def backoff_seconds() -> float:
    """Base of the exponential backoff between attempts: base, 2*base, 4*base... (capped at 30 s)."""
    return number("GENLENS_ADMIN_BACKOFF_S", 1.0, 0.0, 60.0)
