"""Run following: one follower task per run polls get_call_run on the seed's cadence
(polling.py), pages through cursors, stores each page in the journal before announcing it, backs off on
errors and resumes from the saved cursor after any drop.

The worker injects everything it shares (clock, rng, policy, journal, emit, the live connection, the
"connected" event and the closed flag), so this module owns no session and no sign-in.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from calle_tui.core.events import ErrorEvent, PollState, RunFinished, RunUpdate, WorkerEvent
from calle_tui.core.runs.polling import (
    PollPolicy,
    backoff_delay,
    first_poll_at,
    jittered_interval,
    next_poll_at,
    refresh_allowed,
)
from calle_tui.core.session.connection import CallError, ConnectionLost
from calle_tui.core.session.request_budget import RequestBudget
from calle_tui.core.store.journal import Journal
from calle_tui.core.support.clock import Clock
from calle_tui.core.wire.contract import GetCallRunInput, GetCallRunResult
from calle_tui.core.wire.envelope import ProseOnly, Read, Refused, UnreadableReply, read_reply
from calle_tui.core.wire.replies import read_run_page
from calle_tui.core.wire.status import status_label
from calle_tui.core.worker_api import WorkerError

log = logging.getLogger("calle_tui.follow")


SLOW_AFTER = 5  # consecutive failed polls before the monitor says the trouble has gone on


def fmt_seconds(seconds: float) -> str:
    return f"{max(1, round(seconds))} s"


class RunFollowers:
    """The per-run follower tasks of one worker."""

    def __init__(
        self,
        *,
        clock: Clock,
        rng: random.Random,
        policy: PollPolicy,
        journal: Callable[[], Journal],
        emit: Callable[[WorkerEvent], None],
        connection: Callable[[], Any],
        connected: asyncio.Event,
        closed: Callable[[], bool],
        budget: RequestBudget | None = None,
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._policy = policy
        self._journal = journal  # a getter: the worker opens its journal lazily
        self._emit = emit
        self._connection = connection  # the current Connection, or None while disconnected
        self._connected = connected
        self._closed = closed
        self._budget = budget or RequestBudget(clock)  # shared by every run this worker follows
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._last_update: dict[str, RunUpdate] = {}  # per run, without entries: replayed to late subscribers
        self._poke: dict[str, asyncio.Event] = {}
        self._last_poll: dict[str, float] = {}
        self._poll_locks: dict[str, asyncio.Lock] = {}
        self._announced: dict[str, int] = {}  # per run: how many stored entries this process has announced

    @property
    def journal(self) -> Journal:
        return self._journal()

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks.values())

    def remember(self, event: WorkerEvent) -> None:
        """Called by the worker for every event it emits, so a late subscriber can be told the latest state."""
        if isinstance(event, RunUpdate):
            self._last_update[event.run_id] = replace(event, new_activity=())

    def follow(self, run_id: str) -> None:
        task = self._tasks.get(run_id)
        if task is not None and not task.done():
            # A screen that subscribes late (the monitor opens after run_call returns) still learns where the
            # follower is: the countdown to the first check, reconnecting, ...
            last = self._last_update.get(run_id)
            if last is not None:
                self._emit(last)
            return
        if self._closed():
            return
        state = self.journal.run(run_id)
        if state is not None and state.terminal:
            return  # a finished run is redrawn from the journal, never polled again
        self._poke[run_id] = asyncio.Event()
        # Entries already stored when following starts are the screen's to read from the journal.
        self._announced.setdefault(run_id, state.entry_count if state is not None else 0)
        self._tasks[run_id] = asyncio.create_task(self._follow(run_id), name=f"follow {run_id}")

    async def refresh_now(self, run_id: str) -> bool:
        now = self._clock.now()
        if not refresh_allowed(self._last_poll.get(run_id), now, self._policy):
            return False
        task = self._tasks.get(run_id)
        if task is None or task.done():
            state = self.journal.run(run_id)
            if state is None:
                raise WorkerError("This run is not known here.", kind="unknown_run")
            if state.terminal:
                return False
            self.follow(run_id)
        if not self._connected.is_set():
            return False
        self._poke[run_id].set()
        return True

    async def _wait_or_poke(self, run_id: str, until: float) -> None:
        poke = self._poke[run_id]
        if poke.is_set():
            poke.clear()
            return
        sleeper = asyncio.ensure_future(self._clock.sleep_until(until))
        waker = asyncio.ensure_future(poke.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            poke.clear()

    def _initial_due(self, run_id: str) -> tuple[float, PollState]:
        state = self.journal.run(run_id)
        now = self._clock.now()
        if state is None:
            return now, "polling"
        if state.last_poll_at is None:
            start = state.start
            due = first_poll_at(
                state.created_at,
                self._policy,
                next_step=start.next_step if start else None,
                status=start.status if start else None,
                scheduled_at=(start.scheduled_at if start else None)
                or (start.next_step.scheduled_at if start and start.next_step else None)
                or state.scheduled_at,
            )
            waiting: PollState = "scheduled" if (start and start.status == "scheduled" and due > now) else "waiting_first"
            return due, waiting
        if state.last is not None:
            nxt = next_poll_at(state.last_poll_at, self._policy, self._rng, state.last)
            return (nxt if nxt is not None else now), "waiting"
        return now, "waiting"

    async def _follow(self, run_id: str) -> None:

        due, waiting = self._initial_due(run_id)
        errors = 0
        state = self.journal.run(run_id)
        status = state.status if state else ""
        status_text = (state.last.status_text if state and state.last else "") or ""
        message = ""
        problem = ""  # the error being retried after; cleared when its condition is over
        while not self._closed():
            if due > self._clock.now():
                self._emit(
                    RunUpdate(
                        run_id=run_id,
                        status=status,
                        poll_state=waiting,
                        next_poll_at=due,
                        message=message,
                        status_text=status_text,
                        problem=problem,
                    )
                )
                await self._wait_or_poke(run_id, due)
            if not self._connected.is_set():
                # A lost connection is its own condition: the server's earlier trouble no longer describes it.
                errors, problem = 0, ""
                self._emit(
                    RunUpdate(
                        run_id=run_id,
                        status=status,
                        poll_state="reconnecting",
                        message="Waiting for the connection.",
                        status_text=status_text,
                    )
                )
                await self._connected.wait()
                continue
            try:
                last, said = await self._poll(run_id)
            except (CallError, Exception) as exc:  # a follower never dies silently
                if isinstance(exc, ConnectionLost) or (isinstance(exc, CallError) and not self._connected.is_set()):
                    # The supervisor reconnects; we resume from the journal's cursor once it has.
                    errors, problem = 0, ""
                    continue
                if not isinstance(exc, CallError):
                    # A bug or a local fault (a locked journal): logged with its traceback, shown as a sentence,
                    # retried with the same capped backoff, so the monitor never says "Checking now..." for ever.
                    log.exception("following %s failed", run_id)
                    exc = CallError("internal", "Following this call failed here, on this machine.")
                errors += 1
                delay = backoff_delay(errors, self._policy, self._rng, exc.retry_after)
                due = self._clock.now() + delay
                if exc.kind == "rate_limited":
                    # The server is busy for the account, not for this run: every follower holds off.
                    self._budget.hold_off(due)
                waiting = "waiting"
                problem = f"{exc.message} Retrying in {fmt_seconds(delay)}."
                if errors >= SLOW_AFTER:
                    # Say plainly that this has gone on, with what we last knew; the cadence is already slow.
                    known = status_label(status_text or status) if (status_text or status) else "not known yet"
                    problem = (
                        f"{exc.message} This has failed {errors} times in a row; the last status we read was "
                        f"{known}. Still checking, next in {fmt_seconds(delay)}."
                    )
                if errors == 1:  # one ErrorEvent per streak; the countdown lives in RunUpdate.message
                    self._emit(
                        ErrorEvent(
                            message=exc.message,
                            action=f"Retrying in {fmt_seconds(delay)}.",
                            kind=exc.kind,
                            run_id=run_id,
                        )
                    )
                continue
            errors, problem = 0, ""
            message = said  # a text-only answer is the run's latest word until a readable one replaces it
            if last is None:
                # Only prose, nothing that says the run ended or when to look again: the usual cadence.
                due = self._clock.now() + jittered_interval(self._policy, self._rng)
                waiting = "waiting"
                continue
            status = last.status or status
            status_text = last.status_text or status_text
            if last.is_terminal:
                self._emit(
                    RunFinished(
                        run_id=run_id,
                        status=status,
                        result=last,
                        transcript=tuple(last.transcript or ()),
                        status_text=status_text,
                    )
                )
                return
            now = self._clock.now()
            nxt = next_poll_at(now, self._policy, self._rng, last)
            if nxt is None:
                # next_step said there is nothing more to poll for, though the run is not terminal.
                note = (last.next_step.message if last.next_step else None) or "Nothing more to follow."
                self._emit(
                    RunUpdate(
                        run_id=run_id,
                        status=status,
                        poll_state="finished",
                        result=last,
                        message=note,
                        status_text=status_text,
                    )
                )
                return
            due = nxt
            waiting = "scheduled" if status == "scheduled" else "waiting"

    async def _poll(self, run_id: str) -> tuple[GetCallRunResult | None, str]:
        """One poll: fetch pages from the saved cursor until caught up (at most page_cap pages), storing each
        page and its cursor before announcing its new entries. Returns the last readable page (None when
        the first answer was text only) and the server's text when it answered in prose ("" otherwise)."""
        lock = self._poll_locks.setdefault(run_id, asyncio.Lock())
        async with lock:
            # Journal work goes to a thread: another window holding SQLite's write lock must never freeze
            # this one's screen (the journal is thread-safe: one connection under one lock).
            state = await asyncio.to_thread(self.journal.run, run_id)
            cursor = state.cursor if state else None
            last: GetCallRunResult | None = None
            for _ in range(self._policy.page_cap):
                conn = self._connection()
                if conn is None or not conn.alive:
                    raise ConnectionLost("network", "The connection was lost.")
                await self._budget.acquire()  # all runs together stay within the request budget
                if conn is not self._connection() or not conn.alive:
                    raise ConnectionLost("network", "The connection was lost.")
                self._last_poll[run_id] = self._clock.now()
                args = GetCallRunInput(run_id=run_id, cursor=cursor, limit=self._policy.page_limit).to_arguments()
                raw = await conn.call("get_call_run", args)  # ConnectionLost propagates: resume after reconnect
                match read_reply(raw, partial(read_run_page, asked_run_id=run_id)):
                    case Read(value=page):
                        pass  # paged below
                    case Refused() as refused:
                        raise CallError("tool", f"The server could not report on this call: {refused.said()}")
                    case ProseOnly() as prose:
                        # Prose, not a status object: not an error to back off from, just nothing to page through.
                        said = prose.said()
                        await asyncio.to_thread(self.journal.touch_poll, run_id, self._clock.now())
                        state = await asyncio.to_thread(self.journal.run, run_id)
                        status = state.status if state else ""
                        self._emit(RunUpdate(run_id=run_id, status=status, poll_state="polling", message=said))
                        return last, said
                    case UnreadableReply(reason=reason):
                        raise CallError("malformed", f"The server sent a status we cannot read ({reason}).")
                if page.run_id != run_id:
                    raise CallError("malformed", "The server answered about a different call.")
                # Where to continue next time: the server's next cursor; once caught up, a resume cursor when
                # the server offers one (the sandbox does), else the cursor that brought us here.
                saved = page.next_cursor or page.resume_cursor or cursor
                fresh = await asyncio.to_thread(
                    self.journal.save_page, run_id, page.activity, saved, page, self._clock.now()
                )
                # Announce every entry this follower has not announced yet, whoever stored it: a second
                # window following the same run stores nothing new but must still show what the first stored.
                announce = await asyncio.to_thread(self.journal.entries, run_id, self._announced.get(run_id, 0))
                self._announced[run_id] = self._announced.get(run_id, 0) + len(announce)
                self._emit(
                    RunUpdate(
                        run_id=run_id,
                        status=page.status,
                        poll_state="polling",
                        new_activity=tuple(announce),
                        result=page,
                        status_text=page.status_text,
                    )
                )
                last = page
                # Stop paging when caught up, when the cursor repeats, or when a page brings nothing new: a
                # server that hands out a fresh cursor on every page (or re-sends its whole history each
                # time, as production does) costs one request per poll, not page_cap.
                if not page.next_cursor or page.next_cursor == cursor or not (fresh or announce):
                    break
                cursor = page.next_cursor
            assert last is not None
            return last, ""
