"""Run test generations attempt by attempt, the way the seed system's generate flow records them.

For each requested generation: a new generation_id (uuid4), then attempts 1..max_attempts with
exponential backoff between them, stopping at the first success (or at an error another attempt
cannot fix). Each attempt is INSERTed as `pending` and committed *before* the provider is called,
then UPDATEd to success, failed or timeout with completed_at, error_message, full_response and
generation_metadata (the provider's Stage 5 metadata plus `test_run_id` and `source: "admin"`).
A crash mid-attempt therefore leaves a visibly pending (later stale) row, never a lost one.

`run()` blocks and returns a `RunResult`; `start_run()` runs it on a background thread and
returns a `RunHandle` the admin page polls, so a page rerun never stops or repeats a run.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime

from data_access.engine import Database
from generation import settings, store
from generation.providers import (
    AttemptResult,
    GenerationRequest,
    Provider,
    SupabaseFunctionProvider,
    non_negative_number,
)

MAX_COUNT = 50
MAX_ATTEMPTS = 10
MAX_CONCURRENCY = 4
SOURCE = "admin"


@dataclass(frozen=True)
class RunOptions:
    count: int = 1
    max_attempts: int = 3
    concurrency: int = 1
    backoff_s: float | None = None  # base of the backoff; None: GENLENS_ADMIN_BACKOFF_S (default 1 s)
    backoff_max_s: float = 30.0
    follow_timeout_s: float = 180.0  # supabase-function: how long to follow a generation's rows
    poll_s: float = 0.5

    def __post_init__(self) -> None:
        for name, hi in (("count", MAX_COUNT), ("max_attempts", MAX_ATTEMPTS), ("concurrency", MAX_CONCURRENCY)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= hi:
                raise ValueError(f"{name} must be a whole number from 1 to {hi}, got {v!r}")
        if self.backoff_s is not None and not 0 <= self.backoff_s <= 60:
            raise ValueError("backoff_s must be between 0 and 60 seconds")

    def delay(self, attempt_number: int) -> float:
        """Seconds to wait before `attempt_number` (2, 3, ...): base, 2 base, 4 base, capped."""
        base = settings.backoff_seconds() if self.backoff_s is None else self.backoff_s
        return min(self.backoff_max_s, base * 2 ** (attempt_number - 2)) if attempt_number > 1 else 0.0


@dataclass
class GenerationOutcome:
    index: int
    generation_id: str | None  # None: a supabase-function invocation that reported no id
    final_status: str  # success | failed | timeout | pending (a function's rows never completed)
    attempts: int
    cost_usd: float | None  # sum of the attempts' known cost_usd; None when none is known
    error_message: str | None = None  # the last attempt's error


@dataclass
class Event:
    """What the progress callback receives, from the worker threads (the callback must be thread-safe)."""

    kind: str  # generation_started | attempt_started | attempt_finished | generation_finished
    index: int
    generation_id: str | None
    attempt_number: int | None = None
    status: str | None = None
    outcome: GenerationOutcome | None = None


@dataclass
class RunResult:
    test_run_id: str
    started_at: datetime
    finished_at: datetime
    outcomes: list[GenerationOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.final_status == "success" for o in self.outcomes)


def _add(total: float | None, value) -> float | None:
    v = non_negative_number(value)
    return total if v is None else (total or 0.0) + v


def run(
    request: GenerationRequest,
    provider: Provider,
    options: RunOptions | None = None,
    *,
    db: Database | None = None,
    test_run_id: str | None = None,
    on_event: Callable[[Event], None] | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Run `options.count` generations of `request` through `provider`; block until all end.

    Up to `options.concurrency` generations run at once (threads). A BaseException in a worker
    (KeyboardInterrupt, SystemExit) stops the run: no new attempt starts, the attempt it hit stays
    pending in the table, and the exception is re-raised here.
    """
    options = options or RunOptions()
    db = db or store.admin_database()
    test_run_id = str(uuid.UUID(test_run_id)) if test_run_id else str(uuid.uuid4())
    tags = {"test_run_id": test_run_id, "source": SOURCE}
    stop = stop or threading.Event()
    emit = on_event or (lambda e: None)
    started = datetime.now(UTC)

    def one(index: int) -> GenerationOutcome:
        if provider.writes_rows:
            return _via_function(index)
        gid = str(uuid.uuid4())
        emit(Event("generation_started", index, gid))
        cost, result, n = None, None, 0
        for attempt in range(1, options.max_attempts + 1):
            if stop.is_set() or (attempt > 1 and stop.wait(options.delay(attempt))):
                break
            store.insert_pending(db, gid, attempt, request, tags)
            n = attempt
            emit(Event("attempt_started", index, gid, attempt, "pending"))
            try:
                result = provider.attempt(request, attempt, gid)
            except Exception as exc:  # noqa: BLE001 - a broken provider is a failed attempt, not a crash
                detail = str(exc).splitlines()[0] if str(exc) else ""
                result = AttemptResult("failed", f"Provider error: {type(exc).__name__}: {detail}", None, {})
            meta = {**result.metadata, **tags}
            store.complete(db, gid, attempt, result.status, result.error_message, result.full_response, meta)
            cost = _add(cost, meta.get("cost_usd"))
            emit(Event("attempt_finished", index, gid, attempt, result.status))
            if result.status == "success" or not result.retryable:
                break
        outcome = GenerationOutcome(
            index,
            gid,
            result.status if result else "pending",
            n,
            cost,
            result.error_message if result else "stopped before the first attempt",
        )
        emit(Event("generation_finished", index, gid, n, outcome.final_status, outcome))
        return outcome

    def _via_function(index: int) -> GenerationOutcome:
        assert isinstance(provider, SupabaseFunctionProvider)
        gid, error = provider.invoke(request, test_run_id=test_run_id, max_attempts=options.max_attempts)
        if gid is None:
            outcome = GenerationOutcome(index, None, "failed", 0, None, error)
            emit(Event("generation_finished", index, None, 0, "failed", outcome))
            return outcome
        emit(Event("generation_started", index, gid))
        deadline = time.monotonic() + options.follow_timeout_s
        seen: dict[int, str] = {}
        rows = store.attempts_for([gid], db)
        while True:
            for r in rows.itertuples():
                if seen.get(r.attempt_number) != r.status:
                    kind = "attempt_started" if r.status == "pending" else "attempt_finished"
                    emit(Event(kind, index, gid, int(r.attempt_number), r.status))
                    seen[r.attempt_number] = r.status
            settled = len(rows) and not (rows["status"] == "pending").any()
            if settled or time.monotonic() >= deadline or stop.wait(options.poll_s):
                break
            rows = store.attempts_for([gid], db)
        if len(rows):
            last = rows.sort_values(["attempt_number", "created_at"]).iloc[-1]
            cost = None
            for c in rows["cost_usd"]:
                cost = _add(cost, None if c is None else float(c))
            outcome = GenerationOutcome(index, gid, str(last["status"]), len(rows), cost, last["error_message"] or None)
        else:
            outcome = GenerationOutcome(
                index, gid, "pending", 0, None, f"no rows for this generation_id after {options.follow_timeout_s:g} s"
            )
        emit(Event("generation_finished", index, gid, outcome.attempts, outcome.final_status, outcome))
        return outcome

    outcomes: list[GenerationOutcome] = []
    with ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="genlens-run") as pool:
        futures = [pool.submit(one, i) for i in range(options.count)]
        try:
            for fut in as_completed(futures):
                outcomes.append(fut.result())
        except BaseException:
            stop.set()
            for fut in futures:
                fut.cancel()
            raise
    outcomes.sort(key=lambda o: o.index)
    return RunResult(test_run_id, started, datetime.now(UTC), outcomes)


class RunHandle:
    """A run on a background thread: what the admin page keeps in session_state and polls."""

    def __init__(
        self, request: GenerationRequest, provider: Provider, options: RunOptions, db: Database | None = None
    ) -> None:
        self.request, self.provider, self.options, self.db = request, provider, options, db
        self.test_run_id = str(uuid.uuid4())
        self.replay_of: str | None = None  # the generation this run replays (the admin page's ?replay=)
        self.started_at = datetime.now(UTC)
        self.result: RunResult | None = None
        self.error: BaseException | None = None
        self._ids: dict[int, str] = {}
        self._finished = 0
        self._attempts = 0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="genlens-admin-run", daemon=True)

    def start(self) -> RunHandle:
        self._thread.start()
        return self

    def _event(self, e: Event) -> None:
        with self._lock:
            if e.generation_id and e.index not in self._ids:
                self._ids[e.index] = e.generation_id
            if e.kind == "attempt_started":
                self._attempts += 1
            if e.kind == "generation_finished":
                self._finished += 1

    def _run(self) -> None:
        try:
            self.result = run(
                self.request,
                self.provider,
                self.options,
                db=self.db,
                test_run_id=self.test_run_id,
                on_event=self._event,
                stop=self.stop,
            )
        except BaseException as exc:  # noqa: BLE001 - kept for the page to show
            self.error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def total(self) -> int:
        return self.options.count

    def progress(self) -> tuple[int, int, list[str]]:
        """(generations finished, attempts started, generation ids in start order)."""
        with self._lock:
            return self._finished, self._attempts, [self._ids[i] for i in sorted(self._ids)]


def start_run(
    request: GenerationRequest, provider: Provider, options: RunOptions, db: Database | None = None
) -> RunHandle:
    return RunHandle(request, provider, options, db).start()
