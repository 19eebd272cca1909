"""Malformed generation_metadata reads as NULL, never raises, and is counted as METRICS.md says.

A metadata issue: metadata not NULL and not a JSON object, or cost_usd, quality_scores.overall,
total_tokens.total or duration_ms.total present but invalid (not a number, negative, quality > 1).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from metrics.scope import COST, DURATION, IS_TEST, ISSUE_KINDS, METADATA_ISSUE, QUALITY, TOKENS, scoped
from queries import reports
from queries.core import fetch
from queries.filters import Filters
from tests import handmade
from tests.handmade import gid

KINDS = ("not_an_object", "invalid_cost", "invalid_quality", "invalid_tokens", "invalid_duration")
# Every attempt of the hand-made dataset: window 03-01..03-10 with tests takes all 28.
ALL = Filters(since=datetime(2026, 3, 1, tzinfo=UTC), until=datetime(2026, 3, 10, tzinfo=UTC), include_tests=True)


def _none(v):
    return None if v is None or pd.isna(v) else v


def same(got, expected) -> bool:
    """NULL only where NULL is expected, else the number."""
    return got is None if expected is None else (got is not None and got == pytest.approx(expected))


def test_kinds_are_the_ones_of_metrics_md():
    assert tuple(ISSUE_KINDS) == KINDS


def attempt_values(f: Filters) -> dict[tuple[int, int], tuple]:
    s = scoped(f, extras=tuple(ISSUE_KINDS))
    sql = (
        s.text
        + f"""
SELECT generation_id, attempt_number, CAST(cost_usd AS float8) AS cost_usd, CAST(tokens AS float8) AS tokens,
       CAST(duration_ms AS float8) AS duration_ms, CAST(quality AS float8) AS quality, metadata_issue,
       {", ".join(KINDS)}
FROM att"""
    )
    df = fetch(sql, s.params, s.expanding)
    out = {}
    for r in df.to_dict("records"):
        g = int(str(r["generation_id"])[-12:])
        kinds = tuple(k for k in KINDS if r[k])
        assert bool(r["metadata_issue"]) == bool(kinds), (g, kinds)
        out[g, r["attempt_number"]] = (
            _none(r["cost_usd"]),
            _none(r["tokens"]),
            _none(r["duration_ms"]),
            _none(r["quality"]),
            kinds,
        )
    return out


# (generation, attempt) -> (cost_usd, tokens, duration_ms, quality, issue kinds); see tests/handmade.py
EXPECTED = {
    (1, 1): (0.01, 1000, 900, 0.8, ()),
    (2, 1): (0.002, 100, None, None, ()),
    (2, 2): (0.02, 2000, None, 0.9, ()),
    (3, 1): (None, None, 60000, None, ()),
    (3, 2): (0.001, 50, None, None, ()),
    (3, 3): (None, None, None, None, ()),  # {}: nothing present, nothing invalid
    (4, 1): (0.003, 300, None, 0.2, ()),
    (4, 2): (0.001, 100, None, None, ()),
    (5, 1): (0.004, None, None, None, ()),
    (5, 2): (0.03, 3000, None, 0.6, ()),
    (6, 1): (0.5, None, None, None, ()),
    (6, 2): (0.5, None, None, 0.1, ()),
    (7, 1): (0.002, None, None, None, ()),
    (7, 2): (0.002, None, None, None, ()),
    (7, 3): (None, None, None, None, ()),  # SQL NULL: no issue
    (8, 1): (None, None, None, None, ()),  # SQL NULL
    (9, 1): (0.5, 5000, None, 0.5, ()),
    (10, 1): (1, None, None, None, ()),
    (11, 1): (None, None, None, None, ()),  # SQL NULL
    (12, 1): (None, None, None, None, ("not_an_object",)),  # JSON null
    (13, 1): (None, None, None, None, ("not_an_object",)),  # array (its inner {"cost_usd": 1} is not read)
    (14, 1): (None, None, None, None, ("not_an_object",)),  # JSON string
    (15, 1): (None, 500, None, 0.7, ("invalid_cost",)),  # cost "0.05": the other values still read
    (16, 1): (None, 400, None, None, ("invalid_cost",)),  # cost -0.01
    (17, 1): (0.04, None, None, None, ("invalid_quality",)),  # quality 1.4
    (18, 1): (0.006, None, None, None, ("invalid_tokens",)),  # tokens "1200"
    (19, 1): (0.05, None, None, 1.0, ("invalid_duration",)),  # duration -5; quality 1 is valid
    (20, 1): (0.005, None, None, None, ()),  # quality_scores "excellent": no overall, so unknown, no issue
}


def test_each_malformed_kind_reads_as_null_and_is_its_kind(handmade_db):
    got = attempt_values(ALL)
    assert set(got) == set(EXPECTED)
    for key, (cost, tokens, duration, quality, kinds) in EXPECTED.items():
        gc, gt, gd, gq, gk = got[key]
        assert gk == kinds, key
        for name, g, e in (
            ("cost", gc, cost),
            ("tokens", gt, tokens),
            ("duration", gd, duration),
            ("quality", gq, quality),
        ):
            assert (g is None) == (e is None) and (e is None or g == pytest.approx(e)), (key, name, g, e)


def test_metadata_issues_counted_by_kind(handmade_db):
    f = Filters(since=handmade.SINCE, until=handmade.UNTIL)
    s = scoped(f, extras=tuple(ISSUE_KINDS))
    counts = ", ".join(f"count(*) FILTER (WHERE {k}) AS {k}" for k in KINDS)
    df = fetch(s.text + f"SELECT {counts}, count(*) FILTER (WHERE metadata_issue) AS total FROM att", s.params)
    assert df.iloc[0].to_dict() == {
        "not_an_object": 3,  # G12 JSON null, G13 array, G14 string
        "invalid_cost": 2,  # G15 "0.05", G16 -0.01
        "invalid_quality": 1,  # G17 1.4
        "invalid_tokens": 1,  # G18 "1200"
        "invalid_duration": 1,  # G19 -5
        "total": 8,
    }
    assert reports.summary(f)["metadata_issues"] == 8


def test_filtering_on_metadata_values_never_casts_a_bad_value(handmade_db):
    # A predicate on the typed values may be pushed down next to rows holding strings and arrays.
    s = scoped(Filters(since=handmade.SINCE, until=handmade.UNTIL))
    df = fetch(s.text + "SELECT count(*) AS n FROM att WHERE cost_usd > 0 AND quality > 0.5 AND tokens >= 0", s.params)
    assert int(df["n"][0]) == 3  # G01 (.01, .8), G02#2 (.02, .9), G05#2 (.03, .6); G19 has no tokens


# One metadata value at a time, through the very expressions every query uses.
CASES = [
    # metadata JSON text, (cost, tokens, duration, quality), issue kinds, is a test generation
    (None, (None, None, None, None), (), False),
    ("null", (None, None, None, None), ("not_an_object",), False),
    ("[1, 2]", (None, None, None, None), ("not_an_object",), False),
    ('["test_run_id", {"cost_usd": 1}]', (None, None, None, None), ("not_an_object",), False),
    ('"test_run_id"', (None, None, None, None), ("not_an_object",), False),
    ("42", (None, None, None, None), ("not_an_object",), False),
    ("true", (None, None, None, None), ("not_an_object",), False),
    ("{}", (None, None, None, None), (), False),
    ('{"test_run_id": "tr-1"}', (None, None, None, None), (), True),
    ('{"test_run_id": null}', (None, None, None, None), (), True),
    ('{"cost_usd": 0}', (0, None, None, None), (), False),
    ('{"cost_usd": 1e-7}', (1e-7, None, None, None), (), False),
    ('{"cost_usd": "0.05"}', (None, None, None, None), ("invalid_cost",), False),
    ('{"cost_usd": -0.01}', (None, None, None, None), ("invalid_cost",), False),
    ('{"cost_usd": true}', (None, None, None, None), ("invalid_cost",), False),
    ('{"cost_usd": {"usd": 1}}', (None, None, None, None), ("invalid_cost",), False),
    ('{"cost_usd": [1]}', (None, None, None, None), ("invalid_cost",), False),
    ('{"cost_usd": null}', (None, None, None, None), ("invalid_cost",), False),  # present, not a number
    ('{"quality_scores": {"overall": 1}}', (None, None, None, 1), (), False),
    ('{"quality_scores": {"overall": 0}}', (None, None, None, 0), (), False),
    ('{"quality_scores": {"overall": 1.4}}', (None, None, None, None), ("invalid_quality",), False),
    ('{"quality_scores": {"overall": -0.1}}', (None, None, None, None), ("invalid_quality",), False),
    ('{"quality_scores": {"overall": "0.9"}}', (None, None, None, None), ("invalid_quality",), False),
    ('{"quality_scores": "excellent"}', (None, None, None, None), (), False),  # no overall: unknown
    ('{"quality_scores": [0.9]}', (None, None, None, None), (), False),
    ('{"total_tokens": {"total": 1200}}', (None, 1200, None, None), (), False),
    ('{"total_tokens": {"total": "1200"}}', (None, None, None, None), ("invalid_tokens",), False),
    ('{"total_tokens": {"total": -1}}', (None, None, None, None), ("invalid_tokens",), False),
    ('{"total_tokens": 1200}', (None, None, None, None), (), False),  # no .total: unknown
    ('{"duration_ms": {"total": 5}}', (None, None, 5, None), (), False),
    ('{"duration_ms": {"total": -5}}', (None, None, None, None), ("invalid_duration",), False),
    ('{"duration_ms": {"total": "5"}}', (None, None, None, None), ("invalid_duration",), False),
    (
        '{"cost_usd": -1, "quality_scores": {"overall": 2}, "total_tokens": {"total": "x"}, "duration_ms": {"total": -1}}',
        (None, None, None, None),
        ("invalid_cost", "invalid_quality", "invalid_tokens", "invalid_duration"),
        False,
    ),
]


def test_json_reads_one_value_at_a_time(empty_db):
    kinds = ", ".join(f"{expr} AS {k}" for k, expr in ISSUE_KINDS.items())
    sql = f"""
SELECT t.i, CAST({COST} AS float8) AS cost, CAST({TOKENS} AS float8) AS tokens,
       CAST({DURATION} AS float8) AS duration, CAST({QUALITY} AS float8) AS quality,
       {METADATA_ISSUE} AS issue, {IS_TEST} AS is_test, {kinds}
FROM unnest(CAST(:metas AS text[])) WITH ORDINALITY AS t(m, i)
CROSS JOIN LATERAL (SELECT CAST(t.m AS jsonb) AS generation_metadata) g
ORDER BY t.i"""
    df = fetch(sql, {"metas": [c[0] for c in CASES]})
    assert len(df) == len(CASES)
    for r, (meta, values, issue_kinds, is_test) in zip(df.to_dict("records"), CASES, strict=True):
        got_values = tuple(_none(r[k]) for k in ("cost", "tokens", "duration", "quality"))
        assert all(same(g, e) for g, e in zip(got_values, values, strict=True)), (meta, got_values)
        assert tuple(k for k in KINDS if r[k]) == issue_kinds, meta
        assert bool(r["issue"]) == bool(issue_kinds), meta
        assert bool(r["is_test"]) == is_test, meta


def test_array_metadata_naming_test_run_id_is_not_a_test_generation(handmade_db):
    # G13's metadata is ["test_run_id", ...]: only an object with that key marks a test generation.
    df = reports.fetch_report("attempts", Filters(since=handmade.SINCE, until=handmade.UNTIL))
    assert gid(13) in {str(g) for g in df["generation_id"]}
    assert gid(9) not in {str(g) for g in df["generation_id"]}
