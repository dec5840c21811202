"""run_call (one plan, one call, ever) and get_call_run (progress on a fake clock, outcomes, pagination)."""

from __future__ import annotations

import asyncio

import pytest
from sandbox_helpers import ToolError

from calle_tui.core.wire.contract import GetCallRunResult, RunCallResult
from calle_tui.sandbox import planner, simulator
from calle_tui.sandbox.harness import sdk_client


async def drain(tools, run_id: str, cursor: str | None = None, limit: int | None = None):
    """Follow next_cursor until caught up; returns (entries, last page)."""
    entries, page = [], None
    while True:
        args = {"run_id": run_id}
        if cursor:
            args["cursor"] = cursor
        if limit:
            args["limit"] = limit
        page = await tools("get_call_run", **args)
        entries += page["activity"]
        if page["next_cursor"] is None:
            return entries, page
        cursor = page["next_cursor"]


# --- run_call --------------------------------------------------------------------------------------


async def test_run_call_starts_once_and_a_replay_returns_the_same_run(tools, box):
    plan, run = await tools.start()
    assert RunCallResult.model_validate(run).status == "queued"
    assert run["next_step"] == {
        "action": "poll", "after_seconds": 60.0,
        "message": "The call has started. Wait about a minute, then check on it with get_call_run.",
    }  # fmt: skip
    again = await tools("run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])
    assert again["run_id"] == run["run_id"]
    assert box.stats.calls_placed == 1 and box.stats.run_call_sent == 2 and len(box.runs()) == 1


async def test_one_plan_one_call_under_concurrent_run_calls(box):
    async with sdk_client(box.mcp_url) as first, sdk_client(box.mcp_url) as second:
        from sandbox_helpers import Tools

        a, b = Tools(first), Tools(second)
        plan = await a.ready_plan("Call +44 20 7946 0000 and ask about opening hours")
        args = {"plan_id": plan["plan_id"], "confirm_token": plan["confirm_token"]}
        results = await asyncio.gather(*[(a if i % 2 else b)("run_call", **args) for i in range(12)])
    assert len({r["run_id"] for r in results}) == 1
    assert box.stats.calls_placed == 1 and len(box.runs()) == 1


async def test_a_plan_that_ran_cannot_change_or_run_with_another_token(tools):
    plan, _run = await tools.start()
    with pytest.raises(ToolError, match="already started a call"):
        await tools("plan_call", user_input="actually call someone else", plan_id=plan["plan_id"])
    with pytest.raises(ToolError, match="at most one call"):
        await tools("run_call", plan_id=plan["plan_id"], confirm_token="cfm_forged")


async def test_run_call_refusals_are_sentences(tools, fake_clock):
    with pytest.raises(ToolError, match="No plan with this plan_id"):
        await tools("run_call", plan_id="pln_unknown", confirm_token="cfm_x")
    unready = await tools("plan_call", user_input="hi")
    with pytest.raises(ToolError, match="not ready to run: it still needs to_phones, goal, language"):
        await tools("run_call", plan_id=unready["plan_id"], confirm_token="cfm_x")
    plan = await tools.ready_plan("Call +44 20 7946 0000 and ask about opening hours")
    with pytest.raises(ToolError, match="does not match"):
        await tools("run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"] + "x")
    with pytest.raises(ToolError, match="'confirm_token' is required"):
        await tools("run_call", plan_id=plan["plan_id"])
    fake_clock.advance(3601)
    with pytest.raises(ToolError, match="expired"):
        await tools("run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])


async def test_a_future_schedule_gives_a_scheduled_run(tools, fake_clock):
    when = planner.utc(fake_clock.now() + 3600).isoformat()
    _plan, run = await tools.start(scheduled_at=when)
    assert run["status"] == "scheduled" and run["scheduled_at"] == when
    assert run["next_step"]["action"] == "wait_until_scheduled" and run["next_step"]["after_seconds"] == 3600
    page = await tools("get_call_run", run_id=run["run_id"])
    assert page["status"] == "scheduled" and [e["type"] for e in page["activity"]] == ["status"]
    fake_clock.advance(3600 + 10)
    page = await tools("get_call_run", run_id=run["run_id"], cursor=page["resume_cursor"])
    assert page["status"] == "ringing"


# --- get_call_run ----------------------------------------------------------------------------------


async def test_a_completed_call_progresses_with_the_clock(tools, fake_clock):
    _, run = await tools.start("+44 20 7946 0000")
    seen, cursor, statuses = [], None, []
    for _ in range(40):
        page = GetCallRunResult.model_validate(
            await tools("get_call_run", run_id=run["run_id"], **({"cursor": cursor} if cursor else {}))
        )
        seen += page.activity
        statuses.append(page.status)
        cursor = page.next_cursor or page.resume_cursor
        if page.is_terminal:
            break
        assert page.next_step.action == "poll" and 5 <= page.next_step.after_seconds <= 10
        assert page.transcript is None and page.summary is None
        fake_clock.advance(page.next_step.after_seconds)
    assert page.status == "completed" and page.next_step.action == "done"
    assert list(dict.fromkeys(statuses)) == ["queued", "dialing", "ringing", "in_progress", "completed"]
    assert len({e.id for e in seen}) == len(seen)  # never repeated
    speech = [e for e in seen if e.type == "speech"]
    assert speech and {e.speaker for e in speech} == {"agent", "callee"}
    assert [t.text for t in page.transcript] == [e.text for e in speech]
    assert page.summary.startswith("Reached +442079460000") and page.details["outcome"] == "completed"


@pytest.mark.parametrize(
    ("digit", "outcome"),
    [("0", "completed"), ("3", "completed"), ("5", "no_answer"), ("6", "busy"), ("7", "voicemail"),
     ("8", "failed"), ("9", "completed")],
)  # fmt: skip
async def test_outcome_by_last_digit(tools, fake_clock, digit, outcome):
    _, run = await tools.start(f"+1 415 555 010{digit}")
    fake_clock.advance(2000)
    entries, page = await drain(tools, run["run_id"], limit=200)
    assert page["status"] == outcome and page["terminal"] is True
    assert page["summary"] and page["details"]["outcome"] == outcome
    if digit == "9":
        assert len(entries) == simulator.MARATHON_ENTRIES


async def test_pagination_over_a_thousand_entries_neither_skips_nor_repeats(tools, fake_clock, box):
    _, run = await tools.start("+1 415 555 0109")
    before = box.stats.activity_entries_returned
    seen, cursor, pages = [], None, 0
    # Poll while the call is live, catching up each time: traffic stays proportional to entries.
    while True:
        args = {"run_id": run["run_id"], "limit": 37}
        if cursor:
            args["cursor"] = cursor
        page = await tools("get_call_run", **args)
        pages += 1
        seen += page["activity"]
        cursor = page["next_cursor"] or page["resume_cursor"]
        if page["terminal"] and page["next_cursor"] is None:
            break
        if page["next_cursor"] is None:
            fake_clock.advance(97)
    ids = [e["id"] for e in seen]
    assert len(ids) == simulator.MARATHON_ENTRIES == len(set(ids))
    assert ids == sorted(ids)  # in order
    assert box.stats.activity_entries_returned - before == simulator.MARATHON_ENTRIES
    assert len(page["transcript"]) == sum(1 for e in seen if e["type"] == "speech")


async def test_limit_is_bounded_and_transcript_only_on_the_last_page(tools, fake_clock):
    _, run = await tools.start("+1 415 555 0109")
    fake_clock.advance(2000)
    big = await tools("get_call_run", run_id=run["run_id"], limit=10_000)
    assert len(big["activity"]) == 200 and big["next_cursor"] and "transcript" not in big
    default = await tools("get_call_run", run_id=run["run_id"])
    assert len(default["activity"]) == 50
    with pytest.raises(ToolError, match="limit must be at least 1"):
        await tools("get_call_run", run_id=run["run_id"], limit=0)


async def test_bad_cursors_and_unknown_runs_are_clear_errors(tools):
    _, run = await tools.start()
    _, other = await tools.start("+1 415 555 0100")
    foreign = (await tools("get_call_run", run_id=other["run_id"]))["resume_cursor"]
    with pytest.raises(ToolError, match="belongs to another call"):
        await tools("get_call_run", run_id=run["run_id"], cursor=foreign)
    with pytest.raises(ToolError, match="not one get_call_run gave out"):
        await tools("get_call_run", run_id=run["run_id"], cursor="garbage!")
    with pytest.raises(ToolError, match="No call with this run_id"):
        await tools("get_call_run", run_id="run_nope")
    with pytest.raises(ToolError, match="There is no tool named"):
        await tools("hang_up")


async def test_restart_mid_run_keeps_the_run(box, fake_clock):
    from sandbox_helpers import Tools

    from calle_tui.sandbox.harness import MemoryTokenStorage, oauth_provider

    storage = MemoryTokenStorage()
    async with sdk_client(box.mcp_url, oauth_provider(box.mcp_url, storage)) as client:
        tools = Tools(client)
        _, run = await tools.start("+44 20 7946 0000")
        fake_clock.advance(40)
        before, page = await drain(tools, run["run_id"])
        assert page["status"] == "in_progress"
    box.restart()
    fake_clock.advance(100)
    async with sdk_client(box.mcp_url, oauth_provider(box.mcp_url, storage)) as client:
        rest, page = await drain(Tools(client), run["run_id"], cursor=page["resume_cursor"])
    assert page["status"] == "completed"
    ids = [e["id"] for e in before + rest]
    assert len(ids) == len(set(ids)) == len(simulator.timeline(box.runs()[0]))
    assert box.stats.token_grants["authorization_code"] == 1  # the stored token still works after restart


def test_state_is_a_pure_function_of_record_and_clock():
    run = {"run_id": "r", "to_phones": ["+15550000005"], "goal": "g", "language": "English",
           "created_at": 100.0, "start_at": 100.0, "speed": 2.0}  # fmt: skip
    assert simulator.state_at(run, 100.0).status == "queued"
    assert simulator.state_at(run, 102.0).status == "dialing"  # 3 simulated seconds at x2 is 1.5 s
    assert simulator.state_at(run, 130.0) == simulator.state_at(run, 130.0)
    assert simulator.state_at(run, 130.0).status == "no_answer"


def test_one_plan_one_call_across_connections_and_threads(box):
    """Two store connections on one file (as two sandbox processes would have) racing from threads."""
    import threading

    from calle_tui.sandbox.store import Store
    from calle_tui.sandbox.tools import ToolFailure, Tools

    first = Tools(Store(box.database), box.config, box.stats)
    second = Tools(Store(box.database), box.config, box.stats)
    plan = first.plan_call({"user_input": "Call +44 20 7946 0000 and ask about opening hours", "language": "English"})
    barrier = threading.Barrier(8)
    results, errors = [], []

    def go(tools: Tools) -> None:
        barrier.wait()
        try:
            results.append(tools.run_call({"plan_id": plan["plan_id"], "confirm_token": plan["confirm_token"]}))
        except ToolFailure as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(first if i % 2 else second,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 8
    assert len({r["run_id"] for r in results}) == 1
    assert box.stats.calls_placed == 1 and len(box.runs()) == 1


async def test_two_hundred_live_runs_at_once_each_progress_and_end(tools, box, fake_clock):
    """Issue 10: a batch of 200 lines on an account that allows it. Every last digit (the scenario table)
    appears 20 times; while time stands still all 200 are live at once, then each reaches its outcome."""
    gate = asyncio.Semaphore(8)

    async def start(i: int) -> str:
        async with gate:
            _plan, run = await tools.start(f"+44 20 7946 {i:04d}")
            return run["run_id"]

    run_ids = await asyncio.gather(*(start(i) for i in range(200)))
    assert len(set(run_ids)) == 200 and box.stats.calls_placed == 200

    async def status(run_id: str) -> GetCallRunResult:
        async with gate:
            return GetCallRunResult.model_validate(await tools("get_call_run", run_id=run_id, limit=1))

    live = await asyncio.gather(*(status(r) for r in run_ids))
    assert not any(page.is_terminal for page in live)  # all 200 at once
    fake_clock.advance(3600)
    done = await asyncio.gather(*(status(r) for r in run_ids))
    assert all(page.is_terminal for page in done)
    by_digit = {}
    for i, page in enumerate(done):
        by_digit.setdefault(i % 10, set()).add(page.status)
    assert all(len(statuses) == 1 for statuses in by_digit.values())  # the last digit decides, per line
    assert len({next(iter(s)) for s in by_digit.values()}) >= 4  # and the table has several outcomes
