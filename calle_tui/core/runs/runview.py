"""One run's state as a person sees it, and the one pure reducer that builds it: `apply(view, event) -> view`.

Every worker event about a run (RunStarted, RunUpdate with its page and new entries, RunFinished, a run's
ErrorEvent) goes through `apply`: the app's store of runs (ui/runs/store.py), the journal's redraw of a past
call (`from_journal`) and the tests. No screen interprets events on its own.

What makes the view the same however the pages come:
- Entries are known by id (the server's, or wire/activity.py's, derived from their content), so a page seen
  twice, or the whole history re-sent on every poll (production), adds nothing already there.
- Entries are kept in the server's time order (an entry without a readable time stays after the one before
  it on its page), wherever they arrived, so a page delivered late still lands in its place.
- A page's own facts (status, message, next_step, summary, details, ...) are taken from the newest page that
  carries each one: a page is ranked by whether it ends the run, then by the latest time among its entries,
  so an older page delivered late changes none of them, and nothing comes after a page that ends the run.
- The live transcript (`said`) is built from the speech entries in that order, a callee line corrected by the
  next one (wire/transcript.py `corrects`) kept once, with the corrected text.

The status word is not enough: production stays `PREPARING` while people talk. `phase` is what the activity
reveals (ringing, connected, talking, ended: wire/status.py reads it), shown beside the server's word.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

from calle_tui.core.events import ErrorEvent, PollState, RunFinished, RunOutcomeUnknown, RunStarted, RunUpdate
from calle_tui.core.wire.contract import (
    ActivityEntry,
    CallOutcome,
    GetCallRunResult,
    NextStep,
    TranscriptTurn,
    parse_time,
)
from calle_tui.core.wire.status import Phase, phase_of, status_label
from calle_tui.core.wire.transcript import corrects

RunEvent = RunStarted | RunUpdate | RunFinished | RunOutcomeUnknown | ErrorEvent

Rank = tuple[bool, float]  # (the page ends the run, the latest server time among its entries)
_EARLIEST = -math.inf
SPEECH = "speech"


@dataclass(frozen=True)
class RunView:
    run_id: str
    status: str = ""  # canonical
    status_text: str = ""  # the server's word
    terminal: bool = False
    entries: tuple[ActivityEntry, ...] = ()  # in the server's time order
    seen: frozenset[str] = frozenset()
    phase: Phase = ""
    said: tuple[TranscriptTurn, ...] = ()  # the live transcript, from the speech entries, corrections folded in
    transcript: tuple[TranscriptTurn, ...] = ()  # the final one, from the result
    transcript_text: str | None = None
    summary: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    outcome: CallOutcome | None = None
    next_step: NextStep | None = None
    message: str | None = None  # the server's message on its newest page ("Call connected.", "run_id not found.")
    extras: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    scheduled_at: str | None = None
    # Where the follower is: the monitor's status line and the board's "Next" column.
    poll_state: PollState = "waiting_first"
    next_poll_at: float | None = None  # epoch seconds
    poll_message: str = ""  # a text-only answer, or why the follower waits ("Waiting for the connection.")
    problem: str = ""  # the trouble the follower is retrying after, as a sentence; "" once it is over
    last_checked_at: float | None = None  # epoch seconds of the last poll (from the journal), when known
    # The rank of the page each fact came from ("status", "summary", "details.callee", ...).
    ranks: dict[str, Rank] = field(default_factory=dict, repr=False)
    # Each entry's place: (server time, arrival number). Bookkeeping: two views that hold the same entries in
    # the same order are the same view, whatever order the entries arrived in.
    order: tuple[tuple[float, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def label(self) -> str:
        """The status in the server's words ("Preparing", "No answer"), or the canonical word's."""
        return status_label(self.status_text or self.status)

    @property
    def live_transcript(self) -> tuple[TranscriptTurn, ...]:
        """What was said so far, from the speech entries (production's callee_realtime, "Bot is speaking")."""
        return self.said

    @property
    def best_transcript(self) -> tuple[TranscriptTurn, ...]:
        """The final transcript once the server sends it, the live one until then."""
        return self.transcript or self.said

    @property
    def activity(self) -> tuple[ActivityEntry, ...]:
        """The entries that are not speech (speech is the transcript's), in the server's time order."""
        return tuple(e for e in self.entries if e.type != SPEECH)


# --- the reducer -------------------------------------------------------------------------------------------


def apply(view: RunView, event: RunEvent) -> RunView:
    """`view` with `event` folded in. Events about another run (or about an attempt, RunOutcomeUnknown, which
    has no run yet) leave it as it is. Pure: the same view and event always give the same result."""
    if isinstance(event, RunUpdate) and event.run_id == view.run_id:
        return _update(view, event)
    if isinstance(event, RunFinished) and event.run_id == view.run_id:
        return _finished(view, event)
    if isinstance(event, RunStarted) and event.result.run_id == view.run_id:
        return _started(view, event)
    if isinstance(event, ErrorEvent) and event.run_id == view.run_id and not view.terminal:
        return replace(view, problem=f"{event.message} {event.action}".strip())
    return view


def _update(view: RunView, event: RunUpdate) -> RunView:
    before = view
    view = add_entries(view, event.new_activity)
    if event.result is not None:
        view = fold_page(view, event.result)
    elif event.status and not view.terminal:  # a status without a page: a countdown, reconnecting
        view = _set_status(view, event.status, event.status_text)
    view = replace(
        view,
        poll_state=event.poll_state,
        next_poll_at=event.next_poll_at,
        poll_message=event.message,
        problem=event.problem,
    )
    view = _settled(view)
    return before if view == before and view.order == before.order else view


def _finished(view: RunView, event: RunFinished) -> RunView:
    before = view
    view = fold_page(view, event.result, ends=True)
    if event.status and not event.result.status:
        view = _set_status(view, event.status, event.status_text)
    if event.transcript and not view.transcript:
        view = replace(view, transcript=tuple(event.transcript))
    view = _settled(replace(view, terminal=True))
    return before if view == before and view.order == before.order else view


def _started(view: RunView, event: RunStarted) -> RunView:
    """run_call's answer: the first status, what to do next and when a scheduled call starts. A page, which
    is newer, wins over it; reported again (a check from History), it changes nothing a page said."""
    result = event.result
    rank: Rank = (False, _EARLIEST)
    facts: dict[str, Any] = {}
    ranks = dict(view.ranks)
    if _take(ranks, "status", rank, bool(result.status)):
        facts.update(status=result.status, status_text=result.status_text)
    if _take(ranks, "next_step", rank, result.next_step is not None):
        facts["next_step"] = result.next_step
    if _take(ranks, "message", rank, result.message is not None):
        facts["message"] = result.message
    scheduled = result.scheduled_at or (result.next_step.scheduled_at if result.next_step else None)
    if _take(ranks, "scheduled_at", rank, scheduled is not None):
        facts["scheduled_at"] = scheduled
    new = replace(view, ranks=ranks, **facts)
    return view if new == view else new


def _settled(view: RunView) -> RunView:
    """A run that ended is followed no more: nothing to count down to, no trouble to retry after."""
    if not view.terminal:
        return view
    return replace(view, poll_state="finished", next_poll_at=None, poll_message="", problem="",
                   phase="ended" if view.phase else view.phase)  # fmt: skip


def _set_status(view: RunView, status: str, status_text: str = "") -> RunView:
    if status == view.status and (not status_text or status_text == view.status_text):
        return view
    return replace(view, status=status, status_text=status_text or (view.status_text if status == view.status else ""))


# --- pages ---------------------------------------------------------------------------------------------------


def page_rank(page: GetCallRunResult, view: RunView) -> Rank:
    """How new a page is: one that ends the run is newest; then the latest server time among its entries. A
    page without a readable time is as new as the newest entry known (it is at least that new)."""
    times = [t for t in (_time(e) for e in page.activity) if t is not None]
    newest = max(times) if times else (view.order[-1][0] if view.order else _EARLIEST)
    return page.is_terminal, newest


def fold_page(view: RunView, page: GetCallRunResult, *, ends: bool = False) -> RunView:
    """One get_call_run page in: its entries, then each fact it carries unless a newer page said it already.
    `ends`: the follower says this page ended the run (RunFinished)."""
    view = add_entries(view, page.activity)
    rank = page_rank(page, view)
    if ends:
        rank = (True, rank[1])
    ranks = dict(view.ranks)
    facts: dict[str, Any] = {}
    if _take(ranks, "status", rank, bool(page.status or page.status_text)):
        facts.update(status=page.status or view.status, status_text=page.status_text)
    singles: tuple[tuple[str, Any], ...] = (
        ("transcript", tuple(page.transcript) if page.transcript else None),
        ("transcript_text", page.transcript_text or None),
        ("summary", page.summary or None),
        ("outcome", page.outcome),
        ("next_step", page.next_step),
        ("message", page.message),
        ("scheduled_at", page.scheduled_at),
    )
    for name, value in singles:
        if _take(ranks, name, rank, value is not None):
            facts[name] = value
    for name, given in (("details", page.details or {}), ("extras", page.extra_fields)):
        merged = dict(getattr(view, name))
        for key, value in given.items():
            if _take(ranks, f"{name}.{key}", rank, True):
                merged[key] = value
        facts[name] = merged
    notes = tuple(sorted(set(view.notes) | set(page.notes)))
    return replace(view, ranks=ranks, terminal=view.terminal or page.is_terminal or ends, notes=notes, **facts)


def _take(ranks: dict[str, Rank], name: str, rank: Rank, given: bool) -> bool:
    """Whether a page of `rank` that carries (`given`) the fact `name` is the newest to say it; if so, its
    rank is recorded in `ranks`. A page as new as the last one to say it wins: the later report."""
    if not given:
        return False
    known = ranks.get(name)
    if known is not None and rank < known:
        return False
    ranks[name] = rank
    return True


# --- entries -------------------------------------------------------------------------------------------------


def _time(entry: ActivityEntry) -> float | None:
    when = parse_time(entry.at)
    return when.timestamp() if when is not None else None


def add_entries(view: RunView, entries: Iterable[ActivityEntry]) -> RunView:
    """Entries not seen before (by id), each put in its place in the server's time order. Returns the same
    view when nothing is new."""
    fresh: list[ActivityEntry] = []
    keys: list[tuple[float, int]] = []
    ids = set(view.seen)
    when = view.order[-1][0] if view.order else _EARLIEST  # a page's first entry without a time: after all known
    arrival = len(view.order)
    for entry in entries:
        timed = _time(entry)
        when = timed if timed is not None else when  # without a time: right after the entry before it on its page
        if entry.id in ids:
            continue
        ids.add(entry.id)
        fresh.append(entry)
        keys.append((when, arrival))
        arrival += 1
    if not fresh:
        return view
    if all(a <= b for a, b in pairwise(keys)) and (not view.order or keys[0] >= view.order[-1]):
        # The usual case: everything new comes after everything known.
        entries_ = view.entries + tuple(fresh)
        order = view.order + tuple(keys)
        phase = phase_of(fresh, view.phase)
        said = fold_said(view.said, (e for e in fresh if e.type == SPEECH))
    else:
        placed = sorted(zip(view.order + tuple(keys), view.entries + tuple(fresh), strict=True), key=lambda p: p[0])
        order = tuple(key for key, _ in placed)
        entries_ = tuple(entry for _, entry in placed)
        phase = phase_of(entries_)
        said = fold_said((), (e for e in entries_ if e.type == SPEECH))
    if view.terminal and phase:
        phase = "ended"
    return replace(view, entries=entries_, order=order, seen=frozenset(ids), phase=phase, said=said)


def fold_said(said: Sequence[TranscriptTurn], speech: Iterable[ActivityEntry]) -> tuple[TranscriptTurn, ...]:
    """The live transcript with more speech entries (in order) after it: a callee line that corrects the
    line just before it (wire/transcript.py) replaces that line instead of adding one."""
    turns = list(said)
    for entry in speech:
        turn = TranscriptTurn(at=entry.at, speaker=entry.speaker or "?", text=entry.text)
        if turns and turns[-1].speaker == turn.speaker:
            earlier, later = parse_time(turns[-1].at), parse_time(turn.at)
            gap = (later - earlier).total_seconds() if earlier is not None and later is not None else None
            if corrects(turn.speaker, turns[-1].text, turn.text, gap):
                turns[-1] = turn
                continue
        turns.append(turn)
    return tuple(turns)


# --- the journal's redraw ------------------------------------------------------------------------------------


def from_journal(
    run_id: str,
    *,
    status: str = "",
    terminal: bool = False,
    entries: Sequence[ActivityEntry] = (),
    last: GetCallRunResult | None = None,
    transcript: tuple[TranscriptTurn, ...] = (),
    last_checked_at: float | None = None,
) -> RunView:
    """A past run redrawn from what the journal holds, through the reducer: its stored entries and its last
    page (stored without its entries) as one update, then the end when the journal says the run ended."""
    view = RunView(run_id=run_id, status=status, last_checked_at=last_checked_at)
    view = apply(
        view, RunUpdate(run_id=run_id, status=status, poll_state="waiting_first", new_activity=tuple(entries), result=last)
    )
    if terminal:
        page = last or GetCallRunResult(run_id=run_id, status=status)
        view = apply(view, RunFinished(run_id=run_id, status=status, result=page, transcript=transcript))
    elif transcript and not view.transcript:
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
