"""The worker against a server that answers the way production does (CALLE-DIALECT.md): clarifying
questions, a ready plan that echoes nothing, STARTED, PREPARING while people talk with the whole history
re-sent each poll, COMPLETED with a nested result and a string transcript, report_result; in structured
and in content-only results. Plus the unknown run, errors with call_started, and the time zone sent."""

from __future__ import annotations

import asyncio
import copy

import pytest
import reply_fixtures as rf
from calle_fakes import drive
from tolerant_servers import ScriptedCalle

from calle_tui.core.events import ErrorEvent, RunFinished, RunOutcomeUnknown, RunUpdate, ToolsListed
from calle_tui.core.worker_api import PlanRequest, WorkerError

pytestmark = pytest.mark.slow  # whole calls through the worker against a scripted server over HTTP


REQUEST = PlanRequest(user_input="Call +1 415 555 0142 and ask if order 1182 is ready")


def structured(name: str) -> dict:
    return copy.deepcopy(rf.raw("calle", name)["structuredContent"])


def live_pages() -> list[dict]:
    """The live page growing one entry per poll (cumulative history), then the finished page."""
    live = structured("get_call_run-preparing-live")
    pages = []
    for n in range(1, len(live["activity"]) + 1):
        page = copy.deepcopy(live)
        page["activity"] = live["activity"][:n]
        pages.append(page)
    pages.append(pages[-1])  # a poll that brings nothing new
    return [*pages, structured("get_call_run-completed")]


def scripted(clock, **kw) -> ScriptedCalle:
    return ScriptedCalle(
        clock,
        plan_answers=[structured("plan_call-questions"), structured("plan_call-ready")],
        run_answers=[structured("run_call-started")],
        poll_answers=live_pages(),
        **kw,
    )


@pytest.mark.parametrize("only_content", [False, True], ids=["structured", "content-only"])
async def test_a_call_in_productions_dialect_finishes_with_summary_transcript_and_details(
    make_worker, manual_clock, only_content, tmp_path, caplog
):
    fake = scripted(manual_clock, only_content=only_content)
    with fake.server() as server:
        worker, log = make_worker(server.url, timezone="Asia/Shanghai")
        await worker.start()
        await log.wait_kind(ToolsListed)
        asked = await worker.plan(REQUEST)
        assert not asked.ready_to_run and [q.question for q in asked.missing] == [
            "What should the agent ask or say on the call?"
        ]
        ready = await worker.plan(PlanRequest(user_input="Ask if it is ready and when they close", plan_id=asked.plan_id))
        assert ready.ready_to_run and ready.confirm_summary.startswith("Call +1 415 555 0142")
        started = await worker.run(ready.plan_id, ready.confirm_token)
        assert (started.run_id, started.status, started.status_text) == ("run_51a0c2d4e6", "started", "STARTED")
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
        # COMPLETED with report_result: the follower ends (nothing more is polled, ever).
        _done, pending = await asyncio.wait(worker._runs.tasks(), timeout=10)
        assert not pending and manual_clock.next_wakeup() is None
    assert fake.plan_calls[1]["plan_id"] == asked.plan_id  # the answer refines the same plan
    assert fake.plan_calls[0]["_meta"]["openai/userLocation"] == {"timezone": "Asia/Shanghai"}
    assert fake.plan_calls[0]["_meta"]["timezone_offset_minutes"] == -480
    assert not log.of(ErrorEvent)
    finished = log.of(RunFinished)[0]
    assert (finished.status, finished.status_text) == ("completed", "COMPLETED")
    page = finished.result
    assert page.summary.startswith("The shop confirmed order 1182")
    assert [(t.speaker, t.text) for t in finished.transcript][:2] == [
        ("agent", "Hello, I'm calling about order 1182."),
        ("callee", "Yes, it's ready."),
    ]
    assert page.details["callee"] == "+14155550142" and page.details["duration_seconds"] == 38
    assert page.outcome.task_completed is True and page.outcome.confidence_label == "high"
    # The whole history came back on every poll; each entry is announced once, in order, and stored once.
    shown = [e.text for u in log.of(RunUpdate) for e in u.new_activity]
    assert shown == [e["message"].split(": ", 1)[-1] for e in structured("get_call_run-completed")["activity"]]
    assert len(worker.run_entries(started.run_id)) == len(shown)
    statuses = [u.status_text for u in log.of(RunUpdate) if u.result is not None]
    assert statuses[0] == "PREPARING"
    record = worker.history()[0]
    assert record.terminal and record.status == "completed" and record.summary.startswith("The shop confirmed")
    # The confirm token (a canary) reached run_call and nothing a person or a log can read.
    assert "CANARY-CONFIRM" in ready.confirm_token
    events_text = repr([e for e in log.events if not isinstance(e, type(None))])
    assert events_text.count("CANARY-CONFIRM") == events_text.count("confirm_token='CANARY-CONFIRM")
    logs = [p for p in (tmp_path / "state" / "logs").rglob("*") if p.is_file()]
    assert all("CANARY-CONFIRM" not in p.read_text(errors="replace") for p in logs)
    assert "CANARY-CONFIRM" not in caplog.text


async def test_an_unknown_run_is_reported_once_and_not_polled_again(make_worker, manual_clock):
    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[structured("plan_call-ready")],
        run_answers=[structured("run_call-started")],
        poll_answers=[structured("get_call_run-unknown-run") | {"run_id": "run_51a0c2d4e6"}],
    )
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(REQUEST)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
        _done, pending = await asyncio.wait(worker._runs.tasks(), timeout=10)
        assert not pending
        worker.follow(plan_run := worker.history()[0].run_id)  # reopening it does not poll it again
        assert plan_run and not [t for t in worker._runs.tasks() if not t.done()]
    assert len(fake.poll_times) == 1
    assert log.of(RunFinished)[0].result.message == "run_id not found."


async def test_a_refusal_that_says_no_call_started_reopens_the_plan(make_worker, manual_clock):
    refused = rf.tool_result("calle", "run_call-concurrency")
    fake = ScriptedCalle(
        manual_clock, plan_answers=[structured("plan_call-ready")], run_answers=[refused], poll_answers=[{}]
    )
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(REQUEST)
        with pytest.raises(WorkerError) as exc:
            await worker.run(plan.plan_id, plan.confirm_token)
    assert "Another call is still active" in exc.value.message and not log.of(RunOutcomeUnknown)
    assert worker.journal.attempt(plan.plan_id).state == "rejected"


async def test_call_started_unknown_is_outcome_unknown(make_worker, manual_clock):
    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[structured("plan_call-ready")],
        run_answers=[rf.tool_result("calle", "run_call-error-unknown")],
        poll_answers=[{}],
    )
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(REQUEST)
        with pytest.raises(WorkerError) as exc:
            await worker.run(plan.plan_id, plan.confirm_token)
    assert exc.value.kind == "outcome_unknown" and log.of(RunOutcomeUnknown)
    assert worker.journal.attempt(plan.plan_id).state == "outcome_unknown"


async def test_the_check_never_resends_run_call_unless_the_server_declares_it_idempotent(make_worker, manual_clock):
    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[structured("plan_call-ready")],
        run_answers=["We received your request."],  # prose: the outcome is unknown
        poll_answers=[{}],
    )
    fake.idempotent_run = False
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(REQUEST)
        with pytest.raises(WorkerError) as first:
            await worker.run(plan.plan_id, plan.confirm_token)
        assert "Check in CALL-E" in first.value.action
        with pytest.raises(WorkerError) as check:
            await worker.reconcile(plan.plan_id)
    assert check.value.kind == "cannot_check" and fake.run_calls == 1


async def test_a_status_that_keeps_failing_says_so_with_what_was_last_known(make_worker, manual_clock):
    from mcp.types import CallToolResult, TextContent

    broken = CallToolResult(content=[TextContent(type="text", text="Internal error")], is_error=True)
    live = structured("get_call_run-preparing-live")
    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[structured("plan_call-ready")],
        run_answers=[structured("run_call-started")],
        poll_answers=[live, *[broken] * 6, structured("get_call_run-completed")],
    )
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(REQUEST)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)), timeout=60)
    notes = [u.problem for u in log.of(RunUpdate) if "times in a row" in u.problem]
    assert notes and "the last status we read was Preparing" in notes[0]
    assert len(log.of(ErrorEvent)) == 1  # one error event per streak, not one per retry
    assert log.of(RunFinished)[0].status == "completed"  # and it recovers by itself


async def test_a_second_window_announces_entries_the_first_one_stored(make_worker, manual_clock, tmp_path):
    # Two workers on one journal (two terminals) follow the same call. Whichever polls first stores the
    # history; the other's poll stores nothing new, yet its screen must still be told every entry, once.
    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[structured("plan_call-ready")],
        run_answers=[structured("run_call-started")],
        poll_answers=[structured("get_call_run-preparing-live")],
    )
    with fake.server() as server:
        first, log_a = make_worker(server.url, state=tmp_path / "shared")
        await first.start()
        await log_a.wait_kind(ToolsListed)
        plan = await first.plan(REQUEST)
        started = await first.run(plan.plan_id, plan.confirm_token)
        second, log_b = make_worker(server.url, state=tmp_path / "shared")
        await second.start()
        await log_b.wait_kind(ToolsListed)
        second.follow(started.run_id)  # before anything is stored

        def both_saw():
            return all(any(u.new_activity for u in log.of(RunUpdate)) for log in (log_a, log_b))

        await drive(manual_clock, log_a, both_saw)
    first_saw = [e.id for u in log_a.of(RunUpdate) for e in u.new_activity]
    second_saw = [e.id for u in log_b.of(RunUpdate) for e in u.new_activity]
    assert len(first_saw) == 6 and second_saw == first_saw
    assert [e.id for e in second.run_entries(started.run_id)] == first_saw  # stored once


async def test_a_second_process_announces_every_entry_the_first_process_stored(make_worker, manual_clock, tmp_path):
    # The same, with two real processes on one journal: the first window (its own process) stores the
    # history; this one, already following, stores nothing new and must still show every entry, once.
    import os
    import subprocess
    import sys
    from pathlib import Path

    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[structured("plan_call-ready")],
        run_answers=[structured("run_call-started")],
        poll_answers=[structured("get_call_run-preparing-live")],
    )
    here = Path(__file__).parent
    with fake.server() as server:
        env = os.environ | {"PYTHONPATH": os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])}
        first = subprocess.Popen(
            [sys.executable, str(here / "first_window.py"), server.url, str(tmp_path / "shared")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        try:
            run_id = first.stdout.readline().strip()
            second, log = make_worker(server.url, state=tmp_path / "shared")
            await second.start()
            await log.wait_kind(ToolsListed)
            second.follow(run_id)  # this window follows the call before anything is stored
            first.stdin.write("go\n")
            first.stdin.flush()
            assert await asyncio.to_thread(first.stdout.readline) == "6\n"  # the first process stored them
            await drive(manual_clock, log, lambda: sum(len(u.new_activity) for u in log.of(RunUpdate)) >= 6)
        finally:
            first.stdin.close()
            first.wait(timeout=30)
    seen = [e.id for u in log.of(RunUpdate) for e in u.new_activity]
    assert len(seen) == 6 and len(set(seen)) == 6  # every entry, once
    assert [e.id for e in second.run_entries(run_id)] == seen  # stored once, by the first process
    assert first.returncode == 0


async def test_the_worker_signs_in_to_a_production_like_sandbox(sandbox_factory, make_worker, manual_clock):
    # Authorization server under /mcp-auth and no refresh grant, as production advertises; calle dialect.
    from calle_tui.core.events import SignInNeeded

    box = sandbox_factory(clock=manual_clock.now, dialect="calle", auth_path="/mcp-auth", no_refresh=True)
    worker, log = make_worker(box.mcp_url)
    await worker.start()
    await log.wait_kind(SignInNeeded)
    await worker.sign_in("auto-follow")
    await log.wait_kind(ToolsListed)
    asked = await worker.plan(PlanRequest(user_input="Call someone for me"))
    assert not asked.ready_to_run and asked.missing and asked.confirm_token is None
    assert "run_call" in worker.tools.idempotent and worker.can_replay_run_call()


async def test_report_result_ends_a_call_whose_status_word_we_do_not_know(make_worker, manual_clock):
    done = structured("get_call_run-completed") | {"status": "CALL_WRAPPED_UP"}  # a word beyond the documented set
    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[structured("plan_call-ready")],
        run_answers=[structured("run_call-started")],
        poll_answers=[structured("get_call_run-preparing-live"), done],
    )
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(REQUEST)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    finished = log.of(RunFinished)[0]
    assert finished.status_text == "CALL_WRAPPED_UP" and finished.result.summary
    record = worker.history()[0]
    assert record.terminal and not worker.journal.unfinished_runs(worker.server_url)
