"""Write current SVG screenshots of each main screen to screenshots/ (80x24 by default).

    .venv/bin/python scripts/screenshots.py [--size 80x24] [--out screenshots]

Screens run inside the real CalleApp against the tests' scripted fake workers (tests/ui/fakes_*.py): fixed
clock, UTC, fixed ids, no network, no toasts. Convert for viewing with `rsvg-convert x.svg -o x.png`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))


async def until(pilot, predicate, rounds: int = 500) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await pilot.pause()
    raise RuntimeError("the screen never reached the state to photograph")


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


def runs_app(tmp: Path, worker):
    from fakes_shell import fixed_clock, make_settings

    from calle_tui.ui.app import CalleApp

    app = CalleApp(make_settings(tmp), worker, clock=fixed_clock, display_tz=UTC)
    app.cursor_blink = False
    return app


async def main(size: tuple[int, int], out: Path) -> None:
    import fakes_runs
    from fakes_shell import FakeShellWorker, make_shell_app, sample_records

    from calle_tui.ui.screens.help import HelpScreen
    from calle_tui.ui.screens.history import HistoryScreen

    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="calle-shots-"))

    # Login, with a sign-in waiting for the browser.
    worker = FakeShellWorker()

    async def login(pilot) -> None:
        await until(pilot, lambda: worker.started.is_set() and pilot.app.screen.heard_back)
        await pilot.press("s")
        await worker.waiting_for_browser.wait()
        await until(pilot, lambda: pilot.app.screen.authorize_url is not None)

    await shoot(make_shell_app(worker, tmp / "login"), size, out / "login.svg", login)

    # History and help, from a journal with a few runs.
    history_worker = FakeShellWorker(signed_in=True, records=sample_records())

    async def history(pilot) -> None:
        await until(pilot, lambda: history_worker.started.is_set())
        await pilot.app.run_action("history")
        await until(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen) and pilot.app.screen.is_mounted)

    await shoot(make_shell_app(history_worker, tmp / "history"), size, out / "history.svg", history)
    history_worker = FakeShellWorker(signed_in=True, records=sample_records())

    async def help_screen(pilot) -> None:
        await history(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen) and pilot.app.screen.is_mounted)

    await shoot(make_shell_app(history_worker, tmp / "help"), size, out / "help.svg", help_screen)

    # Composer with a ready plan, then the confirmation modal (the real run screens).
    request = "Call +14155550123 in English and book a table for two at 7 pm today."

    async def composer(pilot) -> None:
        await until(pilot, lambda: pilot.app.screen.is_mounted and pilot.app.screen.query("#composer-request"))
        area = pilot.app.screen.query_one("#composer-request")
        area.load_text(request)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: getattr(pilot.app.screen, "plan", None) is not None)

    await shoot(runs_app(tmp / "composer", fakes_runs.FakeRunsWorker([fakes_runs.ready_plan()])), size,
                out / "composer.svg", composer)

    async def confirm(pilot) -> None:
        await composer(pilot)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmCallModal" and pilot.app.screen.is_mounted)

    await shoot(runs_app(tmp / "confirm", fakes_runs.FakeRunsWorker([fakes_runs.ready_plan()])), size,
                out / "confirm.svg", confirm)

    # Monitor, part way through a call.
    monitor_worker = fakes_runs.FakeRunsWorker()

    async def monitor(pilot) -> None:
        from calle_tui.ui.screens.monitor import MonitorScreen

        await until(pilot, lambda: pilot.app.screen.is_mounted)
        screen = MonitorScreen(monitor_worker, fakes_runs.RUN_ID, fakes_runs.record("in_progress"))
        await pilot.app.push_screen(screen)
        await until(pilot, lambda: screen.is_mounted)
        monitor_worker.emit(fakes_runs.update("ringing", "waiting", entries=fakes_runs.activity(3), next_poll_in=7))
        monitor_worker.emit(fakes_runs.update("in_progress", "waiting", entries=fakes_runs.speech(3), next_poll_in=7))
        await pilot.pause()

    await shoot(runs_app(tmp / "monitor", monitor_worker), size, out / "monitor.svg", monitor)


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
