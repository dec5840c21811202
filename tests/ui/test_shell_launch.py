"""commands/launch.py: settings layering, the demo sandbox process, and plain-sentence failures."""

from __future__ import annotations

import argparse
import asyncio
import urllib.request

import pytest

from calle_tui.commands.cli import build_parser
from calle_tui.commands.launch import DemoSandbox, _read_ready, build_settings, check_url, run_app
from calle_tui.ui.deferred import BootError


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_command_line_beats_environment_beats_config_file(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('url = "https://from-file.invalid/mcp"\nlogin = "paste"\n', encoding="utf-8")
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(config))
    assert build_settings(args()).url == "https://from-file.invalid/mcp"
    monkeypatch.setenv("CALLE_TUI_URL", "https://from-env.invalid/mcp")
    settings = build_settings(args())
    assert settings.url == "https://from-env.invalid/mcp" and settings.login == "paste"
    settings = build_settings(args("--url", "https://from-cli.invalid/mcp", "--login", "loopback"))
    assert settings.url == "https://from-cli.invalid/mcp" and settings.login == "loopback"
    assert build_settings(args("--insecure-storage")).insecure_storage is True


def test_bad_settings_are_a_sentence(tmp_path, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text("login = 'telepathy'\n", encoding="utf-8")
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(config))
    with pytest.raises(BootError, match=r"'login' from the config file .* is not valid"):
        build_settings(args())
    from calle_tui.ui.app import CalleApp

    real_run_async = CalleApp.run_async
    headless_runs: list[bool] = []

    async def headless_run_async(self, **kwargs):
        # The whole launch path, but never on the test's terminal, and never longer than a deadline.
        headless_runs.append(True)
        kwargs.update(headless=True, size=(80, 24))
        return await asyncio.wait_for(real_run_async(self, **kwargs), timeout=30)

    monkeypatch.setattr(CalleApp, "run_async", headless_run_async)
    assert run_app(args()) == 2
    assert headless_runs == [True]  # the app did start: the setting is refused after the first paint
    err = capsys.readouterr().err
    assert "calle-tui: The setting 'login' from the config file" in err and "Traceback" not in err


def test_a_url_that_is_not_http_is_refused(capsys):
    with pytest.raises(BootError, match="not an http"):
        check_url("ftp://example.invalid/mcp")
    assert run_app(args("--url", "not a url")) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_ready_file_gets_the_mcp_path(tmp_path):
    ready = tmp_path / "ready"
    assert _read_ready(ready) is None
    ready.write_text("http://127.0.0.1:", encoding="utf-8")  # half written: not yet
    assert _read_ready(ready) is None
    ready.write_text("http://127.0.0.1:4567\n", encoding="utf-8")
    assert _read_ready(ready) == "http://127.0.0.1:4567/mcp"


def test_demo_sandbox_starts_answers_and_stops():
    demo = DemoSandbox.start()
    try:
        demo.wait_ready(60)
        assert demo.url.startswith("http://127.0.0.1:") and demo.url.endswith("/mcp")
        base = demo.url.rsplit("/mcp", 1)[0]
        with urllib.request.urlopen(base + "/.well-known/oauth-authorization-server", timeout=10) as response:
            assert response.status == 200
    finally:
        demo.stop()
    assert demo.process.poll() is not None
    assert not demo.folder.exists()
