"""Time, injected: the worker asks a clock for `now()` and sleeps through it, so tests can drive time by hand.

`SystemClock` is the real one. `ManualClock` never sleeps for real: sleepers wake when a test calls
`advance()`, and `wait_for_sleepers()` lets a test wait (on a condition, not a timer) until the worker is
parked before moving time forward. Its `now` can be handed to the sandbox so both sides share one notion
of time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def sleep_until(self, t: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, t: float) -> None:
        await asyncio.sleep(max(0.0, t - time.time()))


class ManualClock:
    """A clock that only moves when told. now() is thread-safe (the sandbox may read it from its thread);
    sleeping and advancing happen in one asyncio loop."""

    def __init__(self, start: float = 1_900_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._changed: asyncio.Event | None = None

    def now(self) -> float:
        with self._lock:
            return self._now

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + max(0.0, seconds))

    async def sleep_until(self, t: float) -> None:
        if t <= self.now():
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (t, next(self._seq), future))
        self._notify()
        try:
            await future
        finally:
            if not future.done():
                future.cancel()

    @property
    def sleepers(self) -> list[float]:
        """Wake-up times of everyone currently asleep, earliest first."""
        return sorted(t for t, _, f in self._sleepers if not f.done())

    def next_wakeup(self) -> float | None:
        pending = self.sleepers
        return pending[0] if pending else None

    def advance(self, seconds: float) -> None:
        self.set(self.now() + seconds)

    def set(self, t: float) -> None:
        with self._lock:
            self._now = max(self._now, float(t))
            now = self._now
        while self._sleepers and self._sleepers[0][0] <= now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    async def advance_to_next(self) -> float:
        """Jump to the earliest sleeper's wake-up time (the test's way of saying "let time pass")."""
        wake = await self.wait_for_sleepers(1)
        self.set(wake)
        return wake

    async def wait_for_sleepers(self, count: int = 1, *, timeout: float = 10.0) -> float:
        """Wait until at least `count` tasks are asleep on this clock; returns the earliest wake-up time."""
        async with asyncio.timeout(timeout):
            while len(self.sleepers) < count:
                self._changed = self._changed or asyncio.Event()
                await self._changed.wait()
        return self.sleepers[0]
