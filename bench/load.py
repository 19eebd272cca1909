"""Demo load speed: the load the benchmark runs, and each lever measured on its own."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime

import psutil
from sqlalchemy import text

from bench.db import BenchDb, drop_schema, fresh_schema
from data_access import demo

ATTEMPTS_PER_GENERATION = 1.0825  # measured on the demo generator (seed 7, 90 days)


def generations_for(attempts: int) -> int:
    return max(1, round(attempts / ATTEMPTS_PER_GENERATION))


def _client_cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


@dataclass
class LoadResult:
    label: str
    attempts: int
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float | None
    copy_s: float
    generate_s: float
    index_s: float
    bulk: bool
    facts_s: float = 0.0  # building the facts table after the rows are in

    @property
    def rate(self) -> float:
        return self.attempts / self.wall_s if self.wall_s else 0.0

    def per_row_us(self, seconds: float | None) -> float | None:
        return None if seconds is None or not self.attempts else seconds / self.attempts * 1e6

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rate"] = self.rate
        return d


def timed_load(
    db: BenchDb, schema: str, generations: int, days: float, seed: int, end: datetime, label: str = "load", **levers
) -> LoadResult:
    """load() (or its lever-switching twin) into a fresh schema; wall, client and server CPU."""
    fresh_schema(db, schema)
    c0, s0, t0 = _client_cpu(), db.server_cpu(), time.perf_counter()
    if levers:
        st = demo.load_with_stats(db.engine, schema, generations, days, seed, end, **levers)
        stats = (st.attempts, st.copy_s, st.generate_s, st.index_s, st.bulk)
    else:
        st = demo.load_with_stats(db.engine, schema, generations, days, seed, end)
        stats = (st.attempts, st.copy_s, st.generate_s, st.index_s, st.bulk)
    wall = time.perf_counter() - t0
    s1 = db.server_cpu()
    return LoadResult(
        label,
        stats[0],
        wall,
        _client_cpu() - c0,
        None if s0 is None or s1 is None else s1 - s0,
        stats[1],
        stats[2],
        stats[3],
        stats[4],
        st.facts_s,
    )


def generate_only(generations: int, days: float, seed: int, end: datetime) -> LoadResult:
    c0, t0 = _client_cpu(), time.perf_counter()
    n = sum(m for _, m in demo.generate_blocks(generations, days, seed, end))
    wall = time.perf_counter() - t0
    return LoadResult("generate rows only (no database)", n, wall, _client_cpu() - c0, 0.0, 0, wall, 0, False)


def copy_only(db: BenchDb, schema: str, generations: int, days: float, seed: int, end: datetime) -> LoadResult:
    """Server side alone: COPY rows generated beforehand into the table without any index."""
    fresh_schema(db, schema)
    data = b"".join(t.encode() for t, _ in demo.generate_blocks(generations, days, seed, end))
    n = data.count(b"\n")
    with db.engine.begin() as conn:
        for name in conn.execute(
            text("SELECT indexname FROM pg_indexes WHERE schemaname = :s AND tablename = 'generations'"), {"s": schema}
        ).scalars():
            if name.endswith("_pkey"):
                conn.execute(text(f'ALTER TABLE "{schema}".generations DROP CONSTRAINT "{name}"'))
            else:
                conn.execute(text(f'DROP INDEX "{schema}"."{name}"'))
    raw = db.engine.raw_connection()
    try:
        c0, s0, t0 = _client_cpu(), db.server_cpu(), time.perf_counter()
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{schema}".generations ({demo.COLUMNS}) FROM STDIN') as copy:
                for i in range(0, len(data), 1 << 20):
                    copy.write(data[i : i + (1 << 20)])
        raw.commit()
        wall = time.perf_counter() - t0
        s1 = db.server_cpu()
    finally:
        raw.close()
    return LoadResult(
        "server only: COPY pre-made rows, no indexes",
        n,
        wall,
        _client_cpu() - c0,
        None if s0 is None else s1 - s0,
        wall,
        0,
        0,
        False,
    )


LEVERS: list[tuple[str, dict]] = [
    ("indexes kept, one thread (the old load path)", {"bulk": False, "threaded": False}),
    ("indexes kept, writer thread", {"bulk": False, "threaded": True}),
    (
        "drop + rebuild indexes, COPY FREEZE; maintenance_work_mem 64MB, no parallel build",
        {"maintenance_work_mem": "64MB", "parallel_workers": 0},
    ),
    ("... maintenance_work_mem 512MB, no parallel build", {"maintenance_work_mem": "512MB", "parallel_workers": 0}),
    ("... maintenance_work_mem 512MB, 2 parallel workers (load()'s default)", {}),
    ("... the same without FREEZE", {"freeze": False}),
]


def measure_levers(db: BenchDb, attempts: int, days: float, seed: int, end: datetime, log) -> list[LoadResult]:
    generations = generations_for(attempts)
    out = [generate_only(generations, days, seed, end)]
    log(f"  {out[-1].label}: {out[-1].rate:,.0f}/s")
    out.append(copy_only(db, "bench_lever", generations, days, seed, end))
    log(f"  {out[-1].label}: {out[-1].rate:,.0f}/s")
    for label, levers in LEVERS:
        r = timed_load(db, "bench_lever", generations, days, seed, end, label, **{"bulk": True, **levers})
        out.append(r)
        log(f"  {label}: {r.rate:,.0f}/s")
    drop_schema(db, "bench_lever")
    return out
