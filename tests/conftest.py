"""A real PostgreSQL for the whole test session: embedded (data in a temp dir) or TEST_DATABASE_URL.

Each dataset lives in its own schema, loaded once per session:
- `handmade`: see tests/handmade.py, small enough to compute every figure by hand;
- `demo`: the demo generator, 2,000 generations ending 2026-11-20 12:00 UTC;
- `empty`: migrated, no rows.
A test asks for one with `use_schema("name")`, which points GenLens (env + caches) at it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from streamlit.runtime.media_file_manager import MediaFileManager

# No background folding thread in the test process (AppTest would start one that outlives the test
# and folds whatever database is current): tests fold on read, or call fold themselves, so their
# exact comparisons are deterministic. tests/test_ui_folding.py starts one on purpose.
os.environ["GENLENS_FOLD_EVERY_MS"] = "0"

ROOT = Path(__file__).resolve().parent.parent
DEMO_END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DEMO_GENERATIONS = 2000
DEMO_DAYS = 60


@pytest.fixture(autouse=True)
def navigation_mode(monkeypatch):
    """Keep Streamlit out of its legacy pages-directory mode between AppTest runs.

    In a server, app.py's st.navigation turns that mode off once for the process. AppTest turns it
    back on before every run, so a run of a page reached by switch_page would start as the bare
    page file and ui.guard would rerun it through app.py, dropping the click that started it.
    """
    from streamlit.runtime.pages_manager import PagesManager

    real_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from data_access.engine import normalize_url

        yield normalize_url(url)
        return
    import tempfile

    from data_access import embedded

    # Its own directory, not pytest's numbered basetemp: concurrent pytest runs prune each other's.
    pgdata = Path(tempfile.mkdtemp(prefix="genlens-test-pg-")) / "data"
    yield embedded.start(pgdata, delete_on_exit=True)
    embedded.stop(pgdata)


@pytest.fixture(scope="session")
def admin_engine(pg_url):
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


_loaded: set[str] = set()


def _load_schema(engine, schema: str) -> None:
    from data_access import demo_data
    from data_access.migrate import apply_migrations

    if schema in _loaded:
        return
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    if schema == "hostile":
        from tests import hostile

        hostile.create_loose_table(engine, schema)  # a team's own table: no GenLens constraints
    apply_migrations(engine, schema)
    if schema == "demo":
        demo_data.load(engine, schema, DEMO_GENERATIONS, days=DEMO_DAYS, seed=7, end=DEMO_END)
    elif schema == "handmade":
        from tests import handmade

        handmade.load(engine, schema)
    elif schema == "hostile":
        hostile.load(engine, schema)
    with engine.begin() as conn:
        conn.execute(text(f'ANALYZE "{schema}".generations'))
    _loaded.add(schema)


@pytest.fixture
def use_schema(pg_url, admin_engine, monkeypatch) -> Callable:
    """use_schema("demo") -> Database: GenLens now reads that schema (env, engine and caches reset)."""
    from data_access.engine import get_database

    def use(schema: str):
        _load_schema(admin_engine, schema)
        monkeypatch.setenv("DATABASE_URL", pg_url)
        monkeypatch.setenv("GENLENS_SCHEMA", schema)
        _reset()
        return get_database()

    def _reset():
        if get_database.cache_info().currsize:
            get_database().engine.dispose()
        get_database.cache_clear()
        import streamlit as st

        st.cache_data.clear()

    yield use
    _reset()


@pytest.fixture
def demo_db(use_schema):
    return use_schema("demo")


@pytest.fixture
def empty_db(use_schema):
    return use_schema("empty")


@pytest.fixture
def handmade_db(use_schema):
    return use_schema("handmade")


@pytest.fixture
def hostile_db(use_schema):
    return use_schema("hostile")


@pytest.fixture
def offered(monkeypatch) -> dict[str, object]:
    """file name -> what a download button offers (bytes, or the deferred callable)."""
    files: dict[str, object] = {}
    real_add, real_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def add(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name:
            files[file_name] = path_or_data
        return real_add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        if file_name:
            files[file_name] = data_callable
        return real_deferred(self, data_callable, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add", add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return files
