"""The shared `Filters` value: one window and the optional narrowing every query takes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

STATUSES = ("pending", "success", "failed", "timeout")
STORY_TYPES = ("child", "hero", "combined")
DEFAULT_DAYS = 30
MAX_VALUES = 50  # more models or types than this in one filter is not a real question


class FilterError(ValueError):
    """A filter value that cannot be used; the message is shown to the user as is."""


def parse_day(value: str, name: str) -> datetime:
    """YYYY-MM-DD (or an ISO timestamp) as an aware UTC datetime."""
    value = (value or "").strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        dt = datetime.fromisoformat(value)
    except ValueError:
        shown = value[:40] + ("…" if len(value) > 40 else "")
        raise FilterError(f"{name} must be a date like 2026-01-31, got {shown!r}") from None
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_uuid(name: str, value: str) -> str:
    """A UUID in canonical form; FilterError naming the filter `name` otherwise."""
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        shown = str(value)[:40] + ("…" if len(str(value)) > 40 else "")
        raise FilterError(f"{name} must be a {name} id (UUID), got {shown!r}") from None


def parse_user(value: str) -> str:
    return parse_uuid("user", value)


def default_window(today: date | None = None) -> tuple[datetime, datetime]:
    """The last 30 days, today included: [today - 29 days, tomorrow) in UTC."""
    today = today or datetime.now(UTC).date()
    until = datetime.combine(today + timedelta(days=1), time(0), tzinfo=UTC)
    return until - timedelta(days=DEFAULT_DAYS), until


@dataclass(frozen=True)
class Filters:
    """What a view asks about. Window is [since, until) in UTC; empty tuples mean "all"."""

    since: datetime
    until: datetime
    models: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    user: str | None = None
    statuses: tuple[str, ...] = ()
    include_tests: bool = False
    # one generation (its id): a scope filter, like the window (the Generation detail page's)
    generation: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            v = getattr(self, name)
            if not isinstance(v, datetime) or v.tzinfo is None:
                raise FilterError(f"{name} must be an aware datetime")
        if self.until <= self.since:
            raise FilterError("until must be after since")
        bad = [s for s in self.statuses if s not in STATUSES]
        if bad:
            raise FilterError(f"unknown status {bad[0]!r}; use one of {', '.join(STATUSES)}")
        if len(self.models) > MAX_VALUES or len(self.types) > MAX_VALUES:
            raise FilterError(f"at most {MAX_VALUES} models or types at once")
        if self.user is not None:
            object.__setattr__(self, "user", parse_user(self.user))
        if self.generation is not None:
            object.__setattr__(self, "generation", parse_uuid("generation", self.generation))

    @classmethod
    def default(cls, **kw) -> Filters:
        since, until = default_window()
        return cls(since=since, until=until, **kw)

    @property
    def span(self) -> timedelta:
        return self.until - self.since

    def previous_period(self) -> Filters:
        """The window of equal length just before this one, same other filters."""
        return replace(self, since=self.since - self.span, until=self.since)

    def describe(self) -> str:
        """Short slug for file names: 2026-10-01_2026-10-31_model-x_tests."""
        parts = [self.since.strftime("%Y-%m-%d"), self.until.strftime("%Y-%m-%d")]
        parts += [f"model-{m}" for m in self.models]
        parts += [f"type-{t}" for t in self.types]
        if self.user:
            parts.append(f"user-{self.user[:8]}")
        parts += [f"status-{s}" for s in self.statuses]
        if self.include_tests:
            parts.append("tests")
        if self.generation:
            parts.append(f"generation-{self.generation[:8]}")
        slug = "_".join(parts)
        return "".join(c if c.isalnum() or c in "-_." else "-" for c in slug)[:150]
