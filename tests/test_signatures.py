"""Error signatures: the SQL expression every query uses equals the Python rules, on generated text.

Each hypothesis example sends a whole batch of strings in one query (unnest of an array), so the
real PostgreSQL regex engine is checked against Python's `re` on thousands of strings quickly.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from queries.core import fetch
from queries.signatures import MAX_LEN, PARAMS, signature, signature_sql

SQL = f"SELECT {signature_sql('t.m')} AS sig FROM unnest(CAST(:msgs AS text[])) WITH ORDINALITY AS t(m, i) ORDER BY t.i"
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def sql_signatures(msgs: list[str]) -> list[str]:
    df = fetch(SQL, {**PARAMS, "msgs": msgs})
    return [str(v) for v in df["sig"]]


# --- strategies -----------------------------------------------------------------------------------

ALPHABET = string.ascii_letters + string.digits + "'\"-_ \t\n\r.:,;()[]/<>=+" + "éß\u00a0"
WORDS = ("error", "at", "position", "request", "id", "for", "timed", "out", "model", "unavailable", ":", "(", ")")

numbers = st.one_of(
    st.integers(0, 9_999_999).map(str),
    st.tuples(st.integers(0, 99_999), st.integers(0, 9_999)).map(lambda t: f"{t[0]}.{t[1]}"),
)
# 8+ characters of [A-Za-z0-9_-] with a digit; at most 30 long, so it cannot hold a 36-char UUID
ids = st.from_regex(r"[A-Za-z_-]{0,6}[0-9][A-Za-z0-9_-]{7,23}", fullmatch=True)
uuids = st.uuids().flatmap(lambda u: st.sampled_from((str(u), str(u).upper())))
quoted = st.one_of(
    st.text(alphabet=ALPHABET.replace("'", ""), max_size=20).map(lambda s: f"'{s}'"),
    st.text(alphabet=ALPHABET.replace('"', ""), max_size=20).map(lambda s: f'"{s}"'),
)
whitespace = st.text(alphabet=" \t\n\r\f\v", min_size=1, max_size=4)
pieces = st.one_of(
    st.text(alphabet=ALPHABET, max_size=12),
    st.sampled_from(WORDS),
    numbers,
    ids,
    uuids,
    quoted,
    whitespace,
    st.sampled_from(("'", '"', "-", "_", ".", "<n>", "<id>")),
)
messages = st.one_of(
    st.text(alphabet=ALPHABET, max_size=300),
    st.lists(pieces, max_size=40).map("".join),
)
batches = st.lists(messages, min_size=1, max_size=40)

LONG = "a" * 199 + " b"  # cut at 200 lands right after a space


# --- properties -----------------------------------------------------------------------------------


@SETTINGS
@given(msgs=batches)
@example(msgs=[LONG, "", " ", "x" * 500, "1.2.3 v1.2 12345678 1234567 abc-1234-xyz 'a\"b' \"c'd\" ' \" '"])
@example(msgs=["req_8f3a9c2e71 at 3F2B8C1E-9D4A-4B6E-8F10-2A3B4C5D6E7F\t\tx", "ab3f2b8c1e-9d4a-4b6e-8f10-2a3b4c5d6e7f"])
def test_sql_signature_equals_python(empty_db, msgs):
    assert sql_signatures(msgs) == [signature(m) for m in msgs]


SLOTS = {"n": numbers, "id": ids, "uuid": uuids, "str": quoted}


@st.composite
def template_fillings(draw, slots=SLOTS):
    """A message template of words and variable slots, filled twice with different values."""
    parts = draw(st.lists(st.one_of(st.sampled_from(WORDS), st.sampled_from(tuple(slots))), min_size=1, max_size=12))
    fills = []
    for _ in range(2):
        out = []
        for p in parts:
            out.append(draw(slots[p]) if p in slots else p)
        fills.append(" ".join(out))
    return parts, fills


@SETTINGS
@given(case=st.lists(template_fillings(), min_size=1, max_size=20))
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
def test_signature_is_idempotent_and_short(empty_db, msgs):
    once = [signature(m) for m in msgs]
    assert [signature(s) for s in once] == once
    assert all(len(s) <= MAX_LEN for s in once)
    assert sql_signatures(once) == once


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (
            "Upstream error 502 from provider 'openai'",
            'Upstream error 503 from provider "together"',
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
            "Invalid JSON at position 41: Expecting ';' delimiter",
            "Invalid JSON at position <n>: Expecting <str> delimiter",
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


def test_words_without_digits_and_short_tokens_stay(empty_db):
    msg = "unavailable abc1234 shutdown_now"
    assert sql_signatures([msg]) == [signature(msg)] == ["unavailable abc<n> shutdown_now"]
