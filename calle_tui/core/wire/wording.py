"""The words a person uses for the tool's argument names, for any sentence shown on screen.

Servers (and our own readers) speak of `to_phones` and `user_input`; a person typed "a phone number" and
"a request". Only whole identifiers are replaced, so a word that merely contains one is left alone, and
the rest of the server's sentence stays exactly as it was sent.
"""

from __future__ import annotations

import re

FIELD_WORDS = {
    "user_input": "your request",
    "to_phones": "phone number",
    "to_phone": "phone number",
    "scheduled_at": "call time",
    "schedule_timezone": "time zone",
    "ttl_seconds": "plan lifetime",
    "display_goal": "call script",
    "confirm_summary": "summary",
    "confirm_token": "confirmation",
    "plan_id": "plan",
    "run_id": "call",
}
_NAMES = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, FIELD_WORDS)) + r")(?![\w])")


def field_words(name: str) -> str:
    """'to_phones' -> 'phone number'; an unknown name loses its underscores ('call_window' -> 'call window')."""
    return FIELD_WORDS.get(name, name.replace("_", " "))


def in_peoples_words(text: str) -> str:
    """'user_input is too long' -> 'Your request is too long'; other text unchanged."""
    if not text or "_" not in text:
        return text

    def words(match: re.Match[str]) -> str:
        said = FIELD_WORDS[match.group(1)]
        return said[:1].upper() + said[1:] if match.start() == 0 else said  # a sentence starts with a capital

    return _NAMES.sub(words, text)
