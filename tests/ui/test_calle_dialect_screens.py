"""The screens with replies in production's shapes (tests/fixtures/replies/calle, read through the one
reader): the server's questions, a plan card that names who is called when the server echoes nothing, the
last-digits gate with the user's number, a finished call with summary, transcript, details and outcome, and
the canary confirm token nowhere on screen. A snapshot of the finished call at 80x24 and 120x40."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
import reply_fixtures as rf
from fake_worker import FakeWorker
from fakes_runs import FakeClock, RunsHostApp, record
from textual.widgets import Input, Static, TextArea

from calle_tui.core.events import RunFinished, RunUpdate
from calle_tui.ui.runs.transcript import TranscriptLog
from calle_tui.ui.screens.composer import ComposerScreen
from calle_tui.ui.screens.confirm import ConfirmCallModal
from calle_tui.ui.screens.monitor import MonitorScreen

SIZES = [(80, 24), (120, 40)]
REQUEST = "Call +1 415 555 0142 and ask if order 1182 is ready for pickup today"
ANSWER = "Ask whether it is ready and when the shop closes"
RUN = "run_51a0c2d4e6"
CANARY = "CANARY-CONFIRM"


@pytest.fixture(autouse=True)
def _xdg_in_tmp(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def composer(*plans) -> RunsHostApp:
    return RunsHostApp(lambda: ComposerScreen(FakeWorker(plans)))


def screen_text(app) -> str:
    """Everything drawn on the screen, as text (the SVG screenshot without its markup)."""
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


async def plan_and_answer(pilot) -> None:
    pilot.app.screen.query_one("#composer-request", TextArea).insert(REQUEST)
    await pilot.press("ctrl+s")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("ready", ["plan_call-ready", "plan_call-ready-content-only"])
async def test_questions_then_a_plan_that_echoes_nothing_then_the_users_number_confirms(ready):
    worker = FakeWorker([rf.plan("plan_call-questions"), rf.plan(ready)])
    app = RunsHostApp(lambda: ComposerScreen(worker))
    seen: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await plan_and_answer(pilot)
        seen.append(screen_text(app))
        assert "What should the agent ask or say on the call?" in seen[-1]
        assert "The plan is not ready. Add more detail." not in seen[-1]
        app.screen.query(".answer").results(Input).__next__().value = ANSWER
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert worker.plan_requests[1].plan_id == worker.plan_requests[0].plan_id or worker.plan_requests[1].plan_id
        card = str(app.screen.query_one("#composer-plan-card", Static).render())
        seen.append(screen_text(app))
        assert "+1 415-555-0142 (United States)" in card and "from your request" in card
        assert "(no number" not in card
        await pilot.press("ctrl+r")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmCallModal)
        prompt = str(modal.query_one("#confirm-prompt").render())
        assert "last 4 digits" in prompt and "CALL" not in prompt
        seen.append(screen_text(app))
        await pilot.press("9", "9", "9", "9", "ctrl+y")  # wrong digits: nothing happens
        await pilot.pause()
        assert worker.run_calls == []
        modal.query_one("#confirm-digits", Input).value = ""
        await pilot.press("0", "1", "4", "2")
        await pilot.pause()
        seen.append(screen_text(app))
        await pilot.press("ctrl+y", "ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        seen.append(screen_text(app))
    plan = rf.plan(ready)
    assert worker.run_calls == [(plan.plan_id, plan.confirm_token)]  # exactly one, with the token as sent
    assert CANARY in plan.confirm_token and not any(CANARY in text for text in seen)


async def test_a_plan_that_is_not_ready_and_asks_nothing_shows_the_servers_words():
    app = composer(rf.plan("plan_call-no-questions"))
    async with app.run_test(size=(100, 30)) as pilot:
        await plan_and_answer(pilot)
        assert "Ask the user for the missing details." in screen_text(app)


def monitor_app(worker: FakeWorker) -> RunsHostApp:
    rec = dataclasses.replace(record(), run_id=RUN, to_phones=("+14155550142",), goal="Order 1182: ready?")
    return RunsHostApp(lambda: MonitorScreen(worker, RUN, rec), clock=FakeClock())


def page_update(name: str, poll_state: str = "waiting") -> RunUpdate:
    page = rf.run_page(name)
    return RunUpdate(run_id=RUN, status=page.status, status_text=page.status_text, poll_state=poll_state,
                     new_activity=tuple(page.activity), result=page, next_poll_at=None)  # fmt: skip


def finished_event(name: str = "get_call_run-completed") -> RunFinished:
    page = rf.run_page(name, asked=RUN)
    return RunFinished(run_id=RUN, status=page.status, result=page, transcript=tuple(page.transcript or ()),
                       status_text=page.status_text)  # fmt: skip


async def test_preparing_while_people_talk_shows_the_phase_and_the_live_transcript():
    worker = FakeWorker()
    app = monitor_app(worker)
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(page_update("get_call_run-preparing-live"))
        await pilot.pause()
        status = str(app.screen.query_one("#monitor-status", Static).render())
        assert "Preparing" in status and "talking" in status and "?" not in status
        assert app.screen.query_one(TranscriptLog).turn_count == 3
        activity = "\n".join(app.screen.query_one("#monitor-activity").lines)
        assert "Call is ringing." in activity and "event" not in activity


async def test_a_finished_call_in_productions_shapes_reads_like_one_from_the_sandbox():
    worker = FakeWorker()
    app = monitor_app(worker)
    async with app.run_test(size=(100, 40)) as pilot:
        worker.emit(page_update("get_call_run-preparing-live"))
        worker.emit(RunUpdate(run_id=RUN, status="preparing", poll_state="waiting", next_poll_at=app.clock() + 5))
        await pilot.pause()
        worker.emit(finished_event())
        await pilot.pause()
        status = str(app.screen.query_one("#monitor-status", Static).render())
        outcome = str(app.screen.query_one("#monitor-outcome-text", Static).render())
        assert "✓ Completed" in status and "Finished" in status
        assert "The shop confirmed order 1182 is ready" in outcome
        assert "Task completed: yes (confidence high 0.82)" in outcome and "Callee said the order is ready." in outcome
        assert "Callee: +1 415-555-0142 (United States)" in outcome and "Duration: 0:38" in outcome
        assert "Call id: 5f0e6a1c9b2d4e7fa3c18b6d2e9f4a70" in outcome
        assert '"result"' not in outcome  # nothing is left as a raw JSON dump
        assert app.screen.query_one(TranscriptLog).turn_count == 4  # the server's final transcript
        export = app.screen.transcript_export()
        assert export.summary and len(export.turns) == 4 and export.outcome.startswith("Task completed: yes")
        assert any("Call is ringing." in line for _, line in export.activity)


async def test_an_unknown_run_is_said_as_such():
    worker = FakeWorker()
    app = monitor_app(worker)
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(finished_event("get_call_run-unknown-run"))
        await pilot.pause()
        outcome = str(app.screen.query_one("#monitor-outcome-text", Static).render())
        assert "run_id not found." in outcome and "Tell the user the run could not be found." in outcome


# --- snapshots -------------------------------------------------------------------------------------
# The composer's questions, the plan card and the confirmation in production's shapes are pictured by
# test_composer_calle.py (the same screens, with the time zone line); here their words are checked above.


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_calle_finished_monitor(snap_compare, size):
    async def run_before(pilot) -> None:
        worker = pilot.app.screen.worker
        pilot.app.clock.advance(99)
        worker.emit(page_update("get_call_run-preparing-live"))
        worker.emit(finished_event())
        await pilot.pause()

    assert snap_compare(monitor_app(FakeWorker()), terminal_size=size, run_before=run_before)


async def test_a_confirm_token_a_server_echoes_never_reaches_an_export_or_the_clipboard():
    from calle_tui.core.runs.export import to_json, to_markdown
    from calle_tui.core.wire import replies

    raw = rf.raw("calle", "get_call_run-completed")["structuredContent"]
    raw = {**raw, "echo": {"plan_id": "plan_9f2c7d1e", "confirm_token": f"{CANARY}-echoed"},
           "result": {**raw["result"], "debug": {"confirm_token": f"{CANARY}-nested"}}}  # fmt: skip
    page = replies.read_run_page(raw)
    worker = FakeWorker()
    app = monitor_app(worker)
    async with app.run_test(size=(100, 40)) as pilot:
        worker.emit(RunFinished(run_id=RUN, status=page.status, result=page, status_text=page.status_text))
        await pilot.pause()
        export = app.screen.transcript_export()
        assert export.extra and CANARY not in to_markdown(export) + to_json(export)
        assert CANARY not in screen_text(app)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_a_finished_calls_outcome_takes_the_rows_a_short_transcript_leaves_and_says_when_it_scrolls(size):
    worker = FakeWorker()
    app = monitor_app(worker)
    async with app.run_test(size=size) as pilot:
        worker.emit(page_update("get_call_run-preparing-live"))
        worker.emit(finished_event())
        await pilot.pause()
        await pilot.pause()
        transcript = app.screen.query_one(TranscriptLog)
        outcome = app.screen.query_one("#monitor-outcome")
        assert transcript.size.height == transcript.line_count  # no blank rows above the outcome
        if outcome.max_scroll_y:  # what does not fit says so, where the reader looks
            assert "more below" in str(outcome.border_title)
        else:
            assert not outcome.border_title
        if size == (120, 40):
            assert outcome.max_scroll_y == 0  # the whole outcome, summary to the server's extra fields
        else:
            assert outcome.max_scroll_y > 0
            outcome.scroll_end(animate=False, immediate=True)
            await pilot.pause()
            assert not outcome.border_title  # read to its end: the hint goes
