"""Snapshots of the run monitor in each state at 80x24 and 120x40 (canned events, fixed clock)."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_runs import RUN_ID, RunsHostApp, activity, finished, iso, record, speech, update

from calle_tui.ui.screens.monitor import MonitorScreen

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(autouse=True)
def _xdg_in_tmp(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def monitor() -> RunsHostApp:
    return RunsHostApp(lambda: MonitorScreen(FakeWorker(), RUN_ID, record()))


def emitting(*make_events, advance: float = 0):
    async def run_before(pilot) -> None:
        app = pilot.app
        app.clock.advance(advance)
        for make in make_events:
            app.screen.worker.emit(make(app))
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_monitor_waiting_for_first_check(snap_compare, size):
    run_before = emitting(lambda app: update("queued", "waiting_first", next_poll_in=54, clock=app.clock), advance=6)
    assert snap_compare(monitor(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_monitor_live_with_transcript(snap_compare, size):
    run_before = emitting(
        lambda app: update("in_progress", "waiting", entries=activity(3) + speech(12), next_poll_in=7, clock=app.clock),
        advance=95,
    )
    assert snap_compare(monitor(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_monitor_reconnecting(snap_compare, size):
    run_before = emitting(
        lambda app: update("ringing", "waiting", entries=activity(3), next_poll_in=5, clock=app.clock),
        lambda app: update("ringing", "reconnecting", next_poll_in=8, clock=app.clock, message="The connection dropped"),
        advance=70,
    )
    assert snap_compare(monitor(), terminal_size=size, run_before=run_before)


# One ending that reached the person (the server's final transcript and details), at both sizes, and one that did
# not (the live transcript stays, no details). The other endings differ from these only by the badge's glyph,
# colour and word and by the summary's words: test_status_look.py checks each of those.
@pytest.mark.parametrize(
    ("outcome", "size"),
    [
        pytest.param("completed", (80, 24), id="completed-80x24"),
        pytest.param("completed", (120, 40), id="completed-120x40"),
        pytest.param("no_answer", (80, 24), id="no_answer-80x24"),
    ],
)
def test_monitor_outcome(snap_compare, outcome, size):
    run_before = emitting(
        lambda app: update("in_progress", "waiting", entries=activity(3) + speech(2), next_poll_in=5, clock=app.clock),
        lambda app: finished(outcome),
        advance=80,
    )
    assert snap_compare(monitor(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_monitor_scrolled_up_says_new_lines_are_below(snap_compare, size):
    async def run_before(pilot) -> None:
        from calle_tui.ui.runs.transcript import TranscriptLog

        app = pilot.app
        app.clock.advance(95)
        app.screen.worker.emit(
            update("in_progress", "waiting", entries=activity(3) + speech(40), next_poll_in=7, clock=app.clock)
        )
        await pilot.pause()
        app.screen.query_one(TranscriptLog).focus()
        await pilot.press("pageup")
        app.screen.worker.emit(
            update("in_progress", "waiting", entries=speech(6, start=40), next_poll_in=7, clock=app.clock)
        )
        await pilot.pause()

    assert snap_compare(monitor(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_monitor_scheduled_counts_down_to_its_time(snap_compare, size):
    app = RunsHostApp(lambda: MonitorScreen(FakeWorker(), RUN_ID, record("scheduled", scheduled_at=iso(600))))
    run_before = emitting(lambda app: update("scheduled", "scheduled", next_poll_in=480, clock=app.clock), advance=120)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
