"""The confirmation modal: Enter alone never confirms; the digits plus a distinct key or button do, once."""

from __future__ import annotations

from fakes_runs import FakeClock, ready_plan
from textual.app import App
from textual.screen import Screen
from textual.widgets import Button, Input, Static

from calle_tui.ui.screens.confirm import ConfirmCallModal

SIZE = (80, 24)


class ModalHost(App):
    """Pushes the modal over an empty screen and records what it returns."""

    def __init__(self, plan, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.clock = clock or FakeClock()
        self.display_tz = None
        self.cursor_blink = False
        self.plan = plan
        self.results: list[bool | None] = []
        self.modal: ConfirmCallModal | None = None

    def on_mount(self) -> None:
        self.push_screen(Screen())
        self.modal = ConfirmCallModal(self.plan)
        self.push_screen(self.modal, callback=self.results.append)


def message(app) -> str:
    return str(app.modal.query_one("#confirm-message", Static).render())


async def test_cancel_has_focus_and_enter_cancels_without_calling():
    app = ModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused is app.modal.query_one("#confirm-cancel", Button)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == [False]


async def test_enter_in_the_digits_box_never_confirms():
    app = ModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"0123")
        assert app.modal.query_one("#confirm-digits", Input).has_focus
        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        assert app.results == []
        assert "Enter alone does not call" in message(app)
        assert not app.modal.query_one("#confirm-place", Button).disabled


async def test_wrong_digits_keep_the_call_locked():
    app = ModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"9999", "ctrl+y")
        await pilot.pause()
        assert app.results == []
        assert app.modal.query_one("#confirm-place", Button).disabled
        assert "not the last digits" in message(app)


async def test_digits_then_place_button_confirms_once():
    app = ModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"0123", "tab")  # the Place call button comes right after the digits
        place = app.modal.query_one("#confirm-place", Button)
        assert place.has_focus
        await pilot.press("enter", "enter")
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.results == [True]


async def test_escape_cancels():
    app = ModalHost(ready_plan())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"0123", "escape")
        await pilot.pause()
        assert app.results == [False]


async def test_expired_plan_cannot_be_confirmed():
    clock = FakeClock()
    app = ModalHost(ready_plan(expires_in=30), clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"01")
        clock.advance(60)
        await pilot.press(*"23", "ctrl+y")
        await pilot.pause()
        assert app.results == []
        assert app.modal.expired
        assert "expired" in message(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [False]


async def test_several_numbers_use_the_first_and_show_all():
    app = ModalHost(ready_plan(phones=("+442079460958", "+14155550123")))
    async with app.run_test(size=SIZE) as pilot:
        details = str(app.modal.query_one("#confirm-details", Static).render())
        assert "+44 20 7946 0958 (United Kingdom)" in details and "+1 415-555-0123" in details
        await pilot.press(*"0123", "ctrl+y")  # the second number's digits do not unlock
        await pilot.pause()
        assert app.results == []
        app.modal.query_one("#confirm-digits", Input).value = ""
        await pilot.press(*"0958", "ctrl+y")
        await pilot.pause()
        assert app.results == [True]
