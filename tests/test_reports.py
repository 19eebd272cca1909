"""Every report of METRICS.md on the hand-made dataset, against numbers computed by hand.

Window [2026-03-02, 2026-03-08) unless a test says otherwise. See the table in tests/handmade.py.
In scope by default: G01-G05, G07, G08, G11-G20 (17 generations). Out: G06 (first attempt before
`since`), G09 (test), G10 (test, after `until`). G05's retry on 03-08 00:00:30 counts.
Statuses of the 24 attempts in scope:
  success (9): G01#1 G02#2 G05#2 G12 G14 G15 G17 G19 G20
  failed (10): G02#1 G03#2 G04#1 G04#2 G07#1 G07#2 G11 G13 G16 G18
  timeout (3): G03#1 G03#3 G05#1
  pending (2): G07#3 G08#1
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from queries import reports
from queries.filters import Filters
from tests import handmade
from tests.handmade import MA, MB, U1, U2, gid
from ui import format as fmt

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
F = Filters(since=handmade.SINCE, until=handmade.UNTIL)

# Column names and order: METRICS.md "Reports", written out again on purpose (the contract).
CONTRACT = {
    "summary": [
        "generations",
        "attempts",
        "success_rate",
        "attempt_success_rate",
        "first_attempt_success_rate",
        "avg_attempts_per_generation",
        "retry_rate",
        "recovered_by_retry",
        "total_cost_usd",
        "cost_per_success_usd",
        "total_tokens",
        "p50_latency_ms",
        "p95_latency_ms",
        "avg_quality",
        "pending_attempts",
        "metadata_issues",
    ],
    "by_model": [
        "model_used",
        "attempts",
        "successes",
        "failures",
        "timeouts",
        "attempt_success_rate",
        "p50_latency_ms",
        "p95_latency_ms",
        "total_cost_usd",
        "avg_quality",
    ],
    "daily": ["day", "attempts", "successes", "failures", "timeouts", "attempt_success_rate", "total_cost_usd"],
    "retries": ["attempts", "generations", "succeeded", "failed_final"],
    "errors": [
        "error_signature",
        "occurrences",
        "generations",
        "first_seen",
        "last_seen",
        "models",
        "example_generation_id",
        "state",
        "mark",
    ],
    "attempts": [
        "generation_id",
        "attempt_number",
        "status",
        "model_used",
        "story_type",
        "user_id",
        "created_at",
        "completed_at",
        "latency_ms",
        "cost_usd",
        "tokens",
        "quality",
        "error_message",
        "error_signature",
    ],
}


def ts(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


def plain(v):
    """A DataFrame cell as a plain Python value (None for NULL)."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    if hasattr(v, "item"):
        return v.item()
    return v


def same(actual, expected) -> bool:
    if expected is None:
        return actual is None
    if isinstance(expected, float):
        return actual is not None and actual == pytest.approx(expected, rel=1e-9, abs=1e-12)
    if isinstance(expected, datetime):
        return actual is not None and actual == expected
    return str(actual) == str(expected) if isinstance(expected, str) else actual == expected


def assert_row(actual: dict, expected: dict) -> None:
    assert list(actual) == list(expected), "columns differ"
    bad = {k: (actual[k], v) for k, v in expected.items() if not same(actual[k], v)}
    assert not bad, f"(actual, expected) differ: {bad}"


def rows_of(df: pd.DataFrame) -> list[dict]:
    return [{k: plain(v) for k, v in r.items()} for r in df.to_dict("records")]


def assert_rows(df: pd.DataFrame, columns: list[str], expected: list[tuple]) -> None:
    assert list(df.columns) == columns
    got = rows_of(df)
    assert len(got) == len(expected), got
    for g, e in zip(got, expected, strict=True):
        assert_row(g, dict(zip(columns, e, strict=True)))


# --- summary --------------------------------------------------------------------------------------

SUMMARY = {
    "generations": 17,  # G01-G05, G07, G08, G11-G20
    "attempts": 24,  # 1+2+3+2+2 (G01-G05) + 3 (G07) + 1 (G08) + 10 (G11-G20)
    # final success: G01 G02 G05 G12 G14 G15 G17 G19 G20 = 9; final terminal: 17 - pending G07, G08 = 15
    "success_rate": 9 / 15,
    "attempt_success_rate": 9 / 22,  # 9 success attempts / (24 - 2 pending)
    # first attempt success: G01 G12 G14 G15 G17 G19 G20 = 7; first terminal: all but G08 = 16
    "first_attempt_success_rate": 7 / 16,
    "avg_attempts_per_generation": 24 / 17,
    "retry_rate": 5 / 17,  # more than one attempt: G02 G03 G04 G05 G07
    "recovered_by_retry": 2,  # G02, G05
    # known costs: G01 .01 + G02 .002 .02 + G03#2 .001 + G04 .003 .001 + G05 .004 .03 + G07 .002 .002
    # + G17 .04 + G18 .006 + G19 .05 + G20 .005 = .176 (G15 "0.05" and G16 -0.01 invalid; G12-G14 not objects)
    "total_cost_usd": 0.176,
    "cost_per_success_usd": 0.176 / 9,
    # tokens: 1000 + 100 + 2000 + 50 + 300 + 100 + 3000 (G05#2) + 500 (G15) + 400 (G16) = 7450 (G18 "1200" invalid)
    "total_tokens": 7450,
    # 21 known latencies (G20 completed before created, pending ones unknown), sorted:
    # 500 700 800 1000 1500 1500 2000 2500 2500 3000 [4000] 5000 6000 7000 8000 9000 10000 11000 30000 60000 90000
    # p50: position 0.5*20 = 10 -> 4000; p95: position 0.95*20 = 19 -> 60000
    "p50_latency_ms": 4000.0,
    "p95_latency_ms": 60000.0,
    "avg_quality": 4.2 / 6,  # .8 (G01) .9 (G02) .2 (G04) .6 (G05) .7 (G15) 1 (G19); G17 1.4 and G20 invalid
    "pending_attempts": 2,  # G07#3, G08
    "metadata_issues": 8,  # G12 G13 G14 (not objects), G15 G16 (cost), G17 (quality), G18 (tokens), G19 (duration)
}


def test_summary_matches_hand_computation(handmade_db):
    df = reports.fetch_report("summary", F)
    assert list(df.columns) == CONTRACT["summary"]
    assert len(df) == 1
    assert_row(reports.summary(F), SUMMARY)


SUMMARY_MODEL_MA = {
    "generations": 11,
    "attempts": 13,
    # final (of the remaining attempts): success G01 G02 G05 G12 G14 G20 = 6; terminal: all but G08 = 10
    "success_rate": 6 / 10,
    "attempt_success_rate": 6 / 12,
    # first remaining attempt success: G01 G12 G14 G20 = 4 (G04's remaining first is #2 failed); terminal 10
    "first_attempt_success_rate": 4 / 10,
    "avg_attempts_per_generation": 13 / 11,
    "retry_rate": 2 / 11,  # G02, G05 (G04 keeps one MA attempt)
    "recovered_by_retry": 2,
    "total_cost_usd": 0.078,  # .01 .002 .02 .001 .004 .03 .006 .005
    "cost_per_success_usd": 0.078 / 6,
    "total_tokens": 6600,  # 1000 100 2000 100 3000 400
    # 800 1000 1500 2000 3000 [4000] 5000 6000 7000 9000 30000: p50 4000, p95 at 9.5 -> 9000 + .5*21000
    "p50_latency_ms": 4000.0,
    "p95_latency_ms": 19500.0,
    "avg_quality": 2.3 / 3,  # .8 .9 .6
    "pending_attempts": 1,  # G08
    "metadata_issues": 4,  # G12 G14 G16 G18
}


def test_summary_by_model_filter(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, models=(MA,))
    # MA attempts (13): G01 s; G02 f,s; G04#2 f; G05 t,s; G08 p; G11 f; G12 s; G14 s; G16 f; G18 f; G20 s
    # generations with an MA attempt: G01 G02 G04 G05 G08 G11 G12 G14 G16 G18 G20 = 11
    assert_row(reports.summary(f), SUMMARY_MODEL_MA)


def test_summary_by_type_filter(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, types=("hero",))
    # hero: G02 (f,s) G04 (f,f) G08 (p) G13 (f) G14 (s) G19 (s): 6 generations, 8 attempts
    assert_row(
        reports.summary(f),
        {
            "generations": 6,
            "attempts": 8,
            "success_rate": 3 / 5,  # final success G02 G14 G19; terminal: all but G08
            "attempt_success_rate": 3 / 7,  # G02#2 G14 G19 / 7 terminal
            "first_attempt_success_rate": 2 / 5,  # G14 G19 / G02 G04 G13 G14 G19
            "avg_attempts_per_generation": 8 / 6,
            "retry_rate": 2 / 6,  # G02 G04
            "recovered_by_retry": 1,  # G02
            "total_cost_usd": 0.076,  # .002 .02 .003 .001 .05
            "cost_per_success_usd": 0.076 / 3,
            "total_tokens": 2500,  # 100 2000 300 100
            # 700 1500 1500 [2000] 3000 7000 11000: p95 at 5.7 -> 7000 + .7*4000
            "p50_latency_ms": 2000.0,
            "p95_latency_ms": 9800.0,
            "avg_quality": 2.1 / 3,  # .9 .2 1
            "pending_attempts": 1,
            "metadata_issues": 3,  # G13 G14 G19
        },
    )


def test_summary_by_user_filter(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, user=U2)
    # U2: G03 (t,f,t) G04 (f,f) G08 (p) G11 (f) G13 (f) G16 (f) G17 (s) G18 (f); G10 is out (test, after until)
    assert_row(
        reports.summary(f),
        {
            "generations": 8,
            "attempts": 11,
            "success_rate": 1 / 7,  # G17 / all but G08
            "attempt_success_rate": 1 / 10,
            "first_attempt_success_rate": 1 / 7,
            "avg_attempts_per_generation": 11 / 8,
            "retry_rate": 2 / 8,  # G03 G04
            "recovered_by_retry": 0,
            "total_cost_usd": 0.051,  # .001 .003 .001 .04 .006
            "cost_per_success_usd": 0.051,
            "total_tokens": 850,  # 50 300 100 400
            # 500 700 800 1500 [1500 5000] 9000 10000 60000 90000: p50 at 4.5 -> 3250; p95 at 8.55 -> 60000+.55*30000
            "p50_latency_ms": 3250.0,
            "p95_latency_ms": 76500.0,
            "avg_quality": 0.2,  # G04#1 only (G17's 1.4 is invalid)
            "pending_attempts": 1,
            "metadata_issues": 4,  # G13 G16 G17 G18
        },
    )


SUMMARY_WITH_TESTS = {
    "generations": 18,
    "attempts": 25,
    "success_rate": 10 / 16,
    "attempt_success_rate": 10 / 23,
    "first_attempt_success_rate": 8 / 17,
    "avg_attempts_per_generation": 25 / 18,
    "retry_rate": 5 / 18,
    "recovered_by_retry": 2,
    "total_cost_usd": 0.676,
    "cost_per_success_usd": 0.676 / 10,
    "total_tokens": 12450,
    # 22 latencies: ... 2000 2000 ... positions 10, 11 = 3000, 4000 -> p50 3500; p95 at 19.95: 30000 + .95*30000
    "p50_latency_ms": 3500.0,
    "p95_latency_ms": 58500.0,
    "avg_quality": 4.7 / 7,
    "pending_attempts": 2,
    "metadata_issues": 8,
}


def test_summary_include_tests_adds_g09_only(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, include_tests=True)
    # + G09 (1 success attempt 03-05, 2000 ms, cost .5, 5000 tokens, quality .5); G10 stays out (after until)
    assert_row(reports.summary(f), SUMMARY_WITH_TESTS)


def test_summary_of_an_empty_window_has_blank_rates_and_zero_totals(handmade_db):
    f = Filters(since=datetime(2025, 1, 1, tzinfo=UTC), until=datetime(2025, 2, 1, tzinfo=UTC))
    s = reports.summary(f)
    assert_row(
        s,
        {
            "generations": 0,
            "attempts": 0,
            "success_rate": None,
            "attempt_success_rate": None,
            "first_attempt_success_rate": None,
            "avg_attempts_per_generation": None,
            "retry_rate": None,
            "recovered_by_retry": 0,
            "total_cost_usd": 0.0,
            "cost_per_success_usd": None,
            "total_tokens": 0,
            "p50_latency_ms": None,
            "p95_latency_ms": None,
            "avg_quality": None,
            "pending_attempts": 0,
            "metadata_issues": 0,
        },
    )
    for name in ("by_model", "daily", "retries", "errors", "attempts"):
        df = reports.fetch_report(name, f)
        assert list(df.columns) == CONTRACT[name] and df.empty


def test_summary_of_an_empty_table(empty_db):
    s = reports.summary(F)
    assert (s["generations"], s["attempts"], s["total_cost_usd"], s["success_rate"]) == (0, 0, 0.0, None)


# --- by_model -------------------------------------------------------------------------------------


BY_MODEL = [
    # MA, 13 attempts (first although it sorts after MB by name):
    # success G01 G02#2 G05#2 G12 G14 G20; failed G02#1 G04#2 G11 G16 G18; timeout G05#1; pending G08
    # latencies 800 1000 1500 2000 3000 [4000] 5000 6000 7000 9000 30000 -> p95 at 9.5 = 19500
    # cost .01 .002 .02 .001 .004 .03 .006 .005 = .078; quality .8 .9 .6
    (MA, 13, 6, 5, 1, 6 / 12, 4000.0, 19500.0, 0.078, 2.3 / 3),
    # MB, 11 attempts: success G15 G17 G19; failed G03#2 G04#1 G07#1 G07#2 G13; timeout G03#1 G03#3; pending G07#3
    # latencies 500 700 1500 2500 [2500 8000] 10000 11000 60000 90000 -> p50 5250, p95 at 8.55 = 76500
    # cost .001 .003 .002 .002 .04 .05 = .098; quality .2 .7 1
    (MB, 11, 3, 5, 2, 3 / 10, 5250.0, 76500.0, 0.098, 1.9 / 3),
]


def test_by_model(handmade_db):
    assert_rows(reports.fetch_report("by_model", F), CONTRACT["by_model"], BY_MODEL)


# --- daily ----------------------------------------------------------------------------------------


DAILY = [
    (date(2026, 3, 2), 3, 2, 1, 0, 2 / 3, 0.032),  # G01 s, G02 f s; .01 + .002 + .02
    (date(2026, 3, 3), 3, 0, 1, 2, 0.0, 0.001),  # G03 t f t
    (date(2026, 3, 4), 5, 0, 4, 0, 0.0, 0.008),  # G04 f f, G07 f f p; .003 .001 .002 .002
    (date(2026, 3, 5), 1, 0, 0, 0, None, 0.0),  # G08 pending only: no rate; no cost -> 0
    (date(2026, 3, 6), 6, 3, 3, 0, 0.5, 0.0),  # G11 f G12 s G13 f G14 s G15 s G16 f; no valid cost
    (date(2026, 3, 7), 5, 3, 1, 1, 0.6, 0.105),  # G05#1 t G17 s G18 f G19 s G20 s; .004 .04 .006 .05 .005
    (date(2026, 3, 8), 1, 1, 0, 0, 1.0, 0.03),  # G05#2, after `until` but its generation is in scope
]


def test_daily(handmade_db):
    assert_rows(reports.fetch_report("daily", F), CONTRACT["daily"], DAILY)


def test_daily_with_tests_adds_g09_on_march_5(handmade_db):
    df = reports.fetch_report("daily", Filters(since=handmade.SINCE, until=handmade.UNTIL, include_tests=True))
    row = next(r for r in rows_of(df) if r["day"] == date(2026, 3, 5))
    assert_row(
        row,
        {
            "day": date(2026, 3, 5),
            "attempts": 2,
            "successes": 1,
            "failures": 0,
            "timeouts": 0,
            "attempt_success_rate": 1.0,
            "total_cost_usd": 0.5,
        },
    )


def test_daily_by_model_filter(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, models=(MB,))
    assert_rows(
        reports.fetch_report("daily", f),
        CONTRACT["daily"],
        [
            (date(2026, 3, 3), 3, 0, 1, 2, 0.0, 0.001),  # G03
            (date(2026, 3, 4), 4, 0, 3, 0, 0.0, 0.007),  # G04#1 .003, G07 f f p .002 .002
            (date(2026, 3, 6), 2, 1, 1, 0, 0.5, 0.0),  # G13 f, G15 s
            (date(2026, 3, 7), 2, 2, 0, 0, 1.0, 0.09),  # G17 .04, G19 .05
        ],
    )


# --- retries --------------------------------------------------------------------------------------


RETRIES = [
    # 1 attempt: G01 G08 G11-G20 = 12; success G01 G12 G14 G15 G17 G19 G20; failed G11 G13 G16 G18; G08 pending
    (1, 12, 7, 4),
    (2, 3, 2, 1),  # G02 s, G04 f, G05 s
    (3, 2, 0, 1),  # G03 timeout (failed final), G07 pending (neither)
]


def test_retries(handmade_db):
    assert_rows(reports.fetch_report("retries", F), CONTRACT["retries"], RETRIES)


def test_retries_by_user_filter(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, user=U1)
    # U1: G01 s, G02 (2) s, G05 (2) s, G07 (3) p, G12 s, G14 s, G15 s, G19 s, G20 s
    assert_rows(reports.fetch_report("retries", f), CONTRACT["retries"], [(1, 6, 6, 0), (2, 2, 2, 0), (3, 1, 0, 0)])


# --- errors ---------------------------------------------------------------------------------------

SIG_TIMEOUT = "Request timed out after <n> ms"
SIG_PROVIDER = "Provider returned error for generation <uuid>"
SIG_RATE = "Rate limit exceeded: retry after <n>s (request id <id>)"
SIG_UPSTREAM = "Upstream error <n> from provider <*>"
SIG_WORKER = "Worker <id> lost job <n> of story <str> (trace <uuid>)"
SIG_FORMULA = "=HYPERLINK(<str>)"
BOTH = f"{MB};{MA}"  # sorted: anthropic/... before openai/...

ERRORS = [
    # failed/timeout attempts with a message; G11 (failed, NULL message) is left out
    (SIG_TIMEOUT, 3, 2, ts(3, 9, 0), ts(7, 23, 59), BOTH, gid(5), "new", None),  # G03#1 G03#3 (MB), G05#1 (MA)
    # four signatures with 2 occurrences, by signature text
    (SIG_PROVIDER, 2, 1, ts(4, 15, 0), ts(4, 15, 0, 10), MB, gid(7), "new", None),  # G07#1 G07#2: two UUIDs
    (SIG_RATE, 2, 2, ts(2, 12, 0), ts(3, 9, 2), BOTH, gid(3), "new", None),  # G02#1 (MA), G03#2 (MB): 30s/5s, two ids
    (
        SIG_UPSTREAM,
        2,
        1,
        ts(4, 8, 0),
        ts(4, 8, 0, 30),
        BOTH,
        gid(4),
        "ongoing",
        None,
    ),  # G04: 502 'openai' / 503 "together"; G06 before the window
    (SIG_WORKER, 2, 2, ts(6, 13, 0), ts(7, 10, 0), MA, gid(18), "new", None),  # G16, G18: ids, numbers, quotes, uuids
    (SIG_FORMULA, 1, 1, ts(6, 10, 0), ts(6, 10, 0), MB, gid(13), "new", None),
]


def test_errors(handmade_db):
    assert_rows(reports.fetch_report("errors", F), CONTRACT["errors"], ERRORS)


def test_errors_by_model_filter(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, models=(MA,))
    assert_rows(
        reports.fetch_report("errors", f),
        CONTRACT["errors"],
        [
            (SIG_WORKER, 2, 2, ts(6, 13, 0), ts(7, 10, 0), MA, gid(18), "new", None),
            (SIG_RATE, 1, 1, ts(2, 12, 0), ts(2, 12, 0), MA, gid(2), "new", None),
            (SIG_TIMEOUT, 1, 1, ts(7, 23, 59), ts(7, 23, 59), MA, gid(5), "new", None),
            (SIG_UPSTREAM, 1, 1, ts(4, 8, 0, 30), ts(4, 8, 0, 30), MA, gid(4), "ongoing", None),
        ],
    )


# --- attempts -------------------------------------------------------------------------------------

ERR = {(a.g, a.n): a.error for a in handmade.ATTEMPTS}


def _att(g, n, status, model, kind, user, created, latency, cost, tokens, quality, sig=None, completed=None):
    if completed is None and latency is not None:
        completed = created + timedelta(milliseconds=latency)
    return (gid(g), n, status, model, kind, user, created, completed, latency, cost, tokens, quality, ERR[g, n], sig)


# newest first; completed_at = created_at + latency, except G20 (completed a second before it started)
ATTEMPTS = [
    _att(5, 2, "success", MA, "combined", U1, ts(8, 0, 0, 30), 4000.0, 0.03, 3000, 0.6),
    _att(5, 1, "timeout", MA, "combined", U1, ts(7, 23, 59), 30000.0, 0.004, None, None, SIG_TIMEOUT),
    _att(20, 1, "success", MA, "child", U1, ts(7, 12, 0), None, 0.005, None, None, completed=ts(7, 11, 59, 59)),
    _att(19, 1, "success", MB, "hero", U1, ts(7, 11, 0), 11000.0, 0.05, None, 1.0),
    _att(18, 1, "failed", MA, "child", U2, ts(7, 10, 0), 800.0, 0.006, None, None, SIG_WORKER),
    _att(17, 1, "success", MB, "combined", U2, ts(7, 9, 0), 10000.0, 0.04, None, None),
    _att(16, 1, "failed", MA, "combined", U2, ts(6, 13, 0), 9000.0, None, 400, None, SIG_WORKER),
    _att(15, 1, "success", MB, "child", U1, ts(6, 12, 0), 8000.0, None, 500, 0.7),
    _att(14, 1, "success", MA, "hero", U1, ts(6, 11, 0), 7000.0, None, None, None),
    _att(13, 1, "failed", MB, "hero", U2, ts(6, 10, 0), 700.0, None, None, None, SIG_FORMULA),
    _att(12, 1, "success", MA, "child", U1, ts(6, 9, 0), 6000.0, None, None, None),
    _att(11, 1, "failed", MA, "child", U2, ts(6, 8, 0), 5000.0, None, None, None),
    _att(8, 1, "pending", MA, "hero", U2, ts(5, 11, 0), None, None, None, None),
    _att(7, 3, "pending", MB, "child", U1, ts(4, 15, 0, 20), None, None, None, None),
    _att(7, 2, "failed", MB, "child", U1, ts(4, 15, 0, 10), 2500.0, 0.002, None, None, SIG_PROVIDER),
    _att(7, 1, "failed", MB, "child", U1, ts(4, 15, 0), 2500.0, 0.002, None, None, SIG_PROVIDER),
    _att(4, 2, "failed", MA, "hero", U2, ts(4, 8, 0, 30), 1500.0, 0.001, 100, None, SIG_UPSTREAM),
    _att(4, 1, "failed", MB, "hero", U2, ts(4, 8, 0), 1500.0, 0.003, 300, 0.2, SIG_UPSTREAM),
    _att(3, 3, "timeout", MB, "child", U2, ts(3, 9, 3), 90000.0, None, None, None, SIG_TIMEOUT),
    _att(3, 2, "failed", MB, "child", U2, ts(3, 9, 2), 500.0, 0.001, 50, None, SIG_RATE),
    _att(3, 1, "timeout", MB, "child", U2, ts(3, 9, 0), 60000.0, None, None, None, SIG_TIMEOUT),
    _att(2, 2, "success", MA, "hero", U1, ts(2, 12, 1), 3000.0, 0.02, 2000, 0.9),
    _att(2, 1, "failed", MA, "hero", U1, ts(2, 12, 0), 2000.0, 0.002, 100, None, SIG_RATE),
    _att(1, 1, "success", MA, "child", U1, ts(2, 10, 0), 1000.0, 0.01, 1000, 0.8),
]


def test_attempts(handmade_db):
    df = reports.fetch_report("attempts", F)
    assert list(df.columns) == CONTRACT["attempts"]
    got = [{**r, "generation_id": str(r["generation_id"]), "user_id": str(r["user_id"])} for r in rows_of(df)]
    assert [(r["generation_id"], r["attempt_number"]) for r in got] == [(e[0], e[1]) for e in ATTEMPTS]
    for g, e in zip(got, ATTEMPTS, strict=True):
        assert_row(g, dict(zip(CONTRACT["attempts"], e, strict=True)))


def test_attempts_status_filter(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL, statuses=("pending",))
    df = reports.fetch_report("attempts", f)
    assert [(str(g), n) for g, n in zip(df["generation_id"], df["attempt_number"], strict=True)] == [
        (gid(8), 1),
        (gid(7), 3),
    ]
    s = reports.summary(f)
    # only pending attempts remain: 2 generations, no terminal status anywhere -> every rate blank
    assert (s["generations"], s["attempts"], s["pending_attempts"], s["success_rate"], s["total_cost_usd"]) == (
        2,
        2,
        2,
        None,
        0.0,
    )


# --- the Overview shows the summary ---------------------------------------------------------------


def overview_kpis() -> dict[str, str]:
    """metric -> title of the Overview's KPI row (the registry says which metrics it shows)."""
    from ui.kpis import titles

    return titles("overview")


def test_overview_figures_equal_the_summary_report(handmade_db):
    s = reports.summary(F)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["since"] = "2026-03-02"
    at.query_params["until"] = "2026-03-08"
    at.run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    kpis = overview_kpis()
    assert {"generations", "success_rate", "total_cost_usd"} <= set(kpis)
    # each KPI shows the summary's value, formatted as ui.format formats that metric
    assert shown == {label: fmt.value(key, s[key]) for key, label in kpis.items()}
    # and the summary's values are the hand-computed ones
    hand = {
        "generations": "17",
        "success_rate": "60.0%",
        "avg_attempts_per_generation": "1.41",  # 24 / 17
        "total_cost_usd": "$0.1760",
        "p95_latency_ms": "60.0 s",
        "avg_quality": "0.700",
        "attempt_success_rate": "40.9%",
        "pending_attempts": "2",
    }
    for key, label in kpis.items():
        if key in hand:
            assert shown[label] == hand[key], key
