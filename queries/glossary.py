"""Plain-language definitions of every metric (METRICS.md in our words), for tooltips and docs.

The definitions are the metrics registry's (`metrics.registry`); this module turns them into
the glossary page and the tooltips' text.

    python -m queries.glossary > docs/glossary.md
"""

from __future__ import annotations

from metrics.registry import METRICS, Metric, metric

# The glossary's entries: every metric a person reads about, in registry order.
GLOSSARY: dict[str, Metric] = {name: m for name, m in METRICS.items() if m.glossary}


def term(key: str) -> Metric:
    """A metric's declaration (label, unit, help, format), for pages that explain a column."""
    return metric(key)


def help_text(key: str) -> str:
    """The tooltip of a metric: its definition and unit."""
    return metric(key).help_text()


def markdown() -> str:
    lines = [
        "# Metric glossary",
        "",
        "Every number GenLens shows, on a page, in a CSV or from the CLI, follows these definitions.",
        "The window is [since, until) in UTC. An empty rate shows as – (blank in CSV), never 0.",
        "Generated from the metrics registry (`metrics/registry.py`) by `python -m queries.glossary`;",
        "`python -m queries.export metrics` writes every metric with a formula for a window.",
        "",
        "| metric | column | unit | definition |",
        "|---|---|---|---|",
    ]
    for key, t in GLOSSARY.items():
        lines.append(f"| {t.label} | `{key}` | {t.unit} | {t.help} |")
    return "\n".join(lines) + "\n" + ERROR_GROUPS


# How error messages become groups: the rule of metrics.signatures and metrics.grouping, in words.
ERROR_GROUPS = """
## Error groups

Failed and timed-out attempts with an error message are grouped so that each group is one kind of
error. It takes two steps, both deterministic and without an LLM.

**1. Masking.** The message with what is recognisably variable masked, in this order:
- pydantic's `input_value=…` (the user's input, up to `, input_type=`) becomes `<value>`;
- whitespace runs become one space;
- the text of a structured error's message field (`'message': '…'`, `"detail": "…"`, also `msg`,
  `raw`, `description`, `error_description`) is kept and marked `«…»`: it says what went wrong;
- other quoted text with a space, bracket or slash in it, and empty quotes, become `<str>` (user
  content, paths); a quoted word stays (`'overloaded_error'`, `'messages'`);
- UUIDs become `<uuid>`; ISO timestamps `<ts>`; dates such as `Sun Jun 19` `<date>`; clock times
  `<time>`; `0x…` numbers `<hex>`; IPv4 addresses `<ip>`;
- a token of 8 or more letters, digits, `_` and `-` with a digit in it becomes `<id>`;
- numbers (with `.` or `,` separators) become `<n>`;
- an id field (`'request_id': <id>`, `"user_id": …`) is dropped: whether a provider sends one does
  not change the error.
A masked message is at most 800 characters (500 when it would take more than 2,000 bytes); the
same rule is written for PostgreSQL and for Python, and the two give the same text.

**2. Grouping.** Masked messages are cut into words and punctuation and placed one at a time, in the order
they were first seen. A signature joins the most similar group of the same length when at least
75% of its words and placeholders are in place and the differences are variable-looking: at most
one plain word may differ (one more per ten words of the template), not counting a value after
`key:` or `key=`; punctuation and a leading word never differ; and an *anchor* never differs: an
exception class (`httpx.ReadTimeout`) or the value of a `type`, `code`, `status` or `reason` field.
The differing positions become `<*>`; a `<*>` already in a template counts half towards the 75%.
A signature that does not fit position by position joins a group when the two align with only
placeholders, punctuation and whole `key: value` fields between the aligned words (an optional
`(<uuid>)`, an optional field; at the template's own length, a field that moved); each gap becomes
`<*>`. Otherwise it starts a new group.
A group keeps its number once made: later signatures join it (its label may generalise) or start
new groups, and never move an earlier one. The label is the template, spaced as its first message
was, at most 200 characters (a label that reads like an older group's gets ` [group N]`).
`python -m queries.signatures group` groups JSON Lines of messages this way; the Errors page, the
errors report, the Explorer's group filter and the generation page group the same messages, in the
order they were first seen, the same way.

**3. Kept.** GenLens saves the groups in its tables `genlens_error_groups` (number, template,
label, first seen, mark) and `genlens_error_members` (each signature's group), so every page,
report and process shows the same groups and they survive restarts. The signatures no group holds
yet are placed as soon as a page or report asks (within seconds of the write), under a lock, so two
processes never place one twice; `python -m metrics.error_groups sync` does the same from cron.
Where GenLens may not write those tables, or they are not installed, or the facts table is not in
use, the same placement runs in memory and the Errors page says so.

**4. Lifecycle.** At the end of a window, with N = `GENLENS_ERROR_QUIET_DAYS` (default 7), a group
is *new* when it was first seen inside the window (as New error groups counts); else *resolved*
when its last occurrence is N or more UTC days before the window's last day; else *regressed* when
on a day of the window it came back after at least N days without one; else *ongoing*. History is
every failed or timed-out attempt with a message up to the window's last day, of any model, type or
user (test generations only when included). An admin may mark a group *known* (being handled) or
*ignored* (expected noise) with a note; the mark is saved with the group and recorded in the audit
trail. The errors report carries `state` and `mark` after its other columns.
Measured on Loghub and on a corpus of LLM-provider errors: BENCHMARKS.md, "Error grouping".
"""


if __name__ == "__main__":
    print(markdown(), end="")
