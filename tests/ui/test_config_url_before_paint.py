"""A bad `url` in the config file or CALLE_TUI_URL is refused with one sentence naming the setting and where
it came from, before anything is drawn: never the production sign-in screen first."""

from __future__ import annotations

import pytest

from calle_tui.commands.cli import build_parser
from calle_tui.commands.launch import run_app
from calle_tui.ui.app import CalleApp


def no_app_may_start(monkeypatch) -> list[bool]:
    started: list[bool] = []

    async def refuse(self, **kwargs):
        started.append(True)

    monkeypatch.setattr(CalleApp, "run_async", refuse)
    return started


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("url = 5", "must be an address in quotes"),
        ("url = ['https://a.example/mcp']", "must be an address in quotes"),
        ("url = 'ftp://x.example/mcp'", "is not an http(s) address"),
        ("url = ''", "the address is empty"),
    ],
)
def test_a_bad_url_in_the_config_file_is_refused_before_the_first_paint(tmp_path, monkeypatch, capsys, line, said):
    config = tmp_path / "config.toml"
    config.write_text(line + "\n", encoding="utf-8")
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(config))
    started = no_app_may_start(monkeypatch)
    assert run_app(build_parser().parse_args([])) == 2
    assert started == []
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"calle-tui: The setting 'url' from the config file {config}") and said in err
    assert "pydantic" not in err and "errors.pydantic.dev" not in err and err.count("\n") == 0


def test_a_bad_url_in_the_environment_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("CALLE_TUI_URL", "ftp://x.example/mcp")
    started = no_app_may_start(monkeypatch)
    assert run_app(build_parser().parse_args([])) == 2
    assert started == []
    assert "The setting 'url' from the environment variable CALLE_TUI_URL" in capsys.readouterr().err


def test_a_bad_url_on_the_command_line_names_it(monkeypatch, capsys):
    started = no_app_may_start(monkeypatch)
    assert run_app(build_parser().parse_args(["--url", "http://[::1"])) == 2
    assert started == []
    assert "calle-tui: The setting 'url' from the command line (--url)" in capsys.readouterr().err
