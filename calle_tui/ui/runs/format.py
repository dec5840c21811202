"""Display helpers: phone numbers, times, statuses. Display only: nothing here ever fills in a value."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

import phonenumbers

from calle_tui.core.wire.contract import parse_time
from calle_tui.core.wire.status import OTHER_LOOK, look_key, status_label


@lru_cache(maxsize=256)
def format_phone(raw: str) -> str:
    """'+14155550100' -> '+1 415-555-0100 (United States)'. A number without a country code is shown as
    given, marked, because guessing its country is exactly what we must not do."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return f"{text} (no country code)"
    pretty = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    country = _country_name(number) or phonenumbers.region_code_for_number(number) or ""
    if not phonenumbers.is_valid_number(number):
        return f"{pretty} (not a valid number{' in ' + country if country else ''})"
    return f"{pretty} ({country})" if country else pretty


@lru_cache(maxsize=256)
def short_phone(raw: str) -> str:
    """'+442079460000' -> '+44 20 7946 0000': the number alone, for a title. Unparsable text is shown as given."""
    text = raw.strip()
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _country_name(number: phonenumbers.PhoneNumber) -> str:
    from phonenumbers import geocoder  # large tables: load only when a number is shown

    return geocoder.country_name_for_number(number, "en")


def last_digits(raw: str, count: int = 4) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())
    return digits[-count:]


def format_when(value: str | None, tz: tzinfo | None) -> str:
    """An ISO 8601 time in the display zone; None means 'as soon as you confirm'."""
    if not value:
        return "As soon as you confirm"
    parsed = parse_time(value)
    if parsed is None:
        return f"{value} (as sent by the server)"
    return format_datetime(parsed, tz)


def format_datetime(moment: datetime, tz: tzinfo | None) -> str:
    local = moment.astimezone(tz)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname() or ''}".rstrip()


def format_clock(epoch: float, tz: tzinfo | None) -> str:
    local = datetime.fromtimestamp(epoch, tz) if tz else datetime.fromtimestamp(epoch).astimezone()
    return f"{local:%H:%M:%S}"


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60:d}:{seconds % 60:02d}"
    return str(timedelta(seconds=seconds))


# A status's look key (wire/status.py look_key) -> (glyph, Rich colour, label). Named ANSI colours stay readable
# without truecolor, and the glyph carries the meaning where colour does not come through.
STATUS_LOOK: dict[str, tuple[str, str, str]] = {
    "queued": ("○", "cyan", "Queued"),
    "started": ("○", "cyan", "Started"),
    "preparing": ("◌", "cyan", "Preparing"),
    "scheduled": ("◷", "cyan", "Scheduled"),
    "dialing": ("◔", "yellow", "Dialing"),
    "ringing": ("◑", "yellow", "Ringing"),
    "in_progress": ("●", "yellow", "In progress"),
    "completed": ("✓", "green", "Completed"),
    "no_answer": ("∅", "magenta", "No answer"),
    "busy": ("⊘", "magenta", "Busy"),
    "voicemail": ("✉", "magenta", "Voicemail"),
    "failed": ("✗", "red", "Failed"),
    "canceled": ("⊗", "red", "Canceled"),
    "declined": ("⊘", "magenta", "Declined"),
    "expired": ("⌛", "red", "Expired"),
    OTHER_LOOK: ("?", "white", ""),  # a word we do not know: labelled in the server's words
}


def status_look(status: str | None, server_word: str | None = None) -> tuple[str, str, str]:
    """(glyph, colour, label) for a canonical status; the label is in the server's own words when given
    ("NO ANSWER" -> "No answer"). A word we do not know keeps a neutral glyph and the server's words."""
    glyph, colour, ours = STATUS_LOOK[look_key(status)]
    return glyph, colour, status_label(server_word) if server_word else ours or status_label(status)
