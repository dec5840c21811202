"""The composer's optional structured fields, built from plan_call's input schema.

Only fields `PlanRequest` can carry are offered (a real server's extra inputs cannot be sent). Labels and
hints come from the schema the server published (ToolsListed), falling back to our own contract. Values are
parsed strictly: a value is sent only when the user typed it and it is well formed; otherwise the user gets
a sentence saying what to fix. Nothing is ever completed or guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from calle_tui.core.support.phones import number_extension
from calle_tui.core.wire.contract import PlanCallInput, parse_time

# The order people think in, and short labels for a narrow screen.
FIELD_ORDER = ("to_phones", "goal", "language", "region", "scheduled_at", "ttl_seconds")
LABELS = {
    "to_phones": "Numbers",
    "goal": "Goal",
    "language": "Language",
    "region": "Region",
    "scheduled_at": "When",
    "ttl_seconds": "Keep for (s)",
}
PLACEHOLDERS = {
    "to_phones": "+14155550100, +442079460958",
    "goal": "what the call should achieve",
    "language": "e.g. English",
    "region": "e.g. US",
    "scheduled_at": "2026-06-05T15:00+08:00 (blank: now)",
    "ttl_seconds": "e.g. 86400",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    hint: str
    placeholder: str


class FieldValueError(ValueError):
    """A typed value we will not send as is. The text is a sentence with the fix."""


def fallback_schema() -> dict[str, Any]:
    return PlanCallInput.model_json_schema()


def field_specs(schema: dict[str, Any] | None) -> list[FieldSpec]:
    """Specs for the known fields the schema declares (all known fields if the schema lists none)."""
    props = (schema or {}).get("properties") or {}
    if not isinstance(props, dict) or not any(name in props for name in FIELD_ORDER):
        props = fallback_schema()["properties"]
    specs = []
    for name in FIELD_ORDER:
        if name not in props:
            continue
        prop = props[name] if isinstance(props[name], dict) else {}
        hint = str(prop.get("description") or "").strip()
        specs.append(FieldSpec(name, LABELS[name], hint, PLACEHOLDERS[name]))
    return specs


def parse_field(name: str, raw: str) -> Any:
    """Turn what the user typed into the value `PlanRequest` takes, or raise FieldValueError."""
    text = raw.strip()
    if name == "to_phones":
        numbers = tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())
        for number in numbers:
            if not number.startswith("+"):
                raise FieldValueError(f"'{number}' has no country code. Write it in international form, e.g. +14155550100.")
            ext = number_extension(number)
            if ext:  # never sent with the extension cut off, nor as text CALL-E may not dial
                raise FieldValueError(
                    f"'{number}' has an extension ({ext}), and CALL-E dials the number only. Put the number "
                    f"here and say the extension in your request, e.g. 'ask for extension {ext}'."
                )
        return numbers
    if name == "scheduled_at":
        if parse_time(text) is None:
            raise FieldValueError(
                "The time needs a date, a time and a UTC offset, e.g. 2026-06-05T15:00+08:00. "
                "Leave it blank to call as soon as you confirm, or say the time in the request."
            )
        return text
    if name == "ttl_seconds":
        if not text.isdigit() or int(text) <= 0:
            raise FieldValueError("'Keep for' is a whole number of seconds, e.g. 86400 for one day.")
        return int(text)
    return text
