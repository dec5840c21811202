"""A scheduled call counts down to its time, is checked then, and its elapsed time runs from its start."""

from __future__ import annotations

from fake_worker import FakeWorker
from fakes_runs import RUN_ID, RunsHostApp, iso, record, update
from textual.widgets import Static

from calle_tui.ui.screens.monitor import MonitorScreen


def status_line(app) -> str:
    return str(app.screen.query_one("#monitor-status", Static).render())


async def test_a_scheduled_call_counts_down_to_its_time_and_elapsed_runs_from_its_start():
    worker = FakeWorker()
    app = RunsHostApp(lambda: MonitorScreen(worker, RUN_ID, record("scheduled", scheduled_at=iso(600))))
    async with app.run_test(size=(120, 24)) as pilot:
        worker.emit(update("scheduled", "scheduled", next_poll_in=600, clock=app.clock))
        await pilot.pause()
        line = status_line(app)
        assert "Scheduled for Fri 05 Jun 2026 09:40 UTC" in line and "starts in 10:00" in line
        assert "elapsed" not in line
        app.clock.advance(200)
        app.screen._render_status()  # what the 1 s interval does
        assert "starts in 6:40" in status_line(app)
        # At its time the call is checked and from then on the elapsed time is the call's own.
        app.clock.advance(430)
        worker.emit(update("in_progress", "waiting", next_poll_in=7, clock=app.clock))
        await pilot.pause()
        line = status_line(app)
        assert "elapsed 0:30" in line and "starts in" not in line
