"""Snapshots of the confirmation modal over the composer at 80x24 and 120x40."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_runs import RunsHostApp, ready_plan
from textual.widgets import TextArea

from calle_tui.ui.screens.composer import ComposerScreen

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(autouse=True)
def _xdg_in_tmp(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def open_modal(*keys: str):
    async def run_before(pilot) -> None:
        pilot.app.screen.query_one("#composer-request", TextArea).insert("Call +14155550123 to book a table")
        await pilot.press("ctrl+s")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+r", *keys)
        await pilot.pause()

    return run_before


def app_with(plan) -> RunsHostApp:
    return RunsHostApp(lambda: ComposerScreen(FakeWorker([plan])))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_confirm_modal(snap_compare, size):
    assert snap_compare(app_with(ready_plan()), terminal_size=size, run_before=open_modal())


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_confirm_modal_digits_typed_scheduled(snap_compare, size):
    plan = ready_plan(phones=("+442079460958",), scheduled_at="2026-06-05T21:00:00+08:00", language=None)
    assert snap_compare(app_with(plan), terminal_size=size, run_before=open_modal(*"0958"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_confirm_modal_when_the_scheduled_time_passes_while_it_is_open(snap_compare, size):
    from fakes_runs import iso

    async def run_before(pilot) -> None:
        await open_modal(*"0123")(pilot)
        pilot.app.clock.advance(301)
        # What the modal's and the composer's 1 s checks do once the time has gone by (called here, so the
        # picture does not depend on whether a real second passed during the test).
        pilot.app.screen._check_expiry()
        pilot.app.screen_stack[-2]._show_plan_state()
        await pilot.pause()

    plan = ready_plan(scheduled_at=iso(300))
    assert snap_compare(app_with(plan), terminal_size=size, run_before=run_before)
