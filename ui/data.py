"""Cached access to `queries/` for pages: one TTL for all (GENLENS_CACHE_TTL, default 60 s)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from data_access.config import load_settings

TTL = load_settings().cache_ttl_seconds
PREFETCH_WORKERS = 3


@st.cache_data(ttl=TTL, max_entries=512, show_spinner=False)
def _cached_call(module: str, name: str, args: tuple, kwargs: tuple, policy_key: str, version: Any) -> Any:
    import importlib

    fn = getattr(importlib.import_module(module), name)
    return fn(*args, **dict(kwargs))


def cached(fn: Callable, *args, **kwargs) -> Any:
    """Call a `queries` function through Streamlit's data cache (keyed by its arguments).

    The masking policy is part of the key: a viewer never gets an analyst's unmasked result. So is
    the facts' version while pages read them: a write folded in makes the next call query again,
    so a page is as fresh as the facts (seconds), not as old as the cache's TTL.
    """
    from queries import masking

    key = (fn.__module__, fn.__name__, args, tuple(sorted(kwargs.items())), masking.current().key)
    return _cached_call(*key, data_version())


def data_version() -> Any:
    """What the cache keys by: the facts' fold count while pages read them, else None (the TTL)."""
    from data_access.engine import get_database
    from queries.catalog import freshness

    try:
        fresh = freshness(get_database())
    except Exception:  # noqa: BLE001 - the page's own query reports a broken database
        return None
    return fresh.version if fresh.live else None


# Pages start their independent queries together: on two cores a page's queries overlap, so a page
# waits for about its slowest queries rather than their sum (BENCHMARKS.md). Bounded, so a busy
# dashboard keeps within the connection pool (GENLENS_POOL_SIZE).
_pool = ThreadPoolExecutor(max_workers=PREFETCH_WORKERS, thread_name_prefix="genlens-prefetch")


def prefetch(*calls: tuple) -> None:
    """Start `cached(fn, *args)` for each (fn, *args) in the background; the page then calls
    cached() as usual and gets the result (or waits for the one already running, never a second
    query). Errors are left to that later call, which raises them where the page handles them."""
    ctx = get_script_run_ctx(suppress_warning=True)

    def run(context: contextvars.Context, call: tuple) -> None:
        if ctx is not None:
            add_script_run_ctx(threading.current_thread(), ctx)
        try:
            context.run(cached, *call)
        except Exception:  # noqa: BLE001, S110 - the page's own call reports it
            pass

    for call in calls:
        future = _pool.submit(run, contextvars.copy_context(), call)
        with _pending_lock:
            _pending.add(future)
        future.add_done_callback(_forget)


_pending: set = set()
_pending_lock = threading.Lock()


def _forget(future) -> None:
    with _pending_lock:
        _pending.discard(future)


def drain(timeout: float | None = None) -> None:
    """Wait until no prefetch is running (benchmarks and tests: a cold run starts from nothing)."""
    from concurrent.futures import wait

    with _pending_lock:
        running = list(_pending)
    wait(running, timeout=timeout)


@st.cache_resource(show_spinner=False)
def start_folding() -> threading.Thread | None:
    """One thread per server process that folds the writes waiting into GenLens' facts every
    GENLENS_FOLD_EVERY_MS (2 s), so a page's first read rarely has any to fold (and the freshness
    a page shows is that of the latest fold). 0: no thread (pages still fold on read; the tests)."""
    every_s = load_settings().fold_every_ms / 1000
    if not every_s:
        return None

    def run() -> None:
        import time

        from data_access.engine import started_database
        from queries.catalog import fold

        pause = every_s
        while pause:  # the setting turned to 0 stops it
            try:
                db = started_database()  # the one pages use; none made here
                if db is not None:
                    fold(db)
            except Exception:  # noqa: BLE001, S110 - pages report a broken database themselves
                pass
            time.sleep(pause)
            pause = load_settings().fold_every_ms / 1000

    thread = threading.Thread(target=run, name="genlens-fold", daemon=True)
    thread.start()
    return thread


def refresh() -> None:
    st.cache_data.clear()
