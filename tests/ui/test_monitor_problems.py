"""A retry notice on the monitor lasts as long as its condition: it goes once a page arrives, the run ends,
or the connection drops (which is then described as such, never with the earlier server error)."""

from __future__ import annotations

import dataclasses

import pytest
from fake_worker import FakeWorker
from fakes_runs import RUN_ID, RunsHostApp, activity, finished, record, update
from textual.widgets import Static

from calle_tui.core.events import ErrorEvent
from calle_tui.ui.screens.monitor import MonitorScreen

BUSY = "The server is busy (too many requests)."


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def note_shown(screen) -> str:
    note = screen.query_one("#monitor-note", Static)
    return str(note.render()) if note.has_class("-shown") else ""


def retrying(app, seconds: int = 2):
    """What the follower sends after a failed poll: one ErrorEvent, then the countdown with the problem."""
    waiting = update("ringing", "waiting", next_poll_in=seconds, clock=app.clock)
    return (
        ErrorEvent(BUSY, f"Retrying in {seconds} s.", "rate_limited", run_id=RUN_ID),
        dataclasses.replace(waiting, result=None, problem=f"{BUSY} Retrying in {seconds} s."),
    )


async def show_problem(pilot, worker, app) -> None:
    worker.emit(update("ringing", "waiting", entries=activity(2), next_poll_in=5, clock=app.clock))
    for event in retrying(app):
        worker.emit(event)
    await pilot.pause()
    assert note_shown(app.screen) == f"{BUSY} Retrying in 2 s."
    assert "The server said" not in note_shown(app.screen)


def host(worker: FakeWorker) -> RunsHostApp:
    return RunsHostApp(lambda: MonitorScreen(worker, RUN_ID, record()))


async def test_the_notice_goes_once_a_page_arrives():
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_problem(pilot, worker, app)
        worker.emit(update("ringing", "polling", entries=activity(1, start=2), clock=app.clock))
        worker.emit(update("ringing", "waiting", next_poll_in=6, clock=app.clock))
        await pilot.pause()
        assert note_shown(app.screen) == ""


async def test_a_connection_loss_is_not_described_with_the_earlier_error():
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_problem(pilot, worker, app)
        worker.emit(update("ringing", "reconnecting", clock=app.clock, message="Waiting for the connection."))
        await pilot.pause()
        assert "busy" not in note_shown(app.screen)
        assert "Reconnecting: Waiting for the connection." in text_of(app.screen, "#monitor-status")


@pytest.mark.parametrize("status", ["completed", "failed"])
async def test_the_notice_goes_when_the_call_ends(status):
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_problem(pilot, worker, app)
        worker.emit(finished(status))
        await pilot.pause()
        assert note_shown(app.screen) == ""
