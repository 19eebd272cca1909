"""Errors: failed and timed-out attempts grouped by error signature (METRICS.md "Error signatures").

The signature table itself is `reports.fetch_report("errors", f)`; these functions add what the
Errors page needs around it: totals, a daily trend per signature, one signature's attempts, each
signature's share of the day's failures, and the signatures never seen before the window.
The totals, trends and shares ask the metrics planner (by error signature and day); one
signature's attempts and the new signatures are SQL over `metrics.scope.scoped`. Days are UTC
days of created_at.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pandas as pd

from data_access.engine import Database, get_database
from data_access.facts import ROLLUP_ERROR, facts_relation, readable_rollups
from metrics import error_groups, planner
from metrics.error_groups import PARAM, label_sql
from metrics.filters import Filters
from metrics.scope import IS_TEST, inlined, scoped, table, with_signatures
from metrics.signatures import mask_sql
from queries.core import fetch

FAILED = "('failed', 'timeout')"
# The attempts that have a signature.
SIGNED = f"att.status IN {FAILED} AND att.has_message"
DAY = "CAST(att.created_at AT TIME ZONE 'UTC' AS date)"

FAILURE_SUMMARY = (
    "failures",
    "timeouts",
    "lost_attempts",
    "failures_without_message",
    "terminal_attempts",
    "failure_rate",
)
TREND_SIGNATURES = 50
SHARE_SIGNATURES = 5
ATTEMPTS_LIMIT = 1000


def failure_summary(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """One row: how many attempts of the generations in scope failed or timed out.

    Columns: failures (failed attempts), timeouts (timed-out attempts), lost_attempts (both),
    failures_without_message (of those, with no error_message, so no signature),
    terminal_attempts, failure_rate (lost / terminal attempts, a fraction 0-1, NULL when no
    attempt finished).
    """
    return planner.frame(f, FAILURE_SUMMARY, db=db)


def signature_trends(f: Filters, limit: int = TREND_SIGNATURES, db: Database | None = None) -> pd.DataFrame:
    """Daily occurrences of the `limit` most frequent signatures, one list per signature.

    Grain: one row per signature, most occurrences first (the order of the errors report).
    daily_counts is a list of attempt counts, one per UTC day from the window's first day to its
    last day (or to the last retry's day, when a retry ran after `until`), zeros included.
    Columns: error_signature, first_day (date of the list's first element), daily_counts.
    """
    counts, params, expanding = planner.subquery(f, ("occurrences",), by=("error_signature", "day"), db=db)
    sql = f"""
WITH e AS (
    SELECT error_signature, day, occurrences AS n FROM ({counts}) AS q
), top AS (
    SELECT error_signature, sum(n) AS n FROM e GROUP BY 1 ORDER BY n DESC, error_signature LIMIT :limit
), c AS (
    SELECT error_signature, day, n FROM e WHERE error_signature IN (SELECT error_signature FROM top)
){TRENDS_TAIL}"""
    params |= {"since": f.since, "until": f.until, "limit": int(limit)}
    return fetch(sql, params, expanding, db)


# signature_trends from e (signature, day, n), top (the signatures listed, n) and c (their daily n),
# over the attempts or the error rollup
TRENDS_TAIL = """, days AS (
    SELECT CAST(d AS date) AS day
    FROM generate_series(
        CAST(CAST(:since AS timestamptz) AT TIME ZONE 'UTC' AS date),
        GREATEST(CAST((CAST(:until AS timestamptz) - interval '1 microsecond') AT TIME ZONE 'UTC' AS date),
                 (SELECT max(day) FROM e)),
        interval '1 day') AS d
)
SELECT top.error_signature,
       min(days.day) AS first_day,
       array_agg(CAST(COALESCE(c.n, 0) AS integer) ORDER BY days.day) AS daily_counts
FROM top CROSS JOIN days
LEFT JOIN c ON c.error_signature = top.error_signature AND c.day = days.day
GROUP BY top.error_signature, top.n
ORDER BY top.n DESC, top.error_signature"""


def signature_attempts(
    f: Filters, signature: str, limit: int = ATTEMPTS_LIMIT, db: Database | None = None
) -> pd.DataFrame:
    """The failed and timed-out attempts of the error group labelled `signature`, newest first.

    Grain: one row per attempt, at most `limit`. Columns: generation_id (text), attempt_number, status,
    model_used, created_at, latency_ms (ms, NULL when unknown), error_message.
    """
    db = db or get_database()
    s = scoped(f, db, extras=("error_message",))
    sql = (
        s.text
        + f"""
SELECT CAST(generation_id AS text) AS generation_id, attempt_number, status, model_used, created_at, latency_ms,
       error_message
FROM att
WHERE {SIGNED} AND {in_group(s, db)}
ORDER BY created_at DESC, generation_id DESC, attempt_number DESC
LIMIT :limit"""
    )
    params = with_signatures({**s.params, **group_params(signature, db), "limit": int(limit)}, db)
    return fetch(sql, params, s.expanding, db)


def in_group(s, db: Database) -> str:
    """SQL: the att row's error group is the one `group_params` names (by its signatures, where the
    facts table stores them: the signature index's values, no label computed per row)."""
    if s.raw_signature == "att.signature_pre":
        return "att.signature_pre = ANY (CAST(:group_signatures AS text[]))"
    return f"{s.signature} = :signature"


def group_params(label: str, db: Database) -> dict:
    return {"signature": label, "group_signatures": error_groups.groups(db).signatures(label)}


def failure_share(f: Filters, top: int = SHARE_SIGNATURES, db: Database | None = None) -> pd.DataFrame:
    """Each day's failed and timed-out attempts split by signature: the `top` most frequent
    signatures of the window, then all others together, then failures without an error message.

    Grain: one row per (UTC day with at least one failure, series), zeros filled, so every series
    has every day. series_kind is 'top' (error_signature set, rank 1 = most frequent), 'other' or
    'no_message'; series_order sorts them. Columns: day, series_order, series_kind, rank,
    error_signature, lost_attempts (failed and timed-out attempts of the series that day),
    day_lost_attempts (of all series that day), share (lost_attempts / day_lost_attempts, 0-1;
    the shares of one day add up to 1).
    """
    counts, params, expanding = planner.subquery(f, ("lost_attempts",), by=("failure_signature", "day"), db=db)
    sql = f"""
WITH fl AS (
    SELECT error_signature, day, lost_attempts AS n FROM ({counts}) AS q
){SHARE_TAIL}"""
    return fetch(sql, params | {"top": int(top)}, expanding, db)


# failure_share from fl (signature or NULL without a message, day, n), over the attempts or the rollups
SHARE_TAIL = """, ranked AS (
    SELECT error_signature, row_number() OVER (ORDER BY sum(n) DESC, error_signature) AS rank
    FROM fl WHERE error_signature IS NOT NULL GROUP BY error_signature
), labeled AS (
    SELECT fl.day, fl.n,
           CASE WHEN fl.error_signature IS NULL THEN 'no_message'
                WHEN r.rank <= :top THEN 'top' ELSE 'other' END AS series_kind,
           CASE WHEN r.rank <= :top THEN r.rank END AS rank,
           CASE WHEN r.rank <= :top THEN r.error_signature END AS error_signature
    FROM fl LEFT JOIN ranked r ON r.error_signature = fl.error_signature
), counts AS (
    SELECT day, series_kind, rank, error_signature, sum(n) AS failures
    FROM labeled GROUP BY 1, 2, 3, 4
), series AS (
    SELECT DISTINCT series_kind, rank, error_signature FROM counts
), days AS (
    SELECT day, sum(failures) AS day_failures FROM counts GROUP BY day
)
SELECT days.day,
       CAST(CASE series.series_kind WHEN 'top' THEN series.rank
                                    WHEN 'other' THEN :top + 1 ELSE :top + 2 END AS integer) AS series_order,
       series.series_kind,
       series.rank,
       series.error_signature,
       CAST(COALESCE(counts.failures, 0) AS bigint) AS lost_attempts,
       CAST(days.day_failures AS bigint) AS day_lost_attempts,
       CAST(COALESCE(counts.failures, 0) AS float8) / days.day_failures AS share
FROM days CROSS JOIN series
LEFT JOIN counts ON counts.day = days.day AND counts.series_kind = series.series_kind
                AND counts.rank IS NOT DISTINCT FROM series.rank
ORDER BY days.day, series_order"""


def new_signatures(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Signatures of the window whose first occurrence in the whole table falls in [since, until).

    "Whole table" means every failed or timed-out attempt with an error message, of any
    generation, any model, type or user, created before `until`; test generations are left out
    unless `include_tests`. Only signatures also present among the window's attempts (with all
    filters) are listed. Grain: one row per signature, newest first occurrence first. Columns:
    error_signature, first_seen_ever (timestamptz), occurrences and generations (counts in the
    window), models (distinct model names of the window's occurrences, ';'-joined, sorted).
    """
    db = db or get_database()
    t = table(db)
    s = scoped(f, db)
    facts = facts_relation(db)
    narrow, params = "", with_signatures(s.params, db)
    if facts and s.raw_signature == "att.signature_pre":
        # Only the groups first seen in the window are counted: found first from the groups the
        # window has (a sum of the error rollup) and their first occurrences (index lookups), so
        # the window's failures are read for those few groups only, not all of them
        narrow = "AND att.signature_pre = ANY (CAST(:new_signatures AS text[]))"
        params["new_signatures"] = _new_group_signatures(f, db, facts)
    if facts:
        tests = "" if f.include_tests else "AND NOT x.is_test"
        # per signature of the window's groups, the first row of the (error_signature, created_at)
        # index: no scan of history
        ever = f"""SELECT gs.error_signature, min(fs.first_seen_ever) AS first_seen_ever
    FROM (
        SELECT m.key AS sig, m.value AS error_signature FROM jsonb_each_text(CAST(:{PARAM} AS jsonb)) AS m
        WHERE m.value IN (SELECT error_signature FROM ws)
        UNION SELECT error_signature, error_signature FROM ws
    ) AS gs CROSS JOIN LATERAL (
        SELECT x.created_at AS first_seen_ever FROM {facts} x
        WHERE x.error_signature = gs.sig AND x.created_at < :until {tests}
        ORDER BY x.created_at LIMIT 1
    ) AS fs
    GROUP BY gs.error_signature"""
    else:
        tests = (
            ""
            if f.include_tests
            else f"AND NOT EXISTS (SELECT 1 FROM {t} g WHERE g.generation_id = x.generation_id AND {IS_TEST})"
        )
        ever = f"""SELECT {label_sql(mask_sql("x.error_message"))} AS error_signature, min(x.created_at) AS first_seen_ever
    FROM {t} x
    WHERE x.status IN {FAILED} AND x.error_message IS NOT NULL AND x.created_at < :until {tests}
    GROUP BY 1"""
    body = f"""
, w AS (
    SELECT {s.signature} AS error_signature, att.generation_id, att.model_used FROM att WHERE {SIGNED} {narrow}
), ws AS (
    SELECT error_signature, count(*) AS occurrences, count(DISTINCT generation_id) AS generations,
           string_agg(DISTINCT model_used, ';' ORDER BY model_used) AS models
    FROM w GROUP BY error_signature
), ever AS (
    {ever}
)
SELECT ws.error_signature, ever.first_seen_ever, ws.occurrences, ws.generations, ws.models
FROM ws JOIN ever ON ever.error_signature = ws.error_signature
WHERE ever.first_seen_ever >= :since
ORDER BY ever.first_seen_ever DESC, ws.error_signature"""
    return fetch(inlined(s.text, body) + body, params, s.expanding, db)


def _new_group_signatures(f: Filters, db: Database, facts: str) -> list[str]:
    """The signatures of the groups that the window has and that were first seen in it."""
    present = planner.frame(f, ("occurrences",), by=("error_signature",), db=db)
    labels = [str(k) for k, n in zip(present["error_signature"], present["occurrences"], strict=True) if n]
    if not labels:
        return []
    tests = "" if f.include_tests else "AND NOT x.is_test"
    sql = f"""SELECT gs.error_signature FROM (
        SELECT m.key AS sig, m.value AS error_signature FROM jsonb_each_text(CAST(:{PARAM} AS jsonb)) AS m
        WHERE m.value = ANY (CAST(:labels AS text[]))
        UNION SELECT l, l FROM unnest(CAST(:labels AS text[])) AS l
    ) AS gs CROSS JOIN LATERAL (
        SELECT x.created_at AS first_seen_ever FROM {facts} x
        WHERE x.error_signature = gs.sig AND x.created_at < :until {tests}
        ORDER BY x.created_at LIMIT 1
    ) AS fs
    GROUP BY gs.error_signature HAVING min(fs.first_seen_ever) >= :since"""
    new = fetch(sql, with_signatures({"labels": labels, "since": f.since, "until": f.until}, db), (), db)
    groups = error_groups.groups(db)
    return sorted({s for label in new["error_signature"] for s in groups.signatures(label)})


# --- error groups' lifecycle (docs/glossary.md "Error groups") -----------------------------------

STATES = ("new", "regressed", "ongoing", "resolved")


def _history(f: Filters, db: Database) -> str:
    """SQL of (grp, day, n): failed and timed-out attempts with a message by error group and UTC day,
    of any generation, model, type or user, up to the window's last day (tests only when included):
    from the error rollup, else the facts table, else every attempt."""
    facts = facts_relation(db)
    if facts and ROLLUP_ERROR in readable_rollups(db):
        return f"""SELECT {label_sql("r.error_signature")} AS grp, r.attempt_day AS day, sum(r.n) AS n
        FROM "{db.schema}".{ROLLUP_ERROR} r
        WHERE r.attempt_day <= :end_day AND (:tests OR NOT r.is_test)
        GROUP BY 1, 2 HAVING sum(r.n) <> 0"""
    day = "CAST(x.created_at AT TIME ZONE 'UTC' AS date)"
    if facts:
        return f"""SELECT {label_sql("x.error_signature")} AS grp, {day} AS day, count(*) AS n
        FROM {facts} x
        WHERE x.error_signature IS NOT NULL AND x.created_at < :day_after AND (:tests OR NOT x.is_test)
        GROUP BY 1, 2"""
    t = table(db)
    tests = (
        ""
        if f.include_tests
        else f"AND NOT EXISTS (SELECT 1 FROM {t} g WHERE g.generation_id = x.generation_id AND {IS_TEST})"
    )
    return f"""SELECT {label_sql(mask_sql("x.error_message"))} AS grp, {day} AS day, count(*) AS n
        FROM {t} x
        WHERE x.status IN {FAILED} AND x.error_message IS NOT NULL AND x.created_at < :day_after {tests}
        GROUP BY 1, 2"""


def group_states(f: Filters, db: Database | None = None) -> pd.DataFrame:
    """Every error group seen up to the window's last UTC day, with its state at the window's end.

    History is every failed or timed-out attempt with a message, of any model, type or user (test
    generations only when included), by UTC day. With N = GENLENS_ERROR_QUIET_DAYS (default 7), a
    group is *new* when it was first seen in [since, until) (as `new_signatures` says); else
    *resolved* when its last day is N or more days before the window's last day; else *regressed*
    when, on a day of the window, it came back after at least N days without an occurrence; else
    *ongoing*. Grain: one row per group. Columns: error_signature (the group's label), first_day,
    last_day (dates), state, group_id (None while not saved), mark and note (an admin's).
    """
    db = db or get_database()
    since_utc = f.since.astimezone(UTC)
    # A window starting at midnight (every page's): first seen in it is a first day in it. Else the
    # exact first occurrences of new_signatures.
    midnight = since_utc.time() == time()
    new = [] if midnight else list(new_signatures(f, db)["error_signature"])
    end_day = (f.until - timedelta(microseconds=1)).astimezone(UTC).date()
    sql = f"""
WITH d AS (
    {_history(f, db)}
), g AS (
    SELECT grp, day, day - lag(day) OVER (PARTITION BY grp ORDER BY day) AS gap FROM d
)
SELECT grp AS error_signature, min(day) AS first_day, max(day) AS last_day,
       CASE WHEN grp = ANY (CAST(:new AS text[])) OR (:midnight AND min(day) >= :since_day) THEN 'new'
            WHEN :end_day - max(day) >= :quiet THEN 'resolved'
            WHEN COALESCE(bool_or(day >= :since_day AND gap > :quiet), false) THEN 'regressed'
            ELSE 'ongoing' END AS state
FROM g GROUP BY grp ORDER BY grp"""
    params = with_signatures(
        {
            "new": new,
            "end_day": end_day,
            "day_after": datetime.combine(end_day + timedelta(days=1), time(), tzinfo=UTC),
            "since_day": since_utc.date(),
            "midnight": midnight,
            "quiet": int(db.settings.error_quiet_days),
            "tests": bool(f.include_tests),
        },
        db,
    )
    df = fetch(sql, params, (), db)
    groups = error_groups.groups(db)
    ids = [groups.ids.get(label) for label in df["error_signature"]]
    df["group_id"] = pd.array(ids, dtype="Int64")
    df["mark"] = [groups.marks.get(i, ("",))[0] or None if i is not None else None for i in ids]
    df["note"] = [groups.marks.get(i, ("", ""))[1] or None if i is not None else None for i in ids]
    return df


def grouping_status(db: Database | None = None) -> tuple[bool, str]:
    """(the error groups are GenLens' saved ones, why not or what is not saved yet: "" when all is)."""
    g = error_groups.groups(db or get_database())
    return g.saved, g.cause


class MarkRefused(RuntimeError):
    """A mark that cannot be recorded in the audit trail is not made (with sign-in on)."""


def set_mark(
    group_id: int, mark: str | None, note: str, actor: str, role: str, method: str, db: Database | None = None
) -> None:
    """Mark error group `group_id` known or ignored (None: clear), with a note, and record it in the
    audit trail first: with sign-in on, a mark the trail cannot record is refused (MarkRefused)."""
    from data_access import audit

    db = db or get_database()
    if mark is not None and mark not in error_groups.MARKS:
        raise ValueError(f"a mark is one of {', '.join(error_groups.MARKS)} (or none)")
    note = note.strip()[:500]
    label = next((lab for lab, gid in error_groups.groups(db).ids.items() if gid == group_id), None)
    if label is None:
        raise ValueError(f"there is no error group {group_id}")
    try:
        audit.record(
            actor,
            role,
            method,
            "error_mark",
            detail={"group_id": group_id, "label": label, "mark": mark, "note": note or None},
        )
    except audit.AuditUnavailable as exc:
        if method != "none":
            raise MarkRefused(
                f"The mark was not saved: {exc}".replace("this export is refused", "it is refused")
            ) from exc
    error_groups.mark(db, group_id, mark, note, actor)
