"""The live transcript and the activity log follow a long call: they stay at their last line as lines arrive,
until the reader scrolls up; then they stay put and the section says new lines are below."""

from __future__ import annotations

import dataclasses

import pytest
from fake_worker import FakeWorker
from fakes_runs import RUN_ID, RunsHostApp, record, update
from textual.widgets import Label

from calle_tui.core.events import RunUpdate
from calle_tui.core.wire.contract import ActivityEntry, GetCallRunResult
from calle_tui.ui.runs.transcript import TranscriptLog
from calle_tui.ui.screens.monitor import MonitorScreen

SIZES = [(80, 24), (120, 40)]


def lines(start: int, count: int) -> tuple[ActivityEntry, ...]:
    return tuple(
        ActivityEntry(
            id=f"l{i}", type="speech", speaker="agent" if i % 2 else "callee", text=f"Line {i} of a very long conversation."
        )
        for i in range(start, start + count)
    )


def notes(start: int, count: int) -> tuple[ActivityEntry, ...]:
    return tuple(ActivityEntry(id=f"n{i}", type="status", text=f"Step {i}") for i in range(start, start + count))


def talking(entries, app, said: str = "Callee said: hello.") -> RunUpdate:
    """A live page as production sends it: CALL-E's words and extra fields, so the outcome panel shows
    under the transcript while lines arrive."""
    page = GetCallRunResult(
        run_id=RUN_ID,
        status="in_progress",
        terminal=False,
        message=said,
        extra_fields={"display_goal": "Book a table", "root_run_id": None},
    )
    return dataclasses.replace(
        update("in_progress", "waiting", entries=entries, next_poll_in=5, clock=app.clock), result=page
    )


def last_shown(log) -> str:
    return log.render_line(log.scrollable_content_region.height - 1).text.rstrip()


def host(worker: FakeWorker) -> RunsHostApp:
    return RunsHostApp(lambda: MonitorScreen(worker, RUN_ID, record()))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_the_transcript_stays_at_its_last_line_through_a_long_call(size):
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=size) as pilot:
        transcript = app.screen.query_one(TranscriptLog)
        # As the demo's 1,000-line call arrives: 60 lines in the first page, then 30 a poll.
        worker.emit(talking(notes(0, 6) + lines(0, 60), app))
        await pilot.pause()
        for start in range(60, 240, 30):
            worker.emit(talking(lines(start, 30), app))
            await pilot.pause()
            assert transcript.scroll_offset.y > 0
            assert last_shown(transcript).endswith(f"Line {start + 29} of a very long conversation.")
        assert "new lines below" not in str(app.screen.query_one("#monitor-transcript-label", Label).render())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_the_activity_log_stays_at_its_last_line(size):
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=size) as pilot:
        log = app.screen.query_one("#monitor-activity")
        worker.emit(update("ringing", "waiting", entries=notes(0, 6), next_poll_in=5, clock=app.clock))
        await pilot.pause()
        assert last_shown(log).endswith("Step 5")
        worker.emit(update("ringing", "waiting", entries=notes(6, 2), next_poll_in=5, clock=app.clock))
        await pilot.pause()
        assert last_shown(log).endswith("Step 7")


async def test_scrolled_up_the_transcript_stays_put_and_says_new_lines_are_below():
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=(80, 24)) as pilot:
        transcript = app.screen.query_one(TranscriptLog)
        label = app.screen.query_one("#monitor-transcript-label", Label)
        worker.emit(update("in_progress", "waiting", entries=lines(0, 60), next_poll_in=5, clock=app.clock))
        await pilot.pause()
        transcript.focus()
        await pilot.press("pageup")
        await pilot.pause()
        held = transcript.scroll_offset.y
        assert held < transcript.max_scroll_y
        worker.emit(update("in_progress", "waiting", entries=lines(60, 30), next_poll_in=5, clock=app.clock))
        await pilot.pause()
        assert transcript.scroll_offset.y == held
        assert "30 new lines below" in str(label.render())
        # Back at the end (End, or scrolling down), it follows again and the hint goes.
        await pilot.press("end")
        await pilot.pause()
        worker.emit(update("in_progress", "waiting", entries=lines(90, 30), next_poll_in=5, clock=app.clock))
        await pilot.pause()
        assert last_shown(transcript).endswith("Line 119 of a very long conversation.")
        assert "new lines below" not in str(label.render())
