"""The admin's writes to `generations` and the small reads the runner and the admin page need.

Writes run on their own engine when GENLENS_ADMIN_DATABASE_URL is set (a role that may INSERT
and UPDATE), else on the dashboard's database; every write is one short `read_write`
transaction with every value bound. Pages keep reading through `queries/` in read-only
transactions.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import uuid
from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, text

from data_access.config import ConfigError
from data_access.engine import Database, build_engine, describe_url, get_database, read_only, read_write
from generation import settings
from generation.providers import GenerationRequest
from metrics.scope import COST, LATENCY, QUALITY, TOKENS

_lock = threading.Lock()


@functools.cache
def _admin_engine(url: str):
    return build_engine(url)


def admin_database() -> Database:
    """Where test generations are written: GENLENS_ADMIN_DATABASE_URL, else the dashboard's database."""
    db = get_database()
    source = getattr(db.settings, "source", "generations")
    if source != "generations":
        raise ConfigError(
            f"Test generations are written to the generations table; GENLENS_SOURCE is {source!r}, which "
            "GenLens only reads."
        )
    url = settings.admin_database_url()
    if not url:
        return db
    with _lock:
        engine = _admin_engine(url)
    return replace(db, engine=engine, label=describe_url(url))


def demo_only() -> bool:
    """True when writes would go to the embedded demo database (no admin URL configured)."""
    return get_database().settings.embedded and not settings.admin_database_url()


def _table(db: Database) -> str:
    # db.schema passed data_access.config.validate_schema: safe as an identifier.
    return f'"{db.schema}".generations'


def _clean(v: Any) -> Any:
    """JSON that jsonb accepts: no NUL characters, no NaN or infinities."""
    if isinstance(v, str):
        return v.replace("\x00", "")
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {_clean(str(k)): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def to_json(v: Any) -> str | None:
    return None if v is None else json.dumps(_clean(v), allow_nan=False, default=str)


def insert_pending(db: Database, generation_id: str, attempt_number: int, req: GenerationRequest, tags: dict) -> None:
    """INSERT the attempt as pending and commit, before the provider is called.

    The tags (test_run_id, source) go in right away: a generation whose process dies mid-attempt
    stays a *test* generation, out of the default metrics.
    """
    sql = text(
        f"""INSERT INTO {_table(db)} (generation_id, attempt_number, status, model_used, prompt, user_id, story_type,
            story_length, hero_appearance, relationship_description, moral, generation_metadata, created_at)
        VALUES (CAST(:gid AS uuid), :n, 'pending', :model, :prompt, CAST(:user_id AS uuid), :story_type,
            :story_length, :hero, :relationship, :moral, CAST(:meta AS jsonb), clock_timestamp())"""
    )
    params = {
        "gid": generation_id,
        "n": attempt_number,
        "model": req.model,
        "prompt": req.prompt,
        "user_id": req.user_id,
        "story_type": req.story_type,
        "story_length": req.story_length,
        "hero": req.hero_appearance,
        "relationship": req.relationship_description,
        "moral": req.moral,
        "meta": to_json(tags),
    }
    with read_write(db) as conn:
        conn.execute(sql, params)


def complete(
    db: Database,
    generation_id: str,
    attempt_number: int,
    status: str,
    error_message: str | None,
    full_response: Any,
    metadata: dict,
) -> bool:
    """UPDATE a pending attempt to its final status; False when it was not pending any more."""
    sql = text(
        f"""UPDATE {_table(db)}
        SET status = :status, completed_at = clock_timestamp(), error_message = :error,
            full_response = CAST(:response AS jsonb), generation_metadata = CAST(:meta AS jsonb)
        WHERE generation_id = CAST(:gid AS uuid) AND attempt_number = :n AND status = 'pending'"""
    )
    params = {
        "status": status,
        "error": error_message,
        "response": to_json(full_response),
        "meta": to_json(metadata),
        "gid": generation_id,
        "n": attempt_number,
    }
    with read_write(db) as conn:
        return conn.execute(sql, params).rowcount == 1


ATTEMPT_COLUMNS = [
    "generation_id",
    "attempt_number",
    "status",
    "model_used",
    "latency_ms",
    "cost_usd",
    "tokens",
    "quality",
    "error_message",
    "created_at",
    "completed_at",
]


def attempts_for(generation_ids: list[str], db: Database | None = None) -> pd.DataFrame:
    """Attempts of the given generations, oldest first (grain: one row per attempt).

    Units: latency_ms in ms (completed_at - created_at of a terminal attempt), cost_usd in USD;
    cost, tokens and quality follow METRICS.md (invalid values are NULL). At most 200 ids.
    """
    ids = [str(uuid.UUID(str(g))) for g in generation_ids][:200]
    if not ids:
        return pd.DataFrame(columns=ATTEMPT_COLUMNS)
    db = db or admin_database()
    sql = text(
        f"""SELECT CAST(g.generation_id AS text) AS generation_id, g.attempt_number, g.status, g.model_used,
               {LATENCY} AS latency_ms, CAST({COST} AS float8) AS cost_usd, CAST({TOKENS} AS bigint) AS tokens,
               CAST({QUALITY} AS float8) AS quality, g.error_message, g.created_at, g.completed_at
        FROM {_table(db)} g
        WHERE g.generation_id IN :ids
        ORDER BY g.created_at, g.generation_id, g.attempt_number"""
    ).bindparams(bindparam("ids", expanding=True))
    with read_only(db) as conn:
        result = conn.execute(sql, {"ids": [uuid.UUID(i) for i in ids]})
        return pd.DataFrame(result.fetchall(), columns=ATTEMPT_COLUMNS)


def generation_source(generation_id: str, db: Database | None = None) -> dict | None:
    """The first attempt's prompt and parameters of a generation (for a replay), or None."""
    db = db or get_database()
    sql = text(
        f"""SELECT model_used, prompt, CAST(user_id AS text) AS user_id, story_type, story_length, hero_appearance,
               relationship_description, moral, created_at
        FROM {_table(db)} WHERE generation_id = CAST(:gid AS uuid)
        ORDER BY attempt_number, created_at LIMIT 1"""
    )
    with read_only(db) as conn:
        row = conn.execute(sql, {"gid": generation_id}).mappings().first()
    return dict(row) if row else None
