"""Where the config file is, and the endpoint address the environment or that file names, read without pydantic.

The first screen shows the address before Settings is built (pydantic costs tens of milliseconds of imports);
Settings stays the authority and reads the same file: settings.py takes `config_file` from here.
"""

from __future__ import annotations

import os
from pathlib import Path

from calle_tui import PRODUCTION_URL

APP_NAME = "calle-tui"


def config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def config_file() -> Path:
    return Path(os.environ.get("CALLE_TUI_CONFIG") or config_dir() / "config.toml")


def configured_url() -> str:
    """CALLE_TUI_URL, else the config file's `url`, else the production address. A config file that cannot be
    read gives the production address here: Settings reports it with a sentence once built."""
    env = os.environ.get("CALLE_TUI_URL")
    if env is None:  # pydantic-settings matches variable names case-insensitively
        env = next((v for k, v in os.environ.items() if k.upper() == "CALLE_TUI_URL"), None)
    if env is not None:
        return env
    import tomllib

    try:
        with open(config_file(), "rb") as handle:
            url = tomllib.load(handle).get("url")
    except (OSError, ValueError):
        return PRODUCTION_URL
    return url if isinstance(url, str) else PRODUCTION_URL


# Every setting's name (Settings' fields; a test keeps the two equal), so the file can be checked before
# pydantic is imported and before the first screen is drawn.
KNOWN_SETTINGS = frozenset(
    {"url", "login", "login_timeout_seconds", "request_timeout_seconds", "client_id", "client_secret",
     "insecure_storage", "state_path", "first_poll_seconds", "poll_min_seconds", "poll_max_seconds", "timezone",
     "broker_url"}
)  # fmt: skip


def config_problem() -> str | None:
    """Why the config file cannot be used (a folder, not TOML, an unknown setting such as a typo of `url`),
    or None. Ignoring any of these would quietly talk to production instead of the server meant."""
    import tomllib

    path = config_file()
    if path.exists() and not path.is_file():
        return f"The config file {path} is not a file. Remove it or point CALLE_TUI_CONFIG elsewhere."
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"The config file {path} could not be read: {exc}."
    unknown = sorted(set(data) - KNOWN_SETTINGS)
    if unknown:
        return f"The config file {path} has an unknown setting '{unknown[0]}'. Known settings: " + ", ".join(
            sorted(KNOWN_SETTINGS)
        ) + "."
    return None
