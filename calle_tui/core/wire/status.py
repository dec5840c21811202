"""Run statuses as servers write them, mapped to one canonical word each.

Production writes UPPER_CASE words (`COMPLETED`, `NO ANSWER`, `CANCELLED`), our sandbox's reference dialect
lower-case ones; other servers use synonyms. Everything that compares statuses compares the canonical word
from here, so a new spelling is taught in one table. An unknown word is never guessed to be terminal: it is
"unknown" (shown in the server's words, followed like progress, `next_step` decides).
"""

from __future__ import annotations

import re
from typing import Literal

StatusKind = Literal["terminal", "progress", "unknown"]

# The documented terminal set (CALLE-DIALECT.md) plus our reference dialect's.
TERMINAL = frozenset({"completed", "failed", "no_answer", "declined", "canceled", "voicemail", "busy", "expired"})
PROGRESS = frozenset({"queued", "scheduled", "started", "preparing", "dialing", "ringing", "in_progress"})

# Other spellings -> canonical word. Keys are already folded (lower case, "_" for spaces and hyphens).
SYNONYMS = {
    "cancelled": "canceled",
    "cancel": "canceled",
    "noanswer": "no_answer",
    "not_answered": "no_answer",
    "unanswered": "no_answer",
    "rejected": "declined",
    "refused": "declined",
    "finished": "completed",
    "complete": "completed",
    "ended": "completed",
    "done": "completed",
    "succeeded": "completed",
    "success": "completed",
    "error": "failed",
    "errored": "failed",
    "failure": "failed",
    "voice_mail": "voicemail",
    "answering_machine": "voicemail",
    "line_busy": "busy",
    "expire": "expired",
    "timed_out": "expired",
    "pending": "queued",
    "created": "queued",
    "accepted": "queued",
    "waiting": "queued",
    "initiated": "started",
    "running": "in_progress",
    "inprogress": "in_progress",
    "active": "in_progress",
    "connected": "in_progress",
    "answered": "in_progress",
    "live": "in_progress",
    "calling": "dialing",
    "dialling": "dialing",
    "prepared": "preparing",
}

# next_step actions that say the run is over whatever its status word: production's report_result /
# report_blocked (a status we do not know, with report_result, is still a finished call). Other "stop"
# words (done, stop) end following without calling the run finished: polling.STOP_ACTIONS.
FINAL_ACTIONS = frozenset({"report_result", "report_blocked"})

_SEPARATORS = re.compile(r"[\s\-]+")


def fold(word: object) -> str:
    """Case, spaces and hyphens folded: "NO ANSWER" / "no-answer" / "No_Answer" -> "no_answer"."""
    if not isinstance(word, str):
        return ""
    return _SEPARATORS.sub("_", word.strip().casefold()).strip("_")


def canonical_status(word: object) -> str:
    """The canonical word for a server's status; an unknown word comes back folded (never guessed)."""
    folded = fold(word)
    return SYNONYMS.get(folded, folded)


def status_kind(word: object) -> StatusKind:
    code = canonical_status(word)
    if code in TERMINAL:
        return "terminal"
    if code in PROGRESS:
        return "progress"
    return "unknown"


def is_terminal_status(word: object) -> bool:
    return status_kind(word) == "terminal"


def status_label(word: object) -> str:
    """The server's word in plain letters for a person: "NO_ANSWER" -> "No answer"."""
    if not isinstance(word, str) or not word.strip():
        return "Unknown"
    text = " ".join(_SEPARATORS.sub(" ", word.replace("_", " ")).split())
    return text[:1].upper() + text[1:].lower()
