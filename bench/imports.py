"""Import speed: python -m bench.imports --attempts 1000000 [--database-url URL]

Loads N demo attempts (timed: the demo load), writes them to a CSV file with COPY TO, then imports
that file with `python -m data_access.import_rows`'s code, in one run beside the same rows COPYed
into a bare twin (`CREATE TABLE ... (LIKE generations INCLUDING ALL)`, no GenLens objects):
- into an empty table: GenLens' import (indexes rebuilt, facts built) against the bare twin loaded
  the same way (indexes dropped and rebuilt) and with a plain COPY (indexes kept);
- into a table holding the first half of the rows: GenLens' import of the second half (indexes and
  triggers kept, the new generations folded) against a plain COPY into the bare twin's first half.
Writes bench/results_imports.json and a markdown table (stdout).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

RESULTS = Path(__file__).resolve().parent / "results_imports.json"


def _copy_out(db, sql: str, path: Path) -> int:
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cur, path.open("wb") as out:
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
                for data in copy:
                    out.write(data)
            return cur.rowcount
    finally:
        raw.close()


def _plain_copy(db, table: str, columns: str, path: Path) -> float:
    """A plain COPY of the CSV file into `table` (what psql's \\copy does), one transaction; seconds."""
    t0 = time.perf_counter()
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cur, path.open("rb") as src:
            src.readline()  # the header
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
                while data := src.read(1 << 20):
                    copy.write(data)
        raw.commit()
    finally:
        raw.close()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ANALYZE {table}"))
    return time.perf_counter() - t0


def _bare(db, schema: str, like: str) -> str:
    with db.engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(text(f'CREATE TABLE "{schema}".generations (LIKE "{like}".generations INCLUDING ALL)'))
    return f'"{schema}".generations'


def main(argv: list[str] | None = None) -> int:
    from bench.__main__ import DAYS, END, log
    from bench.db import drop_schema, fresh_schema, open_db
    from bench.load import generations_for, timed_load
    from data_access import bulk, import_rows
    from data_access.demo import COLUMNS

    ap = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.splitlines()[0])
    ap.add_argument("--attempts", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args(argv)
    db = open_db(args.database_url)
    res: dict = {"date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "loadavg_start": os.getloadavg()}
    tmp = Path(tempfile.mkdtemp(prefix="genlens-imports-"))
    src, ge, gh, be, bh = "imp_src", "imp_genlens_empty", "imp_genlens_half", "imp_bare_empty", "imp_bare_half"
    try:
        log(f"demo load of {args.attempts:,} attempts")
        load = timed_load(db, src, generations_for(args.attempts), DAYS, 7, END, "demo load")
        res["demo_load"] = load.as_dict()
        log(f"  {load.attempts:,} in {load.wall_s:.1f} s ({load.rate:,.0f}/s)")
        whole, first, second = tmp / "all.csv", tmp / "first.csv", tmp / "second.csv"
        n = _copy_out(db, f"SELECT {COLUMNS} FROM {src}.generations", whole)
        # the generations started in the first half of the span, then the others (semi-joins)
        started = f"SELECT generation_id FROM {src}.generations GROUP BY 1 HAVING min(created_at) {{}} '{END:%Y-%m-%d}'::date - 45"
        n1 = _copy_out(
            db, f"SELECT {COLUMNS} FROM {src}.generations WHERE generation_id IN ({started.format('<')})", first
        )
        n2 = _copy_out(
            db, f"SELECT {COLUMNS} FROM {src}.generations WHERE generation_id IN ({started.format('>=')})", second
        )
        res.update(attempts=n, first_half=n1, second_half=n2, csv_bytes=whole.stat().st_size)
        runs: dict = {}

        def record(label: str, rows: int, seconds: float, **extra) -> None:
            runs[label] = {"attempts": rows, "s": seconds, "rate": rows / seconds, **extra}
            log(f"  {label}: {rows:,} in {seconds:.1f} s ({rows / seconds:,.0f}/s)")

        log("into empty tables")
        fresh_schema(db, ge)
        t0 = time.perf_counter()
        st = import_rows.import_file(db.engine, ge, str(whole))
        record("GenLens import, empty table", st.attempts, time.perf_counter() - t0, copy_s=st.copy_s,
               index_s=st.index_s, facts_s=st.facts_s)  # fmt: skip
        drop_schema(db, ge)
        table = _bare(db, be, src)
        t0 = time.perf_counter()
        with whole.open("rb") as f:
            f.readline()
            bst = bulk.copy_in(
                db.engine, be, COLUMNS, ((c, 0) for c in iter(lambda: f.read(1 << 20), b"")), "FORMAT csv"
            )
        record("bare twin, same bulk path", bst.attempts, time.perf_counter() - t0, copy_s=bst.copy_s,
               index_s=bst.index_s)  # fmt: skip
        drop_schema(db, be)
        table = _bare(db, be, src)
        record("bare twin, plain COPY", n, _plain_copy(db, table, COLUMNS, whole))
        drop_schema(db, be)

        log("into tables holding the first half")
        fresh_schema(db, gh)
        import_rows.import_file(db.engine, gh, str(first))
        t0 = time.perf_counter()
        st = import_rows.import_file(db.engine, gh, str(second))
        record("GenLens import, table with rows", st.attempts, time.perf_counter() - t0, copy_s=st.copy_s,
               fold_s=st.fold_s, folded=st.folded)  # fmt: skip
        drop_schema(db, gh)
        table = _bare(db, bh, src)
        _plain_copy(db, table, COLUMNS, first)
        record("bare twin with rows, plain COPY", n2, _plain_copy(db, table, COLUMNS, second))
        drop_schema(db, bh)
        res["runs"] = runs
        res["loadavg_end"] = os.getloadavg()
        RESULTS.write_text(json.dumps(res, indent=1, default=str) + "\n")
        print(markdown(res))
    finally:
        for path in tmp.glob("*"):
            path.unlink()
        tmp.rmdir()
        drop_schema(db, src)
        db.close()
    return 0


def markdown(res: dict) -> str:
    lines = [
        f"Measured {res['date']}: {res['attempts']:,} demo attempts, CSV {res['csv_bytes'] / 2**20:,.0f} MiB "
        f"(the second half: {res['second_half']:,}); load average {res['loadavg_start'][0]:.1f} → "
        f"{res['loadavg_end'][0]:.1f}. Demo load (generated rows, indexes, facts): "
        f"{res['demo_load']['rate']:,.0f} attempts/s.",
        "",
        "| import | attempts | seconds | attempts/s |",
        "|---|---|---|---|",
    ]
    for label, r in res["runs"].items():
        lines.append(f"| {label} | {r['attempts']:,} | {r['s']:.1f} | {r['rate']:,.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
