"""One run's state as a person sees it, and the one pure reducer that builds it.

`apply(view, page)` folds a normalised get_call_run page (dialect/replies.py) into the view; the follower's
events, the monitor, history redraw from the journal and tests all go through it, so no screen interprets
raw events on its own and no page can be lost by merging updates (a view only ever grows).

The status word is not enough: production stays `PREPARING` while people talk. `phase` is what the activity
reveals (ringing, connected, talking, ended: wire/status.py reads it), shown beside the server's word.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from calle_tui.core.wire.contract import (
    ActivityEntry,
    CallOutcome,
    GetCallRunResult,
    NextStep,
    TranscriptTurn,
)
from calle_tui.core.wire.status import Phase, phase_of, status_label


@dataclass(frozen=True)
class RunView:
    run_id: str
    status: str = ""  # canonical
    status_text: str = ""  # the server's word
    terminal: bool = False
    entries: tuple[ActivityEntry, ...] = ()
    seen: frozenset[str] = frozenset()
    phase: Phase = ""
    transcript: tuple[TranscriptTurn, ...] = ()  # the final one, from the result
    transcript_text: str | None = None
    summary: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    outcome: CallOutcome | None = None
    next_step: NextStep | None = None
    message: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    latest: GetCallRunResult | None = None
    last_checked_at: float | None = None  # epoch seconds of the last poll (from the journal), when known

    @property
    def label(self) -> str:
        """The status in the server's words ("Preparing", "No answer"), or the canonical word's."""
        return status_label(self.status_text or self.status)

    @property
    def live_transcript(self) -> tuple[TranscriptTurn, ...]:
        """What was said so far, from the speech entries (production's callee_realtime, "Bot is speaking")."""
        return tuple(
            TranscriptTurn(at=e.at, speaker=e.speaker or "?", text=e.text) for e in self.entries if e.type == "speech"
        )

    @property
    def best_transcript(self) -> tuple[TranscriptTurn, ...]:
        """The final transcript once the server sends it, the live one until then."""
        return self.transcript or self.live_transcript


def add_entries(view: RunView, entries: tuple[ActivityEntry, ...] | list[ActivityEntry]) -> RunView:
    """Entries not seen before (by id), appended in order. Returns the same view when nothing is new."""
    fresh = [e for e in entries if e.id not in view.seen]
    if not fresh:
        return view
    unique: list[ActivityEntry] = []
    ids = set(view.seen)
    for entry in fresh:
        if entry.id in ids:
            continue
        ids.add(entry.id)
        unique.append(entry)
    return replace(view, entries=view.entries + tuple(unique), seen=frozenset(ids), phase=phase_of(unique, view.phase))


def apply(view: RunView, page: GetCallRunResult) -> RunView:
    """Fold one page in. Fields the page leaves out keep what earlier pages said (a summary stays once given)."""
    view = add_entries(view, page.activity)
    terminal = view.terminal or page.is_terminal
    return replace(
        view,
        status=page.status or view.status,
        status_text=page.status_text or (view.status_text if not page.status else ""),
        terminal=terminal,
        phase="ended" if terminal and view.phase else view.phase,
        transcript=tuple(page.transcript) if page.transcript else view.transcript,
        transcript_text=page.transcript_text or view.transcript_text,
        summary=page.summary or view.summary,
        details={**view.details, **(page.details or {})},
        outcome=page.outcome or view.outcome,
        next_step=page.next_step if page.next_step is not None else view.next_step,
        message=page.message if page.message is not None else view.message,
        extras={**view.extras, **{k: v for k, v in page.extra_fields.items()}},
        notes=tuple(dict.fromkeys(view.notes + tuple(page.notes))),
        latest=page,
    )


def set_status(view: RunView, status: str, status_text: str = "") -> RunView:
    """A status from an update without a page (a countdown, reconnecting)."""
    if not status or (status == view.status and (not status_text or status_text == view.status_text)):
        return view
    return replace(view, status=status, status_text=status_text or (view.status_text if status == view.status else ""))


def from_journal(
    run_id: str,
    *,
    status: str = "",
    terminal: bool = False,
    entries: list[ActivityEntry] | tuple[ActivityEntry, ...] = (),
    last: GetCallRunResult | None = None,
    transcript: tuple[TranscriptTurn, ...] = (),
    last_checked_at: float | None = None,
) -> RunView:
    """A past run redrawn from what the journal holds: its entries, then its last page."""
    view = add_entries(
        RunView(run_id=run_id, status=status, terminal=terminal, last_checked_at=last_checked_at), tuple(entries)
    )
    if last is not None:
        view = apply(view, last.model_copy(update={"activity": []}))
    if transcript and not view.transcript:
        view = replace(view, transcript=tuple(transcript))
    return view


def outcome_line(outcome: CallOutcome | None) -> str:
    """ "task completed: yes (confidence high 0.82)" - empty when the server judged nothing."""
    if outcome is None or (outcome.task_completed is None and outcome.confidence_score is None
                           and not outcome.confidence_label):  # fmt: skip
        return ""
    done = {True: "yes", False: "no", None: "not said"}[outcome.task_completed]
    score = f"{outcome.confidence_score:g}" if outcome.confidence_score is not None else ""
    confidence = " ".join(part for part in (outcome.confidence_label or "", score) if part)
    return f"Task completed: {done}" + (f" (confidence {confidence})" if confidence else "")
