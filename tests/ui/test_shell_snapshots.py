"""Snapshots of the shell's screens at 80x24 and 120x40 (fixed clock, UTC, no blink, fake worker, no toasts).

Review the report before `--snapshot-update`: these pictures are the spec of what a person sees.
"""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_shell import make_shell_app, sample_records, until
from textual.widgets import Input

from calle_tui.ui.screens.help import HelpScreen
from calle_tui.ui.screens.history import HistoryScreen
from calle_tui.ui.screens.login import LoginScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
WRONG = "http://127.0.0.1:53121/callback?code=secret-code-123&state=someone-else"


def settled(worker):
    async def run_before(pilot) -> None:
        await until(pilot, lambda: worker.started.is_set() and pilot.app.screen.is_mounted)
        await until(pilot, lambda: getattr(pilot.app.screen, "heard_back", True))
        pilot.app.clear_notifications()

    return run_before


def sign_in_started(worker, then=None):
    async def run_before(pilot) -> None:
        await settled(worker)(pilot)
        await pilot.press("s")
        await worker.waiting_for_browser.wait()
        await until(pilot, lambda: pilot.app.screen.authorize_url is not None)
        if then is not None:
            await then(pilot)
        pilot.app.clear_notifications()

    return run_before


async def paste_wrong(pilot) -> None:
    field = pilot.app.screen.query_one("#paste-input", Input)
    field.focus()
    field.value = WRONG
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.query_one("#login-error").has_class("-shown"))


def open_screen(worker, action: str, kind):
    async def run_before(pilot) -> None:
        await settled(worker)(pilot)
        await pilot.app.run_action(action)
        await until(pilot, lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen.is_mounted)
        await pilot.pause()
        pilot.app.clear_notifications()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_login_signed_out(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=False)
    assert snap_compare(make_shell_app(worker, tmp_path), terminal_size=size, run_before=settled(worker))


@pytest.mark.parametrize("size", SIZES)
def test_login_in_progress(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=False, storage="memory", storage_notice="No secure keyring was found.")
    assert snap_compare(make_shell_app(worker, tmp_path), terminal_size=size, run_before=sign_in_started(worker))


@pytest.mark.parametrize("size", SIZES)
def test_login_pasted_url_wrong(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=sign_in_started(worker, paste_wrong))


@pytest.mark.parametrize("size", SIZES)
def test_login_signed_in(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=True)
    app = make_shell_app(worker, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=open_screen(worker, "account", LoginScreen))


@pytest.mark.parametrize("size", SIZES)
def test_history(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    assert snap_compare(app, terminal_size=size, run_before=open_screen(worker, "history", HistoryScreen))


@pytest.mark.parametrize("size", SIZES)
def test_help_on_history(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    to_history = open_screen(worker, "history", HistoryScreen)

    async def run_before(pilot) -> None:
        await to_history(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen) and pilot.app.screen.is_mounted)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
