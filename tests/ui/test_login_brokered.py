"""The brokered sign-in on the sign-in screen (issue 8): one link for any device, its QR code, a countdown,
and the terminal finishing by itself; failures say what happened and how to get a new link; the CALL-E CLI's
sign-in is offered as one key and used only when pressed. With the fake worker (the real one is checked
against the sandbox in tests/core/test_worker_broker.py)."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_shell import make_shell_app, until
from textual.widgets import Static

from calle_tui.ui.screens.login import LoginScreen
from calle_tui.ui.widgets.qr import qr_lines

pytestmark = pytest.mark.slow  # whole sign-ins through the app


SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
# As long as a production link (CALLE-DIALECT.md, Sign-in): the largest code the screen must fit.
LOGIN_URL = "https://seleven-mcp-sg.airudder.com/openagent-auth/sessions/3f6c1d2e-9b8a-4c7d-8e5f-0a1b2c3d4e5f/start?from=calle-tui-cli"


def broker_worker(**kw) -> FakeWorker:
    worker = FakeWorker(signed_in=False, **kw)
    worker.broker = True
    worker.broker_login_url = LOGIN_URL
    return worker


async def ready(pilot, worker) -> None:
    await until(pilot, lambda: worker.started.is_set() and pilot.app.screen.heard_back)
    await until(pilot, lambda: pilot.app.screen.cli_checked)


async def brokered(pilot, worker) -> None:
    await ready(pilot, worker)
    await pilot.press("s")
    await worker.broker_waiting.wait()
    await until(pilot, lambda: pilot.app.screen.query_one("#broker-box").display)


def text_of(app) -> str:
    return " ".join(str(app.screen.query_one("#broker-text", Static).render()).split())


async def test_s_starts_the_one_link_sign_in_which_finishes_by_itself(tmp_path):
    worker = broker_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await brokered(pilot, worker)
        assert worker.broker_calls == 1 and worker.sign_in_calls == 0
        shown = text_of(app)
        assert "Open this link on any device" in shown and "10:00 more" in shown
        assert not app.screen.query_one("#paste-input").display  # nothing to paste in this flow
        qr = str(app.screen.query_one("#broker-qr", Static).render()).splitlines()
        assert qr == qr_lines(LOGIN_URL)  # the code on screen is the link's own code (decoded in test_qr)
        worker.approve_broker()
        await until(pilot, lambda: app.screen.title == "New call")
        assert worker.signed_in


async def test_the_countdown_follows_the_clock(tmp_path):
    worker = broker_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await brokered(pilot, worker)
        app.screen.broker_expires_at -= 125  # as if two minutes and five seconds went by
        app.screen._tick()  # what the screen's 1 s timer does
        assert "7:55 more" in text_of(app)


@pytest.mark.parametrize(
    ("kind", "sentence"),
    [
        ("failed", "The sign-in was not approved."),
        ("expired", "The sign-in link expired before it was approved."),
        ("gone", "This sign-in session no longer exists."),
        ("timeout", "Nobody approved the sign-in in time."),
    ],
)
async def test_an_ended_brokered_sign_in_says_why_and_how_to_start_again(tmp_path, kind, sentence):
    worker = broker_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await brokered(pilot, worker)
        worker.end_broker(kind, sentence)
        await until(pilot, lambda: app.screen.phase == "idle")
        error = str(app.screen.query_one("#login-error", Static).render())
        assert sentence in error and "Press s for a new link." in error
        assert app.screen.query_one("#login-error").region.height > 0  # visible, not in a hidden box
        assert not app.screen.query_one("#broker-box").display
        await pilot.press("s")  # a new link
        await worker.broker_waiting.wait()
        assert worker.broker_calls == 2


async def test_esc_cancels_the_brokered_sign_in(tmp_path):
    worker = broker_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await brokered(pilot, worker)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.phase == "idle")
        assert worker.broker_cancels == 1 and not worker.signed_in


async def test_w_signs_in_with_a_browser_instead(tmp_path):
    worker = broker_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, worker)
        await pilot.press("w")
        await worker.waiting_for_browser.wait()
        assert worker.broker_calls == 0 and worker.sign_in_calls == 1
        await until(pilot, lambda: app.screen.query_one("#login-link").display)


async def test_a_chosen_sign_in_flow_is_not_replaced_by_the_broker(tmp_path):
    worker = broker_worker()
    worker.sign_in_flow = "paste"
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, worker)
        await pilot.press("s")
        await worker.waiting_for_browser.wait()
        assert worker.broker_calls == 0


async def test_the_cli_sign_in_is_offered_and_used_only_on_its_key(tmp_path):
    worker = FakeWorker(signed_in=False)
    worker.cli_state = "usable"
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, worker)
        facts = " ".join(str(app.screen.query_one("#login-facts", Static).render()).split())
        assert "CALL-E's own CLI is signed in here" in facts and "press u" in facts
        assert worker.cli_uses == 0  # never used silently
        await pilot.press("u")
        await until(pilot, lambda: app.screen.title == "New call")
        assert worker.cli_uses == 1


@pytest.mark.parametrize("state", ["near_expiry", "other_server", "unreadable", "none"])
async def test_a_cli_sign_in_that_cannot_be_used_is_not_offered(tmp_path, state):
    worker = FakeWorker(signed_in=False)
    worker.cli_state = state
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot, worker)
        assert "CLI" not in str(app.screen.query_one("#login-facts", Static).render())
        await pilot.press("u")
        await pilot.pause()
        assert worker.cli_uses == 0


@pytest.mark.parametrize("size", SIZES)
def test_brokered_sign_in_screen(snap_compare, tmp_path, size):
    worker = broker_worker()

    async def run_before(pilot) -> None:
        await brokered(pilot, worker)
        pilot.app.clear_notifications()

    assert snap_compare(make_shell_app(worker, tmp_path), terminal_size=size, run_before=run_before)


async def test_at_80x24_the_code_the_link_and_the_keys_fit_without_scrolling(tmp_path):
    worker = broker_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await brokered(pilot, worker)
        body = app.screen.query_one("#login-body")
        assert body.max_scroll_y == 0
        for part in ("#broker-qr", "#broker-text"):
            region = app.screen.query_one(part).region
            assert region.height > 0 and region.bottom <= 23, (part, region)
        shot = app.export_screenshot()
        assert "c copies the link" in " ".join(shot.split()) or "copies" in shot


async def test_a_sign_in_ending_soon_brings_up_the_sign_in_screen_and_goes_back_after(tmp_path):
    from calle_tui.core.events import SignInEnding

    worker = broker_worker()
    worker.signed_in = True
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.title == "New call")
        worker.emit(SignInEnding(worker.server_url, worker.clock() + 290, "Your sign-in ends in less than 5 "
                                 "minutes and cannot renew itself. Sign in again now, so nothing is interrupted: press s."))  # fmt: skip
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        reason = str(app.screen.query_one("#login-reason", Static).render())
        assert "cannot renew itself" in reason
        assert app.screen.phase == "idle"  # signed in, yet the sign-in keys are there
        await until(pilot, lambda: app.screen.cli_checked)
        await pilot.press("s")
        await worker.broker_waiting.wait()
        worker.approve_broker()
        await until(pilot, lambda: app.screen.title == "New call")  # back to what the person was doing


async def test_a_reconnect_with_the_ending_sign_in_does_not_take_the_sign_in_screen_away(tmp_path):
    """The worker's (re)connect says SignedIn for the same, ending sign-in: the screen that asks to renew stays."""
    from calle_tui.core.events import SignedIn, SignInEnding

    worker = broker_worker()
    worker.signed_in = True
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.title == "New call" and worker.started.is_set())
        worker.emit(SignInEnding(worker.server_url, worker.clock() + 290, "Your sign-in ends in less than 5 "
                                 "minutes and cannot renew itself. Sign in again now: press s."))  # fmt: skip
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        worker.emit(SignedIn(worker.server_url, worker.clock() + 290, "memory", ""))
        for _ in range(5):
            await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert "cannot renew itself" in str(app.screen.query_one("#login-reason", Static).render())


async def test_a_step_up_started_away_from_the_sign_in_screen_shows_its_link_there(tmp_path):
    from fakes_shell import AUTHORIZE_URL

    from calle_tui.core.events import SignInProgress

    worker = FakeWorker(signed_in=True)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.title == "New call")
        # A request needed more scopes: the worker's own re-authorisation waits for the browser.
        worker.emit(SignInProgress("waiting_for_browser", "paste", authorize_url=AUTHORIZE_URL))
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await until(pilot, lambda: app.screen.query_one("#login-link").display)
        assert AUTHORIZE_URL in str(app.screen.query_one("#login-link", Static).render())
        assert app.screen.query_one("#paste-input").display  # over SSH the address comes back by paste
        assert "more permissions" in str(app.screen.query_one("#login-reason", Static).render())
        assert app.screen.query_one("#login-reason").region.height > 0
        assert app.screen.query_one("#login-body").max_scroll_y == 0  # all of it fits 80x24
        worker.emit(SignInProgress("done", "paste"))
        await until(pilot, lambda: app.screen.title == "New call")  # back where the person was
