"""The process's database: the configured URL, or the embedded server started and prepared here.

`get_database` is what pages, queries and writers ask for. The names that need no embedded server
(the `Database` handle, URLs, the engine and the transactions pages and writers run in) live in
`data_access/connection.py` and are re-exported here, so code above `data_access` imports them all
from this module; inside `data_access`, what the embedded start reaches (bootstrap, schema, demo,
facts) imports `connection` instead, so that no module imports itself back through this one.
"""

from __future__ import annotations

import functools
import threading

from data_access.config import load_settings
from data_access.connection import (
    Database,
    DatabaseUnavailable,
    build_engine,
    connect_args_for,
    describe_url,
    normalize_url,
    read_engine,
    read_only,
    read_write,
    replica_state,
    resolve_relation,
)

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "build_engine",
    "connect_args_for",
    "describe_url",
    "get_database",
    "normalize_url",
    "read_engine",
    "read_only",
    "read_write",
    "replica_state",
    "resolve_relation",
]

_lock = threading.Lock()


@functools.cache
def get_database() -> Database:
    """The process's database: configured URL, or the embedded server (migrated, with demo data)."""
    with _lock:
        settings = load_settings()
        # GENLENS_READ_URL: reads go to this streaming replica (the relation is resolved on the primary,
        # whose catalog the replica replays)
        reader = build_engine(settings.read_url, settings) if settings.read_url else None
        read_label = describe_url(settings.read_url) if settings.read_url else ""
        if settings.database_url:
            engine = build_engine(settings.database_url, settings)
            return Database(
                engine,
                settings,
                describe_url(settings.database_url),
                *resolve_relation(engine, settings),
                reader=reader,
                reader_label=read_label,
            )
        from data_access import embedded
        from data_access.bootstrap import prepare_embedded

        url = embedded.start(settings.data_dir / "pg")
        engine = build_engine(url, settings)
        prepare_embedded(engine, settings)
        return Database(
            engine,
            settings,
            "embedded demo database",
            *resolve_relation(engine, settings),
            reader=reader,
            reader_label=read_label,
        )


def started_database() -> Database | None:
    """The process's database if get_database() has made it, else None (a background task never
    starts or configures one itself)."""
    if not get_database.cache_info().currsize:
        return None
    return get_database()
