"""The worker against tiny real-HTTP servers: what the sandbox cannot easily show (other tools, garbage)."""

import asyncio
import itertools

import pytest
from calle_fakes import drive, serve

from calle_tui.core.events import (
    ConnectionChanged,
    ErrorEvent,
    PlanResult,
    RunFinished,
    RunOutcomeUnknown,
    RunStarted,
    RunUpdate,
    ToolsListed,
)
from calle_tui.core.store.journal import Journal
from calle_tui.core.worker_api import PlanRequest, WorkerError

READY = PlanRequest(user_input="Call +1 555 0100 to book a table", to_phones=("+15550100",), goal="Book a table")


async def test_server_without_the_three_tools_is_refused_clearly(make_worker):
    def echo(text: str) -> str:
        return text

    def weather(city: str) -> str:
        return "sunny"

    with serve({"echo": echo, "weather": weather}, name="not-calle") as server:
        worker, log = make_worker(server.url)
        await worker.start()
        error = await log.wait_kind(ErrorEvent, kind="not_calle")
        assert "not a CALL-E endpoint" in error.message and error.action
        assert log.of(ConnectionChanged)[-1].state == "failed"
        assert not log.of(ToolsListed)
        with pytest.raises(WorkerError) as exc:
            await worker.plan(PlanRequest(user_input="hello"))
        assert exc.value.kind == "not_calle"


async def test_plan_sends_input_verbatim_and_only_given_fields(fake_calle, make_worker):
    _fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    listed = await log.wait_kind(ToolsListed)
    assert set(listed.tool_names) >= {"plan_call", "run_call", "get_call_run"}
    assert "user_input" in listed.plan_call_schema["properties"]

    text = "  call my dentist tomorrow,  please \n"
    result = await worker.plan(PlanRequest(user_input=text, language="en"))
    assert result.ready_to_run is False and {m.field for m in result.missing} == {"to_phones", "goal"}
    assert result.extra_fields["seen_input"] == text  # verbatim, whitespace and all
    assert result.extra_fields["seen_fields"] == ["language", "user_input"]  # nothing filled in
    assert log.of(PlanResult)[-1].request_text == text

    refined = await worker.plan(PlanRequest(user_input="+15550100, to book", plan_id=result.plan_id))
    assert refined.extra_fields["seen_fields"] == ["plan_id", "user_input"]


async def test_malformed_plan_result_is_a_sentence_not_a_traceback(fake_calle, make_worker):
    fake, url = fake_calle
    fake.plan_result = {"plan_id": ["not", "a", "string"], "ready_to_run": "perhaps"}
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    with pytest.raises(WorkerError) as exc:
        await worker.plan(PlanRequest(user_input="hello"))
    assert exc.value.kind == "malformed" and "Traceback" not in str(exc.value)


async def test_unreadable_fields_are_noted_and_the_rest_of_the_page_is_used(fake_calle, make_worker, manual_clock):
    # {"status": 42, "activity": "not a list"}: no run_id (it is the run we asked about), a status that is
    # not a word and activity that is not a list. Nothing here may stop following: the page is used, the odd
    # fields are shown as sent, and the next good page finishes the call without any backoff.
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    fake.add_entries("run-plan-1", 3)
    fake.malformed_pages = 2
    started = await worker.run(plan.plan_id, plan.confirm_token)
    assert started.run_id == "run-plan-1"
    await drive(manual_clock, log, lambda: fake.calls.get("get_call_run", 0) >= 2)
    odd = [u.result for u in log.of(RunUpdate) if u.result is not None]
    assert odd and "status: 42" in odd[0].notes and odd[0].extra_fields["status_as_sent"] == 42
    fake.status["run-plan-1"] = "completed"
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    finished = log.of(RunFinished)[0]
    assert finished.status == "completed" and finished.result.summary == "All done."
    got = [e.id for u in log.of(RunUpdate) for e in u.new_activity]
    assert got == ["e0", "e1", "e2"]
    assert not log.of(ErrorEvent)
    assert fake.calls["get_call_run"] == 3  # two odd answers, then one good page


async def test_first_poll_waits_a_minute_then_every_5_to_10_s(fake_calle, make_worker, manual_clock):
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    t0 = manual_clock.now()
    await worker.run(plan.plan_id, plan.confirm_token)
    due = await manual_clock.wait_for_sleepers(1)
    assert due == pytest.approx(t0 + 60)
    assert log.of(RunUpdate)[-1].poll_state == "waiting_first"
    assert fake.calls.get("get_call_run", 0) == 0
    times = []
    for _ in range(6):
        wake = await manual_clock.wait_for_sleepers(1)
        manual_clock.set(wake)
        times.append(wake)
        await log.wait_for(lambda e: isinstance(e, RunUpdate) and e.poll_state == "polling", start=len(log.events))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(5 <= g <= 10 for g in gaps), gaps
    assert fake.calls["get_call_run"] == 6


async def test_thousand_entries_are_transferred_exactly_once(fake_calle, make_worker, manual_clock):
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    await worker.run(plan.plan_id, plan.confirm_token)
    fake.add_entries("run-plan-1", 1000)
    fake.status["run-plan-1"] = "completed"
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    ids = [e.id for u in log.of(RunUpdate) for e in u.new_activity]
    assert ids == [f"e{i}" for i in range(1000)]
    assert fake.entries_returned == 1000
    assert [e.id for e in worker.run_entries("run-plan-1")] == ids


async def test_concurrent_confirms_send_exactly_one_run_call(fake_calle, make_worker):
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    results = await asyncio.gather(
        *(worker.run(plan.plan_id, plan.confirm_token) for _ in range(5)), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, WorkerError)]
    assert len(ok) == 1 and len(refused) == 4 and all(r.kind == "already_started" for r in refused)
    assert fake.calls["run_call"] == 1
    with pytest.raises(WorkerError) as again:
        await worker.run(plan.plan_id, plan.confirm_token)
    assert again.value.kind == "already_started" and fake.calls["run_call"] == 1
    assert len(log.of(RunStarted)) == 1


async def test_run_refuses_a_token_that_is_not_from_the_latest_ready_plan(fake_calle, make_worker):
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    with pytest.raises(WorkerError) as exc:
        await worker.run(plan.plan_id, "made-up-token")
    assert exc.value.kind == "safety"
    not_ready = await worker.plan(PlanRequest(user_input="call someone", plan_id="plan-2"))
    with pytest.raises(WorkerError):
        await worker.run(not_ready.plan_id, "anything")
    assert fake.calls.get("run_call", 0) == 0


async def test_crash_between_send_and_reply_is_outcome_unknown_and_never_resent(fake_calle, make_worker, tmp_path):
    fake, url = fake_calle
    state = tmp_path / "shared-state"
    worker, log = make_worker(url, state=state)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    # The process "dies" after the attempt is journaled but before run_call's answer is recorded.
    assert worker.journal.begin_attempt(plan.plan_id, plan.confirm_token, url, 1.0)
    await worker.close()

    again, log2 = make_worker(url, state=state)
    await again.start()
    unknown = await log2.wait_kind(RunOutcomeUnknown)
    assert unknown.plan_id == plan.plan_id
    [record] = again.history()
    assert record.run_id is None and record.attempt == "outcome_unknown"
    with pytest.raises(WorkerError) as exc:
        await again.run(plan.plan_id, plan.confirm_token)
    assert exc.value.kind == "already_started"
    await log2.wait_kind(ToolsListed)
    assert fake.calls.get("run_call", 0) == 0
    # Only when the user asks: replaying the same plan_id + token learns the run_id.
    result = await again.reconcile(plan.plan_id)
    assert result.run_id == "run-plan-1" and fake.calls["run_call"] == 1
    assert again.history()[0].run_id == "run-plan-1"


async def test_lost_reply_is_outcome_unknown(fake_calle, make_worker, manual_clock):
    fake, url = fake_calle
    worker, log = make_worker(url, request_timeout_seconds=1.0)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    import threading

    fake.run_call_gate = threading.Event()
    try:
        with pytest.raises(WorkerError) as exc:
            await worker.run(plan.plan_id, plan.confirm_token)
    finally:
        fake.run_call_gate.set()
    assert exc.value.kind == "outcome_unknown"
    assert log.of(RunOutcomeUnknown)[0].plan_id == plan.plan_id
    assert worker.history()[0].attempt == "outcome_unknown"
    with pytest.raises(WorkerError):
        await worker.run(plan.plan_id, plan.confirm_token)
    assert fake.calls["run_call"] == 1
    assert Journal(worker.settings.state_root / "journal.sqlite3").attempt(plan.plan_id).state == "outcome_unknown"


async def test_refresh_now_polls_at_once_but_respects_the_floor(fake_calle, make_worker, manual_clock):
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    run = await worker.run(plan.plan_id, plan.confirm_token)
    await manual_clock.wait_for_sleepers(1)  # waiting the first minute
    mark = len(log.events)
    assert await worker.refresh_now(run.run_id) is True
    await log.wait_for(lambda e: isinstance(e, RunUpdate) and e.poll_state == "polling", start=mark)
    assert fake.calls["get_call_run"] == 1
    assert await worker.refresh_now(run.run_id) is False  # again within the floor: refused
    manual_clock.advance(3.0)
    mark = len(log.events)
    assert await worker.refresh_now(run.run_id) is True
    await log.wait_for(lambda e: isinstance(e, RunUpdate) and e.poll_state == "polling", start=mark)
    assert fake.calls["get_call_run"] == 2


async def test_history_survives_a_restart_and_unfinished_runs_resume(fake_calle, make_worker, manual_clock, tmp_path):
    fake, url = fake_calle
    state = tmp_path / "st"
    worker, log = make_worker(url, state=state)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(READY)
    run = await worker.run(plan.plan_id, plan.confirm_token)
    fake.add_entries(run.run_id, 3)
    await drive(manual_clock, log, lambda: len([e for u in log.of(RunUpdate) for e in u.new_activity]) == 3)
    await worker.close()

    fake.add_entries(run.run_id, 2)
    fake.status[run.run_id] = "completed"
    again, log2 = make_worker(url, state=state)
    await again.start()
    [record] = again.history()
    assert record.run_id == run.run_id and record.to_phones == ("+15550100",) and not record.terminal
    await drive(manual_clock, log2, lambda: bool(log2.of(RunFinished)))
    assert [e.id for u in log2.of(RunUpdate) for e in u.new_activity] == ["e3", "e4"]  # resumed from the cursor
    assert fake.entries_returned == 5
    assert again.history()[0].status == "completed"


async def test_a_jsonrpc_refusal_of_run_call_is_not_outcome_unknown(fake_calle, make_worker):
    # -32602 (invalid params) is the server rejecting the request before any tool ran: nothing was started,
    # so the plan may be confirmed again; -32603 (internal error) proves nothing and stays unknown.
    fake, url = fake_calle
    worker, log = make_worker(url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    fake.run_call_jsonrpc_error = -32602
    plan = await worker.plan(READY)
    with pytest.raises(WorkerError) as refused:
        await worker.run(plan.plan_id, plan.confirm_token)
    assert refused.value.kind != "outcome_unknown" and worker.journal.attempt(plan.plan_id).state == "rejected"
    fake.run_call_jsonrpc_error = -32603
    again = await worker.plan(READY)
    with pytest.raises(WorkerError) as unknown:
        await worker.run(again.plan_id, again.confirm_token)
    assert unknown.value.kind == "outcome_unknown" and worker.journal.attempt(again.plan_id).state == "outcome_unknown"
