"""Realistic, deterministic demo data for the generations table, loaded with COPY.

The generator and the loader, used by the embedded start (data_access/bootstrap.py), the seed
systems' demo tables (data_access/source_demo.py), the offline provider, the tests and the
benchmark; the command is `python -m data_access.demo_data` (data_access/demo_data.py).

The same seed and end time give the same rows. Six models with their own failure, timeout,
latency, cost and quality profiles; retries seconds apart after failures and timeouts; a dozen
failure kinds with variable parts (ids, seconds, positions) so error signatures have work to do;
Stage 5 `generation_metadata`; and a small share of what real tables hold too: malformed metadata,
stale pending attempts and test generations.

Built for speed (figures in BENCHMARKS.md): the random draws are made with numpy for a block of
`BLOCK` generations at a time, each block from its own stream seeded by (seed, block number), so
the rows depend only on the arguments; the main thread formats a block while a writer thread
streams the previous one to COPY; and into an EMPTY table the load runs in one transaction that
drops the table's indexes, COPYs with FREEZE and rebuilds the same indexes afterwards
(data_access/bulk.py, which imported rows load through too).
"""

from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine

from data_access.bulk import LoadStats, copy_in
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
    # only by the lifecycle below (weight 0: the draws above are unchanged)
    (
        0,
        lambda r, m: (
            f"Response blocked by the provider's safety system: finish_reason SAFETY on candidate {r.randint(0, 3)}"
        ),
    ),
)
_FAIL_WEIGHTS = [w for w, _ in FAILURES]
DAY_US = 86_400_000_000
# Errors come and go, so that the demo shows every state of an error group's lifecycle (days
# before the data's end): credits run out no more after 12 days before it (resolved); a worker
# bug is fixed for days 20 to 9 before it and comes back (regressed); safety blocks start 3 days
# before it (new), in place of some empty completions. The other attempts of those kinds take
# the most common error instead, so no random draw changes.
_RATE, _SAFETY = 0, len(FAILURES) - 1
NOT_RETRIED = {3, 4, 8}  # content filter, context length, credits: retrying cannot help
TIMEOUTS_MS = (30_000, 45_000, 60_000, 90_000)


def _lifecycle(fk: np.ndarray, before_end_us: np.ndarray) -> np.ndarray:
    """Failure kinds as errors come and go (above), given how long before the data's end each attempt starts."""
    days = before_end_us / DAY_US
    gone_credits = (fk == 8) & (days < 12)
    fixed_worker = (fk == 10) & (days < 20) & (days >= 9)
    safety = (fk == 11) & (days < 3)
    return np.where(gone_credits | fixed_worker, _RATE, np.where(safety, _SAFETY, fk))


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

# printf-style templates (faster than str.format at millions of rows); the same JSON as ever.
META = (
    '{"model_used": {"metadata": "%s", "sections": "%s"}, '
    '"total_tokens": {"metadata": %d, "sections": %d, "validation": %d, "total": %d}, '
    '"cost_usd": %.6f, '
    '"duration_ms": {"metadata": %d, "sections": %d, "validation": %d, "total": %d}, '
    '"quality_scores": {"metadata_similarity": %.3f, "sections_similarity": [%s], "overall": %.4f}, '
    '"batch_count": %d, "retry_count": {"metadata": %d, "sections": [%s]}%s}'
)
META_FAILED = (
    '{"model_used": {"metadata": "%s"}, "total_tokens": {"metadata": %d, "total": %d}, '
    '"cost_usd": %.6f, "duration_ms": {"metadata": %d, "total": %d}, '
    '"retry_count": {"metadata": %d, "sections": []}%s}'
)
META_TIMEOUT = '{"duration_ms": {"total": %d}%s}'  # the generator's own clock, nothing billed
RESPONSE = (
    '{"id": "gen-%s", "model": "%s", "object": "chat.completion", '
    '"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", '
    '"content": "Once upon a time, %s discovered %s. The story teaches %s."}}], '
    '"usage": {"prompt_tokens": %d, "completion_tokens": %d, "total_tokens": %d}}'
)
MALFORMED = (
    NULL,
    '"metadata unavailable"',
    "[1, 2, 3]",
    '{"cost_usd": "0.12", "total_tokens": {"total": "1200"}}',
    '{"cost_usd": -0.5, "quality_scores": {"overall": 1.4}, "duration_ms": {"total": 5000}}',
    '{"cost_usd": 0.01, "quality_scores": "high", "duration_ms": {"total": -20}}',
)

# The constant pieces go into COPY lines unescaped: none may need escaping.
assert all(
    _copy_text(s) == s
    for s in (*NAMES, *INTERESTS, *MORALS, *HEROES, *RELATIONS, *MALFORMED[1:], *(m.name for m in MODELS))
)

# --- Vectorised generation ------------------------------------------------------------------------

BLOCK = 10_000  # generations per block: the unit of the random streams (and of a COPY write)
MAX_ATTEMPTS = 4
SUCCESS, FAILED, TIMEOUT, PENDING = 0, 1, 2, 3
STATUS_NAMES = ("success", "failed", "timeout", "pending")

_LAT_LOG = np.log([m.latency_ms for m in MODELS])
_FAIL = np.array([m.fail_rate for m in MODELS])
_TIMEOUT = np.array([m.timeout_rate for m in MODELS])
_USD = np.array([m.usd_per_1k_tokens for m in MODELS])
_QUALITY = np.array([m.quality for m in MODELS])
_SHARE_CUM = np.cumsum([m.share for m in MODELS])
_FAIL_P = np.array(_FAIL_WEIGHTS, dtype=float) / sum(_FAIL_WEIGHTS)
_GIVE_UP = np.array([k in NOT_RETRIED for k in range(len(FAILURES))])
_TIMEOUTS = np.array(TIMEOUTS_MS, dtype=float)
_KINDS = tuple(k for k, _ in STORY_TYPES)
_KIND_CUM = np.cumsum([w for _, w in STORY_TYPES])
_DIGITS = np.frombuffer(b"0123456789", np.uint8)
_HEXB = np.frombuffer(HEX.encode(), np.uint8)
_ALNUMB = np.frombuffer(ALNUM.encode(), np.uint8)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _rs_table() -> dict[int, list[str]]:
    """retry_count.sections for 5..9 sections, indexed by a bit mask of the retried sections."""
    return {
        s: [", ".join("1" if bits >> j & 1 else "0" for j in range(s)) for bits in range(1 << s)] for s in range(5, 10)
    }


_RS = _rs_table()


def _strings(chars: np.ndarray) -> list[str]:
    """Rows of an (n, w) uint8 ASCII matrix as n Python strings."""
    chars = np.ascontiguousarray(chars)
    return chars.view(f"S{chars.shape[1]}").ravel().astype(f"U{chars.shape[1]}").tolist()


def _uuids(rng: np.random.Generator, n: int) -> list[str]:
    """n random (version 4) UUIDs in canonical text form."""
    b = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hexc = np.empty((n, 32), np.uint8)
    hexc[:, 0::2] = _HEXB[b >> 4]
    hexc[:, 1::2] = _HEXB[b & 0x0F]
    out = np.full((n, 36), ord("-"), np.uint8)
    for src, dst, width in ((0, 0, 8), (8, 9, 4), (12, 14, 4), (16, 19, 4), (20, 24, 12)):  # 8-4-4-4-12
        out[:, dst : dst + width] = hexc[:, src : src + width]
    return _strings(out)


def _timestamps(us: np.ndarray) -> list[str]:
    """Microseconds since the epoch as ISO 8601 UTC text: 2026-11-20T12:00:00.000000+00:00."""
    day, tod = np.divmod(us, 86_400_000_000)
    days, inverse = np.unique(day, return_inverse=True)
    dates = np.frombuffer("".join(np.datetime_as_string(days.astype("datetime64[D]")).tolist()).encode(), np.uint8)
    out = np.empty((len(us), 32), np.uint8)
    out[:, :10] = dates.reshape(-1, 10)[inverse]
    for col, ch in ((10, "T"), (13, ":"), (16, ":"), (19, ".")):
        out[:, col] = ord(ch)
    out[:, 26:] = np.frombuffer(b"+00:00", np.uint8)
    secs, frac = np.divmod(tod, 1_000_000)
    hours, secs = np.divmod(secs, 3600)
    minutes, secs = np.divmod(secs, 60)
    for col, v in ((11, hours), (14, minutes), (17, secs)):
        out[:, col] = _DIGITS[v // 10]
        out[:, col + 1] = _DIGITS[v % 10]
    for col in range(25, 19, -1):
        frac, digit = np.divmod(frac, 10)
        out[:, col] = _DIGITS[digit]
    return _strings(out)


def _similarities(values: np.ndarray) -> list[str]:
    """Rows of an (n, 9) array of [0, 1] scores as '0.812, 0.790, ...' (cut per row by the caller)."""
    thousandths = np.rint(values * 1000).astype(np.int64)
    chars = np.empty((values.shape[0], values.shape[1], 7), np.uint8)
    chars[:, :, 0] = _DIGITS[thousandths // 1000]
    chars[:, :, 1] = ord(".")
    chars[:, :, 2] = _DIGITS[thousandths // 100 % 10]
    chars[:, :, 3] = _DIGITS[thousandths // 10 % 10]
    chars[:, :, 4] = _DIGITS[thousandths % 10]
    chars[:, :, 5] = ord(",")
    chars[:, :, 6] = ord(" ")
    return _strings(chars.reshape(values.shape[0], -1))


# Traffic grows over the window (density proportional to the time since its start) and peaks at
# 18:00 UTC: density(t) ~ t * (1 + DIURNAL * sin(OMEGA * t + phase)), t in seconds from the start,
# phase set by the start's time of day.
DIURNAL = 0.35
_OMEGA = 2 * np.pi / 86400
PEAK_SECOND = 18 * 3600  # of the UTC day


def _phase(start_us: int) -> float:
    """Phase making sin(OMEGA * t + phase) peak at PEAK_SECOND UTC, t in seconds from start_us."""
    return _OMEGA * ((start_us / 1e6) % 86400 - PEAK_SECOND) + np.pi / 2


def _traffic_cdf(x: np.ndarray, phase: float) -> np.ndarray:
    """Integral from 0 to x of t * (1 + DIURNAL * sin(OMEGA * t + phase)) dt."""

    def primitive(t):
        return t * t / 2 + DIURNAL * (np.sin(_OMEGA * t + phase) / _OMEGA**2 - t * np.cos(_OMEGA * t + phase) / _OMEGA)

    return primitive(x) - primitive(0.0)


@functools.lru_cache(maxsize=8)
def _slices(generations: int, days: float, phase: float) -> np.ndarray:
    """Offsets (s) cutting the window into one slice per block, each with its share of the traffic."""
    span = days * 86400.0
    blocks = -(-generations // BLOCK)
    share = np.minimum(np.arange(blocks + 1) * BLOCK, generations) / generations
    target = share * _traffic_cdf(np.float64(span), phase)
    lo, hi = np.zeros(blocks + 1), np.full(blocks + 1, span)
    for _ in range(64):  # bisection: the integral only grows
        mid = (lo + hi) / 2
        below = _traffic_cdf(mid, phase) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    out = (lo + hi) / 2
    out[0], out[-1] = 0.0, span
    return out


def _start_offsets(rng: np.random.Generator, n: int, lo: float, hi: float, phase: float) -> np.ndarray:
    """n sorted start offsets in [lo, hi) drawn from the traffic density (by rejection)."""
    got: list[np.ndarray] = []
    need = n
    while need > 0:
        m = int(need * 1.5) + 16
        t = np.sqrt(lo * lo + rng.random(m) * (hi * hi - lo * lo))  # density ~ t on [lo, hi)
        keep = t[rng.random(m) * (1 + DIURNAL) < 1 + DIURNAL * np.sin(_OMEGA * t + phase)]
        got.append(keep[:need])
        need -= len(got[-1])
    return np.sort(np.concatenate(got))


@functools.lru_cache(maxsize=4)
def _users(seed: int, count: int) -> tuple[str, ...]:
    return tuple(_uuids(np.random.default_rng([seed % 2**64, 1]), count))


def _user_count(generations: int) -> int:
    return max(20, generations // 25)


def _us(dt: datetime) -> int:
    return (dt - _EPOCH) // _US


def _block(
    seed: int, block: int, generations: int, days: float, end_us: int, users: tuple[str, ...]
) -> tuple[str, int]:
    """COPY text of block `block` (generations block*BLOCK ..), and its number of attempts."""
    first = block * BLOCK
    n = min(BLOCK, generations - first)
    rng = np.random.default_rng([seed % 2**64, 0, block])
    pr = random.Random(f"{seed}:{block}")  # the variable parts of failure messages
    span = days * 86400.0
    start_us = end_us - round(span * 1e6)

    # Start times, in time order like a real table's: this block's slice of the window.
    phase = _phase(start_us)
    lo, hi = _slices(generations, days, phase)[block : block + 2]
    t0 = start_us + (_start_offsets(rng, n, lo, hi, phase) * 1e6).astype(np.int64)

    gids = _uuids(rng, n)
    user = rng.integers(0, len(users), n).tolist()
    model = np.minimum(np.searchsorted(_SHARE_CUM, rng.random(n), side="right"), len(MODELS) - 1)
    kind = np.minimum(np.searchsorted(_KIND_CUM, rng.random(n), side="right"), len(_KINDS) - 1)
    name = rng.integers(0, len(NAMES), n).tolist()
    interest = rng.integers(0, len(INTERESTS), n).tolist()
    moral = rng.integers(0, len(MORALS), n).tolist()
    age = rng.integers(3, 10, n).tolist()
    hero = rng.integers(0, len(HEROES), n).tolist()
    rel = rng.integers(0, len(RELATIONS), n).tolist()
    length = rng.integers(3, 16, n).tolist()
    is_test = rng.random(n) < 0.004
    test_run = rng.integers(0, 3, n).tolist()
    x = rng.random(n)
    # Pipelines differ in how hard they retry: some not at all, most up to 3 or 4 times.
    max_attempts = 1 + (x >= 0.12).astype(np.int64) + (x >= 0.25) + (x >= 0.7)
    stale = np.arange(first, first + n) % 7919 == 11  # a handful per 50k, spread over the window
    test_ids = _test_run_ids(seed)

    # Attempts: one column per attempt number, kept while the generation goes on retrying.
    present = np.zeros((n, MAX_ATTEMPTS), bool)
    status = np.zeros((n, MAX_ATTEMPTS), np.int64)
    created = np.zeros((n, MAX_ATTEMPTS), np.int64)
    latency = np.zeros((n, MAX_ATTEMPTS))
    fkind = np.zeros((n, MAX_ATTEMPTS), np.int64)
    going, t = np.ones(n, bool), t0
    lat_log, timeout_rate, fail_rate = _LAT_LOG[model], _TIMEOUT[model], _FAIL[model]
    for k in range(MAX_ATTEMPTS):
        here = going & (max_attempts > k)
        lat = np.exp(lat_log + 0.35 * rng.standard_normal(n))
        x = rng.random(n)
        st = np.where(
            x < timeout_rate, TIMEOUT, np.where(x < timeout_rate + fail_rate * (1.6 if k else 1.0), FAILED, SUCCESS)
        )
        fk = _lifecycle(rng.choice(len(FAILURES), size=n, p=_FAIL_P), end_us - t)
        lat = np.where(
            st == TIMEOUT,
            _TIMEOUTS[rng.integers(0, len(TIMEOUTS_MS), n)],
            np.where(st == FAILED, lat * rng.uniform(0.05, 0.6, n), lat),
        )
        give_up = (st == FAILED) & _GIVE_UP[fk]
        if k == 0:  # stale pending ones, and fresh ones still running at `end`
            pending = stale | ((end_us - t < 180_000_000) & (rng.random(n) < 0.5))
            st = np.where(pending, PENDING, st)
        present[:, k], status[:, k], created[:, k], latency[:, k], fkind[:, k] = here, st, t, lat, fk
        going = here & (st != SUCCESS) & (st != PENDING) & ~give_up
        # Backoff before the retry: exponential with jitter, seconds apart.
        t = t + (lat * 1000).astype(np.int64) + ((2 ** (k + 1) + rng.uniform(0, 2, n)) * 1e6).astype(np.int64)

    gi, ki = np.nonzero(present)  # generation order, then attempt order
    m = len(gi)
    st, cr, lat, fk, mdl = status[gi, ki], created[gi, ki], latency[gi, ki], fkind[gi, ki], model[gi]
    lat_us = (lat * 1000).astype(np.int64)
    tm = rng.integers(300, 901, m)
    ts, tv = rng.integers(1500, 6001, m), rng.integers(100, 401, m)
    tt = tm + ts + tv
    cost_ok = tt / 1000 * _USD[mdl] * rng.uniform(0.9, 1.1, m)
    cost_failed = tm / 1000 * _USD[mdl]
    sections = rng.integers(5, 10, m)
    q = np.clip(_QUALITY[mdl] + 0.07 * rng.standard_normal(m), 0, 1)
    sims = _similarities(np.clip(q[:, None] + 0.05 * rng.standard_normal((m, 9)), 0, 1))
    retried = (rng.random((m, 9)) < 0.08) @ (1 << np.arange(9))
    q_meta = q + 0.04 * rng.standard_normal(m)
    rm = (rng.random(m) < 0.1).astype(np.int64)
    rids = _strings(_ALNUMB[rng.integers(0, len(ALNUM), (m, 16))])
    malformed = ~is_test[gi] & (rng.random(m) < 0.012)
    malformed_kind = rng.integers(0, len(MALFORMED), m).tolist()
    dt = lat.astype(np.int64)
    dm, dv = (lat * 0.15).astype(np.int64), (lat * 0.05).astype(np.int64)
    created_s, completed_s = _timestamps(cr), _timestamps(cr + lat_us)
    rs_mask = (1 << sections) - 1
    # Python lists: indexing them in the loop below is far cheaper than indexing numpy arrays.
    tm, ts, tv, tt, dt, dm, dv = (a.tolist() for a in (tm, ts, tv, tt, dt, dm, dv))
    cost_ok, cost_failed, q, q_meta = (a.tolist() for a in (cost_ok, cost_failed, q, q_meta))
    sections, retried, rm = sections.tolist(), (retried & rs_mask).tolist(), rm.tolist()
    malformed, fk = malformed.tolist(), fk.tolist()

    # Per generation: the columns between status and error_message, and the test-run marker.
    mids, extras = [], []
    for mo, kd, nm, it, mr, ag, he, rl, ln, us_, te, tr in zip(
        model.tolist(),
        kind.tolist(),
        name,
        interest,
        moral,
        age,
        hero,
        rel,
        length,
        user,
        is_test.tolist(),
        test_run,
        strict=True,
    ):
        k_name = _KINDS[kd]
        prompt = (
            f"Write a {k_name} bedtime story for {NAMES[nm]}, age {ag}, who loves {INTERESTS[it]}."
            f" The story should teach {MORALS[mr]}."
        )
        mids.append(
            f"{MODELS[mo].name}\t{prompt}\t{users[us_]}\t{k_name}\t{ln}\t"
            f"{HEROES[he] if kd else NULL}\t{RELATIONS[rl] if kd == 2 else NULL}\t{MORALS[mr]}"
        )
        extras.append(f', "test_run_id": "{test_ids[tr]}", "source": "admin"' if te else "")

    lines = []
    for j, (g, k, s, mo) in enumerate(zip(gi.tolist(), ki.tolist(), st.tolist(), mdl.tolist(), strict=True)):
        gid, mid = gids[g], mids[g]
        if s == PENDING:
            lines.append(f"{gid}\t{k + 1}\tpending\t{mid}\t{NULL}\t{NULL}\t{NULL}\t{created_s[j]}\t{NULL}\n")
            continue
        name_m = MODELS[mo].name
        resp = error = NULL
        if s == SUCCESS:
            sec = sections[j]
            meta = META % (
                name_m,
                name_m,
                tm[j],
                ts[j],
                tv[j],
                tt[j],
                cost_ok[j],
                dm[j],
                dt[j] - dm[j] - dv[j],
                dv[j],
                dt[j],
                q_meta[j],
                sims[j][: 7 * sec - 2],
                q[j],
                sec,
                rm[j],
                _RS[sec][retried[j]],
                extras[g],
            )
            resp = RESPONSE % (
                rids[j],
                name_m,
                NAMES[name[g]],
                INTERESTS[interest[g]],
                MORALS[moral[g]],
                tm[j],
                tt[j] - tm[j],
                tt[j],
            )
        elif s == FAILED:
            error = _copy_text(FAILURES[fk[j]][1](pr, MODELS[mo]))
            meta = META_FAILED % (name_m, tm[j], tm[j], cost_failed[j], dt[j], dt[j], k, extras[g])
        else:
            error = f"Request timed out after {dt[j]} ms"
            meta = META_TIMEOUT % (dt[j], extras[g])
        if malformed[j]:
            meta = MALFORMED[malformed_kind[j]]
        lines.append(
            f"{gid}\t{k + 1}\t{STATUS_NAMES[s]}\t{mid}\t{error}\t{resp}\t{meta}\t{created_s[j]}\t{completed_s[j]}\n"
        )
    return "".join(lines), m


@functools.lru_cache(maxsize=4)
def _test_run_ids(seed: int) -> tuple[str, ...]:
    return tuple(_uuids(np.random.default_rng([seed % 2**64, 2]), 3))


def generate_blocks(generations: int, days: float, seed: int, end: datetime) -> Iterator[tuple[str, int]]:
    """(COPY text, attempts) per block of `BLOCK` generations, in order."""
    end_us = _us(end)
    users = _users(seed, _user_count(generations))
    for block in range(-(-generations // BLOCK)):
        yield _block(seed, block, generations, days, end_us, users)


def generate_rows(generations: int, days: float, seed: int, end: datetime) -> Iterator[str]:
    """COPY text lines, one per attempt, for `generations` generations ending at `end`."""
    for text_, _ in generate_blocks(generations, days, seed, end):
        yield from text_.splitlines(keepends=True)


# --- Loading ---------------------------------------------------------------------------------------


def load(
    engine: Engine,
    schema: str,
    generations: int,
    days: float = 90,
    seed: int = 7,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """COPY the demo rows into `schema`.generations; return the number of attempts written.

    One transaction. Into an empty table (checked under an exclusive lock) the indexes are dropped
    first and rebuilt, with the same definitions, after the rows are in, which is several times
    faster than maintaining them row by row; a table that already has rows keeps its indexes.
    """
    return load_with_stats(engine, schema, generations, days, seed, end, progress).attempts


def load_with_stats(
    engine: Engine,
    schema: str,
    generations: int,
    days: float = 90,
    seed: int = 7,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    **levers,
) -> LoadStats:
    """load(), with where its time went; the levers (bulk index rebuild, a thread streaming the
    COPY, COPY FREEZE, index build memory and workers: data_access/bulk.py) are for the load
    benchmark (bench/load.py)."""
    end = end or datetime.now(UTC).replace(microsecond=0)
    blocks = ((data.encode(), n) for data, n in generate_blocks(generations, days, seed, end))
    return copy_in(engine, validate_schema(schema), COLUMNS, blocks, "", progress, **levers)
