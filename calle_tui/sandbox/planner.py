"""plan_call's reading of a message: deliberately simple, deterministic, and never a guess.

Rules (documented in README.md, "The sandbox"):
- Phone numbers count only when written with a + and country code ("+44 20 7946 0000"); a number without one
  is reported back with a question, never completed. Stored in E.164 form (+442079460000).
- The goal is taken from the `goal` field, or from the first message when it says what the call is for (it
  contains a purpose word such as "and", "to", "about", "ask", "book", "cancel", "move"...). Then the whole
  message is the goal: "move my appointment to Friday" stays part of the goal, it is not a schedule.
- The language comes from the `language` field, or from an explicit "in <Language>" naming a known language;
  answering the language question with a bare name ("English", or one or two words) also works.
- scheduled_at comes from the field or from an explicit ISO 8601 time with an offset in the message. Timing
  words ("tomorrow", "at 9", "later", "next week"...) before the phone number, right after it, or the word
  "schedule" ask for an exact time instead; "now" / "as soon as possible" answers it.
- A follow-up (with plan_id) applies structured fields first, then what the answer says explicitly, then
  gives any remaining free text to the first open question that takes free text (goal, language, schedule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

KNOWN_LANGUAGES = {
    name.lower(): name
    for name in (
        "English", "Spanish", "French", "German", "Italian", "Portuguese", "Dutch", "Swedish", "Norwegian",
        "Danish", "Finnish", "Polish", "Czech", "Greek", "Turkish", "Russian", "Ukrainian", "Arabic", "Hebrew",
        "Hindi", "Bengali", "Urdu", "Tamil", "Japanese", "Korean", "Chinese", "Mandarin", "Cantonese", "Thai",
        "Vietnamese", "Indonesian", "Malay", "Filipino", "Tagalog", "Swahili", "Romanian", "Hungarian",
    )
}  # fmt: skip

PHONE_RE = re.compile(r"\+\d[\d \-().]{4,}\d")
LOCAL_NUMBER_RE = re.compile(r"(?<![\d+])\(?\d[\d \-().]{5,}\d")
ISO_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
LANGUAGE_RE = re.compile(r"\bin ([A-Za-z]+(?: [A-Za-z]+)?)")
PURPOSE_RE = re.compile(
    r"\b(and|to|about|ask|asking|tell|say|book|cancel|move|reschedule|confirm|check|order|request|make|change|"
    r"find out|let them know|remind|inquire|enquire)\b",
    re.IGNORECASE,
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
TIMING_RE = re.compile(
    rf"\b(tomorrow|tonight|later|this (?:morning|afternoon|evening)|next (?:week|month|{_DAYS})|"
    rf"at \d{{1,2}}(?::\d{{2}})?\s*(?:am|pm)?(?!\d)|on (?:{_DAYS})|in \d+ (?:minutes?|hours?|days?))\b",
    re.IGNORECASE,
)
# A relative time a person says ("tomorrow at 9", "at 3:30 pm", "on friday at 10", "in 2 hours"): read only when
# the caller told us its time zone (plan_call's request _meta, as CALL-E's own CLI sends it).
RELATIVE_AT_RE = re.compile(
    rf"\b(?:(?P<day>today|tomorrow|tonight|this (?:morning|afternoon|evening)|(?:on |next )?(?:{_DAYS}))\s+)?"
    rf"at\s+(?P<hour>\d{{1,2}})(?::(?P<minute>\d{{2}}))?\s*(?P<half>am|pm|a\.m\.|p\.m\.)?(?![\d:])"
    rf"(?:\s+(?P<after>today|tomorrow|tonight|(?:on |next )?(?:{_DAYS})))?",
    re.IGNORECASE,
)
RELATIVE_IN_RE = re.compile(r"\bin (?P<count>\d+) (?P<unit>minute|hour|day)s?\b", re.IGNORECASE)
NOW_RE = re.compile(r"^\s*(now|right now|asap|as soon as possible|immediately|right away)\W*$", re.IGNORECASE)

QUESTIONS = {
    "to_phones": "Who should I call? Please give the phone number with its country code, e.g. +44 20 7946 0000.",
    "goal": 'What should the call achieve? For example: "move my appointment to Friday".',
    "language": "Which language should the call be in?",
    "scheduled_at": (
        "When exactly should the call happen? Give a date and time with a time zone "
        '(e.g. 2026-06-05T15:00+01:00), or say "now".'
    ),
}
FIELD_ORDER = ("to_phones", "goal", "language", "scheduled_at")
MAX_PHONES = 5


def e164(text: str) -> str | None:
    digits = re.sub(r"\D", "", text)
    return f"+{digits}" if text.strip().startswith("+") and 8 <= len(digits) <= 15 else None


def parse_time(value: str) -> datetime | None:
    """ISO 8601 with an offset (or Z) -> aware datetime; anything else -> None (never guessed)."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass
class Reading:
    """What one message says explicitly."""

    phones: list[str] = field(default_factory=list)
    local_numbers: list[str] = field(default_factory=list)  # numbers written without a country code
    language: str | None = None
    iso_times: list[str] = field(default_factory=list)
    schedule_words: bool = False
    now: bool = False
    purpose: bool = False
    when_text: str = ""  # where the timing words about the call were found (for relative times)
    leftover: str = ""  # the text once numbers, times and an "in <Language>" are taken out


def read_message(text: str) -> Reading:
    reading = Reading()
    rest = text
    for match in ISO_RE.finditer(text):
        reading.iso_times.append(match.group(0))
    rest = ISO_RE.sub(" ", rest)
    phone_spans = []
    for match in PHONE_RE.finditer(rest):
        number = e164(match.group(0))
        if number:
            reading.phones.append(number)
            phone_spans.append(match.span())
        else:
            reading.local_numbers.append(match.group(0).strip())
    # Timing words before the first number, right after a number, or "schedule": a request for a time.
    first = phone_spans[0][0] if phone_spans else len(rest)
    if TIMING_RE.search(rest[:first]) or re.search(r"\bschedul", rest, re.IGNORECASE):
        reading.schedule_words = True
        reading.when_text = rest[:first] if TIMING_RE.search(rest[:first]) else rest
    for _, end in phone_spans:
        if TIMING_RE.match(rest[end:].lstrip(" ,")):
            reading.schedule_words = True
            reading.when_text = reading.when_text or rest[end:].lstrip(" ,")
    rest = PHONE_RE.sub(" ", rest)
    for match in LOCAL_NUMBER_RE.finditer(rest):
        if len(re.sub(r"\D", "", match.group(0))) >= 6:
            reading.local_numbers.append(match.group(0).strip())
    rest = LOCAL_NUMBER_RE.sub(" ", rest)
    for match in LANGUAGE_RE.finditer(rest):
        words = match.group(1).split()
        for candidate in (" ".join(words), words[0]):
            if candidate.lower() in KNOWN_LANGUAGES:
                reading.language = KNOWN_LANGUAGES[candidate.lower()]
                rest = rest.replace(f"in {candidate}", " ", 1)
                break
        if reading.language:
            break
    # A follow-up may answer several questions, one per line: a line that is only a language name or only
    # "now" answers that question by itself and is not free text for another one.
    kept = []
    for line in rest.splitlines():
        bare = line.strip().strip(".!").strip()
        if NOW_RE.match(line):
            reading.now = True
        elif reading.language is None and bare.lower() in KNOWN_LANGUAGES:
            reading.language = KNOWN_LANGUAGES[bare.lower()]
        else:
            kept.append(line)
    rest = "\n".join(kept)
    reading.purpose = bool(PURPOSE_RE.search(rest))
    reading.leftover = " ".join(rest.split())
    return reading


@dataclass
class Draft:
    """The plan's fields plus what is still open. A plan is ready when nothing is open."""

    to_phones: list[str] = field(default_factory=list)
    region: str | None = None
    language: str | None = None
    goal: str | None = None
    scheduled_at: str | None = None
    schedule_open: bool = False
    problems: dict[str, str] = field(default_factory=dict)  # field -> a specific question replacing the default

    def fields(self) -> dict[str, object]:
        return {
            "to_phones": list(self.to_phones),
            "region": self.region,
            "language": self.language,
            "goal": self.goal,
            "scheduled_at": self.scheduled_at,
        }

    def missing(self) -> list[dict[str, str]]:
        open_fields = []
        if not self.to_phones or "to_phones" in self.problems:
            open_fields.append("to_phones")
        if not self.goal:
            open_fields.append("goal")
        if not self.language:
            open_fields.append("language")
        if self.schedule_open:
            open_fields.append("scheduled_at")
        return [{"field": f, "question": self.problems.get(f, QUESTIONS[f])} for f in FIELD_ORDER if f in open_fields]


def apply(
    draft: Draft, *, user_input: str, fields: dict[str, object], now: datetime, first: bool, zone: tzinfo | None = None
) -> Draft:
    """Fold one plan_call request into the draft (a new Draft; the old one is untouched). With the caller's
    time zone (`zone`), a relative time about the call ("tomorrow at 9") is read in that zone."""
    new = Draft(**{**draft.__dict__, "to_phones": list(draft.to_phones), "problems": {}})
    open_before = [m["field"] for m in draft.missing()]
    taken: set[str] = set()

    # 1. Structured fields, exactly as given (validated, never completed).
    phones = fields.get("to_phones")
    if phones is not None:
        numbers, bad = [], []
        for raw in phones:  # type: ignore[union-attr]
            number = e164(str(raw))
            (numbers if number else bad).append(number or str(raw))
        if bad:
            new.problems["to_phones"] = (
                f"I can't use {', '.join(bad)}: a number needs its country code, starting with +. What is the full number?"
            )
        # Never keep part of a list with a bad number in it: the user fixes the list, we don't trim it.
        new.to_phones = [] if bad else numbers[:MAX_PHONES]
        taken.add("to_phones")
    for name in ("region", "language", "goal"):
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            setattr(new, name, " ".join(value.split()))
            taken.add(name)
    if new.language and new.language.lower() in KNOWN_LANGUAGES:
        new.language = KNOWN_LANGUAGES[new.language.lower()]
    when = fields.get("scheduled_at")
    if isinstance(when, str) and when.strip():
        _set_time(new, when, now)
        taken.add("scheduled_at")

    # 2. What the message says explicitly.
    reading = read_message(user_input)
    if "to_phones" not in taken:
        if reading.phones:
            new.to_phones = list(dict.fromkeys(reading.phones))[:MAX_PHONES]
            taken.add("to_phones")
        elif reading.local_numbers and not new.to_phones:
            new.problems["to_phones"] = (
                f"The number {reading.local_numbers[0]} has no country code. "
                "What is the full number, starting with + and the country code (e.g. +44 20 7946 0000)?"
            )
            taken.add("to_phones")
    if "language" not in taken and reading.language:
        new.language = reading.language
        taken.add("language")
    if "scheduled_at" not in taken:
        if reading.iso_times:
            _set_time(new, reading.iso_times[0], now)
            taken.add("scheduled_at")
        elif reading.now and draft.schedule_open:
            new.scheduled_at, new.schedule_open = None, False
            taken.add("scheduled_at")
        elif (
            zone is not None
            and (reading.schedule_words or draft.schedule_open)
            and (at := relative_time(reading.when_text or user_input, now, zone)) is not None
        ):
            _set_time(new, at.isoformat(), now)
            taken.add("scheduled_at")
        elif reading.schedule_words and first:
            new.schedule_open = True
    if "goal" not in taken and first and reading.purpose:
        new.goal = " ".join(user_input.split())
        taken.add("goal")

    # 3. A follow-up's remaining free text answers the first open question that takes free text.
    if not first and reading.leftover:
        for name in open_before:
            if name in taken:
                continue
            if name == "goal":
                new.goal = " ".join(user_input.split())
                break
            if name == "language" and _looks_like_language(reading.leftover):
                new.language = reading.leftover.title()
                break
            if name == "scheduled_at":
                new.problems["scheduled_at"] = (
                    f'I couldn\'t read "{reading.leftover}" as an exact time. ' + QUESTIONS["scheduled_at"]
                )
                break
    return new


_NOT_LANGUAGE_WORDS = {
    "in",
    "the",
    "at",
    "on",
    "to",
    "a",
    "an",
    "please",
    "and",
    "or",
    "my",
    "it",
    "is",
    "morning",
    "now",
    "later",
}


def _looks_like_language(text: str) -> bool:
    """A bare answer to "Which language?": one or two words of letters, none of them a filler word."""
    words = text.lower().split()
    return 1 <= len(words) <= 2 and all(w.isalpha() for w in words) and not set(words) & _NOT_LANGUAGE_WORDS


def _set_time(draft: Draft, value: str, now: datetime) -> None:
    parsed = parse_time(value)
    if parsed is None:
        draft.schedule_open = True
        draft.problems["scheduled_at"] = (
            f'I couldn\'t read "{value.strip()[:60]}" as a time with a time zone. ' + QUESTIONS["scheduled_at"]
        )
    elif parsed <= now:
        draft.schedule_open = True
        draft.problems["scheduled_at"] = f"{parsed.isoformat()} is in the past. " + QUESTIONS["scheduled_at"]
    else:
        draft.scheduled_at = parsed.isoformat()
        draft.schedule_open = False


def relative_time(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """The first relative time in `text` ("tomorrow at 9", "at 3:30pm", "on friday at 10", "tonight at 8",
    "in 2 hours") as an aware datetime in `zone`, or None when there is none or it cannot be read."""
    local = now.astimezone(zone)
    later = RELATIVE_IN_RE.search(text)
    match = RELATIVE_AT_RE.search(text)
    if later and (match is None or later.start() < match.start()):
        count, unit = int(later.group("count")), later.group("unit").lower()
        return local + timedelta(**{f"{unit}s": count})
    if match is None:
        return None
    hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
    half = (match.group("half") or "").replace(".", "").lower()
    day = (match.group("day") or match.group("after") or "").lower()
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    elif not half and hour < 12 and any(w in day for w in ("tonight", "afternoon", "evening")):
        hour += 12
    if hour > 23 or minute > 59:
        return None
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    days = _DAYS.split("|")
    named = next((d for d in days if d in day), None)
    if "tomorrow" in day:
        at += timedelta(days=1)
    elif named is not None:
        ahead = (days.index(named) - at.weekday()) % 7
        at += timedelta(days=ahead or 7)
    elif not day and at <= local:
        at += timedelta(days=1)  # "at 9" said after nine: the next nine o'clock
    return at


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
