"""First paint: the first screen draws before the settings and the worker exist, and nothing heavy is imported
to draw it. (benchmarks/bench_first_paint.py measures the time; these tests pin the behaviour.)"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC

import pytest
from fake_worker import FakeWorker
from fakes_shell import SERVER_URL, fixed_clock, make_settings, until

from calle_tui import PRODUCTION_URL
from calle_tui.commands.cli import build_parser
from calle_tui.commands.launch import build_settings, peek_url
from calle_tui.core.events import SignInNeeded
from calle_tui.ui.deferred import Booted, BootError, DeferredWorker


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_the_first_screen_imports_neither_pydantic_nor_the_worker():
    code = (
        "import sys\n"
        "import calle_tui.commands.cli, calle_tui.commands.launch, calle_tui.ui.app, calle_tui.ui.deferred\n"
        "import calle_tui.ui.bridge, calle_tui.ui.screens.login, calle_tui.core.events, calle_tui.core.worker_api\n"
        "heavy = ('pydantic', 'pydantic_settings', 'calle_tui.core.wire.contract', 'calle_tui.core.config.settings',\n"
        "         'calle_tui.core.worker', 'mcp', 'httpx2')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_the_first_screen_leaves_the_worker_events_for_later():
    # Building the event classes costs ~6 ms; they are needed only once the worker speaks, after the paint.
    code = (
        "import sys\n"
        "import calle_tui.commands.cli, calle_tui.commands.launch, calle_tui.ui.app, calle_tui.ui.deferred\n"
        "import calle_tui.ui.bridge, calle_tui.ui.screens.login\n"
        "print('calle_tui.core.events' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


async def test_the_login_screen_paints_before_settings_and_worker_are_built(tmp_path):
    from calle_tui.ui.app import CalleApp
    from calle_tui.ui.screens.login import LoginScreen

    seen_at_build: list[tuple[bool, int]] = []
    fake = FakeWorker(signed_in=False)
    settings = make_settings(tmp_path)

    def build() -> Booted:
        screen = app.screen
        painted = isinstance(screen, LoginScreen) and screen.is_mounted
        seen_at_build.append((painted, screen.query_one("#paste-input").region.height if painted else 0))
        return Booted(settings, fake, drafts=None)

    deferred = DeferredWorker(build, SERVER_URL)
    app = CalleApp(boot=deferred, clock=fixed_clock, display_tz=UTC)
    app.cursor_blink = False
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.heard_back)
        assert seen_at_build == [(True, 1)]  # built once, after the login screen was laid out
        assert app.settings is settings and deferred.booted is not None
        assert fake.started.is_set()
        # Events of the real worker reach subscribers made before it existed (the app's and the screen's).
        fake.emit(SignInNeeded(SERVER_URL, "Your session expired. Sign in again."))
        await until(pilot, lambda: "session expired" in app.screen.reason)


async def test_settings_that_are_not_valid_end_the_app_with_a_sentence(tmp_path, monkeypatch):
    from calle_tui.ui.app import CalleApp

    config = tmp_path / "config.toml"
    config.write_text("login = 'telepathy'\n", encoding="utf-8")
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(config))

    def build() -> Booted:
        build_settings(args())
        raise AssertionError("the settings should have been refused")

    app = CalleApp(boot=DeferredWorker(build, PRODUCTION_URL), clock=fixed_clock, display_tz=UTC)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 2
    assert app.crash_note.startswith("calle-tui: The setting 'login' from the config file")
    assert "Traceback" not in app.crash_note


async def test_the_stand_in_before_and_after_building(tmp_path):
    fake = FakeWorker(signed_in=True)
    builds: list[int] = []

    def build() -> Booted:
        builds.append(1)
        return Booted(make_settings(tmp_path), fake)

    deferred = DeferredWorker(build, "http://from-the-command-line.invalid/mcp")

    def broken(event: object) -> None:
        raise RuntimeError("a broken subscriber")

    deferred.subscribe(broken)  # must not keep events from the next subscriber
    events: list[object] = []
    unsubscribe = deferred.subscribe(events.append)
    status = deferred.auth_status()
    assert (status.server_url, status.signed_in, status.storage) == (deferred.server_url, False, "")
    await deferred.close()  # closing before anything was built builds nothing
    assert builds == [] and not fake.closed

    assert deferred.history() == []  # any other call builds the real worker, once
    assert deferred.auth_status().signed_in and deferred.server_url == SERVER_URL
    await deferred.start()
    assert builds == [1]
    # What the real worker says on a start with saved tokens: connecting, connected, its tools, signed in.
    assert [type(e).__name__ for e in events] == ["ConnectionChanged", "ConnectionChanged", "ToolsListed", "SignedIn"]
    unsubscribe()
    fake.emit(SignInNeeded(SERVER_URL))
    assert len(events) == 4  # unsubscribed: no more
    await deferred.close()
    assert fake.closed
    with pytest.raises(AttributeError):
        deferred._private  # noqa: B018 - private names are never forwarded


def test_peek_url_reads_the_address_as_settings_do(tmp_path, monkeypatch):
    assert peek_url(args()) == PRODUCTION_URL == build_settings(args()).url
    config = tmp_path / "config.toml"
    config.write_text('url = "https://from-file.invalid/mcp"\n', encoding="utf-8")
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(config))
    assert peek_url(args()) == "https://from-file.invalid/mcp" == build_settings(args()).url
    monkeypatch.setenv("CALLE_TUI_URL", "https://from-env.invalid/mcp")
    assert peek_url(args()) == "https://from-env.invalid/mcp" == build_settings(args()).url
    cli = args("--url", "https://from-cli.invalid/mcp")
    assert peek_url(cli) == "https://from-cli.invalid/mcp" == build_settings(cli).url
    monkeypatch.delenv("CALLE_TUI_URL")
    config.write_text("url = [not toml", encoding="utf-8")  # Settings reports it; the peek just moves on
    assert peek_url(args()) == PRODUCTION_URL
    with pytest.raises(BootError, match="could not be read"):
        build_settings(args())
