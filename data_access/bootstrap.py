"""First start of the embedded database: migrate, then fill with demo data once."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from data_access import demo_data
from data_access.config import Settings
from data_access.migrate import apply_migrations

log = logging.getLogger(__name__)
FIRST_START_GENERATIONS = 50_000


def prepare_embedded(engine: Engine, settings: Settings) -> None:
    """Migrate, and fill the configured source with demo data on its first start only."""
    from data_access.migrate import create_source_view
    from data_access.sources import get_source

    source = get_source(settings.source)
    marker = settings.data_dir / f"demo-loaded-{settings.schema}-{source.name}"
    if source.name == "generations":
        apply_migrations(engine, settings.schema)
        if not marker.exists():
            n = demo_data.load(engine, settings.schema, FIRST_START_GENERATIONS)
    else:
        from data_access import source_demo

        if not marker.exists():
            n = source_demo.load(engine, settings.schema, source.name, FIRST_START_GENERATIONS)
        create_source_view(engine, settings.schema, source.name, settings.view_schema)
    if not marker.exists():
        with engine.begin() as conn:
            conn.exec_driver_sql(f'ANALYZE "{settings.schema}".{source.table}')
        marker.write_text(f"{n}\n")
        log.info("loaded %d demo rows into %s.%s", n, settings.schema, source.table)
