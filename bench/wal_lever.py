"""One load lever that needs a server setting: wal_level = minimal (no WAL for a COPY into a table
truncated in the same transaction, nor for the index builds after it). The embedded demo server
replicates nothing, so it could run with it; this measures what it would give.

    python -m bench.wal_lever [--attempts 200000]

Starts two fresh embedded servers in turn (default settings, then wal_level = minimal) and runs the
same demo load into each; prints one line per server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _write_settings(pgdata: Path, settings: dict[str, str]) -> None:
    with open(pgdata / "postgresql.auto.conf", "a") as fh:
        for k, v in settings.items():
            fh.write(f"{k} = '{v}'\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.wal_lever")
    p.add_argument("--attempts", type=int, default=200_000)
    args = p.parse_args(argv)
    from sqlalchemy import create_engine

    from bench.__main__ import DAYS, END
    from bench.db import BenchDb, _postmaster
    from bench.load import generations_for, timed_load
    from data_access import embedded

    for label, settings in (
        ("wal_level replica (default)", {}),
        ("wal_level minimal, max_wal_senders 0", {"wal_level": "minimal", "max_wal_senders": "0"}),
    ):
        root = Path(tempfile.mkdtemp(prefix="genlens-wal-", dir=os.environ.get("GENLENS_BENCH_TMP")))
        pgdata = root / "pg"
        if settings:
            # initdb + start once, write the settings, stop: the next start reads them.
            embedded.start(pgdata)
            _write_settings(pgdata, settings)
            embedded.stop(pgdata)
        url = embedded.start(pgdata, delete_on_exit=True)
        engine = create_engine(url)
        db = BenchDb(url, engine, True, pgdata, _postmaster(engine))
        try:
            r = timed_load(db, "bench_wal", generations_for(args.attempts), DAYS, 7, END, label)
            print(
                f"{label}: wal_level={db.setting('wal_level')}: {r.attempts:,} attempts in {r.wall_s:.1f} s"
                f" = {r.rate:,.0f}/s; server CPU {r.per_row_us(r.server_cpu_s):.1f} µs/attempt,"
                f" client {r.per_row_us(r.client_cpu_s):.1f} µs; streaming {r.copy_s:.1f} s, indexes {r.index_s:.1f} s",
                flush=True,
            )
        finally:
            db.close()
            subprocess.run(["rm", "-rf", str(root)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
