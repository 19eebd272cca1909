"""Helpers the rollup tests share: every rollup's rows, to compare incremental upkeep with a rebuild."""

from __future__ import annotations

from sqlalchemy import text

from metrics import derived


def fold(admin_engine, schema: str = "facts_scratch") -> int:
    """Fold every write waiting in the change log into the facts and rollups; the entries taken."""
    total = 0
    with admin_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while True:
            n = conn.execute(text(f"SELECT {schema}.genlens_fold()")).scalar()
            if n < 0:  # another fold is running: wait for it
                conn.execute(text("SELECT pg_sleep(0.02)"))
                continue
            total += n
            if n == 0:
                return total


def rollup_snapshot(admin_engine, schema: str = "facts_scratch") -> tuple[list, ...]:
    """Every non-zero row of the rollups (the change log folded first), as (column -> value) items
    in a fixed order."""
    fold(admin_engine, schema)
    key = ", ".join(derived.ROLLUP_KEY)
    queries = [
        f"SELECT * FROM {schema}.genlens_rollup WHERE attempts <> 0 ORDER BY {key}",
        f"SELECT * FROM {schema}.genlens_rollup_latency WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5",
        f"SELECT * FROM {schema}.genlens_rollup_phase WHERE reporting <> 0 OR retries <> 0 ORDER BY 1, 2, 3, 4, 5",
        f"SELECT * FROM {schema}.genlens_rollup_error WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5, 6",
        f"SELECT * FROM {schema}.genlens_rollup_retries WHERE gens <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7",
        f"SELECT * FROM {schema}.genlens_rollup_quality WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5",
        f"SELECT * FROM {schema}.genlens_rollup_model_retries WHERE gens <> 0 ORDER BY 1, 2, 3, 4, 5",
    ]
    with admin_engine.connect() as conn:
        # the Explorer's searchable text is kept by the same fold (where a migration made it)
        if conn.execute(text(f"SELECT to_regclass('{schema}.genlens_text') IS NOT NULL")).scalar():
            queries.append(f"SELECT * FROM {schema}.genlens_text ORDER BY 1, 2")
        return tuple([sorted(dict(r).items()) for r in conn.execute(text(q)).mappings()] for q in queries)


def text_mismatches(admin_engine, schema: str) -> int:
    """Rows where the Explorer's searchable text differs from generations (after a fold)."""
    cols = "generation_id, attempt_number, prompt, error_message"
    with admin_engine.connect() as conn:
        return conn.execute(
            text(
                f"SELECT count(*) FROM ((SELECT {cols} FROM {schema}.generations EXCEPT ALL"
                f" SELECT {cols} FROM {schema}.genlens_text) UNION ALL (SELECT {cols} FROM {schema}.genlens_text"
                f" EXCEPT ALL SELECT {cols} FROM {schema}.generations)) AS d"
            )
        ).scalar()
