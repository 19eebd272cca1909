"""Cached access to `queries/` for pages: one TTL for all (GENLENS_CACHE_TTL, default 60 s)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from data_access.config import load_settings

TTL = load_settings().cache_ttl_seconds


@st.cache_data(ttl=TTL, max_entries=512, show_spinner=False)
def _cached_call(module: str, name: str, args: tuple, kwargs: tuple, policy_key: str) -> Any:
    import importlib

    fn = getattr(importlib.import_module(module), name)
    return fn(*args, **dict(kwargs))


def cached(fn: Callable, *args, **kwargs) -> Any:
    """Call a `queries` function through Streamlit's data cache (keyed by its arguments).

    The masking policy is part of the key: a viewer never gets an analyst's unmasked result.
    """
    from queries import masking

    return _cached_call(fn.__module__, fn.__name__, args, tuple(sorted(kwargs.items())), masking.current().key)


def refresh() -> None:
    st.cache_data.clear()
