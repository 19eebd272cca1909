"""Realistic, deterministic demo data for the generations table, loaded with COPY.

    python -m data_access.demo_data --generations 50000 [--days 90] [--seed 7] [--end 2026-11-23]

The same seed and end time give the same rows. Six models with their own failure, timeout,
latency, cost and quality profiles; retries seconds apart after failures and timeouts; a dozen
failure kinds with variable parts (ids, seconds, positions) so error signatures have work to do;
Stage 5 `generation_metadata`; and a small share of what real tables hold too: malformed metadata,
stale pending attempts and test generations.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from data_access.config import validate_schema


@dataclass(frozen=True)
class ModelProfile:
    name: str
    fail_rate: float
    timeout_rate: float
    latency_ms: float  # median of a successful attempt
    usd_per_1k_tokens: float
    quality: float  # mean overall quality
    share: float  # share of generations sent to it


MODELS = (
    ModelProfile("openai/gpt-4o-mini", 0.04, 0.01, 6_500, 0.0006, 0.83, 0.30),
    ModelProfile("anthropic/claude-3.5-sonnet", 0.03, 0.02, 12_000, 0.0150, 0.91, 0.18),
    ModelProfile("google/gemini-1.5-flash", 0.08, 0.01, 4_200, 0.0003, 0.77, 0.20),
    ModelProfile("meta-llama/llama-3.1-70b-instruct", 0.12, 0.05, 15_000, 0.0008, 0.72, 0.12),
    ModelProfile("mistralai/mistral-large", 0.06, 0.03, 9_000, 0.0060, 0.80, 0.10),
    ModelProfile("deepseek/deepseek-chat", 0.15, 0.08, 21_000, 0.0011, 0.79, 0.10),
)

STORY_TYPES = (("child", 0.5), ("hero", 0.3), ("combined", 0.2))
MORALS = ("kindness", "honesty", "courage", "friendship", "patience", "sharing", "curiosity")
NAMES = ("Mia", "Leo", "Ava", "Noah", "Zoe", "Eli", "Lily", "Max", "Nora", "Sam", "Ivy", "Theo")
INTERESTS = ("dinosaurs", "space", "dragons", "the ocean", "trains", "castles", "robots", "forests")
HEROES = ("a brave knight in silver armor", "a tiny fox with a red scarf", "a girl with a star-shaped cape")
RELATIONS = ("best friends since kindergarten", "brother and sister", "neighbours who met at the park")
PROVIDERS = ("openai", "anthropic", "google-vertex", "together", "deepinfra", "fireworks")
CATEGORIES = ("violence", "self-harm", "sexual", "hate")

HEX = "0123456789abcdef"
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def _rid(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choices(alphabet, k=n))


# Each failure kind: (weight, status, message factory). Timeouts come from the timeout rate.
FAILURES: tuple[tuple[float, Callable[[random.Random, ModelProfile], str]], ...] = (
    (18, lambda r, m: f"Rate limit exceeded: retry after {r.randint(1, 60)}s (request id req_{_rid(r, 12)})"),
    (10, lambda r, m: f"Upstream error {r.choice((500, 502, 503))} from provider '{r.choice(PROVIDERS)}'"),
    (12, lambda r, m: f"Invalid JSON in model output at position {r.randint(40, 9000)}: Expecting ',' delimiter"),
    (6, lambda r, m: f'Content filter triggered: category "{r.choice(CATEGORIES)}" score {r.uniform(0.7, 1):.2f}'),
    (5, lambda r, m: f"Context length exceeded: {r.randint(129_000, 200_000)} tokens requested, maximum is 128000"),
    (4, lambda r, m: f"Model '{m.name}' is currently unavailable"),
    (6, lambda r, m: f"Connection reset by peer while reading response (errno {r.choice((104, 110, 111))})"),
    (8, lambda r, m: f"Validation failed: story has {r.randint(1, 4)} sections, expected at least 5"),
    (3, lambda r, m: f"Insufficient credits: balance {r.uniform(0, 2):.2f} USD, required {r.uniform(2, 5):.2f} USD"),
    (4, lambda r, m: f"Provider returned error for generation {uuid.UUID(int=r.getrandbits(128), version=4)}"),
    (3, lambda r, m: f"Worker wk-{_rid(r, 8, HEX)} lost the job during shutdown"),
    (5, lambda r, m: f"Empty completion: finish_reason length after {r.randint(1000, 4000)} tokens"),
)
_FAIL_WEIGHTS = [w for w, _ in FAILURES]
NOT_RETRIED = {3, 4, 8}  # content filter, context length, credits: retrying cannot help


def _timeout_message(r: random.Random) -> str:
    return f"Request timed out after {r.choice((30_000, 45_000, 60_000, 90_000))} ms"


def _copy_text(value: str) -> str:
    # COPY text format: backslash, tab, newline and carriage return must be escaped.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


NULL = "\\N"
COLUMNS = (
    "generation_id, attempt_number, status, model_used, prompt, user_id, story_type, story_length,"
    " hero_appearance, relationship_description, moral, error_message, full_response,"
    " generation_metadata, created_at, completed_at"
)

META = (
    '{{"model_used": {{"metadata": "{m}", "sections": "{m}"}}, '
    '"total_tokens": {{"metadata": {tm}, "sections": {ts}, "validation": {tv}, "total": {tt}}}, '
    '"cost_usd": {cost}, '
    '"duration_ms": {{"metadata": {dm}, "sections": {ds}, "validation": {dv}, "total": {dt}}}, '
    '"quality_scores": {{"metadata_similarity": {qm}, "sections_similarity": [{qs}], "overall": {q}}}, '
    '"batch_count": {b}, "retry_count": {{"metadata": {rm}, "sections": [{rs}]}}{extra}}}'
)
META_FAILED = (
    '{{"model_used": {{"metadata": "{m}"}}, "total_tokens": {{"metadata": {tm}, "total": {tm}}}, '
    '"cost_usd": {cost}, "duration_ms": {{"metadata": {dm}, "total": {dm}}}, '
    '"retry_count": {{"metadata": {rm}, "sections": []}}{extra}}}'
)
RESPONSE = (
    '{{"id": "gen-{rid}", "model": "{m}", "object": "chat.completion", '
    '"choices": [{{"index": 0, "finish_reason": "stop", "message": {{"role": "assistant", '
    '"content": "Once upon a time, {name} discovered {interest}. The story teaches {moral}."}}}}], '
    '"usage": {{"prompt_tokens": {pt}, "completion_tokens": {ct}, "total_tokens": {tt}}}}}'
)
MALFORMED = (
    NULL,
    '"metadata unavailable"',
    "[1, 2, 3]",
    '{"cost_usd": "0.12", "total_tokens": {"total": "1200"}}',
    '{"cost_usd": -0.5, "quality_scores": {"overall": 1.4}, "duration_ms": {"total": 5000}}',
    '{"cost_usd": 0.01, "quality_scores": "high", "duration_ms": {"total": -20}}',
)


def _pick_model(r: random.Random) -> ModelProfile:
    x, acc = r.random(), 0.0
    for m in MODELS:
        acc += m.share
        if x < acc:
            return m
    return MODELS[-1]


def _story(r: random.Random) -> tuple[str, str, str, str, str, str]:
    x = r.random()
    kind = "child" if x < 0.5 else ("hero" if x < 0.8 else "combined")
    name, interest, moral = r.choice(NAMES), r.choice(INTERESTS), r.choice(MORALS)
    hero = r.choice(HEROES) if kind != "child" else NULL
    rel = r.choice(RELATIONS) if kind == "combined" else NULL
    prompt = (
        f"Write a {kind} bedtime story for {name}, age {r.randint(3, 9)}, who loves {interest}."
        f" The story should teach {moral}."
    )
    return kind, prompt, hero, rel, moral, name + "|" + interest


def generate_rows(generations: int, days: float, seed: int, end: datetime) -> Iterator[str]:
    """COPY text lines, one per attempt, for `generations` generations ending at `end`."""
    r = random.Random(seed)
    users = [str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in range(max(20, generations // 25))]
    span = days * 86400.0
    start = end - timedelta(days=days)
    # A few stale pending generations, a few fresh pending ones, a few test runs.
    test_run_ids = [str(uuid.UUID(int=r.getrandbits(128), version=4)) for _ in range(3)]
    for i in range(generations):
        # Traffic grows over the window and peaks in the afternoon (UTC).
        u = math.sqrt(r.random())
        offset = u * span
        day_pos = (offset % 86400) / 86400
        if r.random() < 0.35 * (1 - math.sin(2 * math.pi * day_pos)) / 2:
            offset = (offset + 43200) % span if offset + 43200 < span else offset
        t0 = start + timedelta(seconds=offset)
        gid = str(uuid.UUID(int=r.getrandbits(128), version=4))
        user = r.choice(users)
        m = _pick_model(r)
        kind, prompt, hero, rel, moral, name_interest = _story(r)
        length = str(r.randint(3, 15))
        prompt = _copy_text(prompt)
        is_test = r.random() < 0.004
        extra = f', "test_run_id": "{r.choice(test_run_ids)}", "source": "admin"' if is_test else ""
        # Pipelines differ in how hard they retry: some not at all, most up to 3 or 4 times.
        x = r.random()
        max_attempts = 1 if x < 0.12 else (2 if x < 0.25 else (3 if x < 0.7 else 4))
        stale = i % 7919 == 11  # a handful per 50k, spread over the window
        t = t0
        for attempt in range(1, max_attempts + 1):
            latency = r.lognormvariate(math.log(m.latency_ms), 0.35)
            x = r.random()
            status = "success"
            if x < m.timeout_rate:
                status = "timeout"
            elif x < m.timeout_rate + m.fail_rate * (1.6 if attempt > 1 else 1.0):
                status = "failed"
            created = t
            error = NULL
            give_up = False
            if status == "timeout":
                msg = _timeout_message(r)
                latency = float(msg.split()[-2])
                error = msg
            elif status == "failed":
                fkind = r.choices(range(len(FAILURES)), weights=_FAIL_WEIGHTS)[0]
                error = _copy_text(FAILURES[fkind][1](r, m))
                if fkind in NOT_RETRIED:
                    give_up = True
                latency = latency * r.uniform(0.05, 0.6)
            completed = created + timedelta(milliseconds=latency)
            pending = (stale and attempt == 1) or (
                end - created < timedelta(minutes=3) and attempt == 1 and r.random() < 0.5
            )
            tm = r.randint(300, 900)
            if pending:
                status, error, completed_s, meta, resp = "pending", NULL, NULL, NULL, NULL
            else:
                completed_s = completed.isoformat()
                resp = NULL
                if status == "success":
                    ts, tv = r.randint(1500, 6000), r.randint(100, 400)
                    tt = tm + ts + tv
                    cost = tt / 1000 * m.usd_per_1k_tokens * r.uniform(0.9, 1.1)
                    sections = r.randint(5, 9)
                    q = min(1.0, max(0.0, r.gauss(m.quality, 0.07)))
                    qs = ", ".join(f"{min(1.0, max(0.0, r.gauss(q, 0.05))):.3f}" for _ in range(sections))
                    rs = ", ".join("1" if r.random() < 0.08 else "0" for _ in range(sections))
                    dm = int(latency * 0.15)
                    dv = int(latency * 0.05)
                    meta = META.format(
                        m=m.name,
                        tm=tm,
                        ts=ts,
                        tv=tv,
                        tt=tt,
                        cost=f"{cost:.6f}",
                        dm=dm,
                        ds=int(latency) - dm - dv,
                        dv=dv,
                        dt=int(latency),
                        qm=f"{r.gauss(q, 0.04):.3f}",
                        qs=qs,
                        q=f"{q:.4f}",
                        b=sections,
                        rm=int(r.random() < 0.1),
                        rs=rs,
                        extra=extra,
                    )
                    nm, it = name_interest.split("|")
                    resp = RESPONSE.format(
                        rid=_rid(r, 16), m=m.name, name=nm, interest=it, moral=moral, pt=tm, ct=tt - tm, tt=tt
                    )
                elif status == "failed":
                    cost = tm / 1000 * m.usd_per_1k_tokens
                    meta = META_FAILED.format(
                        m=m.name, tm=tm, cost=f"{cost:.6f}", dm=int(latency), rm=attempt - 1, extra=extra
                    )
                else:  # timeout: the generator's own clock, nothing billed
                    meta = '{"duration_ms": {"total": ' + str(int(latency)) + "}" + extra + "}"
                if not is_test and r.random() < 0.012:
                    meta = r.choice(MALFORMED)
            yield (
                "\t".join(
                    (
                        gid,
                        str(attempt),
                        status,
                        m.name,
                        prompt,
                        user,
                        kind,
                        length,
                        hero,
                        rel,
                        moral,
                        error,
                        resp,
                        meta,
                        created.isoformat(),
                        completed_s,
                    )
                )
                + "\n"
            )
            if status in ("success", "pending") or give_up:
                break
            # Backoff before the retry: exponential with jitter, seconds apart.
            t = completed + timedelta(seconds=2**attempt + r.uniform(0, 2))


def load(
    engine: Engine,
    schema: str,
    generations: int,
    days: float = 90,
    seed: int = 7,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY the demo rows into `schema`.generations; return the number of attempts written."""
    schema = validate_schema(schema)
    end = end or datetime.now(UTC).replace(microsecond=0)
    written = 0
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            # Identifiers cannot be bound; schema passed validate_schema above.
            with cur.copy(f'COPY "{schema}".generations ({COLUMNS}) FROM STDIN') as copy:
                buf: list[str] = []
                for line in generate_rows(generations, days, seed, end):
                    buf.append(line)
                    if len(buf) >= 5000:
                        copy.write("".join(buf))
                        written += len(buf)
                        buf.clear()
                        if progress:
                            progress(written)
                if buf:
                    copy.write("".join(buf))
                    written += len(buf)
        raw.commit()
    finally:
        raw.close()
    return written


def _parse_end(value: str) -> datetime:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date or timestamp: {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m data_access.demo_data", description=__doc__.splitlines()[0])
    p.add_argument("--generations", type=int, default=50_000)
    p.add_argument("--days", type=float, default=90)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end", type=_parse_end, default=None, help="last timestamp (default: now, UTC)")
    p.add_argument("--source", default=None, help="load a seed system's table instead (default: GENLENS_SOURCE)")
    args = p.parse_args(argv)
    if args.generations < 1 or args.days <= 0:
        p.error("--generations and --days must be positive")

    from data_access.engine import get_database
    from data_access.migrate import apply_migrations

    try:
        db = get_database()
        source = args.source or db.source
        t0 = time.perf_counter()
        if source == "generations":
            apply_migrations(db.engine, db.schema)
            n = load(db.engine, db.schema, args.generations, args.days, args.seed, args.end)
        else:
            from data_access import source_demo
            from data_access.migrate import create_source_view

            n = source_demo.load(db.engine, db.schema, source, args.generations, args.days, args.seed, args.end)
            create_source_view(db.engine, db.schema, source, db.settings.view_schema)
        secs = time.perf_counter() - t0
    except Exception as exc:
        print(f"demo_data: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    print(
        f"loaded {n} attempts of {args.generations} generations into {db.label} "
        f"in {secs:.2f} s ({n / secs:,.0f} attempts/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
