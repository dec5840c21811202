"""Calls followed live through the real app, worker and sandbox in production's dialect, with a manual clock:

- the demo's 1,000-line call (a number ending in 9): the live transcript and the activity log show their
  newest line after every poll, at 80x24 and 120x40. Before, at 120x40 the first page overflowed the
  transcript while the outcome panel appeared under it, the scroll to the end was lost, and the transcript
  stayed on line 1 for the whole call;
- a callee line that production sends rough and then corrected is one line on the live monitor, the
  corrected one, while the call goes on. Before, both were shown until the call ended and the server's
  transcript replaced them.
"""

from __future__ import annotations

import random
import re
from datetime import UTC
from itertools import pairwise

import pytest
from fakes_shell import until
from textual.widgets import TextArea

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.store.drafts import DraftStore
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker import CalleWorker
from calle_tui.ui.app import CalleApp
from calle_tui.ui.runs.follow_end import ActivityLog
from calle_tui.ui.runs.transcript import TranscriptLog
from calle_tui.ui.screens.login import LoginScreen
from calle_tui.ui.screens.monitor import MonitorScreen

PHONE = "+14155550199"  # last digit 9: the sandbox's marathon call
CHECKS = 6  # polls checked once the transcript is longer than its panel
# Clock steps (each to the app's next wake-up) allowed for those checks: today the first page already
# overflows the panel and the six checks take six steps.
MAX_ROUNDS = 30


def newest_shown(log) -> str:
    return log.render_line(log.scrollable_content_region.height - 1).text.rstrip()


def calle_app(sandbox_factory, tmp_path) -> tuple[ManualClock, CalleApp]:
    """The real app and worker against a sandbox that answers as production does, on one manual clock."""
    clock = ManualClock()
    sim = sandbox_factory(clock=clock.now, auto_approve=True, dialect="calle", speed=4)
    settings = Settings(url=sim.mcp_url, state_path=tmp_path / "state", login="auto-follow")
    worker = CalleWorker(settings, secret_store=MemoryStore(), clock=clock, rng=random.Random(1), login_flow="auto-follow")
    app = CalleApp(settings, worker, drafts=DraftStore(tmp_path / "draft.json"), clock=clock.now, display_tz=UTC)
    app.cursor_blink = False
    return clock, app


async def place_call(pilot, app: CalleApp, phone: str) -> MonitorScreen:
    """Sign in, plan a call to `phone`, confirm it: the monitor that follows it."""
    await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.heard_back, rounds=3000)
    await pilot.press("s")
    await until(pilot, lambda: type(app.screen).__name__ == "ComposerScreen", rounds=3000)
    composer = app.screen
    composer.query_one("#composer-request", TextArea).load_text(
        f"Call {phone} in English and book a table for two at 7 pm today."
    )
    await pilot.press("ctrl+s")
    await until(pilot, lambda: composer._ready_plan() is not None and not composer.planning, rounds=3000)
    await pilot.press("ctrl+r")
    await until(pilot, lambda: type(app.screen).__name__ == "ConfirmCallModal")
    await pilot.press(*phone[-4:], "ctrl+y")
    await until(pilot, lambda: isinstance(app.screen, MonitorScreen), rounds=3000)
    return app.screen


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_a_long_call_is_shown_at_its_newest_line_after_every_poll(sandbox_factory, tmp_path, size):
    clock, app = calle_app(sandbox_factory, tmp_path)
    async with app.run_test(size=size) as pilot:
        monitor = await place_call(pilot, app, PHONE)
        transcript = monitor.query_one(TranscriptLog)
        activity = monitor.query_one("#monitor-activity", ActivityLog)
        checked = 0
        for _ in range(MAX_ROUNDS):
            wake = clock.next_wakeup()
            if wake is not None:
                clock.set(wake)
            await pilot.pause()
            if transcript.line_count <= transcript.scrollable_content_region.height:
                continue
            await pilot.pause()
            checked += 1
            _speaker, said = transcript.turns[-1]
            assert newest_shown(transcript).endswith(said), f"after {transcript.line_count} lines"
            assert newest_shown(activity).endswith(str(activity.lines[-1]).split("  ", 1)[-1])
            if checked == CHECKS:
                break
        else:
            pytest.fail(
                f"waited {MAX_ROUNDS} clock steps for {CHECKS} polls with more transcript than its panel shows; "
                f"saw {checked} (transcript {transcript.line_count} lines, panel {transcript.scrollable_content_region.height})"
            )
        await app.close_worker()


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


async def test_a_corrected_callee_line_is_one_line_on_the_live_monitor(sandbox_factory, tmp_path):
    clock, app = calle_app(sandbox_factory, tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        monitor = await place_call(pilot, app, "+14155550120")  # last digit 0: a conversation, then completed
        transcript = monitor.query_one(TranscriptLog)
        corrected: list[str] = []  # callee lines the server sent rough, then corrected
        for _ in range(MAX_ROUNDS * 10):
            wake = clock.next_wakeup()
            if wake is not None:
                clock.set(wake)
            await pilot.pause()
            if monitor.view.terminal:
                break
            callee = [e.text for e in monitor.view.entries if e.type == "speech" and e.speaker == "callee"]
            corrected = [b for a, b in pairwise(callee) if a != b and words(a) == words(b)]
            if len(corrected) >= 2:
                break
        assert len(corrected) >= 2 and not monitor.view.terminal, "the call ended before two corrected lines came"
        await pilot.pause()
        shown = [text for speaker, text in transcript.turns if speaker == "callee"]
        # One line each, the corrected text, while the call goes on: no rough version beside it.
        for line in corrected:
            assert shown.count(line) == 1
            assert [text for text in shown if words(text) == words(line)] == [line]
        assert "Finished" not in str(monitor.query_one("#monitor-status").render())
        await app.close_worker()
