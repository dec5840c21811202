"""Transcripts in the shapes servers send, as turns with a speaker.

Production sends one string, `[hh:mm:ss] BOT: text [hh:mm:ss] USER: text` (newline-separated or not); others
send lists of turns. Speakers are mapped to our two words ("agent", "callee") when they are one of the known
names, otherwise kept as written. Text that cannot be split is kept whole as one turn without a speaker.

Live, production's speech recognition sends the person's line twice: a rough one ("Callee said: hallo"), then,
moments later, its corrected copy ("Callee said: Hallo."), or a partial line and then the whole of it. Nothing
marks the second as a correction: `corrects` says when a callee line is one (same words once case and
punctuation are dropped, or the earlier words are the start of the later ones, and it came within
CORRECTION_SECONDS), so the live transcript keeps one line, the corrected text.
"""

from __future__ import annotations

import re
from typing import Any

from calle_tui.core.wire.values import MISSING, as_number, as_text, pick

CORRECTION_SECONDS = 3.0  # a corrected copy follows its rough line within this (the sandbox's: 0.4 s)
_WORD = re.compile(r"\w+")

AGENT_NAMES = frozenset({"bot", "agent", "assistant", "ai", "calle", "call_e", "call-e", "system_agent"})
CALLEE_NAMES = frozenset({"user", "callee", "customer", "human", "recipient", "person", "contact"})

# "[00:00:04] USER: text" or "[00:04] BOT: text"; the speaker is a short word before a colon.
_STAMPED = re.compile(r"\[(\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?)\]\s*([A-Za-z][\w .\-]{0,30}?)\s*:\s*")
# Without stamps: "BOT: text" at the start of a line.
_LINE = re.compile(r"^\s*([A-Za-z][\w .\-]{0,30}?)\s*:\s*(.*)$")


def speaker_name(value: Any) -> str:
    text = as_text(value) or ""
    folded = text.casefold().replace(" ", "_")
    if folded in AGENT_NAMES:
        return "agent"
    if folded in CALLEE_NAMES:
        return "callee"
    return text


def corrects(speaker: str, earlier: str, later: str, seconds_between: float | None) -> bool:
    """Whether `later` is the corrected copy (or the completion) of the callee's line `earlier` that came just
    before it, `seconds_between` apart (None when a time is missing). Only the callee's lines: the agent's
    are the text it was given to say, never recognised speech."""
    if speaker != "callee":
        return False
    if seconds_between is not None and not 0 <= seconds_between <= CORRECTION_SECONDS:
        return False
    rough, fixed = _WORD.findall(earlier.casefold()), _WORD.findall(later.casefold())
    return bool(rough) and fixed[: len(rough)] == rough


def _offset(value: Any) -> str | None:
    """A turn's time: a clock string as given, or seconds from the start as [h:]mm:ss."""
    number = None if isinstance(value, str) and ":" in value else as_number(value)
    if number is not None and number >= 0:
        whole = int(number)
        hours, rest = divmod(whole, 3600)
        return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
    return as_text(value)


def read_turns(value: Any) -> tuple[list[dict[str, Any]], str | None]:
    """(turns as {at, speaker, text}, the raw text when the server sent a string). Never raises."""
    if isinstance(value, str):
        return split_transcript(value), value
    if isinstance(value, list):
        turns = []
        for item in value:
            turn = _turn(item)
            if turn is not None:
                turns.append(turn)
        return turns, None
    return [], None


def _turn(item: Any) -> dict[str, Any] | None:
    if isinstance(item, str):
        parsed = split_transcript(item)
        return parsed[0] if len(parsed) == 1 else {"at": None, "speaker": "", "text": item}
    if not isinstance(item, dict):
        return None
    text = pick(item, "text", "message", "content", "utterance", "transcript")
    text = as_text(text) if text is not MISSING else None
    if text is None:
        return None
    at = pick(item, "at", "ts", "timestamp", "offset_seconds", "offset", "start", "time")
    return {
        "at": _offset(at) if at is not MISSING else None,
        "speaker": speaker_name(pick(item, "speaker", "role", "from", "who", "participant")),
        "text": text,
    }


def split_transcript(text: str) -> list[dict[str, Any]]:
    """One transcript string -> turns. Stamped turns may share a line; unstamped ones start lines."""
    if not isinstance(text, str) or not text.strip():
        return []
    marks = list(_STAMPED.finditer(text))
    turns: list[dict[str, Any]] = []
    if marks:
        lead = text[: marks[0].start()].strip()
        if lead:
            turns.append({"at": None, "speaker": "", "text": " ".join(lead.split())})
        for index, mark in enumerate(marks):
            end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
            said = " ".join(text[mark.end() : end].split())
            turns.append({"at": mark.group(1), "speaker": speaker_name(mark.group(2)), "text": said})
        return turns
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match and match.group(2).strip():
            turns.append({"at": None, "speaker": speaker_name(match.group(1)), "text": match.group(2).strip()})
        elif turns and turns[-1]["speaker"]:
            turns[-1]["text"] += " " + line.strip()  # a turn that runs over several lines
        else:
            turns.append({"at": None, "speaker": "", "text": line.strip()})
    return turns
