"""A person's whole journey against the sandbox, through the real app, worker, OAuth and MCP:

sign in (auto-follow) -> plan with details missing -> answer -> Enter in the confirmation places nothing ->
confirm twice places exactly one call -> watch it to completion (a manual clock shared by worker and
sandbox, advanced only when the worker sleeps on it) -> export -> find it in history.
"""

from __future__ import annotations

import random
from datetime import UTC

import pytest
from fakes_shell import until
from textual.widgets import Input, Log, TextArea

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.store.drafts import DraftStore
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker import CalleWorker
from calle_tui.ui.app import CalleApp
from calle_tui.ui.screens.history import HistoryScreen
from calle_tui.ui.screens.login import LoginScreen

PHONE = "+14155550120"  # last digit 0: the sandbox completes the call
ANSWERS = {"goal": "Book a table for two at 7 pm today", "language": "English", "to_phones": PHONE}


def screen_named(app, name: str) -> bool:
    return type(app.screen).__name__ == name and app.screen.is_mounted


async def run_clock_until(pilot, clock: ManualClock, predicate, rounds: int = 3000) -> None:
    """Let simulated time pass: whenever the worker sleeps on the clock, jump to its wake-up time."""
    for _ in range(rounds):
        if predicate():
            return
        wake = clock.next_wakeup()
        if wake is not None:
            clock.set(wake)
        await pilot.pause()
    assert predicate(), "the call did not finish"


DIALECTS = {
    "reference": {"dialect": "reference"},
    "calle": {"dialect": "calle"},  # production's shapes
    "calle-content-only": {"dialect": "calle", "content_only": True},  # JSON in a later text block
}


@pytest.mark.parametrize("dialect", list(DIALECTS))
async def test_sign_in_plan_answer_confirm_follow_export(sandbox_factory, tmp_path, dialect):
    clock = ManualClock()
    sim = sandbox_factory(clock=clock.now, auto_approve=True, **DIALECTS[dialect])
    settings = Settings(url=sim.mcp_url, state_path=tmp_path / "state", login="auto-follow")
    worker = CalleWorker(settings, secret_store=MemoryStore(), clock=clock, rng=random.Random(1), login_flow="auto-follow")
    app = CalleApp(settings, worker, drafts=DraftStore(tmp_path / "draft.json"), clock=clock.now, display_tz=UTC)
    app.cursor_blink = False
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        # Sign in: the worker finds no tokens, the login screen says so, `s` signs in by itself.
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.heard_back, rounds=3000)
        await pilot.press("s")
        await until(pilot, lambda: screen_named(app, "ComposerScreen"), rounds=3000)
        composer = app.screen

        # Plan with details missing: the sandbox asks instead of guessing.
        composer.query_one("#composer-request", TextArea).load_text(f"Please call {PHONE}")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bool(composer.questions) and not composer.planning, rounds=3000)
        assert sim.stats.run_call_sent == 0
        boxes = list(composer.query(".answer").results(Input))  # one answer box per question, in order
        for question, answer in zip(composer.questions, boxes, strict=True):
            answer.value = ANSWERS.get(question.field, ANSWERS["goal"] + ", in English")
        await pilot.press("ctrl+s")
        plan_card = composer.query_one("#composer-plan")  # shown once a plan is ready to review
        await until(pilot, lambda: plan_card.display and not composer.planning, rounds=3000)

        # Review: Enter alone never places a call.
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen_named(app, "ConfirmCallModal"))
        await pilot.press(*PHONE[-4:])
        await pilot.press("enter")
        await pilot.pause()
        assert screen_named(app, "ConfirmCallModal") and sim.stats.run_call_sent == 0

        # Confirm twice in a row: exactly one run_call reaches the server.
        await pilot.press("ctrl+y", "ctrl+y")
        await until(pilot, lambda: screen_named(app, "MonitorScreen"), rounds=3000)
        monitor = app.screen
        assert sim.stats.run_call_sent == 1 and sim.stats.calls_placed == 1

        # Follow it to the end with simulated time; the bell rings wherever the user is.
        await run_clock_until(pilot, clock, lambda: monitor.view.terminal)
        assert monitor.view.status == "completed"
        await until(pilot, lambda: bells == [1])
        assert sim.stats.run_call_sent == 1

        # Export, then find it in history.
        await pilot.press("e")
        await until(pilot, lambda: monitor.last_export is not None, rounds=3000)
        md_path, json_path = monitor.last_export
        assert md_path.exists() and json_path.exists()
        await app.run_action("history")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.is_mounted)
        records = list(app.screen.records.values())
        assert [r.status for r in records] == ["completed"] and records[0].to_phones == (PHONE,)
        assert records[0].summary

        # Reopened from History: the whole activity and transcript from the journal, no second bell,
        # and the finished call is not polled again.
        polls = sim.stats.snapshot()["tool_calls"].get("get_call_run", 0)
        shown_live = monitor.query_one("#monitor-activity", Log).line_count
        await pilot.press("enter")
        await until(pilot, lambda: screen_named(app, "MonitorScreen") and app.screen is not monitor, rounds=3000)
        reopened = app.screen
        await pilot.pause()
        assert reopened.query_one("#monitor-activity", Log).line_count == shown_live > 0
        assert reopened.view.summary and reopened.view.best_transcript and reopened.view.terminal
        assert "Finished" in str(reopened.query_one("#monitor-status").render())
        assert bells == [1] and sim.stats.snapshot()["tool_calls"].get("get_call_run", 0) == polls
        await app.close_worker()
