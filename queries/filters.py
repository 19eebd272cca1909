"""The shared `Filters` value (declared in `metrics.filters`, which every layer below the pages reads)."""

from __future__ import annotations

from metrics.filters import (
    DEFAULT_DAYS,
    MAX_VALUES,
    STATUSES,
    STORY_TYPES,
    FilterError,
    Filters,
    default_window,
    parse_day,
    parse_user,
)

__all__ = [
    "DEFAULT_DAYS",
    "MAX_VALUES",
    "STATUSES",
    "STORY_TYPES",
    "FilterError",
    "Filters",
    "default_window",
    "parse_day",
    "parse_user",
]
