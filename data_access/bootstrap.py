"""Start of the embedded database: migrate, and fill it with demo data when it is empty.

`data_access.engine.get_database` calls this, so neither this module nor what it imports (schema,
demo, source_demo, facts) imports `data_access.engine`: they take `data_access.connection`'s names.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from data_access import demo
from data_access.config import Settings
from data_access.schema import apply_migrations

log = logging.getLogger(__name__)
FIRST_START_GENERATIONS = 50_000


def prepare_embedded(engine: Engine, settings: Settings) -> None:
    """Migrate, and fill the configured source with demo data on its first start only."""
    from data_access import source_demo
    from data_access.schema import create_source_view
    from data_access.sources import get_source

    source = get_source(settings.source)
    if source.name == "generations":
        apply_migrations(engine, settings.schema)
    else:
        source_demo.create_table(engine, settings.schema, source.name)
    # The first start is the one that finds the table empty: a restart never adds a second copy.
    with engine.connect() as conn:
        empty = conn.exec_driver_sql(f'SELECT NOT EXISTS (SELECT 1 FROM "{settings.schema}".{source.table})').scalar()
    if empty:
        if source.name == "generations":
            n = demo.load(engine, settings.schema, FIRST_START_GENERATIONS)
        else:
            n = source_demo.load(engine, settings.schema, source.name, FIRST_START_GENERATIONS)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'ANALYZE "{settings.schema}".{source.table}')
        log.info("loaded %d demo rows into %s.%s", n, settings.schema, source.table)
    if source.name != "generations":
        create_source_view(engine, settings.schema, source.name, settings.view_schema)
