"""A streaming replica to read from (GENLENS_READ_URL): whether it answers, and how far behind it is.

Pages, reports and exports read the replica; folding, error-group placing, migrations, the audit
trail and test generations write the primary (DATABASE_URL). A replica replays the primary's WAL,
GenLens' facts included, so what it shows is the primary as of its replay point: exact, but up to
its lag old. `check` says how old, and why when it cannot be read (the page then reads the primary).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine, text

CHECK_TTL_S = 2.0  # how long one check is trusted (a page's queries share it)
LAG_WARN_S = 30.0  # a replica further behind than this is called out on the page

# How far behind: nothing when every WAL record received is replayed and the receiver streams (an
# idle primary writes nothing to replay, so the last replayed commit may be old while the replica is
# current); else the time since the last commit it replayed.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       (SELECT count(*) FROM pg_stat_wal_receiver) > 0,
       pg_is_in_recovery() AND pg_is_wal_replay_paused(),
       pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())"""


@dataclass(frozen=True)
class Replica:
    """One look at the read replica."""

    usable: bool  # pages may read it
    lag_s: float = 0.0  # how far behind the primary it is (0: current)
    cause: str = ""  # not usable, or behind: why, in one sentence

    @property
    def behind(self) -> bool:
        return self.usable and self.lag_s >= LAG_WARN_S


_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0][:200]


def look(reader: Engine) -> Replica:
    """Ask the replica whether it answers and how far behind it is (uncached)."""
    try:
        with reader.connect() as conn:
            standby, receiving, paused, caught_up, since = conn.execute(text(_LAG_SQL)).one()
    except Exception as exc:  # noqa: BLE001 - said on the page; the primary answers meanwhile
        return Replica(
            False, cause=f"the read replica cannot be reached ({_first_line(exc)}), so pages read the primary"
        )
    if not standby:
        return Replica(True, cause="GENLENS_READ_URL names a server that is not a standby; pages read it as it is")
    lag = 0.0 if receiving and caught_up and not paused else max(float(since or 0.0), 0.0)
    if paused:
        cause = "the read replica's replay is paused"
    elif not receiving:
        cause = "the read replica is not streaming from the primary"
    else:
        cause = "the read replica is replaying the primary's writes" if lag >= 1.0 else ""
    return Replica(True, lag, cause)


def check(reader: Engine) -> Replica:
    """`look`, trusted for CHECK_TTL_S."""
    now = time.monotonic()
    with _lock:
        seen = _seen.get(reader)
    if seen is not None and seen[0] > now:
        return seen[1]
    got = look(reader)
    with _lock:
        _seen[reader] = (time.monotonic() + CHECK_TTL_S, got)
    return got


def forget(reader: Engine) -> None:
    with _lock:
        _seen.pop(reader, None)
