"""Closing the worker is safe: history stays readable and a call request in flight still gets recorded."""

from __future__ import annotations

import asyncio
import threading

import pytest

from calle_tui.core.events import ToolsListed
from calle_tui.core.store.journal import Journal
from calle_tui.core.worker_api import PlanRequest, WorkerError

READY = PlanRequest(user_input="Call +1 555 0100 to book a table", to_phones=("+15550100",), goal="Book a table")


async def test_history_is_readable_after_close(fake_calle, make_worker):
    _fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    run = await worker.run(plan.plan_id, plan.confirm_token)
    await worker.close()
    [record] = worker.history()
    assert record.run_id == run.run_id
    assert worker.run_entries(run.run_id) == []
    with pytest.raises(WorkerError) as info:
        await worker.plan(READY)
    assert info.value.kind == "closed"


async def test_close_while_run_call_is_in_flight_records_outcome_unknown(fake_calle, make_worker):
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    fake.run_call_gate = threading.Event()
    running = asyncio.create_task(worker.run(plan.plan_id, plan.confirm_token))
    try:
        await asyncio.to_thread(fake.run_call_entered.wait, 10)
        await worker.close()  # the reply never comes back: closing must not lose the attempt
    finally:
        fake.run_call_gate.set()
    with pytest.raises(WorkerError) as info:
        await running
    assert info.value.kind == "outcome_unknown"
    journal = Journal(worker.settings.state_root / "journal.sqlite3")
    try:
        assert journal.attempt(plan.plan_id).state == "outcome_unknown"
    finally:
        journal.close()
    assert [r.attempt for r in worker.history()] == ["outcome_unknown"]
