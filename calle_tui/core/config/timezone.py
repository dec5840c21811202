"""The user's time zone, sent with plan_call as CALL-E's own CLI sends it, so that "tomorrow at 9" is
planned for the user's 9 and not the server's.

The zone is the configured one (`timezone` in the config file or CALLE_TUI_TIMEZONE), else the system's:
`TZ`, then the target of /etc/localtime, then /etc/timezone, else UTC. An unknown configured name falls
back to the system's zone and says so, never a guess of another zone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class UserZone:
    name: str  # IANA name, e.g. "Asia/Shanghai"
    source: str  # "config" | "system" | "default"
    note: str = ""  # set when a configured zone could not be used

    def offset_minutes(self, now: float) -> int:
        """UTC minus local time in minutes, as JavaScript's getTimezoneOffset (Shanghai: -480)."""
        offset = datetime.fromtimestamp(now, tz=UTC).astimezone(ZoneInfo(self.name)).utcoffset()
        return -int(offset.total_seconds() // 60) if offset is not None else 0

    def plan_meta(self, now: float) -> dict[str, Any]:
        """The `_meta` of a plan_call request, in the vendor CLI's shape."""
        return {"openai/userLocation": {"timezone": self.name}, "timezone_offset_minutes": self.offset_minutes(now)}


def _valid(name: str | None) -> str | None:
    if not name or not name.strip():
        return None
    name = name.strip().lstrip(":")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return name


def system_zone_name() -> str | None:
    name = _valid(os.environ.get("TZ"))
    if name:
        return name
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        target = ""
    if "zoneinfo/" in target:
        name = _valid(target.split("zoneinfo/", 1)[1])
        if name:
            return name
    try:
        return _valid(Path("/etc/timezone").read_text(encoding="utf-8").split()[0])
    except (OSError, IndexError):
        return None


def user_zone(configured: str | None) -> UserZone:
    if configured and configured.strip():
        name = _valid(configured)
        if name:
            return UserZone(name, "config")
        fallback = system_zone_name() or "UTC"
        return UserZone(fallback, "system", note=f"Unknown time zone {configured.strip()[:40]!r}; using {fallback}.")
    system = system_zone_name()
    return UserZone(system, "system") if system else UserZone("UTC", "default")
