"""A pipeline's writes: what GenLens costs them, against a bare twin of the same table.

    python -m bench.writes [--generations 1000000] [--runs 3] [--attempts 2800] [--writers 8]

Issue 15's workload: concurrent pipeline writers (8 by default) on distinct generations, one statement per
transaction (as over PostgREST). Each attempt is an INSERT (pending), then an UPDATE to its final
status with completed_at, error_message and generation_metadata; a third of the successes get a
later UPDATE merging quality scores into the metadata (`||`); a failure or timeout is retried as a
new INSERT (attempt n+1, up to 4). The same statements (one seed per run) go to the GenLens table,
with a dashboard folding the change log every FRESH_TTL_S as it would, and to a bare twin,
`CREATE TABLE bare.generations (LIKE <schema>.generations INCLUDING ALL)` holding the same rows,
alternately (A B A B ...) in one process on one fresh embedded PostgreSQL. Then once without any
folder (its backlog folded afterwards, timed), once with a folder in a tight loop, and one run with
`track_functions = pl` to say how much of a statement is GenLens' trigger; EXPLAIN ANALYZE of single
statements on both tables says the same per statement.

Recorded per run: wall time, per-statement latency (p50, p95, p99, max) of INSERT and UPDATE,
errors (deadlocks by SQLSTATE 40P01), server CPU, and the fold's lag: the most change-log entries
one fold found, and the time from the last write to an empty log. Results: bench/results_writes.json
and a markdown table on stdout. tests/test_write_path.py runs this workload for correctness.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import Engine, text

from bench.sessions import percentile
from data_access.demo import FAILURES, MODELS, MORALS, NAMES, NOT_RETRIED, STORY_TYPES, TIMEOUTS_MS
from data_access.facts import CHANGES, FOLD_BATCH, FRESH_TTL_S

RESULTS = Path(__file__).resolve().parent / "results_writes.json"
WRITERS = 8
ATTEMPTS = 2_800  # issue 15 measured 2,761
MAX_ATTEMPTS = 4
MERGE_SHARE = 1 / 3  # successes whose quality scores arrive in a later UPDATE
DEADLOCK = "40P01"

# One statement per transaction, as a pipeline writes through PostgREST; {table} is a whitelisted
# schema-qualified name (ours), every value is bound.
SQL = {
    "insert": (
        "INSERT INTO {table} (generation_id, attempt_number, status, model_used, prompt, user_id, story_type,"
        " story_length, moral, created_at)"
        " VALUES (%(g)s, %(n)s, 'pending', %(model)s, %(prompt)s, %(user)s, %(type)s, %(length)s, %(moral)s, %(at)s)"
    ),
    "finish": (
        "UPDATE {table} SET status = %(status)s, completed_at = %(done)s, error_message = %(error)s,"
        " generation_metadata = CAST(%(meta)s AS jsonb), full_response = CAST(%(response)s AS jsonb)"
        " WHERE generation_id = %(g)s AND attempt_number = %(n)s"
    ),
    "merge": (
        "UPDATE {table} SET generation_metadata = generation_metadata || jsonb_build_object('quality_scores',"
        " jsonb_build_object('overall', CAST(%(q)s AS numeric), 'metadata_similarity', CAST(%(qm)s AS numeric)))"
        " WHERE generation_id = %(g)s AND attempt_number = %(n)s"
    ),
}
UPDATES = ("finish", "merge")

Step = tuple[str, dict]  # (kind of statement, its parameters)


def _weighted(rng: random.Random, items: Sequence, weights: Sequence[float]):
    return rng.choices(items, weights=weights, k=1)[0]


def plan(
    seed: int, attempts: int = ATTEMPTS, writers: int = WRITERS, start: datetime | None = None
) -> list[list[Step]]:
    """Each writer's statements, in order: whole generations, attempt after attempt, until about
    `attempts` attempts in all. Deterministic for a seed; generation ids are new (uuid4 from the
    seed), so runs of different seeds never collide."""
    rng = random.Random(f"bench.writes:{seed}")
    start = start or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    plans: list[list[Step]] = [[] for _ in range(writers)]
    shares = [m.share for m in MODELS]
    types, type_weights = zip(*STORY_TYPES, strict=True)
    fail_weights = [w for w, _ in FAILURES]
    users = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(50)]
    total, g_index = 0, 0
    while total < attempts:
        model = _weighted(rng, MODELS, shares)
        gid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        user = rng.choice(users)
        story_type = _weighted(rng, types, type_weights)
        name, moral = rng.choice(NAMES), rng.choice(MORALS)
        length = rng.randint(3, 15)
        prompt = (
            f"Write a {length}-minute {story_type} story for {name}, age {rng.randint(3, 9)}, about {moral}. "
            + "Keep the language simple, the sentences short and the ending warm. " * rng.randint(3, 8)
        )
        at = start + timedelta(seconds=g_index * 0.75)
        steps = plans[g_index % writers]
        g_index += 1
        # retries are more common than in the demo data, so the workload has plenty of them
        fail, timeout = min(0.5, model.fail_rate * 3), min(0.3, model.timeout_rate * 3)
        for n in range(1, MAX_ATTEMPTS + 1):
            total += 1
            steps.append(
                ("insert", {"g": gid, "n": n, "model": model.name, "prompt": prompt, "user": user,
                            "type": story_type, "length": length, "moral": moral, "at": at})
            )  # fmt: skip
            x = rng.random()
            tokens = rng.randint(800, 6_000)
            if x < timeout:
                ms = rng.choice(TIMEOUTS_MS)
                status, error, response = "timeout", f"Request timed out after {ms // 1000}s", None
                meta = {"duration_ms": {"total": ms}}
                kind = -1
            elif x < timeout + fail:
                ms = round(rng.lognormvariate(0, 0.6) * model.latency_ms / 3)
                kind = fail_weights.index(_weighted(rng, fail_weights, fail_weights))
                status, error, response = "failed", FAILURES[kind][1](rng, model), None
                cost = tokens // 3 / 1000 * model.usd_per_1k_tokens
                meta = {"cost_usd": round(cost, 6), "total_tokens": {"metadata": tokens // 3, "total": tokens // 3},
                        "duration_ms": {"metadata": ms, "total": ms}, "retry_count": {"metadata": 0, "sections": []}}  # fmt: skip
            else:
                ms = round(rng.lognormvariate(0, 0.4) * model.latency_ms)
                status, error, kind = "success", None, 0
                response = json.dumps({"id": f"gen-{gid[:8]}", "model": model.name,
                                       "usage": {"total_tokens": tokens}, "choices": [{"finish_reason": "stop"}]})  # fmt: skip
                quality = min(1.0, max(0.0, rng.gauss(model.quality, 0.08)))
                meta = {
                    "model_used": {"metadata": model.name, "sections": model.name},
                    "total_tokens": {"metadata": tokens // 5, "sections": tokens * 3 // 5,
                                     "validation": tokens // 5, "total": tokens},
                    "cost_usd": round(tokens / 1000 * model.usd_per_1k_tokens, 6),
                    "duration_ms": {"metadata": ms // 5, "sections": ms * 3 // 5, "validation": ms // 5, "total": ms},
                    "quality_scores": {"metadata_similarity": round(quality, 3), "overall": round(quality, 4)},
                    "batch_count": rng.randint(1, 4),
                    "retry_count": {"metadata": rng.choice((0, 0, 0, 1)), "sections": [0, rng.choice((0, 0, 1))]},
                }  # fmt: skip
            done = at + timedelta(milliseconds=ms)
            steps.append(
                ("finish", {"g": gid, "n": n, "status": status, "done": done, "error": error,
                            "meta": json.dumps(meta), "response": response})
            )  # fmt: skip
            if status == "success" and rng.random() < MERGE_SHARE:
                q = round(min(1.0, max(0.0, rng.gauss(model.quality, 0.08))), 4)
                steps.append(("merge", {"g": gid, "n": n, "q": q, "qm": round(q * 0.97, 3)}))
            if status == "success" or kind in NOT_RETRIED:
                break
            at = done + timedelta(seconds=rng.uniform(1, 8))
    return plans


def attempts_of(plans: list[list[Step]]) -> int:
    return sum(1 for steps in plans for kind, _ in steps if kind == "insert")


def conninfo(engine: Engine) -> str:
    """libpq connection string of an engine (psycopg connects without SQLAlchemy: a pipeline's
    statements, nothing in between)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class WriteError:
    writer: int
    kind: str
    sqlstate: str | None
    message: str


@dataclass
class WriteRun:
    wall_s: float
    statements: int
    attempts: int
    latencies: dict[str, list[float]]  # kind -> seconds of each statement
    errors: list[WriteError]
    last_write: float = 0.0  # perf_counter when the last statement returned
    waits: dict[str, int] = field(default_factory=dict)  # wait event (or CPU) -> samples of a writer in it

    @property
    def deadlocks(self) -> int:
        return sum(1 for e in self.errors if e.sqlstate == DEADLOCK)

    def latency(self, kinds: Sequence[str]) -> dict[str, float | None]:
        values = [v for k in kinds for v in self.latencies.get(k, [])]
        return {
            "p50_ms": _ms(percentile(values, 0.5)),
            "p95_ms": _ms(percentile(values, 0.95)),
            "p99_ms": _ms(percentile(values, 0.99)),
            "max_ms": _ms(max(values) if values else None),
            "n": len(values),
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def run_writers(
    dsn: str, table: str, plans: list[list[Step]], session_sql: Sequence[str] = (), sample_waits: bool = False
) -> WriteRun:
    """Each plan on its own autocommit connection, all at once; every statement timed. An error
    is recorded and the writer goes on with its next statement (a pipeline logs and moves on).
    `sample_waits`: every 10 ms, what the writers' backends are waiting for (pg_stat_activity)."""
    sql = {kind: s.format(table=table) for kind, s in SQL.items()}
    latencies: list[dict[str, list[float]]] = [{k: [] for k in SQL} for _ in plans]
    errors: list[WriteError] = []
    ends = [0.0] * len(plans)
    lock = threading.Lock()
    conns = [psycopg.connect(dsn, autocommit=True) for _ in plans]
    for conn in conns:
        for s in session_sql:
            conn.execute(s)
    ready = threading.Barrier(len(plans) + 1)
    pids = [c.info.backend_pid for c in conns]
    waits: dict[str, int] = {}
    finished = threading.Event()

    def sampler() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not finished.is_set():
                for state, event in conn.execute(
                    "SELECT state, COALESCE(wait_event_type || ':' || wait_event, 'CPU')"
                    " FROM pg_stat_activity WHERE pid = ANY (%s)",
                    (pids,),
                ):
                    key = event if state == "active" else "idle (client side)"
                    waits[key] = waits.get(key, 0) + 1
                finished.wait(0.01)

    def writer(i: int) -> None:
        cur = conns[i].cursor()
        ready.wait()
        for kind, params in plans[i]:
            t0 = time.perf_counter()
            try:
                cur.execute(sql[kind], params)
            except psycopg.Error as exc:
                with lock:
                    errors.append(WriteError(i, kind, exc.sqlstate, str(exc).splitlines()[0][:300]))
                continue
            latencies[i][kind].append(time.perf_counter() - t0)
        ends[i] = time.perf_counter()

    threads = [threading.Thread(target=writer, args=(i,), name=f"writer-{i}") for i in range(len(plans))]
    watching = threading.Thread(target=sampler, name="wait-sampler") if sample_waits else None
    for t in threads:
        t.start()
    if watching:
        watching.start()
    ready.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    finished.set()
    if watching:
        watching.join()
    for conn in conns:
        conn.close()
    merged = {k: [v for lat in latencies for v in lat[k]] for k in SQL}
    return WriteRun(
        wall_s=max(ends) - t0,
        statements=sum(len(p) for p in plans),
        attempts=attempts_of(plans),
        latencies=merged,
        errors=errors,
        last_write=max(ends),
        waits=dict(sorted(waits.items(), key=lambda kv: -kv[1])),
    )


@dataclass
class FoldRun:
    every_s: float
    calls: int = 0
    folds: int = 0  # calls that took entries
    busy: int = 0  # calls that found another fold running (-1)
    taken: int = 0
    max_found: int = 0  # the most entries one fold took, or one check found waiting
    fold_s: float = 0.0  # time spent in calls that took entries
    max_fold_s: float = 0.0
    drained_s: float | None = None  # from the last write to an empty log
    errors: list[str] = field(default_factory=list)


class Folder:
    """A dashboard's folding, in a thread: every `every_s` seconds, fold until a call takes less
    than a batch, then ask how much is waiting (data_access.facts.catch_up's loop, on its own
    connection). `drain(last_write)` waits until the log is empty and says when it was."""

    def __init__(self, dsn: str, schema: str, every_s: float = FRESH_TTL_S) -> None:
        self.dsn, self.schema, self.stats = dsn, schema, FoldRun(every_s)
        self._stop = threading.Event()
        self._last_write: float | None = None
        self._empty_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="folder", daemon=True)

    def __enter__(self) -> Folder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        fold = f'SELECT "{self.schema}".genlens_fold(%s)'
        pending = f'SELECT entries FROM "{self.schema}".genlens_pending()'
        s = self.stats
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                try:
                    while True:
                        t0 = time.perf_counter()
                        n = conn.execute(fold, (FOLD_BATCH,)).fetchone()[0]
                        dt = time.perf_counter() - t0
                        s.calls += 1
                        if n < 0:
                            s.busy += 1
                            break
                        if n > 0:
                            s.folds, s.taken, s.fold_s = s.folds + 1, s.taken + n, s.fold_s + dt
                            s.max_fold_s = max(s.max_fold_s, dt)
                            s.max_found = max(s.max_found, n)
                        if n < FOLD_BATCH:
                            break
                    waiting = conn.execute(pending).fetchone()[0]
                    s.max_found = max(s.max_found, waiting)
                    if waiting == 0 and self._last_write is not None and self._empty_at is None:
                        self._empty_at = time.perf_counter()
                        s.drained_s = self._empty_at - self._last_write
                except psycopg.Error as exc:
                    s.errors.append(str(exc).splitlines()[0][:300])
                self._stop.wait(s.every_s)

    def drain(self, last_write: float, timeout_s: float = 300.0) -> FoldRun:
        self._last_write = last_write
        deadline = time.monotonic() + timeout_s
        while self.stats.drained_s is None and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.01)
        return self.stats


def fold_all(dsn: str, schema: str) -> tuple[int, float]:
    """Fold the whole log now, as one client: (entries taken, seconds)."""
    t0, total = time.perf_counter(), 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            n = conn.execute(f'SELECT "{schema}".genlens_fold(%s)', (FOLD_BATCH,)).fetchone()[0]
            if n < 0:
                time.sleep(0.02)
                continue
            total += n
            if n == 0:
                return total, time.perf_counter() - t0


# --- the benchmark ------------------------------------------------------------------------------

SCHEMA = "bench_writes"
BARE = "bare"
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the demo data's last instant (bench/__main__.py's)
DAYS = 90


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def _summary(label: str, table: str, run: WriteRun, cpu_s: float | None, folder: FoldRun | None) -> dict:
    return {
        "label": label,
        "table": table,
        "wall_s": round(run.wall_s, 3),
        "statements": run.statements,
        "attempts": run.attempts,
        "insert": run.latency(("insert",)),
        "update": run.latency(UPDATES),
        "finish": run.latency(("finish",)),
        "merge": run.latency(("merge",)),
        "errors": len(run.errors),
        "deadlocks": run.deadlocks,
        "error_examples": [asdict(e) for e in run.errors[:5]],
        "server_cpu_s": None if cpu_s is None else round(cpu_s, 2),
        "writer_waits": run.waits,
        "fold": None
        if folder is None
        else {k: v for k, v in asdict(folder).items() if k != "errors"} | {"errors": folder.errors[:5]},
    }


def _wal_lsn(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute("SELECT CAST(pg_current_wal_lsn() AS text)").fetchone()[0]


def _wal_since(dsn: str, lsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(
            conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(%s AS pg_lsn))", (lsn,)).fetchone()[0]
        )


def _one(db, dsn: str, label: str, table: str, plans, folder_every: float | None, session_sql=()) -> dict:
    cpu0, lsn = db.server_cpu(), _wal_lsn(dsn)
    if folder_every is None:
        run = run_writers(dsn, table, plans, session_sql, sample_waits=True)
        cpu = db.server_cpu()
        out = _summary(label, table, run, None if cpu0 is None else cpu - cpu0, None)
    else:
        with Folder(dsn, SCHEMA, folder_every) as folder:
            run = run_writers(dsn, table, plans, session_sql, sample_waits=True)
            stats = folder.drain(run.last_write)
        cpu = db.server_cpu()
        out = _summary(label, table, run, None if cpu0 is None else cpu - cpu0, stats)
    out["wal_bytes"] = _wal_since(dsn, lsn)
    out["load_average"] = os.getloadavg()
    f = out["fold"]
    lag = f" fold: max {f['max_found']:,} waiting, empty {f['drained_s']:.2f} s after the last write" if f else ""
    log(
        f"  {label}: {run.wall_s:.2f} s, {run.statements:,} statements, INSERT p50/p95 "
        f"{out['insert']['p50_ms']:.2f}/{out['insert']['p95_ms']:.2f} ms, UPDATE p50/p95 "
        f"{out['update']['p50_ms']:.2f}/{out['update']['p95_ms']:.2f} ms, {len(run.errors)} errors{lag};"
        f" WAL {out['wal_bytes'] / 2**20:.1f} MiB, server CPU {out['server_cpu_s']} s, writers' waits"
        f" {dict(list(run.waits.items())[:5])}, load {out['load_average'][0]:.1f}"
    )
    return out


def _explain(dsn: str, table: str, kind: str, params: dict, repeat: int) -> dict:
    """EXPLAIN ANALYZE of one statement, rolled back, `repeat` times: median execution and
    trigger time in ms."""
    execs, triggers = [], []
    with psycopg.connect(dsn) as conn:
        for i in range(repeat):
            p = dict(params, n=params["n"] + i) if kind == "insert" else params
            row = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + SQL[kind].format(table=table), p).fetchone()[0][0]
            conn.rollback()
            execs.append(row["Execution Time"])
            triggers.append(sum(t["Time"] for t in row.get("Triggers", [])))
    return {
        "execution_ms": round(statistics.median(execs), 3),
        "trigger_ms": round(statistics.median(triggers), 3),
    }


def _function_times(dsn: str) -> list[dict]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname, funcname, calls, total_time, self_time FROM pg_stat_user_functions"
            " WHERE funcname LIKE 'genlens%%' ORDER BY total_time DESC"
        ).fetchall()
    return [
        {"function": f"{s}.{f}", "calls": c, "total_ms": round(t, 1), "self_ms": round(st, 1)}
        for s, f, c, t, st in rows
    ]


def _markdown(result: dict) -> str:
    pairs = result["pairs"]
    lines = [
        f"N = {result['generations']:,} demo generations ({result['rows']:,} attempts) per table; "
        f"{result['attempts']:,} attempts ({result['statements']:,} statements) per run, {result.get('writers', 4)} writers.",
        "",
        "| run | GenLens (folder every 2 s) | bare twin | ratio | INSERT p50/p95 GenLens | bare "
        "| UPDATE p50/p95 GenLens | bare | errors (deadlocks) | fold: most waiting, empty after |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (a, b) in enumerate(pairs, 1):
        f = a["fold"]
        lines.append(
            f"| {i} | {a['wall_s']:.2f} s | {b['wall_s']:.2f} s | {a['wall_s'] / b['wall_s']:.2f}× "
            f"| {a['insert']['p50_ms']:.2f} / {a['insert']['p95_ms']:.2f} ms "
            f"| {b['insert']['p50_ms']:.2f} / {b['insert']['p95_ms']:.2f} ms "
            f"| {a['update']['p50_ms']:.2f} / {a['update']['p95_ms']:.2f} ms "
            f"| {b['update']['p50_ms']:.2f} / {b['update']['p95_ms']:.2f} ms "
            f"| {a['errors']} ({a['deadlocks']}) / {b['errors']} ({b['deadlocks']}) "
            f"| {f['max_found']:,}, {f['drained_s']:.2f} s |"
        )
    lines.append(f"\nMedian ratio GenLens / bare: **{result['median_ratio']:.2f}×** (runs: "
                 + ", ".join(f"{r:.2f}×" for r in result["ratios"]) + ").")  # fmt: skip
    extra = result["extra"]
    for key, what in (("no_folder", "no folder"), ("tight_folder", "a folder in a tight loop (every 0.1 s)")):
        e = extra[key]
        f = e.get("fold")
        tail = (
            f"; fold: most waiting {f['max_found']:,}, empty {f['drained_s']:.2f} s after the last write"
            if f
            else f"; then folding its {e['backlog']:,} entries took {e['backlog_fold_s']:.2f} s"
        )
        lines.append(
            f"- GenLens with {what}: {e['wall_s']:.2f} s ({e['wall_s'] / result['median_bare_s']:.2f}× the median "
            f"bare run), INSERT p50/p95 {e['insert']['p50_ms']:.2f}/{e['insert']['p95_ms']:.2f} ms, "
            f"UPDATE {e['update']['p50_ms']:.2f}/{e['update']['p95_ms']:.2f} ms, {e['errors']} errors{tail}."
        )
    ex = result["explain"]
    lines.append(
        "- One statement, EXPLAIN ANALYZE (median of 20, rolled back), GenLens / bare execution: "
        + "; ".join(
            f"{k} {ex['genlens'][k]['execution_ms']:.3f} / {ex['bare'][k]['execution_ms']:.3f} ms "
            f"(trigger {ex['genlens'][k]['trigger_ms']:.3f} ms)"
            for k in ex["genlens"]
        )
        + "."
    )
    ld = result["load"]
    lines.append(
        f"- Bulk load (load_with_stats, {ld['genlens']['attempts']:,} attempts): GenLens "
        f"{ld['genlens']['rate']:,.0f} attempts/s ({ld['genlens']['total_s']:.1f} s, of which facts "
        f"{ld['genlens']['facts_s']:.1f} s); bare twin {ld['bare']['rate']:,.0f} attempts/s "
        f"({ld['bare']['total_s']:.1f} s)."
    )
    return "\n".join(lines)


def _load(db, schema: str, generations: int) -> dict:
    from data_access import demo

    t0 = time.perf_counter()
    st = demo.load_with_stats(db.engine, schema, generations, DAYS, 7, END)
    total = time.perf_counter() - t0
    return {
        "attempts": st.attempts,
        "total_s": round(total, 2),
        "rate": round(st.attempts / total),
        "copy_s": round(st.copy_s, 2),
        "index_s": round(st.index_s, 2),
        "facts_s": round(st.facts_s, 2),
        "bulk": st.bulk,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.writes")
    p.add_argument("--generations", type=int, default=1_000_000, help="demo generations preloaded in each table")
    p.add_argument("--runs", type=int, default=3, help="runs on each table (alternated)")
    p.add_argument("--attempts", type=int, default=ATTEMPTS, help="attempts the writers make per run")
    p.add_argument("--writers", type=int, default=WRITERS, help="concurrent pipeline writers")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args(argv)

    from bench.db import fresh_schema, open_db
    from bench.markdown import machine

    t_start = time.perf_counter()
    db = open_db(None)
    try:
        dsn = conninfo(db.engine)
        log(f"embedded PostgreSQL {db.version()}; loading {args.generations:,} demo generations into {SCHEMA}")
        fresh_schema(db, SCHEMA)
        load = {"genlens": _load(db, SCHEMA, args.generations)}
        log(f"  GenLens: {load['genlens']}")
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {BARE} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {BARE}"))
            conn.execute(text(f"CREATE TABLE {BARE}.generations (LIKE {SCHEMA}.generations INCLUDING ALL)"))
        load["bare"] = _load(db, BARE, args.generations)  # the same rows (same seed and end)
        log(f"  bare twin: {load['bare']}")
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for t in (f"{SCHEMA}.generations", f"{BARE}.generations", f"{SCHEMA}.genlens_facts"):
                conn.execute(text(f"VACUUM ANALYZE {t}"))
            rows = conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.generations")).scalar()
            bare_rows = conn.execute(text(f"SELECT count(*) FROM {BARE}.generations")).scalar()
            triggers = conn.execute(
                text(
                    "SELECT tgrelid::regclass::text, count(*) FROM pg_trigger WHERE NOT tgisinternal"
                    " AND tgrelid IN (CAST(:a AS regclass), CAST(:b AS regclass)) GROUP BY 1"
                ),
                {"a": f"{SCHEMA}.generations", "b": f"{BARE}.generations"},
            ).all()
        assert rows == bare_rows, (rows, bare_rows)
        log(f"  {rows:,} attempts in each table; user triggers: {dict(triggers)}")

        genlens_t, bare_t = f"{SCHEMA}.generations", f"{BARE}.generations"
        pairs, seed = [], 100
        # warm both tables' indexes and each statement's plan cache path once (not recorded)
        warm = plan(seed - 1, 300, args.writers, END + timedelta(minutes=30))
        run_writers(dsn, genlens_t, warm)
        run_writers(dsn, bare_t, warm)
        fold_all(dsn, SCHEMA)
        for i in range(args.runs):
            plans = plan(seed + i, args.attempts, args.writers, END + timedelta(hours=i + 1))
            log(f"run {i + 1}/{args.runs}: {attempts_of(plans):,} attempts")
            a = _one(db, dsn, "GenLens, folder every 2 s", genlens_t, plans, FRESH_TTL_S)
            b = _one(db, dsn, "bare twin", bare_t, plans, None)
            pairs.append((a, b))
        extra = {}
        plans = plan(seed + 50, args.attempts, args.writers, END + timedelta(hours=50))
        log("GenLens without a folder, then its backlog folded")
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute(f"SELECT count(*) FROM {SCHEMA}.{CHANGES}").fetchone()[0] == 0
        extra["no_folder"] = _one(db, dsn, "GenLens, no folder", genlens_t, plans, None)
        backlog, fold_s = fold_all(dsn, SCHEMA)
        extra["no_folder"] |= {"backlog": backlog, "backlog_fold_s": round(fold_s, 3)}
        log(f"  backlog {backlog:,} entries folded in {fold_s:.2f} s")
        plans = plan(seed + 51, args.attempts, args.writers, END + timedelta(hours=51))
        extra["tight_folder"] = _one(db, dsn, "GenLens, folder every 0.1 s", genlens_t, plans, 0.1)
        # where a GenLens statement's time goes: its trigger functions (pl timing on), then single
        # statements under EXPLAIN ANALYZE on both tables
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_reset()")
        plans = plan(seed + 52, args.attempts, args.writers, END + timedelta(hours=52))
        extra["track_functions"] = _one(
            db, dsn, "GenLens, track_functions = pl, no folder", genlens_t, plans, None, ("SET track_functions = 'pl'",)
        )
        time.sleep(1.0)  # backends report their function counters when idle
        extra["track_functions"]["functions"] = _function_times(dsn)
        fold_all(dsn, SCHEMA)
        probe = plan(seed + 60, 40, 1, END + timedelta(hours=60))[0]
        first = {k: next(p for kk, p in probe if kk == k) for k in SQL}
        explain = {}
        for label, table in (("genlens", genlens_t), ("bare", bare_t)):
            explain[label] = {
                # a new attempt number: the INSERT adds a row (rolled back)
                "insert": _explain(dsn, table, "insert", dict(first["insert"], n=100), 20),
                # an existing row of the preloaded data: the UPDATEs change it (rolled back)
                "finish": _explain(dsn, table, "finish", dict(first["finish"], g=_some_gid(dsn, table), n=1), 20),
                "merge": _explain(dsn, table, "merge", dict(first["merge"], g=_some_gid(dsn, table), n=1), 20),
            }
        log(f"  EXPLAIN ANALYZE: {explain}")
        # the end state: every write folded, the facts hold every attempt
        fold_all(dsn, SCHEMA)
        with psycopg.connect(dsn, autocommit=True) as conn:
            left = conn.execute(f"SELECT count(*) FROM {SCHEMA}.{CHANGES}").fetchone()[0]
            g_rows = conn.execute(f"SELECT count(*) FROM {SCHEMA}.generations").fetchone()[0]
            f_rows = conn.execute(f"SELECT count(*) FROM {SCHEMA}.genlens_facts").fetchone()[0]
            broken = conn.execute(f"SELECT count(*) FROM {SCHEMA}.genlens_facts_broken").fetchone()[0]
        ratios = [a["wall_s"] / b["wall_s"] for a, b in pairs]
        result = {
            "command": "python -m bench.writes " + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(db),
            "synchronous_commit": db.setting("synchronous_commit"),
            "fsync": db.setting("fsync"),
            "generations": args.generations,
            "rows": rows,
            "runs": args.runs,
            "writers": args.writers,
            "attempts": pairs[0][0]["attempts"],
            "statements": pairs[0][0]["statements"],
            "pairs": pairs,
            "ratios": [round(r, 3) for r in ratios],
            "median_ratio": round(statistics.median(ratios), 3),
            "median_bare_s": round(statistics.median(b["wall_s"] for _, b in pairs), 3),
            "extra": extra,
            "explain": explain,
            "load": load,
            "end_state": {"change_log": left, "generations": g_rows, "facts": f_rows, "broken": broken},
            "total_s": round(time.perf_counter() - t_start, 1),
        }
        args.output.write_text(json.dumps(result, indent=1, default=str) + "\n")
        print()
        print(_markdown(result))
        print(f"\nend state: {result['end_state']}; total {result['total_s']:.0f} s; wrote {args.output}")
    finally:
        db.close()
    return 0


def _some_gid(dsn: str, table: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return str(
            conn.execute(
                f"SELECT generation_id FROM {table} WHERE attempt_number = 1 ORDER BY created_at LIMIT 1"
            ).fetchone()[0]
        )


if __name__ == "__main__":
    raise SystemExit(main())
