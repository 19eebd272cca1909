"""The masking step of error groups: its SQL expression equals the Python rules, on generated text and
on the LLM-error corpus.

Each hypothesis example sends a whole batch of strings in one query (unnest of an array), so the
real PostgreSQL regex engine is checked against Python's `re` on thousands of strings quickly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from metrics.signatures import MASK_MAX_LEN as MAX_LEN
from metrics.signatures import MASK_PARAMS as PARAMS
from metrics.signatures import mask as signature
from metrics.signatures import mask_sql as signature_sql
from queries.core import fetch
from tests.test_signatures import (
    ALPHABET,
    SETTINGS,
    WORDS,
    ids,
    numbers,
    quoted,
    template_fillings,
    uuids,
    whitespace,
)

SQL = f"SELECT {signature_sql('t.m')} AS sig FROM unnest(CAST(:msgs AS text[])) WITH ORDINALITY AS t(m, i) ORDER BY t.i"


def sql_signatures(msgs: list[str]) -> list[str]:
    df = fetch(SQL, {**PARAMS, "msgs": msgs})
    return [str(v) for v in df["sig"]]


# --- strategies -----------------------------------------------------------------------------------

# quoted text that the rules mask: a space inside, no quote or line break
_INNER = ALPHABET.replace("'", "").replace('"', "").replace("\n", "")
quoted_text = st.tuples(st.text(alphabet=_INNER, max_size=10), st.text(alphabet=_INNER, max_size=10)).flatmap(
    lambda t: st.sampled_from((f"'{t[0]} {t[1]}'", f'"{t[0]} {t[1]}"'))
)
# the shapes the newer rules look for, so that the engines are compared on them too
structured = st.one_of(
    st.sampled_from(
        (
            "'message': ",
            '"message":',
            "'type': 'overloaded_error'",
            ", 'request_id': 'req_011CSHoEeqs5C35K2UUqR7Fy'",
            '"user_id":"user_2abc3def4"',
            "input_value={'title': 'x y'}, input_type=dict]",
            "\u00ab",
            "\u00bb",
            "Sun Jun 19 04:08:41 2005",
            "Mon, 21 Oct",
            "2026-12-02T10:09:06.123Z",
            "2026-12-02",
            "12:34:56.7",
            "0x7f3a2c1b9d50",
            "10.251.71.240:50010",
            "1,000,000",
            "Theo's",
            "''",
            '""',
            "'a/b'",
            "'x[0]'",
        )
    ),
    st.tuples(st.sampled_from(("'message': ", '"detail":', "'msg': ")), quoted).map("".join),
)
pieces = st.one_of(
    st.text(alphabet=ALPHABET, max_size=12),
    st.sampled_from(WORDS),
    numbers,
    ids,
    uuids,
    quoted,
    whitespace,
    structured,
    quoted_text,
    st.sampled_from(("'", '"', "-", "_", ".", "<n>", "<id>")),
)
messages = st.one_of(
    st.text(alphabet=ALPHABET, max_size=300),
    st.lists(pieces, max_size=40).map("".join),
)
batches = st.lists(messages, min_size=1, max_size=40)

LONG = "a" * (MAX_LEN - 1) + " b"  # the cut lands right after a space


# --- properties -----------------------------------------------------------------------------------


@SETTINGS
@given(msgs=batches)
@example(msgs=[LONG, "", " ", "x" * 500, "1.2.3 v1.2 12345678 1234567 abc-1234-xyz 'a\"b' \"c'd\" ' \" '"])
@example(msgs=["req_8f3a9c2e71 at 3F2B8C1E-9D4A-4B6E-8F10-2A3B4C5D6E7F\t\tx", "ab3f2b8c1e-9d4a-4b6e-8f10-2a3b4c5d6e7f"])
def test_sql_signature_equals_python(empty_db, msgs):
    assert sql_signatures(msgs) == [signature(m) for m in msgs]


SLOTS = {"n": numbers, "id": ids, "uuid": uuids, "str": quoted_text}


@SETTINGS
@given(case=st.lists(template_fillings(SLOTS), min_size=1, max_size=20))
def test_messages_differing_only_in_variable_parts_share_a_signature(empty_db, case):
    msgs = [m for _, fills in case for m in fills]
    sql = sql_signatures(msgs)
    for k, (parts, _fills) in enumerate(case):
        a, b = sql[2 * k], sql[2 * k + 1]
        assert a == b
        # and the signature is the template itself, placeholders in place of the slots
        assert a == " ".join(f"<{p}>" if p in SLOTS else p for p in parts)[:MAX_LEN].rstrip(" ")


@SETTINGS
@given(msgs=batches)
@example(msgs=[LONG])
def test_signature_is_short_and_the_engines_agree_on_signatures(empty_db, msgs):
    once = [signature(m) for m in msgs]
    assert all(len(s) <= MAX_LEN for s in once)
    assert sql_signatures(once) == [signature(s) for s in once]


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (
            "Upstream error 502 from provider 'open ai'",
            'Upstream error 503 from provider "together ai"',
            "Upstream error <n> from provider <str>",
        ),
        (
            "Provider returned error for generation 3f2b8c1e-9d4a-4b6e-8f10-2a3b4c5d6e7f",
            "Provider returned error for generation 0A1B2C3D-4E5F-4A6B-9C7D-8E9F0A1B2C3D",
            "Provider returned error for generation <uuid>",
        ),
        (
            "Rate limit exceeded: retry after 30s (request id req_8f3a9c2e71)",
            "Rate limit exceeded: retry after 5s (request id req_77b1d0e4aa)",
            "Rate limit exceeded: retry after <n>s (request id <id>)",
        ),
        (
            "Invalid JSON at position 4032:\n  Expecting ',' delimiter",
            "Invalid JSON at position 41: Expecting ',' delimiter",
            "Invalid JSON at position <n>: Expecting ',' delimiter",
        ),
        (
            "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}, "
            "'request_id': 'req_011CSHoEeqs5C35K2UUqR7Fy'}",
            "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}",
            "Error code: <n> - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': «Overloaded»}}",
        ),
        (
            "connection from 218.188.2.4 () at Sun Jun 19 04:08:41 2005",
            "connection from 10.0.0.7 () at Mon Jul 4 23:59:01 2005",
            "connection from <ip> () at <date> <time> <n>",
        ),
        (
            "1 validation error for Story\ntitle\n  Field required [type=missing, input_value={'hero': 'Mia'}, input_type=dict]",
            "2 validation error for Story\ntitle\n  Field required [type=missing, input_value='', input_type=dict]",
            "<n> validation error for Story title Field required [type=missing, input_value=<value>, input_type=dict]",
        ),
        (
            "Validation failed: score 0.93 below 1",
            "Validation failed: score 0.5 below 12",
            "Validation failed: score <n> below <n>",
        ),
    ],
)
def test_known_messages(empty_db, a, b, expected):
    assert sql_signatures([a, b]) == [expected, expected]
    assert signature(a) == signature(b) == expected


def test_quoted_words_stay_and_quoted_text_goes(empty_db):
    msgs = [
        "Invalid value for 'title': \"The Dragon's Gift\" (type 'str')",
        "Quality check failed for story 'Theo's Train': overall score 0.41",
        "{'code': 'PGRST116', 'details': 'The result contains 0 rows', 'message': 'JSON object requested'}",
    ]
    expected = [
        "Invalid value for 'title': <str> (type 'str')",
        "Quality check failed for story <str>: overall score <n>",
        "{'code': '<id>', 'details': <str>, 'message': «JSON object requested»}",
    ]
    assert sql_signatures(msgs) == [signature(m) for m in msgs] == expected


def test_llm_error_corpus_engines_agree(empty_db):
    msgs = [row["message"] for row in _corpus()]
    assert sql_signatures(msgs) == [signature(m) for m in msgs]


def test_long_and_wide_signatures_fit_an_index_entry(empty_db):
    msgs = ["x " * 600, "é" * 900, "\U0001f600" * 700, "a" * 799 + " b"]
    sigs = sql_signatures(msgs)
    assert sigs == [signature(m) for m in msgs]
    assert all(len(s) <= MAX_LEN and len(s.encode()) <= 2000 for s in sigs)


def _corpus() -> list[dict]:
    path = Path(__file__).parent / "fixtures" / "llm_errors.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_words_without_digits_and_short_tokens_stay(empty_db):
    msg = "unavailable abc1234 shutdown_now"
    assert sql_signatures([msg]) == [signature(msg)] == ["unavailable abc<n> shutdown_now"]
