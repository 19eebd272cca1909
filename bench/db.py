"""The benchmark's database: a fresh embedded PostgreSQL under a temp dir, or a fresh schema in a
given database; and CPU accounting of the server's processes."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import Engine, create_engine, text

from data_access.engine import normalize_url


@dataclass
class BenchDb:
    url: str  # SQLAlchemy URL (postgresql+psycopg://)
    engine: Engine
    embedded: bool
    pgdata: Path | None = None
    postmaster: psutil.Process | None = None  # None when the server is not local

    def server_cpu(self) -> float | None:
        """CPU seconds used so far by the server's processes (postmaster and every child)."""
        if self.postmaster is None:
            return None
        total = 0.0
        for p in [self.postmaster, *self.postmaster.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                continue
        return total

    def setting(self, name: str) -> str:
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT current_setting(:n)"), {"n": name}).scalar()

    def version(self) -> str:
        with self.engine.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar()

    def close(self) -> None:
        self.engine.dispose()
        if self.embedded and self.pgdata is not None:
            from data_access import embedded

            embedded.stop(self.pgdata)
            # The wheel skips the stop when its pid ledger lists another process (e.g. after a
            # signal); this server was started by us for the benchmark: stop it (fast shutdown).
            if self.postmaster is not None and self.postmaster.is_running():
                self.postmaster.send_signal(signal.SIGINT)
                try:
                    self.postmaster.wait(30)
                except psutil.TimeoutExpired:
                    pass
            shutil.rmtree(self.pgdata.parent, ignore_errors=True)


def _postmaster(engine: Engine) -> psutil.Process | None:
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    try:
        backend = psutil.Process(pid)
        return backend.parent()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None  # a remote server


def open_db(database_url: str | None) -> BenchDb:
    """Start a fresh embedded server in a temp dir, or connect to `database_url`."""
    if database_url:
        url = normalize_url(database_url)
        engine = create_engine(url, pool_size=5)
        return BenchDb(url, engine, False, None, _postmaster(engine))
    from data_access import embedded

    root = Path(tempfile.mkdtemp(prefix="genlens-bench-", dir=os.environ.get("GENLENS_BENCH_TMP")))
    pgdata = root / "pg"
    url = embedded.start(pgdata, delete_on_exit=True)
    engine = create_engine(url, pool_size=5)
    return BenchDb(url, engine, True, pgdata, _postmaster(engine))


def fresh_schema(db: BenchDb, schema: str) -> None:
    """Drop and re-create `schema` with the migrated (empty) generations table."""
    from data_access.migrate import apply_migrations

    with db.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    apply_migrations(db.engine, schema)


def drop_schema(db: BenchDb, schema: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
