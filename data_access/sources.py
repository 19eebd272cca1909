"""The shapes of data GenLens can read (GENLENS_SOURCE), each mapped onto canonical attempts.

Every query reads one relation with the columns of `generations`. For the default source that is
the table itself; for the seed systems' own tables it is a view GenLens creates in a schema of its
own (GENLENS_VIEW_SCHEMA, default `genlens`), or, where GenLens may not create anything, the same
SELECT inlined as a subquery. Source tables are only ever read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DDL_DIR = Path(__file__).resolve().parent / "source_ddl"


@dataclass(frozen=True)
class Source:
    name: str
    table: str
    seed: str  # the seed document's title
    grain: str  # what one generation is
    select: str  # canonical SELECT over {src}; '' for the generations table itself
    dimensions: frozenset[str]  # which optional dimensions exist: story_type, user, language, rating

    def relation_sql(self, schema: str) -> str:
        return self.select.replace("{src}", f'"{schema}".{self.table}')

    @property
    def ddl_path(self) -> Path:
        return DDL_DIR / f"{self.table}.sql"


def _num(expr: str) -> str:
    return f"(CASE WHEN jsonb_typeof({expr}) = 'number' THEN ({expr})::numeric END)"


SOURCES: dict[str, Source] = {
    "generations": Source(
        "generations",
        "generations",
        "Generations Table Implementation Summary",
        "a generation_id",
        "",
        frozenset({"story_type", "user"}),
    ),
    "courses": Source(
        "courses",
        "courses",
        "Stage 5 Generation Metadata Migration",
        "a course whose generation_metadata is not NULL",
        """SELECT c.id AS generation_id, 1 AS attempt_number, 'success'::text AS status,
       COALESCE(CASE WHEN jsonb_typeof(c.generation_metadata #> '{model_used,sections}') = 'string'
                     THEN c.generation_metadata #>> '{model_used,sections}' END,
                CASE WHEN jsonb_typeof(c.generation_metadata #> '{model_used,metadata}') = 'string'
                     THEN c.generation_metadata #>> '{model_used,metadata}' END,
                'unknown') AS model_used,
       c.title AS prompt, c.user_id, NULL::text AS story_type, NULL::integer AS story_length,
       NULL::text AS hero_appearance, NULL::text AS relationship_description, NULL::text AS moral,
       NULL::text AS error_message, NULL::jsonb AS full_response, c.generation_metadata, c.created_at,
       c.created_at + make_interval(secs => """
        + _num("c.generation_metadata #> '{duration_ms,total}'")
        + """ / 1000)
           AS completed_at
FROM {src} c
WHERE c.generation_metadata IS NOT NULL""",
        frozenset({"user"}),
    ),
    "generation_jobs": Source(
        "generation_jobs",
        "generation_jobs",
        "Apply Generation Jobs Migration",
        "a job",
        """SELECT j.id AS generation_id, 1 AS attempt_number,
       CASE j.status WHEN 'queued' THEN 'pending' WHEN 'running' THEN 'pending'
                     WHEN 'succeeded' THEN 'success' WHEN 'failed' THEN 'failed' ELSE j.status END AS status,
       j.mode AS model_used, ''::text AS prompt, j.user_id, NULL::text AS story_type,
       NULL::integer AS story_length, NULL::text AS hero_appearance, NULL::text AS relationship_description,
       NULL::text AS moral, j.error AS error_message, NULL::jsonb AS full_response,
       jsonb_strip_nulls(jsonb_build_object('cost_usd', j.cost_cents / 100.0)) AS generation_metadata,
       j.created_at,
       CASE WHEN j.status IN ('succeeded', 'failed') THEN j.updated_at END AS completed_at
FROM {src} j""",
        frozenset({"user"}),
    ),
    "api_usage": Source(
        "api_usage",
        "api_usage",
        "Database Documentation",
        "a row",
        """SELECT a.id AS generation_id, 1 AS attempt_number,
       CASE a.status WHEN 'success' THEN 'success' WHEN 'error' THEN 'failed'
                     WHEN 'rate_limited' THEN 'failed' ELSE a.status END AS status,
       COALESCE(CASE WHEN jsonb_typeof(a.metadata -> 'model') = 'string' THEN a.metadata ->> 'model' END,
                a.function_name) AS model_used,
       a.function_name AS prompt, a.user_id, NULL::text AS story_type, NULL::integer AS story_length,
       NULL::text AS hero_appearance, NULL::text AS relationship_description, NULL::text AS moral,
       CASE WHEN a.status IN ('error', 'rate_limited') THEN COALESCE(a.error_message, a.error_code, a.status)
       END AS error_message,
       a.metadata AS full_response,
       jsonb_strip_nulls(jsonb_build_object(
           'cost_usd', a.cost_estimate,
           'total_tokens', jsonb_build_object('total', a.tokens_used),
           'duration_ms', jsonb_build_object('total', a.response_time_ms))) AS generation_metadata,
       a.created_at,
       a.created_at + a.response_time_ms * interval '1 millisecond' AS completed_at
FROM {src} a""",
        frozenset({"user"}),
    ),
    "stories": Source(
        "stories",
        "stories",
        "Persistence Layer",
        "a story",
        """SELECT s.id AS generation_id, 1 AS attempt_number, 'success'::text AS status,
       COALESCE(s.model_used, 'unknown') AS model_used, s.title AS prompt, NULL::uuid AS user_id,
       NULL::text AS story_type, s.story_length, NULL::text AS hero_appearance,
       NULL::text AS relationship_description, s.moral, NULL::text AS error_message, s.full_response,
       NULL::jsonb AS generation_metadata, s.created_at, NULL::timestamptz AS completed_at,
       s.language, s.rating
FROM {src} s""",
        frozenset({"language", "rating"}),
    ),
}


class UnknownSource(ValueError):
    pass


def get_source(name: str) -> Source:
    if name not in SOURCES:
        raise UnknownSource(f"GENLENS_SOURCE must be one of {', '.join(SOURCES)}, got {name!r}")
    return SOURCES[name]


def view_name(schema: str, source: Source) -> str:
    """Name of GenLens' view for `source` in `schema` (one per pair, so several can coexist)."""
    return f"attempts_{schema}_{source.name}"
