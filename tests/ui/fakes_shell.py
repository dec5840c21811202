"""Records and app builders for the shell's tests (login, history, help): no network, fixed clock and ids.
The worker they talk to is the one fake, fake_worker.FakeWorker (its sign-in follows the real worker's)."""

from __future__ import annotations

from datetime import UTC

from fake_worker import (  # noqa: F401 - re-exported for the shell's tests
    AUTHORIZE_URL,
    CALLBACK_PORT,
    FIXED_NOW,
    SERVER_URL,
    STATE,
    FakeWorker,
    fixed_clock,
)

from calle_tui.core.worker_api import RunRecord


def sample_records() -> list[RunRecord]:
    """Four runs of different outcomes, newest first, one of them an attempt whose outcome is unknown."""
    base = FIXED_NOW
    return [
        RunRecord(
            "run-0004",
            "plan-0004",
            SERVER_URL,
            base - 60,
            ("+14155550100",),
            "Ask if the pharmacy is open on Sunday and until what time",
            "in_progress",
            False,
        ),
        RunRecord(
            None,
            "plan-0003",
            SERVER_URL,
            base - 3600,
            ("+442071838750",),
            "Confirm the delivery window for order 5512",
            "",
            False,
            attempt="outcome_unknown",
        ),
        RunRecord(
            "run-0002",
            "plan-0002",
            SERVER_URL,
            base - 86400,
            ("+14155550102", "+14155550112"),
            "Book a table for two at 7 pm",
            "completed",
            True,
            summary="Booked a table for two at 19:00.",
        ),
        RunRecord(
            "run-0001",
            "plan-0001",
            SERVER_URL,
            base - 2 * 86400,
            ("+61291234567",),
            "Reschedule the dentist appointment to next week",
            "no_answer",
            True,
            summary="Nobody answered.",
        ),
    ]


def make_settings(tmp_path):
    from calle_tui.core.config.settings import Settings

    return Settings(url=SERVER_URL, state_path=tmp_path / "state")


def make_app(worker: FakeWorker, tmp_path, **kwargs):
    """A CalleApp with the determinism contract: fixed clock, UTC, no cursor blink."""
    from calle_tui.ui.app import CalleApp

    app = CalleApp(make_settings(tmp_path), worker, clock=fixed_clock, display_tz=UTC, **kwargs)
    app.cursor_blink = False
    return app


def shell_app_class():
    """CalleApp with a stand-in for the composer (whose layout its own tests cover), so the shell's tests do
    not depend on it; History opens the real monitor."""
    from textual.app import ComposeResult
    from textual.screen import Screen
    from textual.widgets import Footer, Static

    from calle_tui.ui.app import CalleApp

    class StubComposer(Screen):
        def __init__(self) -> None:
            super().__init__()
            self.title = "New call"

        def compose(self) -> ComposeResult:
            yield Static("composer placeholder", id="stub-composer")
            yield Footer()

    class ShellTestApp(CalleApp):
        def new_composer(self):
            return StubComposer()

    return ShellTestApp, StubComposer


def make_shell_app(worker: FakeWorker, tmp_path, **kwargs):
    app_class, _composer = shell_app_class()
    app = app_class(make_settings(tmp_path), worker, clock=fixed_clock, display_tz=UTC, **kwargs)
    app.cursor_blink = False
    return app


async def until(pilot, predicate, rounds: int = 500) -> None:
    """Let the app process messages until `predicate()` holds (bounded by rounds, not by wall time)."""
    for _ in range(rounds):
        if predicate():
            return
        await pilot.pause()
    assert predicate(), "condition not reached"
