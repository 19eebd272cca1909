"""Error signatures and the masking step of error grouping (docs/glossary.md "Error groups").

Two rules live here, each in SQL and in Python, and each pair agrees exactly on every text (property
tests check the SQL against Python on generated and real messages):
- `signature` / `signature_sql`: the rule every page, report and derived table uses today
  (METRICS.md's earlier rule): quoted text, UUIDs, ids with a digit and numbers masked.
- `mask` / `mask_sql`: the masking that error groups start from (`metrics.grouping`): it keeps what
  tells kinds of error apart (a structured error's message text, quoted words such as
  'overloaded_error') and masks more of what varies (times, dates, addresses, pydantic input, id
  fields). Its patterns are written in the subset of regular expressions on which PostgreSQL's
  engine and Python's `re` behave the same (no `\\b`, whitespace spelled out), so that the derived
  tables can compute it when the pages move to error groups.
The patterns are bound as parameters, never pasted into SQL.
"""

from __future__ import annotations

import re

# Applied in this order. The patterns are bound as parameters, never pasted into SQL.
QUOTED = r"""'[^']*'|"[^"]*\""""
UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# A whole token of 8+ characters from [A-Za-z0-9_-] that contains a digit.
ID_TOKEN = r"(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{8,}"
NUMBER = r"[0-9]+(\.[0-9]+)?"
WHITESPACE = r"[ \t\n\r\f\v]+"
MAX_LEN = 200

PARAMS = {
    "sig_quoted": QUOTED,
    "sig_uuid": UUID,
    "sig_id": ID_TOKEN,
    "sig_number": NUMBER,
    "sig_ws": WHITESPACE,
}


def signature_sql(column: str) -> str:
    """SQL expression for the signature of `column` (a trusted column reference); needs PARAMS."""
    x = column
    x = f"regexp_replace({x}, :sig_quoted, '<str>', 'g')"
    x = f"regexp_replace({x}, :sig_uuid, '<uuid>', 'g')"
    x = f"regexp_replace({x}, :sig_id, '<id>', 'g')"
    x = f"regexp_replace({x}, :sig_number, '<n>', 'g')"
    x = f"regexp_replace({x}, :sig_ws, ' ', 'g')"
    # Trimmed again after the cut: a cut landing after a space must not leave it (the signature of a
    # signature is itself).
    return f"rtrim(left(btrim({x}, ' '), {MAX_LEN}), ' ')"


_OLD_RULES = [
    (re.compile(QUOTED), "<str>"),
    (re.compile(UUID), "<uuid>"),
    (re.compile(ID_TOKEN), "<id>"),
    (re.compile(NUMBER), "<n>"),
    (re.compile(WHITESPACE), " "),
]


def signature(message: str) -> str:
    for pattern, repl in _OLD_RULES:
        message = pattern.sub(repl, message)
    return message.strip(" ")[:MAX_LEN].rstrip(" ")


# --- the masking step of error groups ---------------------------------------------------------

_S = r"[ \t\n\r\f\v]"  # whitespace, spelled out: the same class in both engines
_NOT_WORD_BEFORE = r"(?<![A-Za-z0-9_])"
_NOT_WORD_AFTER = r"(?![A-Za-z0-9_])"

# pydantic's input_value is the user's input: everything up to ", input_type=" on its line.
PYDANTIC_INPUT = r"input_value=[^\n]*, input_type="
# The text of a message-like field of a structured error is the error itself: kept, and marked with
# « » so that the next rule, which masks quoted text, leaves it alone.
MESSAGE_FIELD = r"""(['"](?:message|msg|detail|error_description|description|raw)['"]: ?)(?:'([^'\n]*)'|"([^"\n]*)")"""
# Quoted text with a space, a bracket or a slash in it (user content, a path, a parameter path),
# or an empty quote; a quoted word ('overloaded_error', 'PGRST116') stays. An apostrophe followed
# by a letter (Theo's) does not end a quote.
_Q1 = r"(?:[^'\n«»]|'(?=[A-Za-z]))"
_Q2 = r"""[^"\n«»]"""
QUOTED = (
    rf"""(?<![A-Za-z0-9])(?:'{_Q1}*[ \t\r\f\v\[\]()/]{_Q1}*'|"{_Q2}*[ \t\r\f\v\[\]()/]{_Q2}*"|''|"")"""
    r"(?![A-Za-z0-9])"
)
UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
TIMESTAMP = (
    _NOT_WORD_BEFORE + r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?" + _NOT_WORD_AFTER
)
DATE = (
    _NOT_WORD_BEFORE + r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?:[0-9]{1,2} +)?"
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?: +[0-9]{1,2})?" + _NOT_WORD_AFTER
)
TIME = _NOT_WORD_BEFORE + r"[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?" + _NOT_WORD_AFTER
HEX = _NOT_WORD_BEFORE + r"0[xX][0-9A-Fa-f]+" + _NOT_WORD_AFTER
IP = _NOT_WORD_BEFORE + r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}" + _NOT_WORD_AFTER
# A whole token of 8+ characters from [A-Za-z0-9_-] that contains a digit (ids without digits are
# found by grouping: the position varies between messages of one template).
ID_TOKEN = r"(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{8,}"
NUMBER = r"[0-9]+(?:[.,][0-9]+)*"
WHITESPACE = _S + "+"
# An id field of a structured error ('request_id': '<id>') is optional in practice: dropped.
ID_FIELD = r"""(?:, ?)?['"][a-z_]*_id['"]: ?['"]?<id>['"]?"""

MASK_MAX_LEN = 800  # a signature's length cap in characters (500 when 800 would take over MAX_BYTES)
SHORT_LEN = 500
MAX_BYTES = 2000  # so that a signature always fits in a btree index entry

# (parameter name, pattern, replacement); the replacement may use \1-\3 (both engines read them).
RULES = (
    ("mask_pydantic", PYDANTIC_INPUT, "input_value=<value>, input_type="),
    ("mask_ws", WHITESPACE, " "),
    ("mask_message", MESSAGE_FIELD, r"\1«\2\3»"),
    ("mask_quoted", QUOTED, "<str>"),
    ("mask_uuid", UUID, "<uuid>"),
    ("mask_ts", TIMESTAMP, "<ts>"),
    ("mask_date", DATE, "<date>"),
    ("mask_time", TIME, "<time>"),
    ("mask_hex", HEX, "<hex>"),
    ("mask_ip", IP, "<ip>"),
    ("mask_id", ID_TOKEN, "<id>"),
    ("mask_number", NUMBER, "<n>"),
    ("mask_id_field", ID_FIELD, ""),
)
MASK_PARAMS = {name: pattern for name, pattern, _ in RULES}


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def mask_sql(column: str) -> str:
    """SQL expression for the masked text of `column` (a trusted column reference); needs MASK_PARAMS."""
    x = column
    for name, _, repl in RULES:
        x = f"regexp_replace({x}, :{name}, {_sql_literal(repl)}, 'g')"
    cut = f"rtrim(left(btrim({x}, ' '), {MASK_MAX_LEN}), ' ')"
    return f"(SELECT CASE WHEN octet_length(c) > {MAX_BYTES} THEN rtrim(left(c, {SHORT_LEN}), ' ') ELSE c END FROM (SELECT {cut} AS c) AS sig)"


_COMPILED = tuple((re.compile(pattern), repl) for _, pattern, repl in RULES)


def mask(message: str) -> str:
    """The masked text of a message: what `metrics.grouping` clusters."""
    for pattern, repl in _COMPILED:
        message = pattern.sub(repl, message)
    cut = message.strip(" ")[:MASK_MAX_LEN].rstrip(" ")
    return cut[:SHORT_LEN].rstrip(" ") if len(cut.encode("utf-8")) > MAX_BYTES else cut
