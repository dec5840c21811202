"""The composer, plan card and confirmation with replies in production's (calle) shapes, read through the one
reader: every question CALL-E asks gets a box (with or without a field name) and answers go back verbatim with
the plan_id; a not-ready plan without questions shows CALL-E's own words; the card and the confirmation
always say who is called (the plan's numbers, else the user's, else the ones CALL-E's sentence names) and
warn when those disagree; the last-digits gate whenever a number is known; the time zone in use; the canary
confirm token nowhere on screen or in any snapshot. Snapshots at 80x24 and 120x40 with a time zone shown."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

import pytest
import reply_fixtures as rf
from fake_worker import FakeWorker
from fakes_runs import RunsHostApp
from fakes_shell import until
from textual.widgets import Footer, Input, Static, TextArea

from calle_tui.core.config.timezone import UserZone
from calle_tui.core.wire.replies import read_plan
from calle_tui.ui.runs.answers import GENERIC_PROMPT
from calle_tui.ui.screens.composer import ComposerScreen
from calle_tui.ui.screens.confirm import CONFIRM_WORD, ConfirmCallModal

pytestmark = pytest.mark.slow  # journeys through the whole composer against production's reply shapes


SIZES = [(80, 24), (120, 40)]
BERLIN = UserZone("Europe/Berlin", "system")
CANARY = "CANARY-CONFIRM"
SNAPSHOTS = Path(__file__).parent / "__snapshots__"

TWO_QUESTIONS = {
    "plan_id": "plan_2q", "ready_to_run": False, "confirm_token": None,
    "clarifying_questions": ["What should the agent ask or say on the call?",
                             "Which language should the agent speak?"],
    "questions": [{"key": "goal", "question": "What should the agent ask or say on the call?"}],
    "next_step": "Ask the user the clarifying questions, then call plan_call again with the same plan_id.",
}  # fmt: skip


def ready(**fields) -> dict:
    return {"plan_id": "plan_2q", "ready_to_run": True, "confirm_token": f"{CANARY}-77", "questions": [], **fields}


def host(*plans, zone=BERLIN) -> tuple[RunsHostApp, FakeWorker]:
    worker = FakeWorker(plans, zone=zone)
    return RunsHostApp(lambda: ComposerScreen(worker)), worker


def screen_text(app) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


def card_of(app) -> str:
    return str(app.screen.query_one("#composer-plan-card", Static).render())


async def send(pilot, request: str = "", numbers: str = "") -> None:
    screen = pilot.app.screen
    if request:
        screen.query_one("#composer-request", TextArea).insert(request)
    if numbers:
        screen.query_one("#field-to_phones", Input).value = numbers
    await pilot.press("ctrl+s")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def questions_shown(app) -> list[str]:
    return [str(q.render()) for q in app.screen.query(".question").results(Static)]


# --- questions -------------------------------------------------------------------------------------


async def test_every_question_gets_a_box_and_answers_go_back_verbatim_with_the_plan_id():
    app, worker = host(read_plan(TWO_QUESTIONS), read_plan(ready()))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Call the bakery on Main Street")
        assert questions_shown(app) == ["What should the agent ask or say on the call?",
                                        "Which language should the agent speak?"]  # fmt: skip
        boxes = list(app.screen.query(".answer").results(Input))
        assert [b.placeholder for b in boxes] == ["your answer (goal)", "your answer"]
        text = screen_text(app)
        assert GENERIC_PROMPT not in text and "CALL-E asks" in text
        boxes[0].value = "Ask if they have rye bread  today"
        boxes[1].value = "German"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
    first, answer = worker.plan_requests
    assert first.plan_id is None and first.to_phones is None
    assert answer.plan_id == "plan_2q"
    assert answer.user_input == "Ask if they have rye bread  today\nGerman"  # as typed, nothing added
    assert answer.goal == "Ask if they have rye bread  today"  # typed into the goal question's box
    # the question without a field name fills no field, whatever it asks about; nothing else is filled in
    assert answer.language is None and answer.region is None and answer.to_phones is None
    assert answer.scheduled_at is None


async def test_one_answer_of_two_is_enough_and_a_region_problem_is_shown_in_calles_words():
    app, worker = host(read_plan(TWO_QUESTIONS), rf.plan("plan_call-region-unsupported"))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Call +1 415 555 0142 about the cake")
        list(app.screen.query(".answer").results(Input))[1].value = "English"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert worker.plan_requests[1].user_input == "English" and worker.plan_requests[1].goal is None
        assert questions_shown(app) == ["Calls to this region are not supported right now."]


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (rf.raw("calle", "plan_call-no-questions")["structuredContent"], "Ask the user for the missing details."),
        ({"plan_id": "p", "ready_to_run": False, "message": "I could not find that shop."},
         "I could not find that shop."),
        ({"plan_id": "p", "ready_to_run": False}, GENERIC_PROMPT),
    ],
    ids=["next_step-prose", "message", "nothing-said"],
)  # fmt: skip
async def test_a_plan_that_is_not_ready_and_asks_nothing_shows_calles_own_words(reply, shown):
    app, worker = host(read_plan(reply), read_plan(ready()))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Call the shop")
        assert questions_shown(app) == [shown]
        assert (GENERIC_PROMPT in screen_text(app)) == (shown == GENERIC_PROMPT)
        app.screen.query_one(".answer", Input).value = "The one on Main Street"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
    assert worker.plan_requests[1].user_input == "The one on Main Street"
    assert worker.plan_requests[1].plan_id == reply["plan_id"]


async def test_a_plan_said_ready_without_a_token_asks_again_and_says_why():
    app, _ = host(read_plan({"plan_id": "p", "ready_to_run": True}))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Call +14155550142")
        assert not app.screen.query_one("#composer-plan").display
        assert "sent no plan id or confirmation" in screen_text(app)


# --- the time zone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "line"),
    [
        (BERLIN, "Times in Europe/Berlin (system)"),
        (UserZone("Asia/Shanghai", "config"), "Times in Asia/Shanghai (from your settings)"),
        (UserZone("Europe/Berlin", "system", note="Unknown time zone 'Mars/Base'; using Europe/Berlin."),
         "Times in Europe/Berlin (system). Unknown time zone 'Mars/Base'; using Europe/Berlin."),
    ],
)  # fmt: skip
async def test_the_composer_says_which_time_zone_is_used(zone, line):
    app, _ = host(zone=zone)
    async with app.run_test(size=(100, 30)):
        assert str(app.screen.query_one("#composer-zone", Static).render()) == line


async def test_a_worker_without_a_zone_shows_no_zone_line():
    app, _ = host(zone=None)
    async with app.run_test(size=(100, 30)):
        assert not app.screen.query("#composer-zone")


# --- who is called -------------------------------------------------------------------------------------


async def test_the_number_typed_in_the_field_is_who_the_card_and_the_gate_name():
    app, worker = host(rf.plan("plan_call-ready"))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Ask the shop whether order 1182 is ready", numbers="+14155550142")
        card = card_of(app)
        assert "+1 415-555-0142 (United States)" in card and "from your request" in card
        assert "Call +1 415 555 0142 in English to ask whether order 1182 is ready for pickup." in card
        assert "Call script" in card and "Check" not in card
        await pilot.press("ctrl+r")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmCallModal)
        assert "last 4 digits of the number, +1 415-555-0142" in str(modal.query_one("#confirm-prompt").render())
        await pilot.press(*"0142", "ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    plan = rf.plan("plan_call-ready")
    assert worker.run_calls == [(plan.plan_id, plan.confirm_token)]


async def test_a_content_only_plan_without_a_number_from_the_user_is_gated_on_the_number_calle_names():
    app, worker = host(rf.plan("plan_call-ready-content-only"))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Call my dentist (415 555 0142) to confirm Friday")  # no country code: not used
        card = card_of(app)
        assert "+1 415-555-0142 (United States)" in card and "named in CALL-E's sentence" in card
        assert "Call +1 415 555 0142 to confirm the dentist appointment on Friday." in card
        await pilot.press("ctrl+r")
        await pilot.pause()
        prompt = str(app.screen.query_one("#confirm-prompt").render())
        assert "last 4 digits of the number CALL-E names, +1 415-555-0142" in prompt and "type CALL" not in prompt
        await pilot.press(*"0142", "ctrl+y")
        await app.workers.wait_for_complete()
    assert len(worker.run_calls) == 1


async def test_the_typed_word_only_when_no_number_is_known_anywhere():
    reply = ready(confirm_summary="Call the dentist to confirm Friday.", display_goal="Confirm Friday.")
    app, worker = host(read_plan(reply))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Call my dentist to confirm Friday")
        assert "(no number in the plan, in your request or in CALL-E's words)" in card_of(app)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert f"type {CONFIRM_WORD}" in str(app.screen.query_one("#confirm-prompt").render())
        await pilot.press(*"0000", "ctrl+y")
        await pilot.pause()
        assert worker.run_calls == []
        app.screen.query_one("#confirm-digits", Input).value = ""
        await pilot.press(*"CALL", "ctrl+y")
        await app.workers.wait_for_complete()
    assert len(worker.run_calls) == 1


@pytest.mark.parametrize(
    ("reply", "warning"),
    [
        (ready(to_phones=["+442079460958"]), "Your request named +1 415-555-0142 (United States), which the plan"),
        (ready(confirm_summary="Call +1 415 555 0199 about order 1182."), "CALL-E's words name +1 415-555-0199"),
    ],
    ids=["plan-echoes-another", "words-name-another"],
)  # fmt: skip
async def test_a_number_that_differs_from_the_users_is_flagged_on_the_card_and_the_confirmation(reply, warning):
    app, _ = host(read_plan(reply))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Call +1 415 555 0142 about order 1182")
        assert warning in card_of(app).replace("\n", " ")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert warning in str(app.screen.query_one("#confirm-details", Static).render()).replace("\n", " ")


async def test_the_confirmation_says_a_call_cannot_be_cancelled_and_its_footer_shows_its_keys():
    app, _ = host(rf.plan("plan_call-ready"))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Call +1 415 555 0142 and ask if order 1182 is ready")
        await pilot.press("ctrl+r")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ConfirmCallModal) and modal.query_one(Footer)
        text = screen_text(app)
        assert "cannot be cancelled through calle-tui" in text
        assert "Place the call" in text and "Cancel" in text  # the footer: ctrl+y and esc
        # the gate itself is in sight at 80x24
        assert modal.query_one("#confirm-place").region.bottom <= 23 and modal.query_one("#confirm-digits").region


async def test_the_canary_token_never_shows_even_when_a_server_repeats_it_in_extra_fields():
    reply = ready(confirm_summary="Call +1 415 555 0142.", debug={"confirm_token": f"{CANARY}-again", "trace": 7},
                  note="kept")  # fmt: skip
    app, _ = host(read_plan(reply))
    seen = []
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Call +1 415 555 0142")
        seen.append(screen_text(app))
        assert "kept" in card_of(app) and "trace" in card_of(app)  # the server's extras are shown
        await pilot.press("ctrl+r")
        await pilot.pause()
        seen.append(screen_text(app))
    assert not any(CANARY in text for text in seen)


def test_no_snapshot_holds_the_canary_token():
    files = list(SNAPSHOTS.rglob("*.svg"))
    assert files and not [f.name for f in files if CANARY in f.read_text(encoding="utf-8")]


# --- planning takes long --------------------------------------------------------------------------------


def slow_host() -> tuple[RunsHostApp, FakeWorker]:
    """CALL-E is still planning until the test sets worker.plan_gate."""
    app, worker = host(rf.plan("plan_call-ready"))
    worker.plan_gate = asyncio.Event()
    return app, worker


async def start_planning(pilot) -> None:
    pilot.app.screen.query_one("#composer-request", TextArea).insert("Call +1 415 555 0142")
    await pilot.press("ctrl+s")
    await pilot.pause()


async def test_ctrl_n_while_planning_stops_waiting_and_a_late_plan_is_ignored():
    app, worker = slow_host()
    async with app.run_test(size=(100, 30)) as pilot:
        await start_planning(pilot)
        assert app.screen.planning
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not app.screen.planning
        worker.plan_gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.plan is None and not app.screen.query_one("#composer-plan").display
        assert app.screen.query_one("#composer-request", TextArea).text == "Call +1 415 555 0142"


# --- snapshots -------------------------------------------------------------------------------------------


async def _asked_twice(pilot) -> None:
    await send(pilot, "Call the bakery on Main Street")


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_two_questions_one_without_a_field_and_the_zone(snap_compare, size):
    app, _ = host(read_plan(TWO_QUESTIONS))
    assert snap_compare(app, terminal_size=size, run_before=_asked_twice)


async def _numbers_field(pilot) -> None:
    await send(pilot, "Ask the shop whether order 1182 is ready", numbers="+14155550142")


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_plan_card_with_the_number_from_the_field(snap_compare, size):
    app, _ = host(rf.plan("plan_call-ready"))
    assert snap_compare(app, terminal_size=size, run_before=_numbers_field)


async def _confirm_on_calles_words(pilot) -> None:
    await send(pilot, "Call my dentist to confirm Friday")
    await pilot.press("ctrl+r")
    await pilot.pause()
    await pilot.press("0", "1")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_confirmation_on_the_number_calle_names(snap_compare, size):
    app, _ = host(rf.plan("plan_call-ready-content-only"))
    assert snap_compare(app, terminal_size=size, run_before=_confirm_on_calles_words)


async def test_a_confirmation_past_its_own_expiry_cannot_be_reviewed_even_if_the_plan_lives_on():
    reply = ready(confirm_summary="Call +1 415 555 0142.", expires_at="2026-06-06T09:30:00Z",
                  confirm_expires_at="2026-06-05T09:40:00Z")  # fmt: skip
    app, worker = host(read_plan(reply))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Call +1 415 555 0142")
        assert "Fri 05 Jun 2026 09:40 UTC" in card_of(app)  # the earlier of the two
        app.clock.advance(11 * 60)
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmCallModal) and "expired" in screen_text(app)
    assert worker.run_calls == []


async def test_while_calle_plans_the_screen_stays_usable_and_a_second_plan_is_not_sent():
    app, worker = slow_host()
    async with app.run_test(size=(100, 30)) as pilot:
        await start_planning(pilot)
        assert app.screen.planning and "Planning…" in screen_text(app)
        area = app.screen.query_one("#composer-request", TextArea)
        area.focus()
        await pilot.press("end", *" today")
        await pilot.press("ctrl+s")  # still planning: nothing more is sent, and the screen says it is planning
        # "Still planning" is said at once; the screen's one-second planning line may already have replaced it
        # on a loaded machine, which tells the person the same.
        text = screen_text(app)
        assert "Still planning" in text or "Planning…" in text
        assert len(worker.plan_requests) == 1
        assert area.text == "Call +1 415 555 0142 today"
        worker.plan_gate.set()
        await app.workers.wait_for_complete()
        await until(pilot, lambda: not app.screen.planning and app.screen.query_one("#composer-plan").display)
        assert len(worker.plan_requests) == 1


async def test_a_number_given_in_an_answer_is_the_one_the_card_names():
    asks = {"plan_id": "p7", "ready_to_run": False, "clarifying_questions": ["Which number should the agent call?"]}
    app, worker = host(read_plan(asks), read_plan(ready(plan_id="p7")))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Call the bakery about my cake")
        app.screen.query_one(".answer", Input).value = "It is +44 20 7946 0958"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert worker.plan_requests[1].to_phones is None  # a fieldless question fills no field
        assert "+44 20 7946 0958 (United Kingdom)" in card_of(app) and "from your request" in card_of(app)


async def test_the_card_shows_what_the_reader_could_not_use_and_the_servers_extra_fields():
    reply = ready(confirm_summary="Call +1 415 555 0142.", scheduled_at="tomorrow at nine", schedule_mode="now")
    app, _ = host(read_plan(reply))
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Call +1 415 555 0142 tomorrow at nine")
        card = card_of(app)
        assert "Unread" in card and "tomorrow at nine" in card  # shown as sent, never turned into a time
        assert "As soon as you confirm" not in card and "cannot read" in card
        assert "schedule_mode" in card and "now" in card


async def test_a_prose_only_answer_without_a_plan_id_is_answered_by_planning_again_with_everything_typed():
    app, worker = host(read_plan("Who should I call, and what should I say?"), read_plan(ready(plan_id="p8")))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Call the bakery", numbers="+14155550142")
        assert questions_shown(app) == ["Who should I call, and what should I say?"]
        app.screen.query_one(".answer", Input).value = "Ask if the cake is ready"
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
    again = worker.plan_requests[1]
    assert again.plan_id is None and again.user_input == "Call the bakery\nAsk if the cake is ready"
    assert again.to_phones == ("+14155550142",)  # the field the user filled, still theirs
