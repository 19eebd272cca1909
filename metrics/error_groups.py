"""Error groups in the database: signatures placed once, groups kept for ever (docs/glossary.md).

Every failed or timed-out attempt with a message has a signature (`metrics.signatures.mask`,
computed by the facts table or by the raw queries); `metrics.grouping` clusters signatures into
groups. This module keeps that clustering in two GenLens tables so that it is the same for every
page, report and process, and survives restarts:

- `genlens_error_groups`: one row per group, its number (never reused), its template as JSON, its
  label, when it was first seen, and an admin's mark (known or ignored) with a note;
- `genlens_error_members`: each signature's group.

`groups(db)` gives the mapping every query binds (`label_sql` over `bound(db)`): signature ->
label. On the way it *syncs*: the signatures the facts hold that no group has yet are placed, in
the order they were first seen, with a `Grouper` made of the saved groups, and saved under an
advisory lock (two processes never place one signature twice; a placed signature never moves).
Where GenLens may not write those tables, or they are not installed, or the facts table is not
usable, the same placement runs in memory and `Groups.cause` says so (the Errors page shows it).
`python -m metrics.error_groups sync` is the same sync for cron.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text

from data_access.connection import Database
from data_access.facts import LOCK_SPACE, ROLLUP_ERROR, facts_relation, readable_rollups
from metrics.grouping import Group, Grouper
from metrics.signatures import MASK_PARAMS, mask_sql

GROUPS = "genlens_error_groups"
MEMBERS = "genlens_error_members"
GROUPS_LOCK = 1_000_001  # second key of the sync's advisory lock (one sync at a time)
PARAM = "error_groups"  # the bound parameter holding signature -> label as a JSON object
MARKS = ("known", "ignored")
TTL_S = 2.0  # how long one answer of `groups` is trusted when nothing says it moved
RAW_TTL_S = 30.0  # in memory over the raw table: every failed attempt is read again after this
SYNC_TIMEOUT_MS = 10_000  # a sync's statement timeout (the page's own when longer)
RAW_TIMEOUT_MS = 60_000  # reading every failed attempt to group them in memory


def label_sql(signature: str) -> str:
    """SQL: the group label of the signature expression `signature` (needs `bound(db)`): its
    group's label, or the signature itself when no group holds it yet."""
    if signature.replace(".", "").replace("_", "").isalnum():
        return f"COALESCE(CAST(:{PARAM} AS jsonb) ->> {signature}, {signature})"
    return f"(SELECT COALESCE(CAST(:{PARAM} AS jsonb) ->> sg.s, sg.s) FROM (SELECT {signature} AS s) AS sg)"


@dataclass(frozen=True)
class Groups:
    """The grouping as one check found it."""

    labels: dict[str, str]  # signature -> its group's label
    ids: dict[str, int]  # label -> group number
    saved: bool  # the mapping is GenLens' tables' (else computed in memory)
    cause: str = ""  # in memory or partly unsaved: why, in one sentence
    unsaved: int = 0  # signatures placed in memory only
    json: str = "{}"  # `labels` as the JSON object `label_sql` binds
    marks: dict[int, tuple[str, str, str, datetime | None]] = field(default_factory=dict)  # id -> (mark, note, by, at)

    def label(self, signature: str) -> str:
        """The label of a signature's group (the signature itself when no group holds it)."""
        return self.labels.get(signature, signature)

    def signatures(self, label: str) -> list[str]:
        """The signatures a label stands for (the label itself too: a signature not yet grouped)."""
        return sorted({s for s, lab in self.labels.items() if lab == label} | {label})


_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def bound(db: Database) -> dict[str, str]:
    """The parameter `label_sql` needs."""
    return {PARAM: groups(db).json}


def forget(db: Database) -> None:
    """Check the groups again on the next query (after a sync elsewhere, a mark, a rebuild)."""
    with _lock:
        _seen.pop(db.engine, None)


# --- reading --------------------------------------------------------------------------------------


def _tables_readable(conn, schema: str) -> tuple[bool, bool]:
    """(both tables exist and may be read, this user may also write them)."""
    row = conn.execute(
        text(
            "SELECT to_regclass(:g) IS NOT NULL AND to_regclass(:m) IS NOT NULL"
            " AND has_table_privilege(to_regclass(:g), 'SELECT') AND has_table_privilege(to_regclass(:m), 'SELECT'),"
            " to_regclass(:g) IS NOT NULL AND to_regclass(:m) IS NOT NULL"
            " AND has_table_privilege(to_regclass(:g), 'INSERT') AND has_table_privilege(to_regclass(:g), 'UPDATE')"
            " AND has_table_privilege(to_regclass(:m), 'INSERT')"
        ),
        {"g": f'"{schema}".{GROUPS}', "m": f'"{schema}".{MEMBERS}'},
    ).one()
    return bool(row[0]), bool(row[1])


def _load(conn, schema: str) -> tuple[Grouper, dict]:
    grouper = Grouper(
        [
            Group(int(gid), list(template["tokens"]), list(template["spaces"]))
            for gid, template in conn.execute(
                text(f'SELECT group_id, template FROM "{schema}".{GROUPS} ORDER BY group_id')
            )
        ]
    )
    for sig, gid in conn.execute(text(f'SELECT signature, group_id FROM "{schema}".{MEMBERS}')):
        grouper.placed[sig] = grouper.groups[int(gid)]
    marks = {
        int(gid): (mark, note or "", by or "", at)
        for gid, mark, note, by, at in conn.execute(
            text(f'SELECT group_id, mark, note, marked_by, marked_at FROM "{schema}".{GROUPS} WHERE mark IS NOT NULL')
        )
    }
    return grouper, marks


def _unplaced_sql(db: Database, facts: str, saved: bool) -> str:
    """Signatures no saved group holds (every signature when nothing is saved), with when each was
    first seen, oldest first: over the error rollup and the facts table's signature index, or over
    every failed attempt of the raw table."""
    member = f'NOT EXISTS (SELECT 1 FROM "{db.schema}".{MEMBERS} m WHERE m.signature = {{sig}})' if saved else "TRUE"
    if facts:
        if ROLLUP_ERROR in readable_rollups(db):
            cands = f"""SELECT DISTINCT r.error_signature AS sig FROM "{db.schema}".{ROLLUP_ERROR} r
            WHERE r.n <> 0 AND {member.format(sig="r.error_signature")}"""
        else:
            cands = f"""SELECT DISTINCT f.error_signature AS sig FROM {facts} f
            WHERE f.error_signature IS NOT NULL AND {member.format(sig="f.error_signature")}"""
        return f"""SELECT c.sig, (SELECT min(x.created_at) FROM {facts} x WHERE x.error_signature = c.sig) AS first_seen
        FROM ({cands}) AS c ORDER BY 2, 1"""
    t = db.relation or f'"{db.schema}".generations'
    return f"""SELECT w.sig, min(w.created_at) AS first_seen FROM (
            SELECT {mask_sql("g.error_message")} AS sig, g.created_at FROM {t} g
            WHERE g.status IN ('failed', 'timeout') AND g.error_message IS NOT NULL
        ) AS w
        WHERE {member.format(sig="w.sig")}
        GROUP BY w.sig ORDER BY 2, 1"""


def _read(conn, sql: str, timeout_ms: int) -> list[tuple[str, datetime | None]]:
    conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
    return [(s, at) for s, at in conn.execute(text(sql), MASK_PARAMS) if s is not None]


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:300]


# --- writing --------------------------------------------------------------------------------------


def _template_json(g: Group) -> str:
    return json.dumps({"tokens": g.template, "spaces": g.spaces}, ensure_ascii=False)


def _save(conn, schema: str, grouper: Grouper, before: dict[int, list[str]], new: list[tuple[str, datetime | None]]):
    """Write what placing `new` changed: new groups, templates that generalised, labels, members."""
    labels = grouper.labels()
    first = {}
    for sig, at in new:
        gid = grouper.placed[sig].group_id
        if at is not None and (gid not in first or at < first[gid]):
            first[gid] = at
    rows = [
        {"gid": gid, "template": _template_json(g), "label": labels[gid], "first": first.get(gid)}
        for gid, g in grouper.groups.items()
        if before.get(gid) != g.template or gid in first
    ]
    if rows:
        conn.execute(
            text(
                f"""INSERT INTO "{schema}".{GROUPS} (group_id, template, label, first_seen)
                VALUES (:gid, CAST(:template AS jsonb), :label, :first)
                ON CONFLICT (group_id) DO UPDATE SET template = EXCLUDED.template, label = EXCLUDED.label,
                    first_seen = LEAST({GROUPS}.first_seen, EXCLUDED.first_seen), updated_at = now()"""
            ),
            rows,
        )
    # a label may change without its template: another group's label came to read the same
    relabel = [{"gid": gid, "label": lab} for gid, lab in labels.items()]
    conn.execute(
        text(
            f"""UPDATE "{schema}".{GROUPS} g SET label = v.label, updated_at = now()
            FROM (SELECT unnest(CAST(:gids AS integer[])) AS gid, unnest(CAST(:labels AS text[])) AS label) AS v
            WHERE g.group_id = v.gid AND g.label IS DISTINCT FROM v.label"""
        ),
        {"gids": [r["gid"] for r in relabel], "labels": [r["label"] for r in relabel]},
    )
    conn.execute(
        text(
            f"""INSERT INTO "{schema}".{MEMBERS} (signature, group_id, first_seen)
            SELECT * FROM unnest(CAST(:sigs AS text[]), CAST(:gids AS integer[]), CAST(:firsts AS timestamptz[]))
            ON CONFLICT (signature) DO NOTHING"""
        ),
        {
            "sigs": [s for s, _ in new],
            "gids": [grouper.placed[s].group_id for s, _ in new],
            "firsts": [at for _, at in new],
        },
    )


def _answer(grouper: Grouper, saved: bool, cause: str, unsaved: int, marks: dict) -> Groups:
    labels = grouper.labels()
    mapping = {sig: labels[g.group_id] for sig, g in grouper.placed.items()}
    ids = {lab: gid for gid, lab in labels.items()}
    as_json = json.dumps(mapping, ensure_ascii=False, separators=(",", ":"))
    return Groups(mapping, ids, saved, cause, unsaved, as_json, marks)


def compute(db: Database, write: bool = True) -> Groups:
    """The grouping now: the saved groups, with the signatures none holds yet placed after them
    (and saved, when `write` and this user may); in memory where nothing can be saved."""
    facts = facts_relation(db)
    raw_cause = "" if facts else "the facts table is not usable, so every failed attempt is read to group them"
    # its own budget, not a page's: the same grouping serves an export under any page timeout
    timeout = max(int(db.settings.query_timeout_ms), SYNC_TIMEOUT_MS if facts else RAW_TIMEOUT_MS)
    with db.engine.connect() as conn:
        with conn.begin():
            canonical = db.relation == f'"{db.schema}".generations'
            readable, writable = _tables_readable(conn, db.schema) if canonical else (False, False)
            if not readable:
                found = _read(conn, _unplaced_sql(db, facts, False), timeout)
                grouper = Grouper()
                for sig, _ in found:
                    grouper.place(sig)
                cause = (
                    "GenLens' error-group tables are not installed here (run the migrations), so groups are"
                    " computed in memory"
                    if canonical
                    else "this source is a view of another schema, so groups are computed in memory"
                )
                if raw_cause:
                    cause += "; " + raw_cause
                return _answer(grouper, False, cause, len(found), {})
            found = _read(conn, _unplaced_sql(db, facts, True), timeout)
            if not found:
                grouper, marks = _load(conn, db.schema)
                return _answer(grouper, True, raw_cause, 0, marks)
    if write and writable:
        try:
            with db.engine.connect() as conn:
                with conn.begin():
                    conn.execute(text("SET TRANSACTION READ WRITE"))
                    conn.execute(text(f"SET LOCAL statement_timeout = {timeout}"))
                    conn.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), {"a": LOCK_SPACE, "b": GROUPS_LOCK})
                    grouper, marks = _load(conn, db.schema)  # as saved now, under the lock
                    new = [(s, at) for s, at in found if s not in grouper.placed]
                    before = {gid: list(g.template) for gid, g in grouper.groups.items()}
                    for sig, _ in new:
                        grouper.place(sig)
                    _save(conn, db.schema, grouper, before, new)
            return _answer(grouper, True, raw_cause, 0, marks)
        except Exception as exc:  # noqa: BLE001 - grouped in memory below, and the page says why
            cause = f"saving new error groups failed ({_first_line(exc)}), so {{n}} are grouped in memory"
    elif write:
        cause = "this database user may not write GenLens' error-group tables, so {n} are grouped in memory"
    else:
        cause = "{n} not yet saved"
    with db.engine.connect() as conn:
        with conn.begin():
            grouper, marks = _load(conn, db.schema)
    new = [(s, at) for s, at in found if s not in grouper.placed]
    for sig, _ in new:
        grouper.place(sig)
    n = f"{len(new):,} new signature{'s' if len(new) != 1 else ''}"
    cause = cause.format(n=n) + (f"; {raw_cause}" if raw_cause else "")
    return _answer(grouper, True, cause, len(new), marks)


def groups(db: Database) -> Groups:
    """`compute(db)`, trusted for TTL_S (RAW_TTL_S when it read every failed attempt)."""
    now = time.monotonic()
    with _lock:
        seen = _seen.get(db.engine)
    if seen is not None and seen[0] > now:
        return seen[1]
    try:
        got = compute(db)
    except Exception as exc:  # noqa: BLE001 - signatures are shown ungrouped, and the page says why
        got = Groups(
            {}, {}, False, f"error groups could not be read ({_first_line(exc)}), so signatures are shown ungrouped"
        )
    ttl = RAW_TTL_S if got.cause and ("every failed attempt" in got.cause or "ungrouped" in got.cause) else TTL_S
    with _lock:
        _seen[db.engine] = (time.monotonic() + ttl, got)
    return got


def mark(db: Database, group_id: int, value: str | None, note: str, by: str) -> None:
    """Mark a group known or ignored (None: clear the mark), with a note; raises ValueError for an
    unknown group or mark. The caller records it in the audit trail."""
    if value is not None and value not in MARKS:
        raise ValueError(f"a mark is one of {', '.join(MARKS)} (or none)")
    with db.engine.connect() as conn:
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ WRITE"))
            done = conn.execute(
                text(
                    f"""UPDATE "{db.schema}".{GROUPS} SET mark = :mark, note = :note, marked_by = :by,
                    marked_at = CASE WHEN CAST(:mark AS text) IS NULL THEN NULL ELSE now() END, updated_at = now()
                    WHERE group_id = :gid"""
                ),
                {
                    "mark": value,
                    "note": note.strip() or None if value else None,
                    "by": by if value else None,
                    "gid": group_id,
                },
            ).rowcount
    if not done:
        raise ValueError(f"there is no error group {group_id}")
    forget(db)


def main(argv: list[str] | None = None) -> int:
    """`python -m metrics.error_groups sync`: place the signatures no group holds yet, and save."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["sync"]:
        sys.stderr.write("usage: python -m metrics.error_groups sync\n")
        return 2
    from data_access.engine import get_database

    try:
        g = compute(get_database())
    except Exception as exc:  # noqa: BLE001 - one line for cron
        sys.stderr.write(f"error: {_first_line(exc)}\n")
        return 1
    print(f"{len(g.ids):,} error groups, {len(g.labels):,} signatures" + (f" ({g.cause})" if g.cause else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
