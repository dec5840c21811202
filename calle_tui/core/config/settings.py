"""User settings: defaults < config file (XDG config dir, TOML) < CALLE_TUI_* environment < command line.

pydantic-settings does the layering; platformdirs finds the folders. `CALLE_TUI_CONFIG` points at another
config file. Nothing here reads a secret from the environment except an optional pre-registered client
secret, which is never printed (SecretStr).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from calle_tui import PRODUCTION_URL
from calle_tui.core.config.endpoint import validate_url
from calle_tui.core.config.peek import APP_NAME, config_problem
from calle_tui.core.config.peek import config_file as config_file  # re-exported: where the settings are read from


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
    # Status requests per second for all followed runs together (core/session/request_budget.py): fifty live calls
    # never burst the server; a 429 pauses every run.
    poll_budget_per_second: float = Field(default=2.0, gt=0, le=50)
    # Calls of one batch live at once (CALLE_TUI_BATCH_MAX_ACTIVE_CALLS). Production allows one per account
    # on the default line and refuses a second (account_concurrency_exceeded): raise it only where the
    # account allows more.
    batch_max_active_calls: int = Field(default=1, ge=1, le=20)
    # The IANA zone sent with plan_call so "tomorrow at 9" means the user's 9 (CALLE_TUI_TIMEZONE); None:
    # the system's zone.
    timezone: str | None = None
    # CALL-E's brokered sign-in service (core/auth/broker.py); None: looked for at the server's origin.
    broker_url: str | None = None

    @field_validator("url")
    @classmethod
    def _usable_url(cls, value: str) -> str:
        return validate_url(value)  # production places real calls: a bad address is never replaced by it

    @field_validator("broker_url")
    @classmethod
    def _usable_broker_url(cls, value: str | None) -> str | None:
        return validate_url(value) if value else None

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


class SettingsError(Exception):
    """Settings that cannot be used, as one sentence naming the setting and where it came from."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the command line (`overrides`), the environment and the config file, or SettingsError.

    Stricter than pydantic-settings alone: a config file that is a folder, is not TOML or names a setting
    that does not exist (a typo such as `ulr`) is an error, since ignoring it would quietly talk to
    production instead of the server the person meant."""
    problem = config_problem()
    if problem:
        raise SettingsError(problem)
    path = config_file()
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        env = f"CALLE_TUI_{where.upper()}"
        if where in overrides:
            source = "the command line"
        elif any(k.upper() == env for k in os.environ):
            source = f"the environment variable {env}"
        else:
            source = f"the config file {path}"
        raise SettingsError(f"The setting '{where}' from {source} is not valid: {message}.") from None
