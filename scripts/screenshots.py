"""Write current SVG screenshots of each main screen to screenshots/ (80x24 by default).

    .venv/bin/python scripts/screenshots.py [--size 80x24] [--out screenshots]

Every screen runs inside the real CalleApp against one scripted session (a fake worker built on the tests'
fake, tests/ui/fake_worker.py): a local sandbox address, a signed-in user, one request (move a dentist
appointment to Friday, +44 20 7946 0000) planned, confirmed, followed live and finished, and a history of a few
outcomes. The clock is scripted too (UTC, fixed start, moved by hand), so the images are the same on every run
and nothing is contacted. Convert for viewing with `rsvg-convert x.svg -o x.png`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

SANDBOX_URL = "http://127.0.0.1:8765/mcp"  # shown as "sandbox 127.0.0.1:8765"; never contacted
START = datetime(2026, 6, 3, 9, 30, tzinfo=UTC)
PHONE = "+442079460000"
GOAL = "Move my dentist appointment from Thursday to Friday"
REQUEST = (
    "Call my dentist on +44 20 7946 0000 and move my appointment (Alex Morgan, Thursday 10:00) to Friday, "
    "any time before noon."
)
RUN_ID = "run-5c21"
TRANSCRIPT = (
    ("agent", "Hello, I'm calling for Alex Morgan about an appointment on Thursday at 10."),
    ("callee", "Good morning, Bright Smile Dental. Let me find it... yes, Thursday at ten."),
    ("agent", "Could it move to Friday, any time before noon?"),
    ("callee", "Friday at 11:30 is free. Shall I book that?"),
    ("agent", "Yes please, Friday at 11:30. Thank you."),
    ("callee", "Done: Friday the 5th at 11:30. See you then."),
)


class Clock:
    """The app's clock, moved by the script between steps."""

    def __init__(self) -> None:
        self.now = START.timestamp()

    def __call__(self) -> float:
        return self.now

    def iso(self, seconds: float = 0) -> str:
        return (datetime.fromtimestamp(self.now, UTC) + timedelta(seconds=seconds)).isoformat()


def history_records(clock: Clock):
    from calle_tui.core.worker_api import RunRecord

    day = 86400
    return [
        RunRecord(
            RUN_ID,
            "plan-0005",
            SANDBOX_URL,
            clock.now - 600,
            (PHONE,),
            GOAL,
            "completed",
            True,
            summary="Moved to Friday 5 June at 11:30.",
        ),
        RunRecord(
            "run-4b10",
            "plan-0004",
            SANDBOX_URL,
            clock.now - 3 * 3600,
            ("+14155550100",),
            "Ask if the pharmacy is open on Sunday and until what time",
            "no_answer",
            True,
            summary="Nobody answered after 30 seconds.",
        ),
        RunRecord(
            None,
            "plan-0003",
            SANDBOX_URL,
            clock.now - day,
            ("+442071838750",),
            "Confirm the delivery window for order 5512",
            "unknown",
            False,
        ),
        RunRecord(
            "run-2a07",
            "plan-0002",
            SANDBOX_URL,
            clock.now - 2 * day,
            ("+14155550102",),
            "Book a table for two at 7 pm",
            "completed",
            True,
            summary="Booked a table for two at 19:00.",
        ),
        RunRecord(
            "run-1e55",
            "plan-0001",
            SANDBOX_URL,
            clock.now - 3 * day,
            ("+61291234567",),
            "Ask the garage when the car will be ready",
            "voicemail",
            True,
            summary="Reached voicemail; no message was left.",
        ),
    ]


def session_worker(clock: Clock, *, signed_in: bool = True):
    """One consistent session: the shell's fake (sign-in, history) plus this script's plan and run."""
    import fake_worker
    from fake_worker import FakeWorker

    from calle_tui.core.wire.contract import NextStep, PlanCallResult, PlanDetails, RunCallResult

    # The fake's sign-in link names its server: make it the same sandbox.
    fake_worker.AUTHORIZE_URL = fake_worker.AUTHORIZE_URL.replace("https://calle.invalid", "http://127.0.0.1:8765")

    class SessionWorker(FakeWorker):
        async def plan(self, request):
            return PlanCallResult(
                plan_id="plan-0005",
                ready_to_run=True,
                confirm_token="(not shown)",
                message="The plan is ready. Review it, then confirm to place the call.",
                plan=PlanDetails(to_phones=[PHONE], goal=GOAL, language="English", region="GB"),
                expires_at=clock.iso(900),
                next_step=NextStep(action="confirm_and_run"),
            )

        async def run(self, plan_id, confirm_token):
            return RunCallResult(run_id=RUN_ID, status="queued")

    worker = SessionWorker(signed_in=signed_in, records=history_records(clock))
    worker.server_url = SANDBOX_URL
    return worker


def session_app(tmp: Path, worker, clock: Clock):
    from fakes_shell import make_settings

    from calle_tui.ui.app import CalleApp

    app = CalleApp(make_settings(tmp), worker, clock=clock, display_tz=UTC)
    app.cursor_blink = False
    return app


async def shoot(app, size: tuple[int, int], path: Path, steps) -> None:
    async with app.run_test(size=size) as pilot:
        await steps(pilot)
        await pilot.pause()
        app.clear_notifications()
        await pilot.pause()
        path.write_text(app.export_screenshot(), encoding="utf-8")
        close = getattr(app, "close_worker", None)
        if close is not None:
            await close()
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def speech_entries(clock: Clock, first: int, count: int):
    from calle_tui.core.wire.contract import ActivityEntry

    return tuple(
        ActivityEntry(id=f"s{i}", at=clock.iso(-40 + 6 * i), type="speech", speaker=TRANSCRIPT[i][0], text=TRANSCRIPT[i][1])
        for i in range(first, first + count)
    )


def progress_entries(clock: Clock):
    from calle_tui.core.wire.contract import ActivityEntry

    steps = [
        ("status", "Call queued", -75),
        ("dialing", "Dialing +44 20 7946 0000", -70),
        ("status", "Ringing", -62),
        ("status", "Answered", -50),
    ]
    return tuple(
        ActivityEntry(id=f"a{i}", at=clock.iso(at), type=kind, text=text) for i, (kind, text, at) in enumerate(steps)
    )


async def main(size: tuple[int, int], out: Path) -> None:
    from fakes_shell import until  # fails with "condition not reached" when a screen never gets there

    from calle_tui.core.events import RunFinished, RunUpdate
    from calle_tui.core.wire.contract import GetCallRunResult, NextStep, TranscriptTurn
    from calle_tui.ui.screens.help import HelpScreen
    from calle_tui.ui.screens.history import HistoryScreen
    from calle_tui.ui.screens.monitor import MonitorScreen

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="calle-shots-"))

    # Login, with a sign-in waiting for the browser.
    clock = Clock()
    worker = session_worker(clock, signed_in=False)

    async def login(pilot) -> None:
        await until(pilot, lambda: worker.started.is_set() and getattr(pilot.app.screen, "heard_back", False))
        await pilot.press("s")
        await worker.waiting_for_browser.wait()
        await until(pilot, lambda: pilot.app.screen.authorize_url is not None)

    await shoot(session_app(tmp / "login", worker, clock), size, out / "login.svg", login)

    # The composer with a ready plan, then the confirmation with the digits typed.
    def composer_steps(worker):
        async def composer(pilot) -> None:
            await until(pilot, lambda: worker.started.is_set() and pilot.app.screen.query("#composer-request"))
            pilot.app.screen.query_one("#composer-request").load_text(REQUEST)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: getattr(pilot.app.screen, "plan", None) is not None)
            await pilot.pause()

        return composer

    clock = Clock()
    worker = session_worker(clock)
    await shoot(session_app(tmp / "composer", worker, clock), size, out / "composer.svg", composer_steps(worker))

    def confirm_steps(worker):
        async def confirm(pilot) -> None:
            await composer_steps(worker)(pilot)
            await pilot.press("ctrl+r")
            await until(
                pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmCallModal" and pilot.app.screen.is_mounted
            )
            await pilot.press(*"0000")
            await until(pilot, lambda: not pilot.app.screen.query_one("#confirm-place").disabled)

        return confirm

    clock = Clock()
    worker = session_worker(clock)
    await shoot(session_app(tmp / "confirm", worker, clock), size, out / "confirm.svg", confirm_steps(worker))

    # The call, placed from that confirmation: live part way through, then finished.
    def monitor_steps(worker, clock: Clock, *, finish: bool):
        async def monitor(pilot) -> None:
            await confirm_steps(worker)(pilot)
            await pilot.press("ctrl+y")
            await until(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen) and pilot.app.screen.is_mounted)
            clock.now += 80  # the call has been going for a while
            update = RunUpdate(
                run_id=RUN_ID,
                status="in_progress",
                poll_state="waiting",
                new_activity=progress_entries(clock) + speech_entries(clock, 0, 4),
                next_poll_at=clock.now + 6,
                result=GetCallRunResult(run_id=RUN_ID, status="in_progress", terminal=False),
            )
            worker.emit(update)
            await until(pilot, lambda: pilot.app.screen.status == "in_progress")
            if finish:
                clock.now += 16
                turns = [
                    TranscriptTurn(at=clock.iso(-56 + 6 * i), speaker=who, text=text)
                    for i, (who, text) in enumerate(TRANSCRIPT)
                ]
                result = GetCallRunResult(
                    run_id=RUN_ID,
                    status="completed",
                    terminal=True,
                    summary="The appointment moved from Thursday 10:00 to Friday 5 June at 11:30.",
                    details={"new_time": "Friday 5 June, 11:30"},
                    transcript=turns,
                    next_step=NextStep(action="done", message="Nothing more to do."),
                )
                worker.emit(RunFinished(run_id=RUN_ID, status="completed", result=result, transcript=tuple(turns)))
                await until(pilot, lambda: pilot.app.screen.view.terminal)
            await pilot.pause()

        return monitor

    clock = Clock()
    worker = session_worker(clock)
    await shoot(
        session_app(tmp / "monitor", worker, clock), size, out / "monitor.svg", monitor_steps(worker, clock, finish=False)
    )
    clock = Clock()
    worker = session_worker(clock)
    await shoot(
        session_app(tmp / "monitor-finished", worker, clock),
        size,
        out / "monitor-finished.svg",
        monitor_steps(worker, clock, finish=True),
    )

    # History of a few outcomes (the call above at the top), and the help on it.
    def history_steps(worker):
        async def history(pilot) -> None:
            await until(pilot, lambda: worker.started.is_set())
            await pilot.app.run_action("history")
            await until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen) and pilot.app.screen.is_mounted)
            await pilot.pause()

        return history

    clock = Clock()
    worker = session_worker(clock)
    await shoot(session_app(tmp / "history", worker, clock), size, out / "history.svg", history_steps(worker))

    def help_steps(worker):
        async def help_screen(pilot) -> None:
            await history_steps(worker)(pilot)
            await pilot.press("f1")
            await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen) and pilot.app.screen.is_mounted)

        return help_screen

    clock = Clock()
    worker = session_worker(clock)
    await shoot(session_app(tmp / "help", worker, clock), size, out / "help.svg", help_steps(worker))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Write SVG screenshots of calle-tui's screens.")
    parser.add_argument("--size", default="80x24", help="WIDTHxHEIGHT")
    parser.add_argument("--out", default=str(ROOT / "screenshots"))
    ns = parser.parse_args()
    width, height = (int(v) for v in ns.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="calle-shots-xdg-") as xdg:
        for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
            os.environ[name] = str(Path(xdg) / name.lower())
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        for name in ("SSH_CONNECTION", "SSH_TTY", "DISPLAY", "WAYLAND_DISPLAY", "CALLE_TUI_URL", "CALLE_TUI_CONFIG"):
            os.environ.pop(name, None)
        asyncio.run(main((width, height), Path(ns.out)))
