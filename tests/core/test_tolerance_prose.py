"""A server that answers run_call or get_call_run in prose (text only, no structuredContent, not JSON)."""

import itertools

import pytest
from calle_fakes import drive
from tolerant_servers import ScriptedCalle

from calle_tui.core.events import ErrorEvent, RunFinished, RunOutcomeUnknown, RunStarted, RunUpdate, ToolsListed
from calle_tui.core.store.journal import Journal
from calle_tui.core.support.secrets import register_secret
from calle_tui.core.worker_api import PlanRequest, WorkerError

pytestmark = pytest.mark.slow  # whole calls through the worker against servers that answer in prose


READY = PlanRequest(user_input="Call +1 555 0100 to book a table", to_phones=("+15550100",), goal="Book a table")
STARTED = {"run_id": "run-9", "status": "queued", "next_step": {"action": "poll", "after_seconds": 60}}
HOLD = "Your call is being connected.   Please check back shortly."
SECRET = "sk_live_4f9a8b7c6d5e"  # one of our own secrets (registered as stored tokens are) that a server repeats


async def _ready(fake, make_worker, **settings):
    worker, log = make_worker(fake.url, **settings)
    await worker.start()
    await log.wait_kind(ToolsListed)
    return worker, log, await worker.plan(READY)


async def test_prose_status_is_shown_and_polled_at_the_normal_cadence(make_worker, manual_clock):
    register_secret(SECRET)
    prose = [HOLD, f"Still ringing (debug access_token={SECRET})", HOLD, HOLD, HOLD]
    done = {"run_id": "run-9", "status": "completed", "terminal": True, "summary": "Booked."}
    fake = ScriptedCalle(manual_clock, run_answers=[STARTED], poll_answers=[*prose, done])
    with fake.server() as server:
        fake.url = server.url
        worker, log, plan = await _ready(fake, make_worker)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert len(fake.poll_times) == 6 and not log.of(ErrorEvent)  # no error storm, no backoff
    gaps = [b - a for a, b in itertools.pairwise(fake.poll_times)]
    assert all(5 <= g <= 10 for g in gaps), gaps  # the seed's 5-10 s, not an error backoff
    messages = [u.message for u in log.of(RunUpdate) if u.message]
    assert "Your call is being connected. Please check back shortly." in messages
    waiting = [u for u in log.of(RunUpdate) if u.poll_state == "waiting" and u.message]
    assert waiting and waiting[0].next_poll_at is not None  # the text stays up while we wait
    assert any("Still ringing" in m for m in messages)
    assert not any(SECRET in m for m in messages)
    assert log.of(RunFinished)[0].result.summary == "Booked."


async def test_prose_status_keeps_polling_until_a_readable_answer_says_stop(make_worker, manual_clock):
    stop = {"run_id": "run-9", "status": "in_progress", "next_step": {"action": "done", "message": "Nothing more."}}
    fake = ScriptedCalle(manual_clock, run_answers=[STARTED], poll_answers=[HOLD, HOLD, stop])
    with fake.server() as server:
        fake.url = server.url
        worker, log, plan = await _ready(fake, make_worker)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: any(u.poll_state == "finished" for u in log.of(RunUpdate)))
    assert len(fake.poll_times) == 3 and fake.polled_ids == ["run-9"] * 3
    assert log.of(RunUpdate)[-1].message == "Nothing more."


async def test_prose_run_call_without_a_run_id_is_unknown_and_shows_the_text(make_worker, manual_clock):
    register_secret(SECRET)
    said = f"Thanks! We received your request.\nAuthorization: Bearer {SECRET}"
    fake = ScriptedCalle(manual_clock, run_answers=[said], poll_answers=[HOLD])
    with fake.server() as server:
        fake.url = server.url
        worker, log, plan = await _ready(fake, make_worker)
        with pytest.raises(WorkerError) as exc:
            await worker.run(plan.plan_id, plan.confirm_token)
        assert exc.value.kind == "outcome_unknown"
        assert "Thanks! We received your request." in exc.value.message and SECRET not in exc.value.message
        assert exc.value.action  # what to do: check it, do not plan again
        unknown = log.of(RunOutcomeUnknown)[0]
        assert "We received your request" in unknown.message and SECRET not in unknown.message
        with pytest.raises(WorkerError):
            await worker.run(plan.plan_id, plan.confirm_token)  # never re-sent
        with pytest.raises(WorkerError) as again:
            await worker.reconcile(plan.plan_id)  # the user asked: still words without a run id
        assert "still unknown" in again.value.message and "We received your request" in again.value.message
    assert fake.run_calls == 2 and not fake.poll_times  # one run, one explicit check; nothing to follow
    attempt = Journal(worker.settings.state_root / "journal.sqlite3").attempt(plan.plan_id)
    assert attempt.state == "outcome_unknown" and "We received your request" in attempt.message
    assert SECRET not in attempt.message
    assert worker.history()[0].attempt == "outcome_unknown"


async def test_prose_run_call_that_mentions_a_run_id_is_still_unknown(make_worker, manual_clock):
    # run_id is opaque: it is never picked out of prose, even when the text seems to state one.
    fake = ScriptedCalle(manual_clock, run_answers=["Call queued. run_id: run-77."], poll_answers=[])
    with fake.server() as server:
        fake.url = server.url
        worker, log, plan = await _ready(fake, make_worker)
        with pytest.raises(WorkerError) as unknown:
            await worker.run(plan.plan_id, plan.confirm_token)
        assert unknown.value.kind == "outcome_unknown" and "run_id: run-77" in unknown.value.message
        assert not log.of(RunStarted)
    assert fake.run_calls == 1 and fake.polled_ids == []
