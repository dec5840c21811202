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
