"""Behaviour of the plan composer and the composer -> confirm -> run chain (fake worker, no network)."""

from __future__ import annotations

import asyncio

import pytest
from fake_worker import FakeWorker
from fakes_runs import RunsHostApp, missing_plan, ready_plan
from textual.widgets import Input, Static, TextArea

from calle_tui.core.store.drafts import DraftStore
from calle_tui.core.worker_api import WorkerError
from calle_tui.ui.screens.composer import ComposerScreen
from calle_tui.ui.screens.confirm import ConfirmCallModal
from calle_tui.ui.screens.monitor import MonitorScreen

pytestmark = pytest.mark.slow  # journeys through the whole composer: plan, answer, confirm, monitor


SIZE = (80, 24)


def host(worker, drafts=None, clock=None) -> RunsHostApp:
    return RunsHostApp(lambda: ComposerScreen(worker, drafts), clock=clock)


async def type_request(pilot, text: str) -> None:
    area = pilot.app.screen.query_one("#composer-request", TextArea)
    area.focus()
    await pilot.pause()
    area.insert(text)
    await pilot.pause()


async def plan_ready(pilot, worker) -> None:
    await type_request(pilot, "Call +14155550123 in English and book a table for two at 7 pm.")
    await pilot.press("ctrl+s")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert len(worker.plan_requests) == 1


def message_of(screen) -> str:
    return str(screen.query_one("#composer-message", Static).render())


async def test_request_is_sent_verbatim_and_only_typed_fields_go():
    worker = FakeWorker([ready_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        text = "Call +14155550123  and ask if they're open tomorrow.\nThanks!"
        await type_request(pilot, text)
        app.screen.query_one("#field-language", Input).value = "English"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        (request,) = worker.plan_requests
        assert request.user_input == text
        assert request.language == "English"
        assert request.to_phones is None and request.goal is None and request.region is None
        assert request.scheduled_at is None and request.plan_id is None and request.ttl_seconds is None
        assert app.screen.query_one("#composer-plan").display
        card = str(app.screen.query_one("#composer-plan-card", Static).render())
        assert "+1 415-555-0123 (United States)" in card


async def test_empty_request_and_bad_field_are_explained_in_place():
    worker = FakeWorker([ready_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert worker.plan_requests == []
        assert "Write what the call is about" in message_of(app.screen)
        await type_request(pilot, "Call my dentist")
        app.screen.query_one("#field-to_phones", Input).value = "415 555 0123"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert worker.plan_requests == []
        assert "country code" in message_of(app.screen)
        assert app.screen.query_one("#field-to_phones", Input).has_focus


async def test_missing_detail_answers_refine_the_same_plan():
    worker = FakeWorker([missing_plan("plan-42"), ready_plan("plan-42")])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await type_request(pilot, "Book a table for two")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        answers = list(app.screen.query(".answer").results(Input))
        assert len(answers) == 2 and answers[0].has_focus
        questions = [str(q.render()) for q in app.screen.query(".question").results(Static)]
        assert "Which number should we call? Include the country code." in questions
        await pilot.press(*"+14155550123")
        await pilot.press("enter")  # to the next question
        assert answers[1].has_focus
        await pilot.press(*"English", "enter")  # the last answer submits
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(worker.plan_requests) == 2
        refine = worker.plan_requests[1]
        assert refine.plan_id == "plan-42"
        assert refine.user_input == "+14155550123\nEnglish"
        # typed into the to_phones / language questions, so those fields carry them too
        assert refine.to_phones == ("+14155550123",) and refine.language == "English"
        assert refine.goal is None
        assert app.screen.query_one("#composer-plan").display
        assert not app.screen.query_one("#composer-questions").display


async def test_refine_with_a_free_form_answer_keeps_it_only_in_user_input():
    worker = FakeWorker([missing_plan("p9", [("scheduled_at", "When should we call?")]), ready_plan("p9")])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await type_request(pilot, "Call +14155550123 to book")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"tomorrow at 3pm", "enter")
        await app.workers.wait_for_complete()
        refine = worker.plan_requests[1]
        assert refine.user_input == "tomorrow at 3pm" and refine.plan_id == "p9"
        assert refine.scheduled_at is None  # never converted or guessed


async def test_worker_error_is_a_sentence_and_the_request_stays():
    worker = FakeWorker([WorkerError("The server is not answering.", "Press ctrl+s to retry.", "network"), ready_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await type_request(pilot, "Call +14155550123 please")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert message_of(app.screen) == "The server is not answering. Press ctrl+s to retry."
        assert app.screen.query_one("#composer-request", TextArea).text == "Call +14155550123 please"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        assert len(worker.plan_requests) == 2


async def test_digits_and_confirm_place_exactly_one_call_then_monitor(tmp_path):
    drafts = DraftStore(tmp_path / "draft.json")
    worker = FakeWorker([ready_plan()])
    app = host(worker, drafts)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCallModal)
        await pilot.press("ctrl+r")  # a second review press cannot open a second modal
        await pilot.pause()
        assert sum(isinstance(s, ConfirmCallModal) for s in app.screen_stack) == 1
        await pilot.press(*"0123")
        await pilot.press("ctrl+y")
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert worker.run_calls == [("plan-1", "token-for-plan-1")]
        assert isinstance(app.screen, MonitorScreen) and app.screen.run_id == "run-1"
        assert drafts.load() is None  # cleared only now that the run started
        composer = app.screen_stack[-2]
        assert composer.query_one("#composer-request", TextArea).text == ""
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("ctrl+r")  # the spent plan cannot be reviewed again
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal)
        assert len(worker.run_calls) == 1


async def test_double_confirm_while_run_is_in_flight_places_one_call():
    worker = FakeWorker([ready_plan()])
    worker.run_gate = asyncio.Event()
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        await pilot.press("ctrl+r", *"0123", "ctrl+y")
        await worker.run_entered.wait()
        await pilot.press("ctrl+y", "ctrl+r", "ctrl+y", "enter")
        await pilot.pause()
        worker.run_gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert worker.run_calls == [("plan-1", "token-for-plan-1")]


async def test_run_error_for_an_expired_plan_sends_the_user_back_to_replan():
    worker = FakeWorker([ready_plan(), ready_plan("plan-2")])
    # As the real worker reports a server's refusal of run_call (core/runs/placing.py): kind "tool".
    worker.run_error = WorkerError(
        "The server did not start the call: The plan expired before the call started.", action="Plan again.", kind="tool"
    )
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        await pilot.press("ctrl+r", *"0123", "ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ComposerScreen)
        assert "The plan expired before the call started. Press ctrl+s to plan again" in message_of(app.screen)
        assert not app.screen.query_one("#composer-plan").display
        assert app.screen.query_one("#composer-request", TextArea).text  # nothing typed is lost
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal)


async def test_plan_expired_by_the_clock_cannot_be_reviewed():
    worker = FakeWorker([ready_plan(expires_in=60)])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        app.clock.advance(120)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ComposerScreen)
        assert "This plan has expired." in message_of(app.screen)
        assert worker.run_calls == []


async def test_draft_survives_a_restart_and_a_failed_submit(tmp_path):
    path = tmp_path / "state" / "draft.json"
    worker = FakeWorker([WorkerError("Sign in again to continue.", kind="auth")])
    app = host(worker, DraftStore(path))
    async with app.run_test(size=SIZE) as pilot:
        await type_request(pilot, "Call +14155550123 about my order")
        app.screen.query_one("#field-goal", Input).value = "Ask where order 1234 is"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
    saved = DraftStore(path).load()
    assert saved == {"request": "Call +14155550123 about my order", "fields": {"goal": "Ask where order 1234 is"}}

    app2 = host(FakeWorker(), DraftStore(path))
    async with app2.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app2.screen
        assert screen.query_one("#composer-request", TextArea).text == "Call +14155550123 about my order"
        assert screen.query_one("#field-goal", Input).value == "Ask where order 1234 is"
        assert not screen.query_one("#composer-details").collapsed


class SignallingDrafts(DraftStore):
    def __init__(self, path) -> None:
        super().__init__(path)
        self.saved = asyncio.Event()
        self.saves = 0

    def save(self, draft: dict) -> None:
        super().save(draft)
        self.saves += 1
        self.saved.set()


async def test_draft_is_saved_while_typing_without_leaving(tmp_path):
    drafts = SignallingDrafts(tmp_path / "draft.json")
    app = host(FakeWorker(), drafts)
    async with app.run_test(size=SIZE) as pilot:
        await type_request(pilot, "Call")
        await pilot.press(*" the bakery")
        await asyncio.wait_for(drafts.saved.wait(), timeout=10)  # the debounce timer fires by itself
        assert drafts.saves == 1  # one write for the whole burst of keys, not one per key
        assert drafts.load() == {"request": "Call the bakery", "fields": {}}


async def test_field_hints_follow_the_servers_schema():
    from calle_tui.core.events import ToolsListed

    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        schema = {
            "properties": {
                "user_input": {},
                "to_phones": {"description": "E.164 numbers, please."},
                "goal": {"description": "What to achieve."},
            }
        }
        worker.emit(ToolsListed(tool_names=("plan_call", "run_call", "get_call_run"), plan_call_schema=schema))
        await pilot.pause()
        screen = app.screen
        assert str(screen.query_one("#hint-to_phones", Static).render()) == "E.164 numbers, please."
        assert screen.query_one("#row-goal").display
        assert not screen.query_one("#row-region").display  # this server does not take a region


async def test_unknown_outcome_is_a_sentence_and_the_plan_is_not_offered_again():
    worker = FakeWorker([ready_plan()])
    worker.run_error = WorkerError(
        "We sent the call request but got no answer.",
        "Check the call history before trying again.",
        "outcome_unknown",
    )
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        await pilot.press("ctrl+r", *"0123", "ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert message_of(app.screen) == (
            "We sent the call request but got no answer. Check the call history before trying again."
        )
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal) and len(worker.run_calls) == 1


def focused_id(app) -> str:
    widget = app.focused
    return (widget.id or type(widget).__name__) if widget is not None else "(nothing)"


async def test_tab_and_shift_tab_follow_the_screen_order_through_the_answers():
    questions = [("to_phones", "Which number should be called?"), ("language", "Which language?")]
    worker = FakeWorker([missing_plan(missing=questions), ready_plan()])
    app = host(worker)
    async with app.run_test(size=(120, 40)) as pilot:
        await type_request(pilot, "Call my dentist")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert focused_id(app) == "answer-1-0"
        order = ["answer-1-0", "answer-1-1", "answers-send-1", "composer-request", "CollapsibleTitle"]
        seen = [focused_id(app)]
        for _ in order:
            await pilot.press("tab")
            seen.append(focused_id(app))
        assert seen == [*order, "answer-1-0"]  # never an invisible stop, and it wraps in reading order
        back = [focused_id(app)]
        for _ in order:
            await pilot.press("shift+tab")
            back.append(focused_id(app))
        assert back == ["answer-1-0", "CollapsibleTitle", "composer-request", "answers-send-1", "answer-1-1", "answer-1-0"]
        # The details, once open, sit between the request and the answers, as on screen.
        await pilot.press("shift+tab")
        await pilot.press("enter")  # opens the Details collapsible
        await pilot.pause()
        await pilot.press("tab")
        assert focused_id(app) == "field-to_phones"
        # The send button sends the answers (a refinement of the same plan).
        app.screen.query_one("#answer-1-0", Input).value = "+14155550123"
        app.screen.query_one("#answers-send-1").focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(worker.plan_requests) == 2
        assert worker.plan_requests[1].to_phones == ("+14155550123",)
        assert worker.plan_requests[1].plan_id == "plan-1"


async def test_the_screen_title_follows_the_plan():
    from calle_tui.ui.widgets.header import AppHeader

    worker = FakeWorker([missing_plan(), ready_plan()])
    app = host(worker)
    async with app.run_test(size=(120, 30)) as pilot:
        await app.screen.mount(AppHeader(), before=0)
        screen = app.screen
        assert screen.title == "New call" and not screen.sub_title
        await type_request(pilot, "Book a table for two")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.sub_title == "details needed"
        assert "calle-tui › New call · details needed" in str(screen.query_one(AppHeader).render())
        for box in screen.query(".answer").results(Input):
            box.value = "+14155550123"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.sub_title == "plan ready"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmCallModal)
        assert app.screen.title == "Confirm call to +1 415-555-0123" and screen.sub_title == "confirming"
        await pilot.press("escape")
        await pilot.pause()
        assert screen.sub_title == "plan ready"
        await pilot.press("ctrl+n")
        assert not screen.sub_title


async def test_a_slow_plan_shows_the_time_waited_and_esc_stops_waiting_keeping_the_draft():
    worker = FakeWorker([ready_plan()])
    worker.plan_gate = asyncio.Event()  # CALL-E is still planning
    app = RunsHostApp(lambda: ComposerScreen(worker))
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#composer-request", TextArea).insert("Call +14155550123 and book a table")
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.clock.advance(42)
        app.screen._show_planning()
        message = str(app.screen.query_one("#composer-message", Static).render())
        assert "Planning… 42 s." in message and "Esc stops waiting" in message
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.planning and "Stopped waiting" in str(app.screen.query_one("#composer-message").render())
        assert app.screen.query_one("#composer-request", TextArea).text == "Call +14155550123 and book a table"
        worker.plan_gate.set()  # a late answer changes nothing: the plan request was abandoned
        await pilot.pause()
        assert app.screen.plan is None
