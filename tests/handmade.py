"""A hand-made dataset small enough to compute every report of METRICS.md by hand.

20 generations, 28 attempts, 2026-03-01 .. 2026-03-09 UTC. The tests use the window
[2026-03-02, 2026-03-08); "in" / "OUT" below is about that window. Latency is completed_at -
created_at. Models: MA = openai/gpt-4o-mini, MB = anthropic/claude-3.5-sonnet. Users: U1, U2.
Metadata: c = cost_usd, tok = total_tokens.total, dur = duration_ms.total, q = quality_scores.overall.

| gen | model | type     | user | attempts (status @ created_at UTC, latency) and metadata       | what it tests                          |
|-----|-------|----------|------|-----------------------------------------------------------------|----------------------------------------|
| G01 | MA    | child    | U1   | 1 success 03-02 10:00:00 1000ms; c .01 tok 1000 dur 900 q .8    | plain first-attempt success            |
| G02 | MA    | hero     | U1   | 1 failed 03-02 12:00:00 2000ms c .002 tok 100 "Rate limit ...30s req_8f3a9c2e71"; 2 success 12:01:00 3000ms c .02 tok 2000 q .9 | retry that ends in success; rate-limit signature (number, id) |
| G03 | MB    | child    | U2   | 1 timeout 03-03 09:00:00 60000ms dur 60000 "Request timed out after 60000 ms"; 2 failed 09:02:00 500ms c .001 tok 50 "Rate limit ...5s req_77b1d0e4aa"; 3 timeout 09:03:00 90000ms meta {} "...90000 ms" | retries that end in failure (timeout final); 3 attempts |
| G04 | MB→MA | hero     | U2   | 1 failed MB 03-04 08:00:00 1500ms c .003 tok 300 q .2 "Upstream error 502 from provider 'openai'"; 2 failed MA 08:00:30 1500ms c .001 tok 100 'Upstream error 503 from provider "together"' | retries ending failed (failed final); fallback model; quoted names |
| G05 | MA    | combined | U1   | 1 timeout 03-07 23:59:00 30000ms c .004 "...30000 ms"; 2 success 03-08 00:00:30 4000ms c .03 tok 3000 q .6 | first attempt in window, retry after `until`: counts |
| G06 | MA    | child    | U1   | 1 failed 03-01 23:50:00 1000ms c .5 "Upstream error 500 ... 'fireworks'"; 2 success 03-02 00:05:00 1000ms c .5 q .1 | OUT: first attempt before `since`, retry inside |
| G07 | MB    | child    | U1   | 1 failed 03-04 15:00:00 2500ms c .002 "Provider ... generation <uuid1>"; 2 failed 15:00:10 2500ms c .002 "... <uuid2>"; 3 pending 15:00:20 meta NULL | pending final (not terminal); UUID signature; stale pending |
| G08 | MA    | hero     | U2   | 1 pending 03-05 11:00:00 meta NULL                              | single pending attempt, stale (older than 15 min at any query time after 03-05 11:15) |
| G09 | MA    | child    | U1   | 1 success 03-05 14:00:00 2000ms; test_run_id, c .5 tok 5000 q .5 | test generation in window: only with include_tests |
| G10 | MB    | child    | U2   | 1 success 03-09 10:00:00 2000ms; test_run_id, c 1               | test generation after `until`: never in scope |
| G11 | MA    | child    | U2   | 1 failed 03-06 08:00:00 5000ms, error_message NULL, meta SQL NULL | NULL metadata is no issue; failed without message: not in errors |
| G12 | MA    | child    | U1   | 1 success 03-06 09:00:00 6000ms; meta JSON null                 | issue: not an object (JSON null)       |
| G13 | MB    | hero     | U2   | 1 failed 03-06 10:00:00 700ms; meta ["test_run_id", 1, {"cost_usd": 1}] '=HYPERLINK("http://evil.example/x1")' | issue: not an object (array; not a test run, cost inside ignored); CSV formula guard |
| G14 | MA    | hero     | U1   | 1 success 03-06 11:00:00 7000ms; meta "cost_usd=0.05" (a JSON string) | issue: not an object (string)          |
| G15 | MB    | child    | U1   | 1 success 03-06 12:00:00 8000ms; c "0.05" tok 500 q .7          | issue: cost as string (tokens, quality still read) |
| G16 | MA    | combined | U2   | 1 failed 03-06 13:00:00 9000ms; c -0.01 tok 400 "Worker wk-9c8d7e6f lost job 7 of story 'Mia ...' (trace <uuid>)" | issue: negative cost; signature with id, number, quoted, uuid |
| G17 | MB    | combined | U2   | 1 success 03-07 09:00:00 10000ms; c .04 q 1.4                   | issue: quality above 1                 |
| G18 | MA    | child    | U2   | 1 failed 03-07 10:00:00 800ms; c .006 tok "1200" "Worker wk-5e6f7a8b lost job 12 of story \"Leo's ...\" (trace <uuid>)" | issue: tokens total as string; same signature as G16 |
| G19 | MB    | hero     | U1   | 1 success 03-07 11:00:00 11000ms; c .05 dur -5 q 1              | issue: negative duration; quality 1 is valid |
| G20 | MA    | child    | U1   | 1 success 03-07 12:00:00, completed 11:59:59; c .005 q_scores "excellent" | completed before created: latency unknown; quality_scores not an object: quality unknown, no issue |

Pending attempts (G07 #3, G08 #1) have no completed_at; both are stale at any query time after
2026-03-05 11:15 UTC, the fixed timestamps cannot hold a fresh one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

MA = "openai/gpt-4o-mini"
MB = "anthropic/claude-3.5-sonnet"
U1 = "11111111-1111-4111-8111-111111111111"
U2 = "22222222-2222-4222-8222-222222222222"

SINCE = datetime(2026, 3, 2, tzinfo=UTC)
UNTIL = datetime(2026, 3, 8, tzinfo=UTC)


def gid(n: int) -> str:
    """Generation id of G<n>: 00000000-0000-4000-8000-<n, 12 digits>, e.g. ...-000000000013 for G13."""
    return f"00000000-0000-4000-8000-{n:012d}"


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 3, day, hh, mm, ss, tzinfo=UTC)


JSON_NULL = object()  # generation_metadata = 'null'::jsonb (not SQL NULL)
_MISSING = object()  # a key left out of the metadata object


@dataclass(frozen=True)
class Attempt:
    g: int
    n: int
    status: str
    model: str
    story_type: str
    user: str
    created: datetime
    latency_ms: int | None = None  # None: pending (no completed_at)
    meta: object = None  # None: SQL NULL; JSON_NULL; else any JSON value
    error: str | None = None
    completed: datetime | None = None  # overrides latency_ms

    @property
    def completed_at(self) -> datetime | None:
        if self.completed is not None:
            return self.completed
        if self.latency_ms is None:
            return None
        return self.created + timedelta(milliseconds=self.latency_ms)


def _m(cost=_MISSING, tok=_MISSING, dur=_MISSING, q=_MISSING, **extra) -> dict:
    meta: dict = {"model_used": {"metadata": "x"}}
    if cost is not _MISSING:
        meta["cost_usd"] = cost
    if tok is not _MISSING:
        meta["total_tokens"] = {"metadata": 1, "total": tok}
    if dur is not _MISSING:
        meta["duration_ms"] = {"total": dur}
    if q is not _MISSING:
        meta["quality_scores"] = {"overall": q}
    meta.update(extra)
    return meta


A = Attempt
ATTEMPTS: tuple[Attempt, ...] = (
    A(1, 1, "success", MA, "child", U1, at(2, 10, 0), 1000, _m(0.01, 1000, 900, 0.8)),
    A(
        2,
        1,
        "failed",
        MA,
        "hero",
        U1,
        at(2, 12, 0),
        2000,
        _m(0.002, 100),
        "Rate limit exceeded: retry after 30s (request id req_8f3a9c2e71)",
    ),
    A(2, 2, "success", MA, "hero", U1, at(2, 12, 1), 3000, _m(0.02, 2000, q=0.9)),
    A(
        3,
        1,
        "timeout",
        MB,
        "child",
        U2,
        at(3, 9, 0),
        60000,
        _m(dur=60000),
        "Request timed out after 60000 ms",
    ),
    A(
        3,
        2,
        "failed",
        MB,
        "child",
        U2,
        at(3, 9, 2),
        500,
        _m(0.001, 50),
        "Rate limit exceeded: retry after 5s (request id req_77b1d0e4aa)",
    ),
    A(3, 3, "timeout", MB, "child", U2, at(3, 9, 3), 90000, {}, "Request timed out after 90000 ms"),
    A(
        4,
        1,
        "failed",
        MB,
        "hero",
        U2,
        at(4, 8, 0),
        1500,
        _m(0.003, 300, q=0.2),
        "Upstream error 502 from provider 'openai'",
    ),
    A(
        4,
        2,
        "failed",
        MA,
        "hero",
        U2,
        at(4, 8, 0, 30),
        1500,
        _m(0.001, 100),
        'Upstream error 503 from provider "together"',
    ),
    A(5, 1, "timeout", MA, "combined", U1, at(7, 23, 59), 30000, _m(0.004), "Request timed out after 30000 ms"),
    A(5, 2, "success", MA, "combined", U1, at(8, 0, 0, 30), 4000, _m(0.03, 3000, q=0.6)),
    A(6, 1, "failed", MA, "child", U1, at(1, 23, 50), 1000, _m(0.5), "Upstream error 500 from provider 'fireworks'"),
    A(6, 2, "success", MA, "child", U1, at(2, 0, 5), 1000, _m(0.5, q=0.1)),
    A(
        7,
        1,
        "failed",
        MB,
        "child",
        U1,
        at(4, 15, 0),
        2500,
        _m(0.002),
        "Provider returned error for generation 3f2b8c1e-9d4a-4b6e-8f10-2a3b4c5d6e7f",
    ),
    A(
        7,
        2,
        "failed",
        MB,
        "child",
        U1,
        at(4, 15, 0, 10),
        2500,
        _m(0.002),
        "Provider returned error for generation 0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d",
    ),
    A(7, 3, "pending", MB, "child", U1, at(4, 15, 0, 20)),
    A(8, 1, "pending", MA, "hero", U2, at(5, 11, 0)),
    A(9, 1, "success", MA, "child", U1, at(5, 14, 0), 2000, _m(0.5, 5000, q=0.5, test_run_id="tr-2026-03-05")),
    A(10, 1, "success", MB, "child", U2, at(9, 10, 0), 2000, _m(1, test_run_id="tr-2026-03-09")),
    A(11, 1, "failed", MA, "child", U2, at(6, 8, 0), 5000, None, None),
    A(12, 1, "success", MA, "child", U1, at(6, 9, 0), 6000, JSON_NULL),
    A(
        13,
        1,
        "failed",
        MB,
        "hero",
        U2,
        at(6, 10, 0),
        700,
        ["test_run_id", 1, {"cost_usd": 1}],
        '=HYPERLINK("http://evil.example/x1")',
    ),
    A(14, 1, "success", MA, "hero", U1, at(6, 11, 0), 7000, "cost_usd=0.05"),
    A(15, 1, "success", MB, "child", U1, at(6, 12, 0), 8000, _m("0.05", 500, q=0.7)),
    A(
        16,
        1,
        "failed",
        MA,
        "combined",
        U2,
        at(6, 13, 0),
        9000,
        _m(-0.01, 400),
        "Worker wk-9c8d7e6f lost job 7 of story 'Mia and the dragon' (trace 1b4e28ba-2fa1-41d2-883f-0016d3cca427)",
    ),
    A(17, 1, "success", MB, "combined", U2, at(7, 9, 0), 10000, _m(0.04, q=1.4)),
    A(
        18,
        1,
        "failed",
        MA,
        "child",
        U2,
        at(7, 10, 0),
        800,
        _m(0.006, "1200"),
        'Worker wk-5e6f7a8b lost job 12 of story "Leo\'s space trip" (trace 6fa459ea-ee8a-4ca4-894e-db77e160355e)',
    ),
    A(19, 1, "success", MB, "hero", U1, at(7, 11, 0), 11000, _m(0.05, dur=-5, q=1)),
    A(
        20,
        1,
        "success",
        MA,
        "child",
        U1,
        at(7, 12, 0),
        None,
        _m(0.005, quality_scores="excellent"),
        completed=at(7, 11, 59, 59),
    ),
)

INSERT = text(
    """
INSERT INTO "{schema}".generations
    (generation_id, attempt_number, status, model_used, prompt, user_id, story_type, story_length,
     hero_appearance, relationship_description, moral, error_message, full_response,
     generation_metadata, created_at, completed_at)
VALUES
    (CAST(:generation_id AS uuid), :attempt_number, :status, :model_used, :prompt, CAST(:user_id AS uuid),
     :story_type, :story_length, :hero_appearance, :relationship_description, :moral, :error_message,
     CAST(:full_response AS jsonb), CAST(:generation_metadata AS jsonb), :created_at, :completed_at)
"""
)


def _meta_text(meta: object) -> str | None:
    if meta is None:
        return None
    if meta is JSON_NULL:
        return "null"
    return json.dumps(meta)


def rows() -> list[dict]:
    out = []
    for a in ATTEMPTS:
        out.append(
            {
                "generation_id": gid(a.g),
                "attempt_number": a.n,
                "status": a.status,
                "model_used": a.model,
                "prompt": f"Write a {a.story_type} bedtime story (hand-made G{a.g:02d}).",
                "user_id": a.user,
                "story_type": a.story_type,
                "story_length": 5,
                "hero_appearance": "a tiny fox with a red scarf" if a.story_type != "child" else None,
                "relationship_description": "brother and sister" if a.story_type == "combined" else None,
                "moral": "kindness",
                "error_message": a.error,
                "full_response": json.dumps({"id": f"gen-{a.g}-{a.n}"}) if a.status == "success" else None,
                "generation_metadata": _meta_text(a.meta),
                "created_at": a.created,
                "completed_at": a.completed_at,
            }
        )
    return out


def load(engine: Engine, schema: str) -> None:
    """Insert the hand-made attempts into "<schema>".generations (already migrated)."""
    # The schema name comes from the test fixture, a fixed identifier.
    stmt = text(INSERT.text.replace("{schema}", schema))
    with engine.begin() as conn:
        conn.execute(stmt, rows())
