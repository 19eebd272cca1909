"""Which source this thread must read, when a test forces one (`metrics.planner.only`)."""

from __future__ import annotations

import threading

SOURCE_NAMES = ("rollup", "facts", "raw")
_local = threading.local()


def forced() -> str | None:
    return getattr(_local, "name", None)


def force(name: str | None) -> str | None:
    """Set the forced source (None: none); returns the one before."""
    if name is not None and name not in SOURCE_NAMES:
        raise ValueError(f"unknown source {name!r}")
    before = forced()
    _local.name = name
    return before
