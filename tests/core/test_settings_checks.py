"""Which server: an empty, malformed or out-of-range address, an unknown config key or a config file that is a
folder is an error naming the setting and its source, never silently production; before anything is drawn."""

from __future__ import annotations

import pytest

from calle_tui.commands.cli import main
from calle_tui.core.config.peek import KNOWN_SETTINGS
from calle_tui.core.config.settings import Settings, SettingsError, load_settings


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("CALLE_TUI_URL", raising=False)
    monkeypatch.delenv("CALLE_TUI_CONFIG", raising=False)
    folder = tmp_path / "config" / "calle-tui"
    folder.mkdir(parents=True)
    return folder


def test_the_cheap_list_of_settings_is_the_settings():
    assert KNOWN_SETTINGS == set(Settings.model_fields)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        ("http://[::1", "not a valid address"),
        ("http://127.0.0.1:99999/mcp", "not a valid address"),
        ("ftp://example.com/mcp", "not an http(s) address"),
    ],
)
def test_a_bad_address_on_the_command_line_is_one_sentence(home, capsys, url, says):
    assert main(["--url", url]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and "\x1b[?1049h" not in err  # nothing was drawn
    with pytest.raises(SettingsError, match="from the command line"):
        load_settings(url=url)


def test_a_typo_in_the_config_file_is_named_and_nothing_is_drawn(home, capsys):
    (home / "config.toml").write_text('ulr = "http://127.0.0.1:8765/mcp"\n')
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "unknown setting 'ulr'" in captured.err and captured.out == ""
    assert main(["doctor"]) == 2
    assert "unknown setting 'ulr'" in capsys.readouterr().err


def test_a_config_file_that_is_a_folder_is_an_error(home, capsys):
    (home / "config.toml").mkdir()
    assert main([]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_a_bad_address_in_the_config_or_environment_names_its_source(home, monkeypatch):
    (home / "config.toml").write_text('url = "http://[::1"\n')
    with pytest.raises(SettingsError, match=r"from the config file .*config\.toml is not valid"):
        load_settings()
    monkeypatch.setenv("CALLE_TUI_URL", "   ")
    with pytest.raises(SettingsError, match="from the environment variable CALLE_TUI_URL"):
        load_settings()
