"""Step 2 of a batch: send each confirmed, ready plan's one run_call, one line at a time by default.

Production allows one live call per account on the default line: a second run_call is refused with
`account_concurrency_exceeded` (429, call_started false; CALLE-DIALECT.md, "Limits"). So by default the next
line is sent only once the previous call has ended; `max_active` allows more where the account does.

What may happen to a line, and why it is safe:
- each line's run_call goes through the worker, which journals the attempt before sending and refuses a
  second attempt for a plan whose outcome is not a proven refusal (at most once per plan, across restarts);
- a refusal that proves nothing was placed (the line was busy, or a 429 before the request was handled)
  puts the line back at the head of the queue: it is sent again when a followed call ends, or after
  `busy_retry_seconds` when the busy call is not one of ours; after `max_busy_retries` it is given up;
- a lost answer leaves the line "unknown": it is never re-sent by this module;
- stop() sends no further line; the calls already placed go on and are followed by the worker.

Time comes from the injected Clock; nothing sleeps on a real timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from calle_tui.core.events import RunFinished, WorkerEvent
from calle_tui.core.support.clock import Clock
from calle_tui.core.wire.contract import RunCallResult
from calle_tui.core.worker_api import WorkerError

log = logging.getLogger("calle_tui.batch")

LineState = Literal["queued", "sending", "waiting_for_line", "started", "finished", "refused", "unknown", "not_sent"]
NOT_STARTED_KINDS = frozenset({"line_busy", "rate_limited"})  # the worker raises these only when nothing was placed
BUSY_RETRY_SECONDS = 30.0
MAX_BUSY_RETRIES = 40


class Sender(Protocol):
    """What this module needs of the worker (core/worker.py's CalleWorker, or the UI tests' fake)."""

    async def run(self, plan_id: str, confirm_token: str) -> RunCallResult: ...

    def subscribe(self, callback: Callable[[WorkerEvent], None]) -> Callable[[], None]: ...


@dataclass
class SendLine:
    line: int  # the batch file's line number, for every message about it
    plan_id: str
    confirm_token: str = field(repr=False)  # opaque, never shown; handed to the worker only
    state: LineState = "queued"
    run_id: str | None = None
    message: str = ""  # the last sentence about this line (a refusal, why it waits)
    run_calls: int = 0  # run_call requests sent for this line: more than one only after proven refusals
    final_status: str = ""

    @property
    def done(self) -> bool:
        return self.state in {"finished", "refused", "unknown", "not_sent"}


class BatchSender:
    def __init__(
        self,
        worker: Sender,
        lines: Sequence[SendLine],
        *,
        clock: Clock,
        max_active: int = 1,
        busy_retry_seconds: float = BUSY_RETRY_SECONDS,
        max_busy_retries: int = MAX_BUSY_RETRIES,
        on_change: Callable[[SendLine], None] | None = None,
    ) -> None:
        self._worker = worker
        self.lines = list(lines)
        self._clock = clock
        self._max_active = max(1, max_active)
        self._busy_retry = busy_retry_seconds
        self._max_busy_retries = max_busy_retries
        self._on_change = on_change
        self._active: set[str] = set()  # run ids of this batch's calls not ended yet
        self._ended: set[str] = set()
        self._by_run: dict[str, SendLine] = {}
        self._freed = asyncio.Event()  # a call of ours ended, or stop() was asked
        self._stopped = False
        self._running = False

    # --- control ----------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Send no further line (Esc during step 2). Calls already placed go on and are followed: run()
        returns once they have ended."""
        self._stopped = True
        self._freed.set()

    @property
    def stopped(self) -> bool:
        return self._stopped

    async def run(self) -> list[SendLine]:
        if self._running:
            raise RuntimeError("a batch is sent once")
        self._running = True
        unsubscribe = self._worker.subscribe(self._on_event)
        try:
            await self._send_all()
            # The batch is over when its calls are: stop() sends nothing further, but what was placed goes
            # on and is still followed (and counted) to its end.
            while self._active:
                self._freed.clear()
                await self._freed.wait()
        finally:
            unsubscribe()
        return self.lines

    # --- the loop -----------------------------------------------------------------------------------------

    async def _send_all(self) -> None:
        queue = deque(line for line in self.lines if line.state == "queued")
        while queue and not self._stopped:
            await self._room()
            if self._stopped:
                break
            line = queue.popleft()
            self._set(line, "sending", "")
            line.run_calls += 1
            try:
                result = await self._worker.run(line.plan_id, line.confirm_token)
            except WorkerError as exc:
                sentence = f"{exc.message} {exc.action}".strip()
                if exc.kind in NOT_STARTED_KINDS and line.run_calls <= self._max_busy_retries:
                    # Proven not placed: the line goes back to the head of the queue and waits for the line.
                    queue.appendleft(line)
                    self._set(line, "waiting_for_line", exc.message)
                    await self._line_free()
                    if line.state == "waiting_for_line":
                        self._set(line, "queued", exc.message)
                    continue
                self._set(line, "unknown" if exc.kind == "outcome_unknown" else "refused", sentence)
                continue
            except Exception:  # one line's bug must not lose the others: logged with its traceback, said
                log.exception("line %s could not be sent", line.line)
                self._set(line, "unknown", "Something went wrong on this machine while sending this line.")
                continue
            line.run_id = result.run_id
            self._by_run[result.run_id] = line
            if result.run_id in self._ended:
                self._set(line, "finished", "")
            else:
                self._active.add(result.run_id)
                self._set(line, "started", "")
        for line in queue:
            self._set(line, "not_sent", "Not sent: the batch was stopped before this line.")

    async def _room(self) -> None:
        while len(self._active) >= self._max_active and not self._stopped:
            self._freed.clear()
            await self._freed.wait()

    async def _line_free(self) -> None:
        """After a busy refusal: until one of our calls ends (the line is then free), or a while when the busy
        call is not ours (another client's), or stop()."""
        self._freed.clear()
        if self._stopped:
            return
        waiter = asyncio.ensure_future(self._freed.wait())
        sleeper = asyncio.ensure_future(self._clock.sleep(self._busy_retry))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    # --- events -------------------------------------------------------------------------------------------

    def _on_event(self, event: WorkerEvent) -> None:
        if not isinstance(event, RunFinished):
            return
        self._ended.add(event.run_id)
        line = self._by_run.get(event.run_id)
        if line is not None:
            line.final_status = event.status
            self._set(line, "finished", "")
        if event.run_id in self._active:
            self._active.discard(event.run_id)
            self._freed.set()

    def _set(self, line: SendLine, state: LineState, message: str) -> None:
        line.state = state
        line.message = message
        if self._on_change is not None:
            try:
                self._on_change(line)
            except Exception:
                log.exception("batch progress callback failed")


def summary(lines: Sequence[SendLine]) -> dict[str, int]:
    """The batch progress line's counts: done / live / failed (refused or unknown) / waiting."""
    counts = {"done": 0, "live": 0, "failed": 0, "waiting": 0}
    for line in lines:
        if line.state == "finished":
            counts["done"] += 1
        elif line.state in {"started", "sending"}:
            counts["live"] += 1
        elif line.state in {"refused", "unknown"}:
            counts["failed"] += 1
        elif line.state in {"queued", "waiting_for_line"}:
            counts["waiting"] += 1
    return counts
