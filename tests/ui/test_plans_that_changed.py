"""A plan is only what was asked for, when it was asked: it must not be confirmed once the boxes say
something else, once its scheduled time has passed, and it must never drop part of a number silently."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_runs import RunsHostApp, iso, missing_plan, ready_plan
from textual.widgets import Input, Static, TextArea

from calle_tui.core.wire.contract import PlanCallResult, PlanDetails
from calle_tui.ui.runs.fields import FieldValueError, parse_field
from calle_tui.ui.screens.composer import ComposerScreen
from calle_tui.ui.screens.confirm import ConfirmCallModal

pytestmark = pytest.mark.slow  # journeys through the whole app across plans that change under it


SIZE = (80, 24)
REQUEST = "Call +14155550123 in English and book a table for two at 7 pm."


def host(worker) -> RunsHostApp:
    return RunsHostApp(lambda: ComposerScreen(worker))


def message_of(screen) -> str:
    return str(screen.query_one("#composer-message", Static).render())


def card_of(screen) -> str:
    title = str(screen.query_one("#composer-plan-title", Static).render())
    return title + "\n" + str(screen.query_one("#composer-plan-card", Static).render())


async def send(pilot) -> None:
    """ctrl+s, and wait for the plan's answer to be shown."""
    await pilot.press("ctrl+s")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def review_opens(pilot) -> bool:
    await pilot.press("ctrl+r")
    await pilot.pause()
    return isinstance(pilot.app.screen, ConfirmCallModal)


async def plan_ready(pilot, worker, text: str = REQUEST) -> None:
    area = pilot.app.screen.query_one("#composer-request", TextArea)
    area.focus()
    area.insert(text)
    await pilot.pause()
    await send(pilot)
    assert pilot.app.screen.query_one("#composer-plan").display


async def test_editing_the_request_after_the_plan_is_ready_makes_it_stale_and_ctrl_r_refuses():
    worker = FakeWorker([ready_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        assert "Ready to call" in card_of(app.screen)
        area = app.screen.query_one("#composer-request", TextArea)
        area.focus()
        area.load_text(REQUEST.replace("+14155550123", "+14155550199"))
        await pilot.pause()
        assert "Out of date" in card_of(app.screen)
        assert "changed the request" in message_of(app.screen)
        assert app.screen.sub_title == "plan out of date"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal)
        assert "ctrl+s to plan again" in message_of(app.screen)
        # The button says the same, it does not open the old plan either.
        app.screen.query_one("#composer-review").press()
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal)
        assert worker.run_calls == []
        # Undo: the boxes say what was planned again, and the plan can be reviewed.
        area.load_text(REQUEST + "  ")  # whitespace alone changes nothing
        await pilot.pause()
        assert "Ready to call" in card_of(app.screen)
        assert await review_opens(pilot)


async def test_a_detail_field_edited_after_the_plan_also_makes_it_stale():
    worker = FakeWorker([ready_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        app.screen.query_one("#field-language", Input).value = "German"
        await pilot.pause()
        assert "Out of date" in card_of(app.screen)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal)


async def test_text_typed_while_planning_makes_the_arriving_plan_stale():
    import asyncio

    worker = FakeWorker([ready_plan()])
    worker.plan_gate = asyncio.Event()  # the plan is on its way while the user goes on typing
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#composer-request", TextArea)
        area.insert(REQUEST)
        await pilot.press("ctrl+s")
        await pilot.pause()
        area.insert(" Ask for Maria.")
        await pilot.pause()
        worker.plan_gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Out of date" in card_of(app.screen)


async def test_answering_questions_keeps_the_plan_fresh():
    worker = FakeWorker([missing_plan(), ready_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#composer-request", TextArea)
        area.insert("Book a table for two")
        await send(pilot)
        answers = list(app.screen.query(".answer").results(Input))
        answers[0].value = "+14155550123"
        await send(pilot)
        assert "Ready to call" in card_of(app.screen)
        assert await review_opens(pilot)


async def test_a_scheduled_time_that_passes_shows_on_the_card_and_needs_a_new_plan():
    worker = FakeWorker([ready_plan(scheduled_at=iso(300))])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        assert "has passed" not in card_of(app.screen)
        app.clock.advance(301)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal)
        card = card_of(app.screen)
        assert "time has passed: the call would start now" in card
        assert "plan again" in message_of(app.screen).lower()
        assert worker.run_calls == []


async def test_a_scheduled_time_that_passes_while_the_modal_is_open_disables_the_call():
    worker = FakeWorker([ready_plan(scheduled_at=iso(300))])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        await pilot.press("ctrl+r")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmCallModal)
        await pilot.press(*"0123")
        app.clock.advance(301)
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert worker.run_calls == []
        shown = str(modal.query_one("#confirm-message", Static).render())
        assert "time has passed" in shown and "plan again" in shown
        assert "has passed" in str(modal.query_one("#confirm-details", Static).render())
        assert modal.query_one("#confirm-place").disabled
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ComposerScreen)
        assert "time has passed" in card_of(app.screen)


def echo_free_plan() -> PlanCallResult:
    """Production may not echo the numbers: the card then shows the user's own."""
    return PlanCallResult(
        plan_id="plan-x",
        ready_to_run=True,
        confirm_token="token-x",
        message="Plan created.",
        plan=PlanDetails(goal="Reserve two loaves"),
        expires_at=iso(900),
    )


async def test_an_extension_in_the_request_is_shown_not_silently_dropped():
    worker = FakeWorker([echo_free_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker, "Call +14155550109 ext 9 in English and reserve two loaves.")
        card = " ".join(card_of(app.screen).split())
        assert "+1 415-555-0109" in card
        assert "ext 9" in card and "the number dialled has none" in card
        await pilot.press("ctrl+r")
        await pilot.pause()
        details = " ".join(str(app.screen.query_one("#confirm-details", Static).render()).split())
        assert "ext 9" in details


async def test_an_extension_the_plan_echoes_needs_no_warning():
    plan = echo_free_plan().model_copy(update={"plan": PlanDetails(to_phones=["+14155550109;ext=9"])})
    worker = FakeWorker([plan])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker, "Call +14155550109 ext 9 in English.")
        assert "the number dialled has none" not in " ".join(card_of(app.screen).split())


def test_a_number_field_with_an_extension_asks_instead_of_cutting_it():
    try:
        parse_field("to_phones", "+14155550109 ext 9")
    except FieldValueError as exc:
        assert "extension (9)" in str(exc)
    else:
        raise AssertionError("the extension was accepted and would be cut off or sent as text")
    assert parse_field("to_phones", "+14155550109") == ("+14155550109",)


async def test_questions_name_fields_in_peoples_words():
    worker = FakeWorker([missing_plan()])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#composer-request", TextArea)
        area.insert("Book a table for two")
        await send(pilot)
        hints = [box.placeholder for box in app.screen.query(".answer").results(Input)]
        assert hints == ["your answer (phone number)", "your answer (language)"]


async def unknown_attempt(pilot, worker, drafts_path) -> None:
    from calle_tui.core.worker_api import WorkerError

    worker.run_error = WorkerError("We sent the call request but got no answer.", "Check History.", "outcome_unknown")
    await plan_ready(pilot, worker)
    await pilot.press("ctrl+r", *"0123", "ctrl+y")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()  # (the draft was written when the request was planned)
    assert pilot.app.screen.query_one("#composer-request", TextArea).text == REQUEST


def lost_attempt_app(tmp_path):
    """A composer whose plan's run_call answer is lost, and which History's check will find started."""
    from calle_tui.core.store.drafts import DraftStore
    from calle_tui.core.wire.contract import RunCallResult

    drafts = DraftStore(tmp_path / "draft.json")
    worker = FakeWorker([ready_plan()])
    worker.reconcile_answers["plan-1"] = RunCallResult(run_id="run-9", status="in_progress")
    return RunsHostApp(lambda: ComposerScreen(worker, drafts)), worker, drafts


async def test_a_lost_attempt_that_history_finds_started_no_longer_waits_as_a_draft(tmp_path):
    app, worker, drafts = lost_attempt_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await unknown_attempt(pilot, worker, drafts)
        assert (drafts.load() or {}).get("request") == REQUEST
        await worker.reconcile("plan-1")  # as History's check does
        await pilot.pause()
        assert app.screen.query_one("#composer-request", TextArea).text == ""
        assert drafts.load() is None
        assert "had started" in message_of(app.screen)


async def test_text_typed_after_a_lost_attempt_stays_when_it_is_found(tmp_path):
    app, worker, drafts = lost_attempt_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await unknown_attempt(pilot, worker, drafts)
        area = app.screen.query_one("#composer-request", TextArea)
        area.load_text("Call +442079460000 and ask for opening hours.")
        await pilot.pause()
        await worker.reconcile("plan-1")
        await pilot.pause()
        assert area.text == "Call +442079460000 and ask for opening hours."


async def test_the_confirmation_buttons_fit_at_80x24_with_a_long_plan():
    long_goal = "Ask whether the bakery on the corner still has the large sourdough loaves with seeds. " * 4
    worker = FakeWorker([ready_plan(goal=long_goal)])
    app = host(worker)
    async with app.run_test(size=SIZE) as pilot:
        await plan_ready(pilot, worker)
        await pilot.press("ctrl+r")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmCallModal)
        screen_rows = SIZE[1] - 1  # the footer takes the last row
        for button in ("#confirm-place", "#confirm-cancel"):
            region = modal.query_one(button).region
            assert region.height >= 1 and region.bottom <= screen_rows, (button, region)
        assert modal.query_one("#confirm-digits").region.bottom <= screen_rows


async def test_a_lost_attempt_found_started_in_a_later_session_no_longer_waits_as_a_draft(tmp_path):
    app, worker, drafts = lost_attempt_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await unknown_attempt(pilot, worker, drafts)
    assert (drafts.load() or {}).get("request") == REQUEST  # the app was closed before any check
    # The next session: History's check (or another window) found that the attempt had started.
    from calle_tui.core.worker_api import RunRecord

    later = FakeWorker([])
    later.records = [
        RunRecord(
            run_id="run-9",
            plan_id="plan-1",
            server_url=later.server_url,
            created_at=1.0,
            to_phones=("+14155550123",),
            goal="ask",
            status="in_progress",
            terminal=False,
        )
    ]
    again = RunsHostApp(lambda: ComposerScreen(later, drafts))
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.screen.query_one("#composer-request", TextArea).text == ""
        assert "had started" in message_of(again.screen)
    assert drafts.load() is None


async def test_a_lost_attempt_checked_in_a_later_session_clears_the_restored_draft(tmp_path):
    app, worker, drafts = lost_attempt_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await unknown_attempt(pilot, worker, drafts)
    from calle_tui.core.wire.contract import RunCallResult

    later = FakeWorker([])
    later.reconcile_answers["plan-1"] = RunCallResult(run_id="run-9", status="in_progress")
    again = RunsHostApp(lambda: ComposerScreen(later, drafts))
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        area = again.screen.query_one("#composer-request", TextArea)
        assert area.text == REQUEST  # outcome still unknown: the text waits
        await later.reconcile("plan-1")  # History's check in this session
        await pilot.pause()
        assert area.text == ""
    assert drafts.load() is None
