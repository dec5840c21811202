"""Issue 11, "Followers and the journal": what a follower costs the server and what it does when it trips.

Each test drives the real worker against FakeCalle over real HTTP with the manual clock: no timers."""

from __future__ import annotations

import sqlite3

from calle_fakes import drive

from calle_tui.core.events import RunFinished, RunUpdate, ToolsListed
from calle_tui.core.worker_api import PlanRequest

READY = PlanRequest(user_input="Call +1 555 0100 to book a table", to_phones=("+15550100",), goal="Book a table")
RUN_ID = "run-plan-1"


async def _started(fake_calle, make_worker, manual_clock):
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    await worker.run(plan.plan_id, plan.confirm_token)
    return fake, worker, log


async def _next_poll(manual_clock, log) -> None:
    """Let the follower's next poll happen, and return once it sleeps again (the poll is over)."""
    wake = await manual_clock.wait_for_sleepers(1)
    manual_clock.set(wake)
    await log.wait_for(lambda e: isinstance(e, RunUpdate) and e.poll_state == "polling", start=len(log.events))
    await manual_clock.wait_for_sleepers(1)


async def test_a_fresh_cursor_on_every_page_costs_one_request_per_poll(fake_calle, make_worker, manual_clock):
    fake, _worker, log = await _started(fake_calle, make_worker, manual_clock)
    fake.endless_cursor = True  # caught up or not, every page names a new next_cursor
    fake.add_entries(RUN_ID, 3)
    await _next_poll(manual_clock, log)
    first = fake.calls["get_call_run"]
    assert first <= 2  # the page with the entries, then at most one that proves nothing is new
    per_poll = []
    for _ in range(5):
        before = fake.calls["get_call_run"]
        await _next_poll(manual_clock, log)
        per_poll.append(fake.calls["get_call_run"] - before)
    assert per_poll == [1, 1, 1, 1, 1]  # not page_cap (20) requests for nothing
    fake.add_entries(RUN_ID, 2)  # new entries are still fetched, each exactly once
    await _next_poll(manual_clock, log)
    ids = [e.id for u in log.of(RunUpdate) for e in u.new_activity]
    assert ids == ["e0", "e1", "e2", "e3", "e4"]


async def test_a_follower_that_trips_locally_says_so_retries_and_recovers(
    fake_calle, make_worker, manual_clock, monkeypatch
):
    fake, worker, log = await _started(fake_calle, make_worker, manual_clock)
    real_save = worker.journal.save_page
    failures = {"left": 2}

    def locked_then_fine(*args, **kwargs):
        if failures["left"] > 0:
            failures["left"] -= 1
            raise sqlite3.OperationalError("database is locked")  # a second window holding the write lock
        return real_save(*args, **kwargs)

    monkeypatch.setattr(worker.journal, "save_page", locked_then_fine)
    fake.add_entries(RUN_ID, 2)
    wake = await manual_clock.wait_for_sleepers(1)
    manual_clock.set(wake)
    tripped = await log.wait_for(lambda e: isinstance(e, RunUpdate) and bool(e.problem))
    assert "Following this call failed here, on this machine." in tripped.problem
    assert "Retrying in" in tripped.problem and "OperationalError" not in tripped.problem
    assert "locked" not in tripped.problem  # the detail goes to the log, not the screen
    # It is not left at "Checking now...": it retries on its own and, once the journal answers, carries on.
    await drive(manual_clock, log, lambda: any(e.new_activity for e in log.of(RunUpdate)))
    recovered = [u for u in log.of(RunUpdate) if u.new_activity][-1]
    assert recovered.problem == ""
    assert [e.id for e in recovered.new_activity] == ["e0", "e1"]
    fake.status[RUN_ID] = "completed"
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert log.of(RunFinished)[-1].run_id == RUN_ID


async def test_a_server_that_dies_under_run_call_leaves_the_outcome_open(make_worker, monkeypatch):
    """The run_call POST left, then the server went away: its own request reached the server, so the
    refused connects of the requests after it (the session's root cause) must not make it "not started"."""
    import asyncio
    import threading

    import pytest
    from calle_fakes import FakeCalle, serve

    from calle_tui.core.events import RunOutcomeUnknown
    from calle_tui.core.worker_api import WorkerError

    fake = FakeCalle()
    fake.run_call_gate = threading.Event()
    server = serve(fake.tools(), name="dies-under-run-call")
    server.serve()
    try:
        worker, log = make_worker(server.url, request_timeout_seconds=5.0)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(READY)
        sending = asyncio.ensure_future(worker.run(plan.plan_id, plan.confirm_token))
        assert await asyncio.to_thread(fake.run_call_entered.wait, 10)
        # The server goes away at once: the in-flight request's connection drops, every connect after it is refused.
        await asyncio.to_thread(server.stop, at_once=True)
        with pytest.raises(WorkerError) as caught:
            await sending
    finally:
        fake.run_call_gate.set()
        server.stop()
    assert caught.value.kind == "outcome_unknown", caught.value
    assert log.of(RunOutcomeUnknown) and log.of(RunOutcomeUnknown)[0].plan_id == plan.plan_id
    assert worker.journal.attempt(plan.plan_id).state == "outcome_unknown"  # the latch stays closed: never re-sent
    with pytest.raises(WorkerError) as again:
        await worker.run(plan.plan_id, plan.confirm_token)
    assert again.value.kind == "already_started" and fake.calls["run_call"] == 1
