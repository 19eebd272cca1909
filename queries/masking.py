"""Masking of personal data, on the server, before any value reaches a page or a CSV.

Prompts, responses, error messages and the request's free text pass through redaction of emails,
phone numbers, UUID-like ids and configurable patterns (GENLENS_MASK_PATTERNS: regular expressions
separated by `;;`; GENLENS_MASK_NAMES_FROM: `schema.table.column` whose distinct values, e.g. children's
names, are redacted as words). User ids become stable short hashes (HMAC with GENLENS_MASK_SALT), so a
viewer can still count distinct users. The policy is set per run (a context variable) by ui/access.py
or the CLI; queries.core.fetch and streaming apply it to every result.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import text

from data_access.config import ConfigError, setting
from data_access.engine import get_database, read_only

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE = r"(?<![\w-])\+?\d[\d ().-]{7,}\d(?![\w-])"
UUID_LIKE = r"\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b"

TEXT_COLUMNS = {
    "prompt",
    "error_message",
    "error_signature",
    "hero_appearance",
    "relationship_description",
    "moral",
    "full_response",
    "example_error",
}
USER_COLUMNS = {"user_id"}


@dataclass(frozen=True)
class MaskPolicy:
    enabled: bool = False
    salt: bytes = b"genlens"
    patterns: tuple[str, ...] = ()
    names: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        """Distinguishes cached results computed under different policies."""
        if not self.enabled:
            return "plain"
        digest = hashlib.sha256(repr((self.salt, self.patterns, self.names)).encode()).hexdigest()[:12]
        return f"masked-{digest}"


PLAIN = MaskPolicy()
_policy: ContextVar[MaskPolicy] = ContextVar("genlens_mask_policy", default=PLAIN)


def current() -> MaskPolicy:
    return _policy.get()


def set_policy(policy: MaskPolicy) -> None:
    _policy.set(policy)


@contextmanager
def using(policy: MaskPolicy):
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


_compiled: dict[tuple, re.Pattern] = {}


def _regex(policy: MaskPolicy) -> re.Pattern:
    key = (policy.patterns, policy.names)
    if key not in _compiled:
        parts = [EMAIL, UUID_LIKE, PHONE, *policy.patterns]
        names = sorted({n for n in policy.names if n and len(n) >= 2}, key=len, reverse=True)
        if names:
            parts.append(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b")
        _compiled[key] = re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)
    return _compiled[key]


def mask_text(value, policy: MaskPolicy | None = None):
    policy = policy or current()
    if not policy.enabled or value is None or (isinstance(value, float) and value != value):
        return value
    if isinstance(value, (dict, list)):
        return json.loads(mask_text(json.dumps(value, ensure_ascii=False), policy))
    return _regex(policy).sub("[redacted]", str(value))


def hash_user(value, policy: MaskPolicy | None = None):
    policy = policy or current()
    if not policy.enabled or value is None or (isinstance(value, float) and value != value):
        return value
    digest = hmac.new(policy.salt, str(value).lower().encode(), hashlib.sha256).hexdigest()[:10]
    return f"user-{digest}"


def _column(name: str, value, policy: MaskPolicy):
    if name in USER_COLUMNS:
        return hash_user(str(value) if isinstance(value, uuid.UUID) else value, policy)
    if name in TEXT_COLUMNS:
        return mask_text(value, policy)
    return value


def apply_frame(df: pd.DataFrame, policy: MaskPolicy | None = None) -> pd.DataFrame:
    """The frame with personal columns masked (a copy), or the frame itself when masking is off."""
    policy = policy or current()
    cols = [c for c in df.columns if c in TEXT_COLUMNS or c in USER_COLUMNS]
    if not policy.enabled or not cols or df.empty:
        return df
    df = df.copy()
    for c in cols:
        df[c] = [_column(c, v, policy) for v in df[c]]
    return df


def apply_rows(columns: list[str], rows: Iterable[tuple], policy: MaskPolicy | None = None) -> Iterable[tuple]:
    """The rows masked lazily, one at a time; the rows themselves when masking is off."""
    policy = policy or current()
    if not policy.enabled or not any(c in TEXT_COLUMNS or c in USER_COLUMNS for c in columns):
        return rows
    return (tuple(_column(c, v, policy) for c, v in zip(columns, row, strict=False)) for row in rows)


def masking_forced() -> bool:
    """GENLENS_MASK=1: mask personal data for every role, not only viewers."""
    return (setting("GENLENS_MASK") or "0").lower() in ("1", "true", "yes")


def policy_from_settings(enabled: bool) -> MaskPolicy:
    """The masking policy of this deployment (salt, patterns, names from a column), on or off."""
    if not enabled:
        return PLAIN
    salt = (setting("GENLENS_MASK_SALT") or "genlens-default-salt").encode()
    patterns = tuple(p for p in (setting("GENLENS_MASK_PATTERNS") or "").split(";;") if p.strip())
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ConfigError(f"GENLENS_MASK_PATTERNS: {p!r} is not a valid regular expression: {exc}") from None
    names = tuple(_names_from_column(setting("GENLENS_MASK_NAMES_FROM")))
    return MaskPolicy(True, salt, patterns, names)


_NAME_COLUMN = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$")
_names_cache: dict[str, list[str]] = {}


def _names_from_column(spec: str | None) -> list[str]:
    if not spec:
        return []
    if spec in _names_cache:
        return _names_cache[spec]
    m = _NAME_COLUMN.match(spec.strip())
    if not m:
        raise ConfigError("GENLENS_MASK_NAMES_FROM must be schema.table.column, e.g. tales.stories.child_name")
    schema, tbl, col = m.groups()  # each matched the identifier pattern above
    # read directly (not through queries.core.fetch, which masks with this very policy)
    with read_only(get_database()) as conn:
        names = conn.execute(
            text(f'SELECT DISTINCT "{col}" AS name FROM "{schema}"."{tbl}" WHERE "{col}" IS NOT NULL LIMIT 100000')
        ).scalars()
        _names_cache[spec] = [str(v) for v in names]
    return _names_cache[spec]
