"""Snapshots of the plan composer and the confirmation modal at 80x24 and 120x40 (fake worker, fixed clock)."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_runs import RunsHostApp, missing_plan, ready_plan
from textual.widgets import TextArea

from calle_tui.ui.screens.composer import ComposerScreen

SIZES = [(80, 24), (120, 40)]
REQUEST = "Call +14155550123 in English and book a table for two at 7 pm today."


@pytest.fixture(autouse=True)
def _xdg_in_tmp(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def composer(*plans) -> RunsHostApp:
    return RunsHostApp(lambda: ComposerScreen(FakeWorker(plans)))


def submit(text: str):
    async def run_before(pilot) -> None:
        pilot.app.screen.query_one("#composer-request", TextArea).insert(text)
        await pilot.press("ctrl+s")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_composer_empty(snap_compare, size):
    assert snap_compare(composer(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_composer_missing_details(snap_compare, size):
    assert snap_compare(composer(missing_plan()), terminal_size=size, run_before=submit("Book a table for two"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_composer_ready_plan(snap_compare, size):
    assert snap_compare(composer(ready_plan()), terminal_size=size, run_before=submit(REQUEST))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_composer_details_open_with_an_error(snap_compare, size):
    async def run_before(pilot) -> None:
        screen = pilot.app.screen
        screen.query_one("#composer-request", TextArea).insert("Call my dentist")
        screen.query_one("#field-to_phones").value = "415 555 0123"
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert snap_compare(composer(ready_plan()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_composer_plan_out_of_date(snap_compare, size):
    async def run_before(pilot) -> None:
        await submit(REQUEST)(pilot)
        box = pilot.app.screen.query_one("#composer-request", TextArea)
        box.load_text(REQUEST.replace("two", "four"))
        await pilot.pause()

    assert snap_compare(composer(ready_plan()), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_composer_plan_time_passed_with_an_extension(snap_compare, size):
    from fakes_runs import iso

    async def run_before(pilot) -> None:
        await submit("Call +14155550123 ext 9 in English at 9:05 and book a table for two.")(pilot)
        pilot.app.clock.advance(600)
        await pilot.press("ctrl+r")
        await pilot.pause()

    plan = ready_plan(scheduled_at=iso(300))
    assert snap_compare(composer(plan), terminal_size=size, run_before=run_before)
