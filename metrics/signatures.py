"""Error signatures: the rules of METRICS.md, as regular expressions shared by SQL and Python.

The SQL expression (`signature_sql`) is what every query uses; `signature()` is the same rules in
Python, kept for the property tests that check the two agree and for explaining a signature.
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


_RULES = [
    (re.compile(QUOTED), "<str>"),
    (re.compile(UUID), "<uuid>"),
    (re.compile(ID_TOKEN), "<id>"),
    (re.compile(NUMBER), "<n>"),
    (re.compile(WHITESPACE), " "),
]


def signature(message: str) -> str:
    for pattern, repl in _RULES:
        message = pattern.sub(repl, message)
    return message.strip(" ")[:MAX_LEN].rstrip(" ")
