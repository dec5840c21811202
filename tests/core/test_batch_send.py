"""Step 2 of a batch against the sandbox over HTTP, with production's one-call-at-a-time line
(max_active_calls=1): one placed call per ready line, the next only once the previous has ended, a busy
refusal puts the line back, a lost answer is never re-sent, stop sends nothing further."""

from __future__ import annotations

import asyncio

import pytest
from calle_fakes import drive
from calle_fakes import signed_in as signed_in_at

from calle_tui.core.batch.send import BatchSender, SendLine, summary
from calle_tui.core.events import RunFinished, ToolsListed
from calle_tui.core.worker_api import PlanRequest

PHONES = ("+14155550106", "+14155550116", "+14155550126")  # last digit 6: "busy" at 9 s, a short call


def ready(phone: str) -> PlanRequest:
    return PlanRequest(
        user_input=f"Call {phone} and ask whether the blue kettle is in stock",
        to_phones=(phone,),
        goal="Ask whether the blue kettle is in stock",
        language="English",
    )


@pytest.fixture
def line_of_one(sandbox_factory, manual_clock):
    return sandbox_factory(clock=manual_clock.now, dialect="calle", max_active_calls=1)


async def signed_in(make_worker, box):
    return await signed_in_at(make_worker, box.mcp_url)


async def planned(worker, phones=PHONES) -> list[SendLine]:
    lines = []
    for number, phone in enumerate(phones, start=1):
        plan = await worker.plan(ready(phone))
        assert plan.ready_to_run
        lines.append(SendLine(number, plan.plan_id, plan.confirm_token))
    return lines


async def test_one_call_at_a_time_and_exactly_one_placed_call_per_line(line_of_one, make_worker, manual_clock):
    worker, log = await signed_in(make_worker, line_of_one)
    lines = await planned(worker)
    seen: list[tuple[int, str]] = []
    sender = BatchSender(worker, lines, clock=manual_clock, on_change=lambda ln: seen.append((ln.line, ln.state)))
    task = asyncio.ensure_future(sender.run())
    await drive(manual_clock, log, task.done, timeout=60)
    await task  # run() returns once every placed call has ended
    stats = line_of_one.stats
    assert stats.calls_placed == 3 and stats.run_call_sent == 3  # never a second run_call for a line
    assert stats.run_call_refused_busy == 0  # it waited for each call to end instead of being refused
    assert [ln.run_calls for ln in lines] == [1, 1, 1]
    # Each line was sent only after the previous call had ended.
    order = [(n, s) for n, s in seen if s in {"sending", "finished"}]
    assert order == [(1, "sending"), (1, "finished"), (2, "sending"), (2, "finished"), (3, "sending"), (3, "finished")]
    assert len(log.of(RunFinished)) == 3
    assert summary(lines) == {"done": 3, "live": 0, "failed": 0, "waiting": 0}
    assert all(ln.final_status for ln in lines)
    assert "confirm" not in repr(lines[0]).replace("confirm_token", "")  # the token is kept out of reprs


async def test_a_line_busy_with_someone_elses_call_is_put_back_and_sent_when_free(line_of_one, make_worker, manual_clock):
    worker, log = await signed_in(make_worker, line_of_one)
    other = await worker.plan(ready("+14155550136"))
    await worker.run(other.plan_id, other.confirm_token)  # a call of another window holds the line
    lines = await planned(worker, PHONES[:2])
    answered = asyncio.Event()  # the first line's run_call has its answer (time stands still until then)

    def on_change(line: SendLine) -> None:
        if line.line == 1 and line.state != "sending":
            answered.set()

    sender = BatchSender(worker, lines, clock=manual_clock, busy_retry_seconds=30, on_change=on_change)
    task = asyncio.ensure_future(sender.run())
    await asyncio.wait_for(answered.wait(), 30)
    assert lines[0].state == "waiting_for_line" and "Another call is still active" in lines[0].message
    await drive(manual_clock, log, task.done, timeout=60)
    await task
    stats = line_of_one.stats
    assert stats.run_call_refused_busy >= 1  # refused while the other call was live: nothing placed then
    assert stats.calls_placed == 1 + 2  # the other call, then exactly one for each line
    assert lines[0].run_calls == 1 + stats.run_call_refused_busy and lines[1].run_calls == 1
    assert all(ln.run_id for ln in lines)


async def test_stop_sends_no_further_line_and_a_lost_answer_is_never_resent(line_of_one, make_worker, manual_clock):
    worker, log = await signed_in(make_worker, line_of_one)
    lines = await planned(worker)

    def stop_after_first(line: SendLine) -> None:
        if line.line == 1 and line.state == "started":
            sender.stop()

    sender = BatchSender(worker, lines, clock=manual_clock, on_change=stop_after_first)
    task = asyncio.ensure_future(sender.run())
    await drive(manual_clock, log, task.done, timeout=60)  # run() returns once the placed call has ended
    assert [ln.state for ln in lines] == ["finished", "not_sent", "not_sent"]
    assert line_of_one.stats.run_call_sent == 1
    assert "stopped" in lines[1].message


async def test_a_lost_answer_leaves_the_line_unknown(make_worker, manual_clock):
    import threading

    from calle_fakes import FakeCalle, serve

    fake = FakeCalle()
    fake.run_call_gate = threading.Event()
    with serve(fake.tools(), name="lost-answer") as server:
        worker, log = make_worker(server.url, request_timeout_seconds=1.0)
        await worker.start()
        await log.wait_kind(ToolsListed)
        first = await worker.plan(PlanRequest(**{**ready(PHONES[0]).__dict__, "plan_id": "a"}))
        second = await worker.plan(PlanRequest(**{**ready(PHONES[1]).__dict__, "plan_id": "b"}))
        lines = [SendLine(1, first.plan_id, first.confirm_token), SendLine(2, second.plan_id, second.confirm_token)]
        try:
            sender = BatchSender(worker, lines, clock=manual_clock, max_active=2)
            await sender.run()
        finally:
            fake.run_call_gate.set()
    assert [ln.state for ln in lines] == ["unknown", "unknown"]
    assert fake.calls["run_call"] == 2  # one each: an unknown outcome is never sent again
