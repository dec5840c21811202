"""Small total readers for single values of a raw reply: none of them raises, whatever JSON they get."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

# Keys whose values are secrets wherever they appear in a reply: dropped before anything is kept for display.
SECRET_KEYS = frozenset(
    {"confirm_token", "confirmtoken", "access_token", "refresh_token", "id_token", "token", "client_secret",
     "session_secret", "authorization", "password", "secret"}
)  # fmt: skip

MISSING = object()


def pick(data: Any, *names: str) -> Any:
    """The first present (not None) value among `names` in a dict; MISSING when none is there."""
    if not isinstance(data, dict):
        return MISSING
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return MISSING


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object as it is, anything else as an empty one (a field that should nest but does not)."""
    return value if isinstance(value, dict) else {}


def as_text(value: Any) -> str | None:
    """A string as it is (stripped, None when empty); a number as its digits; anything else None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return str(int(value)) if float(value).is_integer() else str(value)
    return None


def as_identifier(value: Any) -> str | None:
    """An opaque id: a non-empty string kept exactly, or an integer's digits. Never trimmed or edited."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in {"true", "yes"}:
        return True
    if isinstance(value, str) and value.strip().casefold() in {"false", "no"}:
        return False
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_instant(value: Any) -> datetime | None:
    """ISO 8601 (with Z or an offset; a naive time is read as UTC) or epoch seconds / milliseconds."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            number = as_number(text)
            return _from_epoch(number) if number is not None else None
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    number = as_number(value)
    return _from_epoch(number) if number is not None else None


def _from_epoch(number: float) -> datetime | None:
    if number > 1e11:  # milliseconds
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso(value: Any) -> str | None:
    """A readable instant as ISO 8601 text, keeping the server's own text when it already is ISO."""
    when = as_instant(value)
    if when is None:
        return None
    if isinstance(value, str):
        return value.strip()
    return when.isoformat().replace("+00:00", "Z")


def scrub(value: Any, depth: int = 0) -> Any:
    """A copy with every secret-named key removed, at any depth: what may be shown or stored as extras."""
    if depth > 20:
        return "..."
    if isinstance(value, dict):
        return {
            str(k): scrub(v, depth + 1)
            for k, v in value.items()
            if str(k).strip().casefold().replace("-", "_") not in SECRET_KEYS
        }
    if isinstance(value, list):
        return [scrub(v, depth + 1) for v in value]
    return value


def unsaid(value: Any, secret: str | None, depth: int = 0) -> Any:
    """A copy with `secret` cut out of every string, at any depth: a reply that repeats its own confirm
    token in its words (a message, a summary) shows those words without it."""
    if not secret or depth > 20:
        return value
    if isinstance(value, str):
        return value.replace(secret, "[confirm token]") if secret in value else value
    if isinstance(value, dict):
        return {k: unsaid(v, secret, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [unsaid(v, secret, depth + 1) for v in value]
    return value


def shown(value: Any, limit: int = 300) -> str:
    """A value as the server sent it, made safe to show: secrets scrubbed, one line, length capped."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(scrub(value), ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
