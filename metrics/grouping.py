"""Error groups: signatures clustered into templates, online and deterministically (docs/glossary.md).

`metrics.signatures.mask` masks what is recognisably variable (numbers, ids with digits, UUIDs, times,
quoted user content). What is left varies in ways no pattern can know: a user name, a provider, a
request id made of letters only. Groups find those from the data, the way Drain does (He et al.,
2017): a signature is cut into tokens and compared position by position with the templates of the
same length; when it is close enough it joins that group and the positions that differ become
`<*>`. Where Drain merges any tokens, a group here also keeps apart what tells kinds of error apart:
- an *anchor* never becomes `<*>`: an exception's class name, and the value of a structured error's
  type, code, status or reason field (`'type': 'overloaded_error'`), so two errors of one SDK with
  the same shape stay two groups;
- at most one plain word (plus one per ten of the template's words) may differ, not counting values
  after `key:` or `key=`; punctuation never differs, and neither does a leading word;
- similarity counts words and placeholders, not punctuation; a `<*>` already in the template counts
  half.
A signature that does not fit position by position may still join a group when the two align
(longest common subsequence, `<*>` matching any one token) with only placeholders, punctuation and
whole `key: value` fields between the aligned tokens: an optional `(<uuid>)` or an optional field
does not start a new group (at the template's own length, only a moved field counts).

Groups are online: a signature is placed once, in the order signatures were first seen, against
the groups that exist then. A group keeps its number for ever; a new signature joins one (its
template may generalise) or starts a new one. The same signatures in the same order give the same
groups (`python -m queries.signatures group` groups messages in the order it reads them).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

WILD = "<*>"
SIMILARITY = 0.75  # share of a template's words and placeholders a signature must have in place
WORDS_PER_EXTRA = 10  # one more differing word allowed per this many words in the template
WILD_WEIGHT = 0.5  # how much a `<*>` of the template counts towards the similarity
LABEL_LEN = 200  # METRICS.md: a group's label is at most 200 characters

_SPLIT = re.compile(r"([ =,;()\[\]{}|«»]|:(?= |$))")
_QUOTED_PUNCT = re.compile(r"""('[^ A-Za-z0-9]'|"[^ A-Za-z0-9]")""")
_PUNCT = re.compile(r"[^A-Za-z0-9<>]+")
_WORD = re.compile(r"[A-Za-z][a-z]+")
_CLASS = re.compile(r".*(?:Error|Exception|Timeout|Warning)(?![a-z]).*")
_KIND_KEY = re.compile(r"""['"]?(?:type|code|status|reason|error_type|error_code)['"]?""")


def tokens(signature: str) -> list[str]:
    """A signature's tokens: words and punctuation, spaces dropped; a quoted punctuation mark
    (`','`) is one token."""
    return split(signature)[0]


def split(signature: str) -> tuple[list[str], list[bool]]:
    """A signature's tokens, and for each whether a space came before it (labels keep the
    message's own spacing)."""
    out: list[str] = []
    spaces: list[bool] = []
    space = False
    for k, part in enumerate(_QUOTED_PUNCT.split(signature)):
        for t in [part] if k % 2 else _SPLIT.split(part):
            if t == " ":
                space = True
            elif t:
                out.append(t)
                spaces.append(space and bool(out[:-1]))
                space = False
    return out, spaces


def _punct(t: str) -> bool:
    return bool(_PUNCT.fullmatch(t))


def _word(t: str) -> bool:
    return bool(_WORD.fullmatch(t))


def _anchors(toks: list[str]) -> frozenset[int]:
    out = set()
    for i, t in enumerate(toks):
        if t == WILD:
            continue
        if _CLASS.fullmatch(t) or (i >= 2 and toks[i - 1] in (":", "=") and _KIND_KEY.fullmatch(toks[i - 2])):
            out.add(i)
    return frozenset(out)


_NO_SPACE_BEFORE = frozenset(",;:)]}»=")
_NO_SPACE_AFTER = frozenset("([{«=")


def label(template: list[str], spaces: list[bool] | None = None) -> str:
    """A template as readable text, spaced as its first message was (else by punctuation), at
    most LABEL_LEN characters."""
    if spaces is None or len(spaces) != len(template):
        spaces = [
            bool(i) and t not in _NO_SPACE_BEFORE and template[i - 1] not in _NO_SPACE_AFTER
            for i, t in enumerate(template)
        ]
    parts: list[str] = []
    for i, t in enumerate(template):
        if i and spaces[i]:
            parts.append(" ")
        parts.append(t)
    text = "".join(parts)
    return text if len(text) <= LABEL_LEN else text[: LABEL_LEN - 1].rstrip(" ") + "…"


@dataclass
class Group:
    group_id: int
    template: list[str]
    spaces: list[bool] | None = None  # whether a space comes before each token (for the label)
    anchors: frozenset[int] = field(init=False)
    punct: int = field(init=False)
    words: int = field(init=False)

    def __post_init__(self) -> None:
        self.set(self.template)

    def set(self, template: list[str], spaces: list[bool] | None = None) -> None:
        self.template = template
        if spaces is not None:
            self.spaces = spaces
        self.anchors = _anchors(template)
        self.punct = sum(1 for t in template if _punct(t))
        self.words = sum(1 for t in template if _word(t))

    @property
    def label(self) -> str:
        return label(self.template, self.spaces)


class Grouper:
    """Places signatures into groups; `groups` holds them by number, `placed` each signature's."""

    def __init__(self, groups: list[Group] | None = None) -> None:
        self.groups: dict[int, Group] = {}
        self._by_len: dict[int, list[Group]] = {}
        self.placed: dict[str, Group] = {}
        for g in groups or ():
            self._add(g)

    def _add(self, g: Group) -> None:
        self.groups[g.group_id] = g
        self._by_len.setdefault(len(g.template), []).append(g)

    def _next_id(self) -> int:
        return max(self.groups, default=0) + 1

    def place(self, signature: str) -> Group:
        g = self.placed.get(signature)
        if g is None:
            g = self.placed[signature] = self._place(*split(signature))
        return g

    def _budget(self, g: Group) -> int:
        return 1 + g.words // WORDS_PER_EXTRA

    def _same_length(self, toks: list[str], anchors: frozenset[int]) -> tuple[Group | None, float]:
        best, best_sim = None, -1.0
        for g in self._by_len.get(len(toks), ()):
            equal, words, ok = 0, 0, True
            for i, (a, t) in enumerate(zip(g.template, toks, strict=True)):
                if a == t:
                    equal += 1
                elif a == WILD:
                    equal += WILD_WEIGHT
                    continue
                elif i in anchors or i in g.anchors or _punct(a) or _punct(t) or (i == 0 and _word(a) and _word(t)):
                    ok = False
                    break
                elif _word(a) and _word(t) and not (i > 1 and toks[i - 1] in (":", "=") and _word(toks[i - 2])):
                    words += 1
            if not ok or words > self._budget(g):
                continue
            sim = (equal - g.punct) / max(1, len(toks) - g.punct)
            if sim > best_sim:
                best, best_sim = g, sim
        return best, best_sim

    def _aligned(
        self, toks: list[str], anchors: frozenset[int], spaces: list[bool]
    ) -> tuple[Group | None, tuple[list[str], list[bool]] | None]:
        best, best_sim, best_template = None, -1.0, None
        n = len(toks)
        counts = Counter(toks)
        for length, groups in self._by_len.items():
            if abs(length - n) > max(3, 0.3 * n):
                continue
            longest = max(length, n)
            for g in groups:
                common = sum(min(c, counts.get(k, 0)) for k, c in Counter(g.template).items() if k != WILD)
                bound = (common + g.template.count(WILD)) / longest
                if bound < SIMILARITY or bound <= best_sim:
                    continue
                pairs = _lcs(g.template, toks, anchors)
                sim = len(pairs) / longest
                if sim < SIMILARITY or sim <= best_sim:
                    continue
                template = _merge_aligned(g, toks, anchors, pairs, spaces)
                if template is not None:
                    best, best_sim, best_template = g, sim, template
        return best, best_template

    def _place(self, toks: list[str], spaces: list[bool]) -> Group:
        anchors = _anchors(toks)
        g, sim = self._same_length(toks, anchors)
        if g is not None and sim >= SIMILARITY:
            template = [a if a == t else WILD for a, t in zip(g.template, toks, strict=True)]
            if template != g.template:
                g.set(template)
            return g
        g, merged = self._aligned(toks, anchors, spaces)
        if g is not None and merged is not None:
            self._by_len[len(g.template)].remove(g)
            g.set(*merged)
            self._by_len.setdefault(len(merged[0]), []).append(g)
            return g
        g = Group(self._next_id(), list(toks), list(spaces))
        self._add(g)
        return g

    def labels(self) -> dict[int, str]:
        """Every group's label, unique: a group whose template reads like an older group's gets its
        number appended."""
        out: dict[int, str] = {}
        taken: set[str] = set()
        for gid in sorted(self.groups):
            text = self.groups[gid].label
            if text in taken:
                text = f"{text[: LABEL_LEN - 12].rstrip(' ')} [group {gid}]"
            taken.add(text)
            out[gid] = text
        return out


def _matches(a: str, b: str, j: int, anchors: frozenset[int]) -> bool:
    return a == b or (a == WILD and j not in anchors and not _punct(b))


def _lcs(a: list[str], b: list[str], b_anchors: frozenset[int]) -> list[tuple[int, int]]:
    """Index pairs of a longest common subsequence of a and b, a's `<*>` matching any one token."""
    la, lb = len(a), len(b)
    dp = [[0] * (lb + 1) for _ in range(la + 1)]
    for i in range(la - 1, -1, -1):
        row, below, ai = dp[i], dp[i + 1], a[i]
        for j in range(lb - 1, -1, -1):
            if _matches(ai, b[j], j, b_anchors):
                row[j] = below[j + 1] + 1
            else:
                row[j] = below[j] if below[j] >= row[j + 1] else row[j + 1]
    pairs, i, j = [], 0, 0
    while i < la and j < lb:
        if _matches(a[i], b[j], j, b_anchors) and dp[i][j] == dp[i + 1][j + 1] + 1:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif dp[i + 1][j] >= dp[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _merge_aligned(
    g: Group, toks: list[str], anchors: frozenset[int], pairs: list[tuple[int, int]], spaces: list[bool]
) -> tuple[list[str], list[bool]] | None:
    """The template of g and toks aligned on pairs, each gap one `<*>`, with its spacing; None when
    a gap holds an anchor or a word outside a whole `key: value` field."""
    old = g.spaces if g.spaces is not None and len(g.spaces) == len(g.template) else [True] * len(g.template)
    out: list[str] = []
    gaps: list[bool] = []
    fields = False
    i0 = j0 = 0
    for i, j in [*pairs, (len(g.template), len(toks))]:
        if i > i0 or j > j0:
            if any(k in g.anchors for k in range(i0, i)) or any(k in anchors for k in range(j0, j)):
                return None
            if not (_variable_gap(g.template[i0:i]) and _variable_gap(toks[j0:j])):
                return None
            fields = fields or _has_field(g.template[i0:i]) or _has_field(toks[j0:j])
            out.append(WILD)
            gaps.append(old[i0] if i > i0 else spaces[j0])
        if i < len(g.template):
            out.append(g.template[i] if g.template[i] == toks[j] else WILD)
            gaps.append(old[i])
        i0, j0 = i + 1, j + 1
    if len(g.template) == len(toks) and not fields:
        return None  # the same length and no field moved: the positional comparison has spoken
    return out, gaps


def _has_field(gap: list[str]) -> bool:
    return any(_word(gap[k]) and gap[k + 1] in (":", "=") for k in range(len(gap) - 2))


def _variable_gap(gap: list[str]) -> bool:
    """Whether a gap between aligned tokens holds only placeholders, punctuation and whole
    `key: value` or `key=value` fields (an optional field)."""
    k = 0
    while k < len(gap):
        if _word(gap[k]):
            if k + 2 < len(gap) and gap[k + 1] in (":", "="):
                k += 3
                continue
            return False
        k += 1
    return True


def group_messages(messages: list[str]) -> list[str]:
    """Each message's group label, grouping in the given order (`python -m queries.signatures group`)."""
    from metrics.signatures import mask

    grouper = Grouper()
    placed = [grouper.place(mask(m)) for m in messages]
    labels = grouper.labels()
    return [labels[g.group_id] for g in placed]
