"""Demo data for the seed systems' own tables, in their own DDL (data_access/source_ddl/).

The rows come from the same generator as the `generations` demo, reshaped the way each seed
system records its work: a course per generation (courses), a job per generation
(generation_jobs), a row per API call (api_usage), a story per success (stories).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime

from sqlalchemy import Engine, text

from data_access.config import validate_schema
from data_access.demo import generate_rows
from data_access.schema import run_script
from data_access.sources import get_source

MODES = {  # generation_jobs.mode: the image pipeline's modes, one per demo model
    "openai/gpt-4o-mini": "lifestyle",
    "anthropic/claude-3.5-sonnet": "product",
    "google/gemini-1.5-flash": "background",
    "meta-llama/llama-3.1-70b-instruct": "portrait",
    "mistralai/mistral-large": "packshot",
    "deepseek/deepseek-chat": "social",
}
LANGUAGES = ("en", "en", "en", "es", "fr", "de", "ru")


def _attempts(generations: int, days: float, seed: int, end: datetime):
    """Canonical attempts from the demo generator, parsed: one dict per attempt, grouped per generation."""
    current: list[dict] = []
    for line in generate_rows(generations, days, seed, end):
        f = [None if v == "\\N" else v for v in line.rstrip("\n").split("\t")]
        row = {
            "generation_id": f[0],
            "attempt_number": int(f[1]),
            "status": f[2],
            "model_used": f[3],
            "prompt": f[4],
            "user_id": f[5],
            "story_length": int(f[7]),
            "moral": f[10],
            "error_message": f[11],
            "full_response": f[12],
            "metadata": f[13],
            "created_at": datetime.fromisoformat(f[14]),
            "completed_at": datetime.fromisoformat(f[15]) if f[15] else None,
        }
        if current and current[0]["generation_id"] != row["generation_id"]:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def _meta(raw: str | None):
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _cost(meta) -> float | None:
    v = meta.get("cost_usd") if isinstance(meta, dict) else None
    return v if isinstance(v, (int, float)) and v >= 0 else None


def _rows(source: str, generations: int, days: float, seed: int, end: datetime):
    r = random.Random(seed + 1)
    for attempts in _attempts(generations, days, seed, end):
        first, last = attempts[0], attempts[-1]
        if source == "courses":
            if last["status"] != "success":
                continue
            yield (
                last["generation_id"],
                f"Course: {first['prompt'][:60]}",
                first["user_id"],
                json.dumps({"sections": [{"title": "Intro", "lessons": [{"title": "Lesson 1"}]}]}),
                last["metadata"],
                first["created_at"],
                last["completed_at"] or first["created_at"],
            )
        elif source == "generation_jobs":
            status = {"success": "succeeded", "failed": "failed", "timeout": "failed"}.get(last["status"])
            status = status or ("running" if r.random() < 0.5 else "queued")
            cost = sum(c for c in (_cost(_meta(a["metadata"])) for a in attempts) if c is not None)
            cents = round(cost * 100 * 40) if status != "queued" else None  # image jobs cost more than text
            yield (
                last["generation_id"],
                first["user_id"],
                str(uuid.UUID(int=r.getrandbits(128), version=4)),
                status,
                MODES.get(last["model_used"], "lifestyle"),
                None,
                last["error_message"] if status == "failed" else None,
                cents,
                first["created_at"],
                last["completed_at"] or last["created_at"],
            )
        elif source == "api_usage":
            for a in attempts:
                if a["status"] == "pending":
                    continue
                meta = _meta(a["metadata"])
                err = a["error_message"] or ""
                status = (
                    "success"
                    if a["status"] == "success"
                    else ("rate_limited" if err.startswith("Rate limit") else "error")
                )
                code = (
                    None
                    if status == "success"
                    else ("TIMEOUT" if a["status"] == "timeout" else err.split(":")[0].upper().replace(" ", "_")[:32])
                )
                tokens = (
                    meta.get("total_tokens", {}).get("total")
                    if isinstance(meta, dict) and isinstance(meta.get("total_tokens"), dict)
                    else None
                )
                latency = int((a["completed_at"] - a["created_at"]).total_seconds() * 1000)
                yield (
                    str(uuid.UUID(int=r.getrandbits(128), version=4)),
                    a["user_id"],
                    "generate-story",
                    f"req_{a['generation_id']}_{a['attempt_number']}",
                    status,
                    latency,
                    tokens if isinstance(tokens, int) and tokens >= 0 else None,
                    _cost(meta),
                    a["error_message"] if status != "success" and r.random() < 0.9 else None,
                    code,
                    json.dumps({"model": a["model_used"]}),
                    a["created_at"],
                )
        elif source == "stories":
            if last["status"] != "success":
                continue
            yield (
                last["generation_id"],
                first["prompt"][:60],
                f"Once upon a time... ({first['prompt'][:40]})",
                first["moral"],
                first["user_id"],
                r.choice(("Mia", "Leo", "Ava")),
                r.randint(3, 9),
                r.choice(("f", "m")),
                ["space", "dragons"],
                last["model_used"] if r.random() > 0.05 else None,
                last["full_response"],
                last["metadata"],
                r.choice(LANGUAGES),
                first["story_length"],
                r.randint(1, 10) if r.random() < 0.6 else None,
                first["created_at"],
                last["completed_at"] or first["created_at"],
            )


COLUMNS = {
    "courses": "id, title, user_id, course_structure, generation_metadata, created_at, updated_at",
    "generation_jobs": "id, user_id, project_id, status, mode, input_asset_id, error, cost_cents, created_at, updated_at",
    "api_usage": (
        "id, user_id, function_name, request_id, status, response_time_ms, tokens_used, cost_estimate,"
        " error_message, error_code, metadata, created_at"
    ),
    "stories": (
        "id, title, content, moral, child_id, child_name, child_age, child_gender, child_interests,"
        " model_used, full_response, generation_info, language, story_length, rating, created_at, updated_at"
    ),
}


def create_table(engine: Engine, schema: str, source: str) -> None:
    """The seed system's table in `schema`, from its DDL (idempotent)."""
    src, schema = get_source(source), validate_schema(schema)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.execute(text(f'SET LOCAL search_path TO "{schema}", public'))
        run_script(conn, src.ddl_path.read_text())


def load(
    engine: Engine,
    schema: str,
    source: str,
    generations: int,
    days: float = 90,
    seed: int = 7,
    end: datetime | None = None,
) -> int:
    """Create the source's table if needed and COPY demo rows into it; return the row count."""
    from datetime import UTC

    end = end or datetime.now(UTC).replace(microsecond=0)
    create_table(engine, schema, source)
    n = 0
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{schema}".{get_source(source).table} ({COLUMNS[source]}) FROM STDIN') as copy:
                for row in _rows(source, generations, days, seed, end):
                    copy.write_row(row)
                    n += 1
        raw.commit()
    finally:
        raw.close()
    return n
