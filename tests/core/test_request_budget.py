"""Issue 10: one worker follows many runs within one request budget; a 429 slows every run, not one."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest

from calle_tui.core.events import RunUpdate, ToolsListed
from calle_tui.core.session.request_budget import RequestBudget
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker_api import PlanRequest

pytestmark = pytest.mark.slow  # many calls followed at once through one worker


def test_a_quiet_budget_lets_a_short_burst_through_then_paces_at_its_rate():
    clock = ManualClock(1000.0)
    budget = RequestBudget(clock, rate=2.0, burst=4)
    slots = [budget.reserve() for _ in range(10)]
    assert slots[:4] == [1000.0] * 4  # one poll's few pages are not slowed
    assert [b - a for a, b in itertools.pairwise(slots[3:])] == pytest.approx([0.5] * 6)  # then 2 per second
    clock.set(1100.0)  # a quiet spell refills the burst, and no more than the burst
    assert [budget.reserve() for _ in range(5)] == pytest.approx([1100.0] * 4 + [1100.5])


def test_the_servers_hold_off_applies_to_every_later_request():
    clock = ManualClock(1000.0)
    budget = RequestBudget(clock, rate=2.0)
    assert budget.reserve() == 1000.0
    budget.hold_off(1030.0)  # a 429 with Retry-After: 30 for one run
    budget.hold_off(1010.0)  # an earlier end never shortens the pause
    assert budget.reserve() == 1030.0 and budget.paused_until == 1030.0
    with pytest.raises(ValueError):
        RequestBudget(clock, rate=0)


async def test_fifty_live_runs_stay_within_two_requests_a_second(fake_calle, make_worker, manual_clock):
    fake, url = fake_calle
    fake.clock = manual_clock.now
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    t0 = manual_clock.now()
    for i in range(50):
        plan = await worker.plan(
            PlanRequest(user_input=f"Call +1 555 01{i:02d}", to_phones=("+15550100",), goal="Ask", plan_id=f"p{i}")
        )
        await worker.run(plan.plan_id, plan.confirm_token)
    assert manual_clock.now() == t0  # every run is due for its first check at the same moment
    async with asyncio.timeout(120):
        while manual_clock.now() < t0 + 150:
            # Time moves only once every follower is asleep (on its cadence or on the budget): none is
            # mid-request, so the clock cannot run ahead of the requests it is meant to pace.
            await manual_clock.wait_for_sleepers(50)
            manual_clock.set(manual_clock.sleepers[0])
    times = [at for at, _ in fake.polled_at]
    assert len({run for _, run in fake.polled_at}) == 50  # every run was checked
    assert min(times) >= t0 + 60  # the seed's first check, about a minute after run_call
    for start in times:  # any one-second window: the burst plus the rate, never fifty at once
        assert sum(1 for t in times if start <= t < start + 1) <= 4 + 2
    # ... and each run still keeps the seed's cadence (5-10 s between its own checks, never faster).
    per_run: dict[str, list[float]] = {}
    for at, run in fake.polled_at:
        per_run.setdefault(run, []).append(at)
    gaps = [b - a for ts in per_run.values() for a, b in itertools.pairwise(ts)]
    assert gaps and min(gaps) >= 5 - 1e-6
    assert len(times) <= 2 * 90 + 4  # 90 s of polling at 2/s at most
    assert Counter(u.poll_state for u in log.of(RunUpdate))["polling"] >= 50
    await asyncio.sleep(0)


class BusyOnce:
    """ASGI wrapper: the first get_call_run POST after `armed` is answered 429 with Retry-After: 30, as a
    busy server answers one request of one run."""

    def __init__(self, app):
        self.app = app
        self.armed = False
        self.refused_at: float | None = None
        self.clock = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not self.armed:
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if b'"get_call_run"' in body:
            self.armed = False
            self.refused_at = self.clock()
            await send({"type": "http.response.start", "status": 429, "headers": [(b"retry-after", b"30")]})
            return await send({"type": "http.response.body", "body": b"busy"})
        replayed = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay():
            return replayed.pop() if replayed else await receive()

        return await self.app(scope, replay, send)


async def test_a_429_for_one_run_holds_every_run_off_until_its_retry_after(make_worker, manual_clock):
    from calle_fakes import FakeCalle, ServerThread, mcp_server

    fake = FakeCalle()
    fake.clock = manual_clock.now
    busy = BusyOnce(mcp_server(fake.tools(), "busy-once").streamable_http_app())
    busy.clock = manual_clock.now
    with ServerThread(busy) as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        for i in range(3):
            plan = await worker.plan(
                PlanRequest(user_input="Call +1 555 0100", to_phones=("+15550100",), goal="Ask", plan_id=f"p{i}")
            )
            await worker.run(plan.plan_id, plan.confirm_token)
        t0 = manual_clock.now()
        busy.armed = True
        async with asyncio.timeout(60):
            while manual_clock.now() < t0 + 120:
                await manual_clock.wait_for_sleepers(3)
                manual_clock.set(manual_clock.sleepers[0])
    assert busy.refused_at is not None
    after = [at for at, _ in fake.polled_at if at > busy.refused_at]
    assert after, "polling went on after the 429"
    assert min(after) >= busy.refused_at + 30 - 1e-6  # no run asked again before the server's Retry-After
    refused = [u for u in log.of(RunUpdate) if "busy" in u.problem]
    assert len({u.run_id for u in refused}) == 1  # one run met the 429 and says so; the others just wait
