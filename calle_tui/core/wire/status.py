"""What a run's status means, decided here and nowhere else.

Production writes UPPER_CASE words (`COMPLETED`, `NO ANSWER`, `CANCELLED`), our sandbox's reference dialect
lower-case ones; other servers use synonyms. Each is mapped to one canonical word (`canonical_status`), so a
new spelling is taught in one table. Every other module asks here:

- `status_kind`: finished, in progress, or unknown. An unknown word is never guessed to be final: it is
  shown in the server's words and followed like progress (`next_step` decides);
- `is_finished`: whether a run is over, from its status word and, when the reply has them, its `terminal`
  flag and its `next_step`;
- `reached_person`: whether the status says the call got through to its person;
- `phase_of` / `phase_label`: what the activity reveals (production says `PREPARING` while people talk);
- `status_label`: the server's word in plain letters for a person;
- `look_key`: the key of the status's look (glyph and colour), which the UI maps in ui/runs/format.py.

Whether a run_call attempt's outcome is unknown (sent, its reply lost) is not a status: the journal keeps it
in its own field (`RunRecord.attempt`), so a server that says `UNKNOWN` is never read as a lost reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Literal, Protocol


class RunStatus(StrEnum):
    """The canonical words: every server's spelling maps to one of these, or stays an unknown word, folded."""

    QUEUED = "queued"
    SCHEDULED = "scheduled"
    STARTED = "started"
    PREPARING = "preparing"
    DIALING = "dialing"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    FAILED = "failed"
    CANCELED = "canceled"
    DECLINED = "declined"
    EXPIRED = "expired"


StatusKind = Literal["finished", "in_progress", "unknown"]

# What each canonical word says: its kind, and whether the call got through to its person (None: the word
# cannot tell). COMPLETED says the call was answered and ended, not by whom nor whether its task was done
# (production reported a voicemail as COMPLETED): the outcome and the transcript say that.
_MEANING: dict[str, tuple[StatusKind, bool | None]] = {
    RunStatus.QUEUED: ("in_progress", None),
    RunStatus.SCHEDULED: ("in_progress", None),
    RunStatus.STARTED: ("in_progress", None),
    RunStatus.PREPARING: ("in_progress", None),
    RunStatus.DIALING: ("in_progress", None),
    RunStatus.RINGING: ("in_progress", None),
    RunStatus.IN_PROGRESS: ("in_progress", None),
    RunStatus.COMPLETED: ("finished", True),
    RunStatus.NO_ANSWER: ("finished", False),
    RunStatus.BUSY: ("finished", False),
    RunStatus.VOICEMAIL: ("finished", False),
    RunStatus.FAILED: ("finished", False),
    RunStatus.CANCELED: ("finished", False),
    RunStatus.DECLINED: ("finished", False),
    RunStatus.EXPIRED: ("finished", False),
}

# The documented final set (CALLE-DIALECT.md) plus our reference dialect's, and the progress words.
TERMINAL = frozenset(str(word) for word, (kind, _) in _MEANING.items() if kind == "finished")
PROGRESS = frozenset(str(word) for word, (kind, _) in _MEANING.items() if kind == "in_progress")

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

# The look of a word we do not know: neutral, in the server's words.
OTHER_LOOK = "other"
LOOK_KEYS = frozenset({*(word.value for word in RunStatus), OTHER_LOOK})

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


def _meaning(word: object) -> tuple[StatusKind, bool | None]:
    return _MEANING.get(canonical_status(word), ("unknown", None))


def status_kind(word: object) -> StatusKind:
    return _meaning(word)[0]


def is_finished(word: object, *, terminal: bool | None = None, next_action: str | None = None) -> bool:
    """Whether the run is over. A reply's own `terminal` flag, when it has one, is believed over its status
    word; without one, a final status word or a next_step that says to report the result ends it."""
    if terminal is not None:
        return terminal
    return status_kind(word) == "finished" or (next_action or "") in FINAL_ACTIONS


def reached_person(word: object) -> bool | None:
    """False when the status says the call did not get through to its person (unanswered, busy, refused,
    voicemail, or it failed, was canceled or expired); True when it was answered and ended (completed: by
    whom, and whether its task was done, the outcome says); None when the status cannot tell (a call in
    progress, a word we do not know)."""
    return _meaning(word)[1]


def status_label(word: object) -> str:
    """The server's word in plain letters for a person: "NO_ANSWER" -> "No answer"."""
    if not isinstance(word, str) or not word.strip():
        return "Unknown"
    text = " ".join(_SEPARATORS.sub(" ", word.replace("_", " ")).split())
    return text[:1].upper() + text[1:].lower()


def look_key(word: object) -> str:
    """The key of a status's look (ui/runs/format.py maps it to a glyph and a colour): the canonical word,
    or OTHER_LOOK for a word we do not know."""
    code = canonical_status(word)
    return code if code in LOOK_KEYS else OTHER_LOOK


# --- the phase: what the activity reveals --------------------------------------------------------------

Phase = Literal["", "ringing", "connected", "talking", "ended"]

PHASE_LABELS = {"ringing": "ringing", "connected": "connected", "talking": "talking", "ended": "call ended"}

_RINGING = re.compile(r"\bring(ing|s)?\b", re.IGNORECASE)
_CONNECTED = re.compile(r"\bconnected\b|\banswered\b|\bpicked up\b", re.IGNORECASE)
_ENDED = re.compile(r"\bcall ended\b|\bhung up\b|\bhang(ed)?[- ]up\b|\bended\b|\bdisconnected\b", re.IGNORECASE)


class _Entry(Protocol):
    """An activity entry as the phase reads it (contract.ActivityEntry)."""

    @property
    def type(self) -> str: ...

    @property
    def text(self) -> str: ...


def phase_of(entries: Iterable[_Entry], current: Phase = "") -> Phase:
    """The latest phase the entries reveal, starting from `current`."""
    phase = current
    for entry in entries:
        if entry.type == "speech":
            phase = "talking" if phase != "ended" else phase
            continue
        text = entry.text or ""
        if _ENDED.search(text):
            phase = "ended"
        elif _CONNECTED.search(text):
            phase = "connected" if phase not in {"talking", "ended"} else phase
        elif _RINGING.search(text) and phase in {"", "ringing"}:
            phase = "ringing"
    return phase


def phase_label(phase: Phase, word: object, *, finished: bool) -> str:
    """What the activity shows, to go beside the status word; empty when there is none, or when a finished
    run's final word already says it. Production says PREPARING while people talk, and may end a run with
    report_result while it still says so: then the phase is worth showing."""
    if not phase or (finished and status_kind(word) == "finished"):
        return ""
    return PHASE_LABELS[phase]
