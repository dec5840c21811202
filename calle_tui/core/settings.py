"""User settings: defaults < config file (XDG config dir, TOML) < CALLE_TUI_* environment < command line.

pydantic-settings does the layering; platformdirs finds the folders. `CALLE_TUI_CONFIG` points at another
config file. Nothing here reads a secret from the environment except an optional pre-registered client
secret, which is never printed (SecretStr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from calle_tui import PRODUCTION_URL
from calle_tui.core.config_peek import APP_NAME, config_dir, config_file  # noqa: F401 - re-exported


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLE_TUI_", env_nested_delimiter="__", extra="ignore")

    url: str = PRODUCTION_URL
    login: Literal["auto", "loopback", "paste", "auto-follow"] = "auto"
    login_timeout_seconds: float = 300.0
    request_timeout_seconds: float = 30.0
    client_id: str | None = None  # a pre-registered OAuth client: used instead of dynamic registration
    client_secret: SecretStr | None = None
    insecure_storage: bool = False  # opt-in: tokens in a 0600 file when no secure keyring works
    state_path: Path | None = None  # journal, logs and (opt-in) token file; default: XDG state dir
    first_poll_seconds: float = 60.0  # the seed: wait about 60 s before the first status query
    poll_min_seconds: float = 5.0
    poll_max_seconds: float = 10.0
    # The IANA zone sent with plan_call so "tomorrow at 9" means the user's 9 (CALLE_TUI_TIMEZONE); None:
    # the system's zone.
    timezone: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))

    @property
    def state_root(self) -> Path:
        return self.state_path or state_dir()
