"""`calle-tui --demo`: it signs in by itself (as the README promises), its sign-in screen shows no paste field
and no keyring warning (neither applies to its own sandbox), and its confirmation says it is the sandbox and
that nothing rings, behind the same deliberate gate as a real call."""

from __future__ import annotations

import random
from datetime import UTC

import pytest
from fake_worker import FakeWorker
from fakes_shell import make_shell_app, until
from test_confirm import ModalHost, ready_plan
from textual.widgets import Static

from calle_tui.ui.screens.login import LoginScreen

SIZE = (80, 24)


def visible_text(screen) -> str:
    return "\n".join(str(w.render()) for w in screen.query(Static) if w.display and w.parent.display)


class DemoModalHost(ModalHost):
    demo = True


async def test_the_demo_confirmation_says_sandbox_and_nothing_rings_with_the_same_gate():
    app = DemoModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        title = str(app.modal.query_one("#confirm-title", Static).render())
        assert "sandbox" in title.lower() and "no phone rings" in title and "REAL" not in title
        await pilot.press("ctrl+y")  # the gate is unchanged: no digits, no call
        await pilot.pause()
        assert app.results == []
    app = DemoModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"0123", "ctrl+y")
        await pilot.pause()
        assert app.results == [True]


async def test_outside_the_demo_the_confirmation_still_says_real():
    app = ModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "REAL phone call" in str(app.modal.query_one("#confirm-title", Static).render())


async def test_the_demo_sign_in_screen_signs_in_by_itself_without_paste_field_or_keyring_warning(tmp_path):
    worker = FakeWorker(signed_in=False, storage="memory", flow="auto-follow")
    app = make_shell_app(worker, tmp_path, demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: worker.waiting_for_browser.is_set())  # no key pressed
        login = app.screen
        assert isinstance(login, LoginScreen)
        assert not login.query_one("#paste-box").display
        text = visible_text(login)
        assert "⚠" not in text and "sign in again next time" not in text
        await pilot.press("p")  # no field to go to
        assert not login.query_one("#paste-input").has_focus
        assert worker.sign_in_calls == 1


async def test_outside_the_demo_the_sign_in_screen_waits_for_s(tmp_path):
    worker = FakeWorker(signed_in=False, storage="memory")
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.heard_back)
        await pilot.pause()
        assert worker.sign_in_calls == 0
        assert app.screen.query_one("#paste-box").display


async def test_the_demo_reaches_the_composer_against_its_sandbox_with_no_key(sandbox_factory, tmp_path):
    from calle_tui.core.auth.secret_store import MemoryStore
    from calle_tui.core.config.settings import Settings
    from calle_tui.core.worker import CalleWorker
    from calle_tui.ui.app import CalleApp

    sim = sandbox_factory(auto_approve=True)
    settings = Settings(url=sim.mcp_url, state_path=tmp_path / "state", login="auto-follow")
    worker = CalleWorker(settings, secret_store=MemoryStore(), rng=random.Random(1), login_flow="auto-follow")
    app = CalleApp(settings, worker, display_tz=UTC, demo=True)
    app.cursor_blink = False
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot, lambda: type(app.screen).__name__ == "ComposerScreen" and app.screen.query("AppHeader"), rounds=3000
        )
        # The header learns the connection from the worker's events: under load that can follow the first paint.
        await until(pilot, lambda: "sandbox 127.0.0.1" in app.screen.query_one("AppHeader").render().plain, rounds=3000)
    await app.close_worker()


# The demo's confirmation differs from test_confirm_snapshots.py's picture only by its title line, which the
# two tests of its words above check; its sign-in screen has a layout of its own.
SNAP_SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SNAP_SIZES)
def test_demo_sign_in_snapshot(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=False, storage="memory", flow="auto-follow")

    async def run_before(pilot) -> None:
        await until(pilot, lambda: worker.waiting_for_browser.is_set())
        await pilot.pause()
        pilot.app.clear_notifications()

    assert snap_compare(make_shell_app(worker, tmp_path, demo=True), terminal_size=size, run_before=run_before)
