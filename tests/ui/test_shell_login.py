"""The login screen's behaviour with a fake worker: sign in by pasting, wrong pastes, cancel, sign out."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_shell import AUTHORIZE_URL, STATE, make_shell_app, until
from textual.events import Paste
from textual.widgets import Button, Input, Static

from calle_tui.ui.screens.login import LoginScreen
from calle_tui.ui.widgets.question import YesNoModal

pytestmark = pytest.mark.slow  # whole sign-ins through the app


GOOD = f"http://127.0.0.1:53121/callback?code=secret-code-123&state={STATE}"
WRONG_STATE = "http://127.0.0.1:53121/callback?code=secret-code-123&state=someone-else"


def error_text(app) -> str:
    return str(app.screen.query_one("#login-error", Static).render())


async def start_sign_in(pilot, worker: FakeWorker) -> None:
    await until(pilot, lambda: worker.started.is_set() and pilot.app.screen.heard_back)
    await pilot.press("s")
    await worker.waiting_for_browser.wait()
    await until(pilot, lambda: pilot.app.screen.authorize_url == AUTHORIZE_URL)


async def test_signed_out_start_shows_login_then_composer_after_paste(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await start_sign_in(pilot, worker)
        assert app.screen.phase == "running"
        assert app.screen.query_one("#login-link").display
        paste = app.screen.query_one("#paste-input", Input)
        paste.focus()
        paste.value = GOOD
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.title == "New call")
        assert worker.signed_in and worker.submitted == [GOOD]
        assert app.shell_status.signed_in
        await app.close_worker()


async def test_wrong_state_shows_error_and_keeps_the_field(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_sign_in(pilot, worker)
        paste = app.screen.query_one("#paste-input", Input)
        paste.focus()
        paste.value = WRONG_STATE
        await pilot.press("enter")
        await until(pilot, lambda: "state does not match" in error_text(app))
        assert "Paste the address from the newest browser tab" in error_text(app)
        assert paste.value == WRONG_STATE  # kept, so a near miss can be fixed
        assert app.screen.phase == "running"  # the login is still pending: a second paste can finish it
        # The field masks what was pasted: the one-time code never appears on screen.
        assert "secret-code-123" not in app.export_screenshot()
        paste.value = GOOD
        await pilot.press("enter")
        await until(pilot, lambda: worker.signed_in and not isinstance(app.screen, LoginScreen))
        await app.close_worker()


async def test_address_without_code_and_denied_are_explained(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_sign_in(pilot, worker)
        paste = app.screen.query_one("#paste-input", Input)
        paste.focus()
        paste.value = "http://127.0.0.1:53121/callback?state=" + STATE
        await pilot.press("enter")
        await until(pilot, lambda: "no sign-in code" in error_text(app))
        assert "address bar" in error_text(app)
        paste.value = "http://127.0.0.1:53121/callback?error=access_denied&state=" + STATE
        await pilot.press("enter")
        await until(pilot, lambda: "denied" in error_text(app))
        assert "Press s to try again" in error_text(app)
        await app.close_worker()


async def test_empty_paste_is_a_sentence_not_a_request(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_sign_in(pilot, worker)
        app.screen.query_one("#paste-input", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: "The field is empty" in error_text(app))
        assert worker.submitted == []
        await app.close_worker()


async def test_escape_cancels_sign_in(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_sign_in(pilot, worker)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.phase == "idle")
        assert "Sign-in canceled" in error_text(app)
        assert app.screen.query_one("#sign-in-button", Button).display
        assert not app.screen.query_one("#login-link").display
        assert not worker.signed_in
        # It can start again.
        await pilot.press("s")
        await until(pilot, lambda: worker.sign_in_calls == 2 and app.screen.phase == "running")
        await app.close_worker()


async def test_paste_anywhere_lands_in_the_field(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_sign_in(pilot, worker)
        assert not app.screen.query_one("#paste-input", Input).has_focus
        app.screen.post_message(Paste(GOOD))
        await until(pilot, lambda: worker.signed_in and not isinstance(app.screen, LoginScreen))
        await app.close_worker()


async def test_copy_link_uses_the_clipboard(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_sign_in(pilot, worker)
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard == AUTHORIZE_URL)
        await app.close_worker()


async def test_ssh_session_shows_the_port_forward_line(tmp_path, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_sign_in(pilot, worker)
        line = str(app.screen.query_one("#login-ssh", Static).render())
        assert "ssh -L 53121:127.0.0.1:53121" in line
        assert not app.screen.check_action("open_browser", ())  # no local browser over SSH
        await app.close_worker()


async def test_sign_out_asks_first(tmp_path):
    worker = FakeWorker(signed_in=True)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.shell_status.signed_in)
        await app.run_action("account")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)
        assert app.screen.phase == "signed_in"
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, YesNoModal) and app.screen.is_mounted)
        await pilot.press("enter")  # "Stay signed in" has the focus: Enter does the safe thing
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)
        assert worker.sign_out_calls == 0
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, YesNoModal) and app.screen.is_mounted)
        await pilot.press("ctrl+y")
        await until(pilot, lambda: worker.sign_out_calls == 1 and app.screen.phase == "idle")
        assert not app.shell_status.signed_in
        await app.close_worker()


async def test_expired_session_brings_login_back_over_the_composer(tmp_path):
    from calle_tui.core.events import SignInNeeded

    worker = FakeWorker(signed_in=True)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: worker.started.is_set() and app.shell_status.connection == "connected")
        composer = app.screen
        worker.signed_in = False
        worker.emit(SignInNeeded(worker.server_url, "Your session expired. Sign in again."))
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)
        assert "expired" in str(app.screen.query_one("#login-reason", Static).render())
        await start_sign_in(pilot, worker)
        app.screen.post_message(Paste(GOOD))
        await until(pilot, lambda: app.screen is composer)  # back where the user was: nothing typed is lost
        await app.close_worker()


async def test_a_server_that_needs_no_sign_in_goes_straight_to_the_composer(tmp_path):
    # Connected without any SignedIn event (the server asked for no sign-in): the login screen must not
    # sit on "Checking for a saved session..." for ever.
    from calle_tui.core.events import ConnectionChanged, ToolsListed

    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await until(pilot, lambda: worker.started.is_set())
        worker.emit(ConnectionChanged(state="connected", server_url=worker.server_url))
        worker.emit(ToolsListed(tool_names=("plan_call", "run_call", "get_call_run"), plan_call_schema={}))
        await until(pilot, lambda: app.screen.title == "New call")
        await app.close_worker()
