"""Server words reach people as the server wrote them: the log redactor's field patterns (`code=`, `state:`,
`token=`...) are for the log file only. What keeps secrets off the screen is that our own secrets (tokens,
sign-in codes, client secrets, confirm tokens) are masked by value wherever a server repeats them."""

import pytest
from calle_fakes import drive
from mcp.types import CallToolResult, TextContent
from tolerant_servers import ScriptedCalle, structured

from calle_tui.core.events import RunOutcomeUnknown, RunUpdate, ToolsListed
from calle_tui.core.support.secrets import register_secret
from calle_tui.core.worker_api import PlanRequest, WorkerError

READY = PlanRequest(user_input="Call +1 555 0100 to book a table", to_phones=("+15550100",), goal="Book a table")
STARTED = {"run_id": "run-9", "status": "queued", "next_step": {"action": "poll", "after_seconds": 60}}


def refused(data: dict) -> CallToolResult:
    result = structured(data)
    result.is_error = True
    return result


async def _worker(fake, make_worker):
    worker, log = make_worker(fake.url)
    await worker.start()
    await log.wait_kind(ToolsListed)
    return worker, log


async def _run_refused(fake, make_worker):
    """Plan, then run: the WorkerError run() raised and the events, with the server stopped."""
    with fake.server() as server:
        fake.url = server.url
        worker, log = await _worker(fake, make_worker)
        plan = await worker.plan(READY)
        with pytest.raises(WorkerError) as exc:
            await worker.run(plan.plan_id, plan.confirm_token)
    return exc.value, log, plan


async def test_a_plan_refusal_whose_code_field_holds_words_is_shown_verbatim(make_worker, manual_clock):
    fake = ScriptedCalle(manual_clock, run_answers=[STARTED], poll_answers=[{}],
                         plan_answers=[refused({"code": "calls to this region are not offered"})])  # fmt: skip
    with fake.server() as server:
        fake.url = server.url
        worker, _log = await _worker(fake, make_worker)
        with pytest.raises(WorkerError) as exc:
            await worker.plan(READY)
    assert "calls to this region are not offered" in exc.value.message
    assert "[redacted]" not in exc.value.message


async def test_a_run_refusal_that_says_code_and_state_is_shown_verbatim(make_worker, manual_clock):
    said = "Refused: code='PREMIUM_RATE', state: 'CA' does not allow this number"
    fake = ScriptedCalle(manual_clock, run_answers=[refused({"error": {"message": said, "call_started": False}})],
                         poll_answers=[{}])  # fmt: skip
    error, _log, _plan = await _run_refused(fake, make_worker)
    assert said in error.message and error.kind == "tool"


async def test_prose_status_with_a_booking_code_is_shown_verbatim(make_worker, manual_clock):
    prose = "Booked: your code=TABLE-FOR-TWO, token: 'window seat'."
    done = {"run_id": "run-9", "status": "completed", "terminal": True, "summary": "Booked."}
    fake = ScriptedCalle(manual_clock, run_answers=[STARTED], poll_answers=[prose, done])
    with fake.server() as server:
        fake.url = server.url
        worker, log = await _worker(fake, make_worker)
        plan = await worker.plan(READY)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: any(u.message == prose for u in log.of(RunUpdate)))


async def test_a_secret_we_hold_is_masked_even_when_the_server_repeats_it(make_worker, manual_clock):
    ours = "at_CANARY_0f9e8d7c6b5a4"  # as if it were our access token: registered when it was stored
    register_secret(ours)
    said = f"We received your request (debug: Bearer {ours}); code=ABC stays."
    fake = ScriptedCalle(manual_clock, run_answers=[CallToolResult(content=[TextContent(type="text", text=said)])],
                         poll_answers=[{}])  # fmt: skip
    error, log, _plan = await _run_refused(fake, make_worker)
    shown = [error.message, *(e.message for e in log.of(RunOutcomeUnknown))]
    assert all("We received your request" in text and "code=ABC stays" in text for text in shown)
    assert not any(ours in text for text in shown)


async def test_a_confirm_token_repeated_in_the_servers_words_never_shows(make_worker, manual_clock):
    token = "ct_CANARY_5e4d3c2b1a09"
    ready = {"plan_id": "plan-1", "ready_to_run": True, "confirm_token": token,
             "message": f"Ready. Confirm with {token}.", "plan": {"to_phones": ["+15550100"], "goal": "Book"}}  # fmt: skip
    fake = ScriptedCalle(manual_clock, run_answers=[f"Started with confirm token {token}"], poll_answers=[{}],
                         plan_answers=[ready])  # fmt: skip
    error, _log, plan = await _run_refused(fake, make_worker)
    assert plan.confirm_token == token  # kept exactly for run_call
    assert "Started with confirm token" in error.message and token not in error.message
    assert token not in plan.message and "Ready. Confirm with" in plan.message
