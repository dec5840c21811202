"""The cadence policy for following a run: pure functions of (now, last answer, policy, rng).

The seed: wait about 60 s after a call starts before the first `get_call_run`, then poll every 5-10 s until
the run is terminal or `next_step` says otherwise. A server's `after_seconds` is honoured but clamped, so a
bad value can neither flood the server nor leave a run unwatched for hours. Errors back off exponentially
(capped, with jitter) and a `Retry-After` is never undercut. Nothing here sleeps or reads the clock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calle_tui.core.wire.contract import GetCallRunResult, NextStep, parse_time
from calle_tui.core.wire.status import RunStatus

# next_step actions that mean "nothing more to poll for": the sandbox's "done", production's report_result /
# report_blocked, and every action that asks the person something (shown as a question, never acted on).
STOP_ACTIONS = frozenset(
    {"done", "stop", "none", "finished", "complete", "completed", "no_action", "report_result", "report_blocked"}
)
ASK_ACTIONS = frozenset(
    {"ask_user_for_missing_info", "ask_user_for_retry_confirmation", "plan_call_same_plan_id", "ask_user"}
)


def asks_user(next_step: NextStep | None) -> bool:
    """An action that needs the person: calle-tui shows its instruction and does not act on it alone."""
    action = (next_step.action if next_step else "") or ""
    return action in ASK_ACTIONS or action.startswith("ask_user")


@dataclass(frozen=True)
class PollPolicy:
    first_poll: float = 60.0  # seconds after a call starts before the first status query
    min_interval: float = 5.0
    max_interval: float = 10.0
    after_floor: float = 5.0  # a server's poll_after_seconds is clamped into [floor, ceiling]: the seed's 5 s
    after_ceiling: float = 300.0
    backoff_base: float = 2.0  # first retry after an error waits about this long
    backoff_cap: float = 120.0
    retry_after_cap: float = 900.0  # we honour Retry-After up to this; beyond it is treated as this
    refresh_floor: float = 3.0  # a manual refresh never polls more often than this
    page_cap: int = 20  # pages fetched per poll before yielding to the next tick
    page_limit: int = 200  # activity entries asked for per page

    @classmethod
    def from_settings(cls, settings: Any) -> PollPolicy:
        lo = max(1.0, float(settings.poll_min_seconds))
        hi = max(lo, float(settings.poll_max_seconds))
        return cls(first_poll=max(0.0, float(settings.first_poll_seconds)), min_interval=lo, max_interval=hi)


def jittered_interval(policy: PollPolicy, rng: random.Random) -> float:
    """The steady cadence: uniformly within [min_interval, max_interval]."""
    return rng.uniform(policy.min_interval, policy.max_interval)


def clamp_after(seconds: float, policy: PollPolicy) -> float:
    return min(policy.after_ceiling, max(policy.after_floor, float(seconds)))


def wants_stop(next_step: NextStep | None) -> bool:
    return next_step is not None and ((next_step.action or "").strip().lower() in STOP_ACTIONS or asks_user(next_step))


def _after_seconds(next_step: NextStep | None) -> float | None:
    if next_step is None or next_step.after_seconds is None:
        return None
    try:
        value = float(next_step.after_seconds)
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN is not a number of seconds


def _scheduled_epoch(scheduled_at: str | datetime | None) -> float | None:
    when = parse_time(scheduled_at) if isinstance(scheduled_at, str) else scheduled_at
    return when.timestamp() if when is not None else None


def first_poll_at(
    now: float,
    policy: PollPolicy,
    *,
    next_step: NextStep | None = None,
    status: str | None = None,
    scheduled_at: str | datetime | None = None,
) -> float:
    """When to make the first get_call_run after run_call answered at `now`.

    A scheduled run is checked at its time: the server may start it at once and a short call can be over
    a minute later, while the screen would still say "Scheduled". Otherwise the server's after_seconds
    (clamped) wins over the seed's 60 s.
    """
    start = _scheduled_epoch(scheduled_at)
    if start is not None and start > now:
        return start
    after = _after_seconds(next_step)
    if after is not None:
        return now + clamp_after(after, policy)
    return now + policy.first_poll


def next_poll_at(now: float, policy: PollPolicy, rng: random.Random, result: GetCallRunResult) -> float | None:
    """When to poll again after a successful poll that ended with `result`; None means stop following."""
    if result.is_terminal:
        return None
    if wants_stop(result.next_step) and (_after_seconds(result.next_step) is None or asks_user(result.next_step)):
        return None
    waiting_for_schedule = (result.next_step.action if result.next_step else "").startswith("wait_for_scheduled")
    if result.status == RunStatus.SCHEDULED.value or waiting_for_schedule:
        start = _scheduled_epoch(_scheduled_at_of(result))
        if start is not None and start > now:
            return start  # at its time (see first_poll_at), then the usual cadence
    after = _after_seconds(result.next_step)
    if after is not None:
        return now + clamp_after(after, policy)
    return now + jittered_interval(policy, rng)


def _scheduled_at_of(result: GetCallRunResult) -> str | None:
    step = result.next_step
    extra = result.scheduled_at or (step.scheduled_at if step else None) or result.extra_fields.get("scheduled_at")
    if isinstance(extra, str):
        return extra
    details = result.details or {}
    value = details.get("scheduled_at")
    return value if isinstance(value, str) else None


def backoff_delay(attempt: int, policy: PollPolicy, rng: random.Random, retry_after: float | None = None) -> float:
    """Delay before retry number `attempt` (1 = first retry) after an error.

    Exponential with "equal jitter" (half fixed, half random) so many clients do not retry in lockstep,
    capped at backoff_cap; never shorter than a server's Retry-After (itself capped at retry_after_cap).
    """
    attempt = max(1, int(attempt))
    ceiling = min(policy.backoff_cap, policy.backoff_base * (2 ** min(attempt - 1, 30)))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(float(retry_after), policy.retry_after_cap))
    return float(delay)


def refresh_allowed(last_poll_at: float | None, now: float, policy: PollPolicy) -> bool:
    """A manual refresh polls at once unless the last poll was less than refresh_floor ago."""
    return last_poll_at is None or now - last_poll_at >= policy.refresh_floor
