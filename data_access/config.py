"""Settings read from the environment or `.streamlit/secrets.toml`, validated once."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from data_access.sources import SOURCES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRETS_PATH = PROJECT_ROOT / ".streamlit" / "secrets.toml"  # read per call (tests point it elsewhere)
SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(ValueError):
    """A setting has a value GenLens cannot use; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None  # None: use the embedded PostgreSQL
    schema: str
    source: str  # shape of the data: generations (default), courses, generation_jobs, api_usage, stories
    view_schema: str  # where GenLens keeps its own objects for a non-default source
    query_timeout_ms: int
    stale_pending_minutes: int
    cache_ttl_seconds: int
    data_dir: Path
    pool_size: int = 5
    pool_timeout_s: int = 10
    work_mem_mb: int = 64
    use_facts: bool = True  # GENLENS_FACTS=0: always read generations directly (no facts table)
    export_timeout_ms: int = 0  # statement timeout of exports (CLI, full downloads); 0: none
    fold_every_ms: int = 2000  # the dashboard's folding thread; 0: off (pages still fold on read)
    error_quiet_days: int = 7  # an error group quiet this many days is resolved; back after that, regressed
    read_url: str | None = None  # GENLENS_READ_URL: a streaming replica pages and reports read

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def _secrets_url(path: Path | None = None) -> str | None:
    path = path or SECRETS_PATH
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f".streamlit/secrets.toml cannot be read: {exc}") from None
    return data.get("connections", {}).get("genlens", {}).get("url") or None


def setting(name: str, default: str | None = None) -> str | None:
    """A setting from the environment, else a top-level key of .streamlit/secrets.toml, else `default`."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    path = SECRETS_PATH
    if path.exists():
        try:
            value = tomllib.loads(path.read_text()).get(name)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f".streamlit/secrets.toml cannot be read: {exc}") from None
        if isinstance(value, (str, int, float)) and str(value).strip():
            return str(value).strip()
    return default


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def validate_schema(name: str) -> str:
    """Schema names become identifiers in SQL, so only plain lower-case names pass."""
    if not SCHEMA_RE.match(name):
        raise ConfigError(f"GENLENS_SCHEMA must be a plain lower-case identifier (letters, digits, _), got {name!r}")
    return name


def _source(name: str) -> str:
    if name not in SOURCES:
        raise ConfigError(f"GENLENS_SOURCE must be one of {', '.join(SOURCES)}, got {name!r}")
    return name


def load_settings() -> Settings:
    url = os.environ.get("DATABASE_URL", "").strip() or _secrets_url()
    data_dir = os.environ.get("GENLENS_DATA_DIR", "").strip()
    return Settings(
        database_url=url,
        schema=validate_schema(os.environ.get("GENLENS_SCHEMA", "").strip() or "public"),
        source=_source(os.environ.get("GENLENS_SOURCE", "").strip() or "generations"),
        view_schema=validate_schema(os.environ.get("GENLENS_VIEW_SCHEMA", "").strip() or "genlens"),
        query_timeout_ms=_int("GENLENS_QUERY_TIMEOUT_MS", 15000, minimum=1),
        stale_pending_minutes=_int("GENLENS_STALE_PENDING_MINUTES", 15, minimum=1),
        error_quiet_days=_int("GENLENS_ERROR_QUIET_DAYS", 7, minimum=1),
        cache_ttl_seconds=_int("GENLENS_CACHE_TTL", 60, minimum=0),
        data_dir=Path(data_dir) if data_dir else PROJECT_ROOT / ".genlens-data",
        pool_size=_int("GENLENS_POOL_SIZE", 5, minimum=1),
        pool_timeout_s=_int("GENLENS_POOL_TIMEOUT_S", 10, minimum=1),
        work_mem_mb=_int("GENLENS_WORK_MEM_MB", 64, minimum=1),
        use_facts=_flag("GENLENS_FACTS", True),
        export_timeout_ms=_int("GENLENS_EXPORT_TIMEOUT_MS", 0, minimum=0),
        fold_every_ms=_int("GENLENS_FOLD_EVERY_MS", 2000, minimum=0),
        read_url=setting("GENLENS_READ_URL"),
    )
