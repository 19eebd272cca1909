"""Reaching a PostgreSQL server: URLs, the engine, the `Database` handle and its transactions.

Everything here works on a URL or an engine already in hand and never starts the embedded server,
so the modules that prepare that server (bootstrap and what it uses) can import it; the process's
one database, `get_database`, is in `data_access/engine.py`, which re-exports these names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, create_engine, make_url, text

from data_access import replica
from data_access.config import Settings


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message says what to check."""


def normalize_url(url: str) -> str:
    """Accept postgres://, postgresql:// and postgresql+psycopg:// URLs; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def describe_url(url: str) -> str:
    """host:port/database for display; never the password or the user."""
    u = make_url(normalize_url(url))
    host = u.host or u.query.get("host") or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    port = f":{u.port}" if u.port else ""
    return f"{host}{port}/{u.database or ''}"


@dataclass(frozen=True)
class Database:
    engine: Engine
    settings: Settings
    label: str  # what the sidebar shows: "embedded demo" or host/database
    relation: str = ""  # what queries read FROM: the table, GenLens' view, or an inline subquery
    inline: bool = False  # True when GenLens may not create its view and reads through a subquery
    # GENLENS_READ_URL: a streaming replica that pages, reports and exports read (the primary, `engine`,
    # gets every write: folding, error groups, migrations, the audit trail, test generations)
    reader: Engine | None = None
    reader_label: str = ""

    @property
    def schema(self) -> str:
        return self.settings.schema

    @property
    def source(self) -> str:
        return self.settings.source


def resolve_relation(engine: Engine, settings: Settings) -> tuple[str, bool]:
    """(FROM text, inline?) for the configured source; identifiers come from validated settings."""
    from data_access.sources import get_source, view_name

    source = get_source(settings.source)
    if source.name == "generations":
        return f'"{settings.schema}".generations', False
    view = f'"{settings.view_schema}"."{view_name(settings.schema, source)}"'
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT to_regclass(:v)"), {"v": view}).scalar()
    except Exception:  # unreachable now: pages will say so when they query
        found = None
    if found is not None:
        return view, False
    # GenLens may not create anything here: read the source through the same SELECT, inlined.
    return f"({source.relation_sql(settings.schema)})", True


def connect_args_for(url: str) -> dict:
    args: dict = {"connect_timeout": 10}
    # Supabase's transaction pooler (port 6543) cannot keep prepared statements.
    if make_url(normalize_url(url)).port == 6543:
        args["prepare_threshold"] = None
    return args


def build_engine(url: str, settings: Settings | None = None) -> Engine:
    """The process's engine: bounded pool (GENLENS_POOL_SIZE, no overflow), pre-ping, connect timeout."""
    url = normalize_url(url)
    size, timeout = (settings.pool_size, settings.pool_timeout_s) if settings else (5, 10)
    return create_engine(
        url,
        # pre-ping: after a database restart the next rerun reconnects instead of failing.
        pool_pre_ping=True,
        pool_size=size,
        max_overflow=0,
        pool_timeout=timeout,
        connect_args=connect_args_for(url),
    )


def read_engine(db: Database) -> Engine:
    """The engine reads go through: the replica while it answers, else the primary."""
    if db.reader is None:
        return db.engine
    return db.reader if replica.check(db.reader).usable else db.engine


def replica_state(db: Database) -> replica.Replica | None:
    """How the read replica is (None when GENLENS_READ_URL is unset)."""
    return None if db.reader is None else replica.check(db.reader)


@contextmanager
def read_only(db: Database, timeout_ms: int | None = None) -> Iterator[Connection]:
    """A read-only transaction under the statement timeout: what every page query runs in.

    `timeout_ms` replaces GENLENS_QUERY_TIMEOUT_MS for a long job (an export: 0 is no limit). It
    reads the replica (GENLENS_READ_URL) while that answers.
    """
    timeout = db.settings.query_timeout_ms if timeout_ms is None else timeout_ms
    with read_engine(db).connect() as conn:
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout)}"))
            # Aggregates over a month of attempts spill their hashes and sorts to disk at the default
            # 4MB; 64MB took the 1M-attempt summary from 11.3 s to 4.8 s (BENCHMARKS.md, levers).
            conn.execute(text(f"SET LOCAL work_mem = '{int(db.settings.work_mem_mb)}MB'"))
            # psycopg prepares a statement after 5 runs, and PostgreSQL may then switch it to a generic
            # plan that guesses a window of a few thousand rows: pages took minutes at 1M attempts
            # (bench/NOTES.md). Plan every query for its actual window.
            conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            yield conn


@contextmanager
def read_write(db: Database) -> Iterator[Connection]:
    """A writing transaction (migrations, demo data, the admin page), also under the timeout."""
    with db.engine.connect() as conn:
        with conn.begin():
            conn.execute(text(f"SET LOCAL statement_timeout = {int(db.settings.query_timeout_ms)}"))
            yield conn
