"""Command-line flags as settings: the top layer over the environment and the config file
(core/config/settings.py), the same for `calle-tui`, `doctor`, `batch` and `login/status/logout`."""

from __future__ import annotations

import argparse
from typing import Any


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line gives. A subcommand's `--url`, `--login` and `--broker-url` land under the
    top-level flags' names (cli.add_server_flags), so one reading serves every command. An empty `--url ''` is
    passed on, not dropped, so Settings refuses it naming the setting instead of quietly meaning production.
    `--insecure-storage` only ever turns the setting on: without it, the environment and config file decide."""
    overrides: dict[str, Any] = {}
    for name in ("url", "login", "broker_url"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "insecure_storage", False):
        overrides["insecure_storage"] = True
    return overrides
