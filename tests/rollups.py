"""Helpers the rollup tests share: every rollup's rows, to compare incremental upkeep with a rebuild."""

from __future__ import annotations

from sqlalchemy import text

from metrics import derived


def rollup_snapshot(admin_engine, schema: str = "facts_scratch") -> tuple[list, ...]:
    """Every non-zero row of the rollups, as (column -> value) items in a fixed order."""
    key = ", ".join(derived.ROLLUP_KEY)
    queries = [
        f"SELECT * FROM {schema}.genlens_rollup WHERE attempts <> 0 ORDER BY {key}",
        f"SELECT * FROM {schema}.genlens_rollup_latency WHERE n <> 0 ORDER BY 1, 2, 3, 4",
        f"SELECT * FROM {schema}.genlens_rollup_phase WHERE reporting <> 0 OR retries <> 0 ORDER BY 1, 2, 3",
        f"SELECT * FROM {schema}.genlens_rollup_error WHERE n <> 0 ORDER BY 1, 2, 3, 4",
        f"SELECT * FROM {schema}.genlens_rollup_retries WHERE gens <> 0 ORDER BY 1, 2, 3, 4",
        f"SELECT * FROM {schema}.genlens_rollup_quality WHERE n <> 0 ORDER BY 1, 2, 3, 4",
        f"SELECT * FROM {schema}.genlens_rollup_model_retries WHERE gens <> 0 ORDER BY 1, 2, 3, 4, 5",
    ]
    with admin_engine.connect() as conn:
        return tuple([sorted(dict(r).items()) for r in conn.execute(text(q)).mappings()] for q in queries)
