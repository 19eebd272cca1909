"""python -m bench.export [--attempts 1000000] [--days 30] [--database-url URL --schema S]

The attempts export against PostgreSQL's own `COPY (SELECT ...) TO STDOUT WITH CSV` of the same
query, in the same run: wall time, rows/s, MB/s and the peak RSS of each as its own process.
`python -m queries.export` is run as cron runs it (a subprocess writing --output); "row objects"
is the path exports took before (SQLAlchemy rows of a server-side cursor through csv_lines), for
comparison. Without --schema, N demo attempts are loaded into a fresh embedded PostgreSQL first.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

COPY_SCRIPT = """
import sys
from queries import reports
from queries.core import driver_statement
from data_access.engine import get_database, read_only
from bench.export import window
f = window(int(sys.argv[1]))
db = get_database()
s = reports.report_sql("attempts", f, db)
with read_only(db, 0) as conn, open(sys.argv[2], "wb") as out:
    q, v = driver_statement(s.text, s.params, s.expanding, conn.dialect)
    with conn.connection.driver_connection.cursor() as cur:
        with cur.copy(f"COPY ({q}) TO STDOUT WITH CSV HEADER", v) as copy:
            while data := copy.read():
                out.write(data)
"""

ROWS_SCRIPT = """
import sys
from queries import core, reports
from queries.csv_format import csv_lines
from data_access.engine import get_database, read_only
from bench.export import window
f = window(int(sys.argv[1]))
db = get_database()
s = reports.report_sql("attempts", f, db)
with read_only(db, 0) as conn, open(sys.argv[2], "w", newline="", encoding="utf-8") as out:
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(
        core.statement(s.text, s.params, s.expanding), s.params
    )
    for line in csv_lines(list(result.keys()), result):
        out.write(line)
"""


def window(days: int):
    from bench.__main__ import window as bench_window

    return bench_window(days)


def run(label: str, cmd: list[str], env: dict, target: Path) -> dict:
    """Run `cmd`, sampling its RSS every 50 ms; wall time, peak RSS, output size and digest."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{label} failed: {proc.stderr.read().decode()[-2000:]}")
    data = target.read_bytes()
    return {
        "label": label,
        "wall_s": wall,
        "rows": data.count(b"\n") - 1,
        "bytes": len(data),
        "peak_rss_mb": peak / 2**20,
        "sha256": hashlib.sha256(data).hexdigest()[:16],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.splitlines()[0])
    p.add_argument("--attempts", type=int, default=1_000_000, help="demo attempts to load (without --schema)")
    p.add_argument("--days", type=int, default=30, help="window ending at the demo data's end")
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    p.add_argument("--schema", help="an already loaded schema: skip the load")
    p.add_argument("--skip-row-objects", action="store_true", help="leave out the old path (slowest)")
    args = p.parse_args(argv)

    from bench.__main__ import DAYS, END, log
    from bench.db import open_db

    db = open_db(args.database_url if args.schema else args.database_url)
    try:
        schema = args.schema
        if not schema:
            from bench.load import generations_for, timed_load

            schema = "bench_export"
            log(f"loading {args.attempts:,} demo attempts into {schema}")
            load = timed_load(db, schema, generations_for(args.attempts), DAYS, 7, END, "load")
            log(f"  {load.attempts:,} attempts in {load.wall_s:.0f} s")
            from sqlalchemy import text

            with db.engine.begin() as conn:
                conn.execute(text(f'ANALYZE "{schema}".generations'))
        env = {**os.environ, "DATABASE_URL": db.url, "GENLENS_SCHEMA": schema, "PYTHONPATH": str(ROOT)}
        f = window(args.days)
        last = (f.until - timedelta(days=1)).date()
        log(f"attempts export, {f.since.date()} to {last} ({args.days} days), load average {os.getloadavg()}")
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            for label, cmd_for in [
                (
                    "COPY (SELECT ...) TO STDOUT WITH CSV",
                    lambda t: [sys.executable, "-c", COPY_SCRIPT, str(args.days), t],
                ),
                (
                    "python -m queries.export attempts",
                    lambda t: [
                        sys.executable,
                        "-m",
                        "queries.export",
                        "attempts",
                        "--since",
                        f"{f.since:%Y-%m-%d}",
                        "--until",
                        f"{f.until:%Y-%m-%d}",
                        "--output",
                        t,
                    ],
                ),
                (
                    "row objects + csv_lines (the old path)",
                    lambda t: [sys.executable, "-c", ROWS_SCRIPT, str(args.days), t],
                ),
            ]:
                if args.skip_row_objects and label.startswith("row objects"):
                    continue
                target = Path(tmp) / "out.csv"
                r = run(label, cmd_for(str(target)), env, target)
                target.unlink()
                results.append(r)
                log(
                    f"  {label}: {r['wall_s']:.1f} s, {r['rows']:,} rows, {r['rows'] / r['wall_s']:,.0f} rows/s, "
                    f"{r['bytes'] / 1e6 / r['wall_s']:.1f} MB/s, {r['bytes'] / 1e6:.0f} MB, peak RSS "
                    f"{r['peak_rss_mb']:.0f} MB, sha256 {r['sha256']}"
                )
        cli = next(r for r in results if r["label"].startswith("python"))
        same = [r["label"] for r in results if r["sha256"] == cli["sha256"] and r is not cli]
        log(f"  identical to the CLI's file: {', '.join(same) or 'none'}; load average {os.getloadavg()}")
    finally:
        if not args.schema:
            db.close()
        else:
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
