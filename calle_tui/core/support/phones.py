"""Numbers the user wrote, found as written: only numbers with a + country code count, so nothing is ever
completed or guessed (a local number without one is left for the server to ask about).

phonenumbers (its tables take 10-20 ms to import) loads on the first text with a "+" in it, not with this
module: the journal imports it, and so the worker the app builds right after its first paint.
"""

from __future__ import annotations


def extensions_in_text(text: str | None) -> tuple[tuple[str, str], ...]:
    """(E.164 number, extension) for each +-prefixed number written with an extension ("ext 9", "x 33",
    ";ext=9"). numbers_in_text() keeps the number alone, because E.164 has no extension: whoever shows the
    number must also show what was left out, never drop it silently."""
    if not text or "+" not in text:
        return ()
    import phonenumbers  # on first use: see the module docstring

    found: list[tuple[str, str]] = []
    for match in phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.POSSIBLE):
        if match.number.extension:
            e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if (e164, match.number.extension) not in found:
                found.append((e164, match.number.extension))
    return tuple(found)


def number_extension(raw: str) -> str | None:
    """The extension written in one number ("+14155550109 ext 9" -> "9"), None when it has none or is not
    a number at all."""
    import phonenumbers  # on first use: see the module docstring

    try:
        return phonenumbers.parse(raw.strip(), None).extension or None
    except phonenumbers.NumberParseException:
        return None


def numbers_in_text(text: str | None) -> tuple[str, ...]:
    """E.164 forms of the +-prefixed phone numbers in `text`, in order, each once."""
    if not text or "+" not in text:
        return ()
    import phonenumbers  # on first use: see the module docstring

    found: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.POSSIBLE):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in found:
            found.append(e164)
    return tuple(found)
