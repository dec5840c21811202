"""Where the config file is, and the endpoint address the environment or that file names, read without pydantic.

The first screen shows the address before Settings is built (pydantic costs tens of milliseconds of imports);
Settings stays the authority and reads the same file: settings.py takes `config_file` from here.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

from calle_tui import PRODUCTION_URL

APP_NAME = "calle-tui"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def config_file() -> Path:
    return Path(os.environ.get("CALLE_TUI_CONFIG") or config_dir() / "config.toml")


def configured_url() -> str:
    """CALLE_TUI_URL, else the config file's `url`, else the production address. A config file that cannot be
    read gives the production address here: Settings reports it with a sentence once built."""
    return configured_url_and_source()[0]


def configured_url_and_source() -> tuple[str, str]:
    """The address as configured_url() finds it, and where it came from in words ("" for the default), so a
    bad one is refused with a sentence naming its source."""
    env = os.environ.get("CALLE_TUI_URL")
    if env is None:  # pydantic-settings matches variable names case-insensitively
        env = next((v for k, v in os.environ.items() if k.upper() == "CALLE_TUI_URL"), None)
    if env is not None:
        return env, "the environment variable CALLE_TUI_URL"
    try:
        with open(config_file(), "rb") as handle:
            url = tomllib.load(handle).get("url")
    except (OSError, ValueError):
        return PRODUCTION_URL, ""
    if isinstance(url, str):
        return url, f"the config file {config_file()}"
    return PRODUCTION_URL, ""  # not text: config_problem() says so before anything is drawn


# Every setting's name (Settings' fields; a test keeps the two equal), so the file can be checked before
# pydantic is imported and before the first screen is drawn.
KNOWN_SETTINGS = frozenset(
    {"url", "login", "login_timeout_seconds", "request_timeout_seconds", "client_id", "client_secret",
     "insecure_storage", "state_path", "first_poll_seconds", "poll_min_seconds", "poll_max_seconds", "timezone",
     "broker_url", "poll_budget_per_second", "batch_max_active_calls"}
)  # fmt: skip


def config_problem() -> str | None:
    """Why the config file cannot be used (a folder, not TOML, an unknown setting such as a typo of `url`),
    or None. Ignoring any of these would quietly talk to production instead of the server meant."""
    path = config_file()
    if path.exists() and not path.is_file():
        return f"The config file {path} is not a file. Remove it or point CALLE_TUI_CONFIG elsewhere."
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"The config file {path} could not be read: {exc}."
    if "url" in data and not isinstance(data["url"], str):
        # Read as "no address", it would quietly become production's, which places real calls.
        return (
            f"The setting 'url' from the config file {path} must be an address in quotes, e.g. url = \"https://host/mcp\"."
        )
    unknown = sorted(set(data) - KNOWN_SETTINGS)
    if unknown:
        return (
            f"The config file {path} has an unknown setting '{unknown[0]}'. Known settings: "
            + ", ".join(sorted(KNOWN_SETTINGS))
            + "."
        )
    return None
