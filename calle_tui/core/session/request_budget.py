"""One request budget shared by every follower of a worker: fifty live runs never burst the server.

Each run keeps the seed's cadence (polling.py); on top, status requests leave at most `rate` per second on
average, with a small burst so one run paging through a long history is not slowed. A 429 (or any
Retry-After) seen by one follower pauses everyone until that time: the server said the account is busy, not
one run. Slots are handed out in the order asked (FIFO), so no run starves.

Time comes from the injected Clock, so tests drive it by hand and nothing here sleeps on a real timer.
"""

from __future__ import annotations

from calle_tui.core.support.clock import Clock

# Requests per second, all runs together (the poll_budget_per_second setting): fifty runs each polled every
# 5-10 s would otherwise send 5-10 a second.
DEFAULT_RATE = 2.0
DEFAULT_BURST = 4  # requests that may leave back to back after a quiet spell (a poll's few pages)


class RequestBudget:
    def __init__(self, clock: Clock, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._clock = clock
        self._gap = 1.0 / rate
        # GCRA (the leaky bucket as a meter): `_tat` is when the bucket would be empty; a request may leave
        # once now >= _tat - _tolerance, so up to `burst` leave back to back after a quiet spell.
        self._tolerance = (max(1, burst) - 1) * self._gap
        self._tat = clock.now()
        self._paused_until = 0.0
        self.waited = 0  # requests that had to wait for a slot (for the benchmark and the tests)

    @property
    def rate(self) -> float:
        return 1.0 / self._gap

    @property
    def paused_until(self) -> float:
        """Until when the server asked everyone to hold off (0 when it has not)."""
        return self._paused_until

    def reserve(self) -> float:
        """Claim the next slot and return when it is (now, or later). Claiming is synchronous, so callers
        are served in the order they asked even when they then sleep."""
        now = self._clock.now()
        slot = max(now, self._tat - self._tolerance, self._paused_until)
        self._tat = max(self._tat, slot) + self._gap
        return slot

    async def acquire(self) -> None:
        """Wait for this request's slot."""
        slot = self.reserve()
        if slot > self._clock.now():
            self.waited += 1
            await self._clock.sleep_until(slot)

    def hold_off(self, until: float) -> None:
        """The server said "too many requests" (429 / Retry-After): nobody asks again before `until`."""
        if until > self._paused_until:
            self._paused_until = until
