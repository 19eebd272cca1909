"""No secret is ever rendered on a page or written to a log (issue 8, admin safety)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import make_url
from streamlit.testing.v1 import AppTest

from access.passwords import hash_password

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = [
    "pages/reliability.py",
    "pages/cost_quality.py",
    "pages/errors.py",
    "pages/explorer.py",
    "pages/generation.py",
    "pages/reports.py",
    "pages/admin.py",
    "pages/audit.py",
]


def test_no_secret_reaches_a_page_or_a_log(pg_url, demo_db, monkeypatch, caplog):
    db_password = "db-s3cret-pw"  # the embedded server trusts local sockets, so any password connects
    admin_hash = hash_password("admin-s3cret", n=2**10)
    secrets = {
        "DATABASE_URL": make_url(pg_url).set(password=db_password).render_as_string(hide_password=False),
        "GENLENS_OPENAI_API_KEY": "sk-test-s3cret-key",
        "SUPABASE_ANON_KEY": "anon-s3cret-key",
        "GENLENS_MASK_SALT": "salt-s3cret",
        "GENLENS_ADMIN_PASSWORD_HASH": admin_hash,
    }
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("GENLENS_SCHEMA", "demo")
    monkeypatch.setenv("SUPABASE_URL", "http://127.0.0.1:9")  # unreachable, never called
    from data_access.engine import get_database

    get_database.cache_clear()
    caplog.set_level(logging.DEBUG)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["since"] = "2026-10-21"
    at.query_params["until"] = "2026-11-21"
    at.run()
    shown = [str(at._tree)]
    for page in PAGES:
        at.query_params["since"] = "2026-10-21"
        at.query_params["until"] = "2026-11-21"
        at.switch_page(page)
        at.run()
        assert not at.exception, page
        shown.append(str(at._tree))
    everything = "\n".join(shown) + caplog.text
    for name, value in [*secrets.items(), ("db password", db_password), ("admin password", "admin-s3cret")]:
        if name == "DATABASE_URL":
            continue  # checked through its password
        assert value not in everything, name
    get_database.cache_clear()
