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
    apply_migrations(engine, settings.schema)
    marker = settings.data_dir / "demo-loaded"
    if marker.exists():
        return
    n = demo_data.load(engine, settings.schema, FIRST_START_GENERATIONS)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'ANALYZE "{settings.schema}".generations')
    marker.write_text(f"{n}\n")
    log.info("loaded %d demo attempts", n)
