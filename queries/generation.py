"""One generation by id: every attempt with its typed values, raw JSON and what the user asked for.

Not limited by the sidebar window or filters: a generation is looked up by its id alone (test
generations too; `is_test` says so). Typed values (latency, cost, tokens, quality) follow
METRICS.md through the same expressions as every other query (`metrics.scope.ATTEMPT_COLUMNS`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pandas as pd

from data_access.engine import Database, get_database
from metrics import planner
from metrics.error_groups import label_sql
from metrics.filters import Filters
from metrics.scope import ATTEMPT_COLUMNS, IS_TEST, table, with_signatures
from metrics.signatures import mask_sql
from queries.core import fetch
from queries.filters import FilterError


def parse_generation_id(value: str | None) -> str:
    """A generation id (UUID) in canonical form; FilterError with a message to show otherwise."""
    text = (value or "").strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        shown = text[:40] + ("…" if len(text) > 40 else "")
        raise FilterError(f"{shown!r} is not a generation id: expected a UUID like 3f2a…-…") from None


def attempts(generation_id: str, db: Database | None = None) -> pd.DataFrame:
    """Every attempt of one generation, in attempt order (attempt_number, then created_at).

    Grain: attempt. No window or filters. Columns: attempt_number, status, model_used, created_at,
    completed_at, latency_ms (ms), cost_usd (USD), tokens, duration_ms (ms, the generator's own),
    quality (0-1) - NULL when unknown - , error_message, error_signature (failed and timed-out
    attempts with a message), metadata_issue, is_test, the request (user_id, story_type,
    story_length, moral, hero_appearance, relationship_description, prompt), the raw JSON
    (full_response, generation_metadata as stored, any JSON value or NULL) and queried_at (now()).
    """
    gid = parse_generation_id(generation_id)
    db = db or get_database()
    sig = label_sql(mask_sql("a.error_message"))
    sql = f"""
WITH a AS (
    SELECT {ATTEMPT_COLUMNS},
           {IS_TEST} AS is_test,
           g.prompt, g.story_length, g.moral, g.hero_appearance, g.relationship_description,
           g.full_response, g.generation_metadata
    FROM {table(db)} g
    WHERE g.generation_id = CAST(:gid AS uuid)
)
SELECT CAST(a.generation_id AS text) AS generation_id, a.attempt_number, a.status, a.model_used,
       a.created_at, a.completed_at, a.latency_ms, CAST(a.cost_usd AS float8) AS cost_usd,
       CAST(a.tokens AS bigint) AS tokens, CAST(a.duration_ms AS float8) AS duration_ms,
       CAST(a.quality AS float8) AS quality, a.error_message,
       CASE WHEN a.status IN ('failed', 'timeout') AND a.error_message IS NOT NULL THEN {sig} END
           AS error_signature,
       a.metadata_issue, a.is_test,
       CAST(a.user_id AS text) AS user_id, a.story_type, a.story_length, a.moral, a.hero_appearance,
       a.relationship_description, a.prompt, a.full_response, a.generation_metadata,
       now() AS queried_at
FROM a
ORDER BY a.attempt_number, a.created_at"""
    return fetch(sql, with_signatures({"gid": gid}, db), db=db)


# the figures of the chain the planner answers (the same metrics as every page's)
CHAIN_METRICS = ("attempts", "total_cost_usd", "attempts_with_cost", "pending_attempts")
# any generation, whenever it started
EVER = (datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC))


def retry_chain(generation_id: str, db: Database | None = None) -> dict | None:
    """The generation in one line: attempts, final status, cost, time; None when the id is unknown.

    Keys: attempts, final_status (status of the highest attempt_number), total_cost_usd (USD, sum
    of known costs, 0 when none), attempts_with_cost, first_started_at, last_completed_at (NULL while any attempt is
    pending or none completed), total_ms (first start to last completion, ms; NULL when unknown),
    pending_attempts, is_test.
    """
    gid = parse_generation_id(generation_id)
    db = db or get_database()
    one = Filters(since=EVER[0], until=EVER[1], include_tests=True, generation=gid)
    figures = planner.row(one, CHAIN_METRICS, db=db)
    if not figures["attempts"]:
        return None
    sql = f"""
WITH a AS (
    SELECT g.attempt_number, g.status, g.created_at, g.completed_at, {IS_TEST} AS is_test
    FROM {table(db)} g
    WHERE g.generation_id = CAST(:gid AS uuid)
)
SELECT (array_agg(status ORDER BY attempt_number DESC, created_at DESC))[1] AS final_status,
       min(created_at) AS first_started_at,
       CASE WHEN bool_and(completed_at IS NOT NULL) THEN max(completed_at) END AS last_completed_at,
       CASE WHEN bool_and(completed_at IS NOT NULL)
            THEN (extract(epoch FROM max(completed_at) - min(created_at)) * 1000)::float8 END AS total_ms,
       bool_or(is_test) AS is_test
FROM a"""
    chain = fetch(sql, {"gid": gid}, db=db).iloc[0].to_dict()
    row = {**figures, **chain}
    row = {
        k: row[k]
        for k in (
            "attempts",
            "final_status",
            "total_cost_usd",
            "attempts_with_cost",
            "first_started_at",
            "last_completed_at",
            "total_ms",
            "pending_attempts",
            "is_test",
        )
    }
    return {k: (None if not isinstance(v, (list, dict)) and pd.isna(v) else v) for k, v in row.items()}
