"""Numbers the user wrote, found as written: only numbers with a + country code count, so nothing is ever
completed or guessed (a local number without one is left for the server to ask about)."""

from __future__ import annotations


def numbers_in_text(text: str | None) -> tuple[str, ...]:
    """E.164 forms of the +-prefixed phone numbers in `text`, in order, each once."""
    if not text or "+" not in text:
        return ()
    import phonenumbers

    found: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text, None, leniency=phonenumbers.Leniency.POSSIBLE):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in found:
            found.append(e164)
    return tuple(found)
