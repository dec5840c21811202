"""Follow one run live: status, polling state, activity, transcript, and the outcome when it ends.

The screen draws the run's view from the app's store of runs (ui/runs/store.py: the worker's events folded by
core's reducer) and redraws what a change touched; it asks the worker to follow the run and, on `r`, to check
now. Transcript lines go to a virtualised view in batches, so a long call stays smooth.
Exports are written by calle_tui.core.runs.export; copying uses the terminal's clipboard (OSC 52).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from calle_tui.core.events import RunUpdate
from calle_tui.core.runs.export import (
    DETAIL_LABELS,
    TranscriptExport,
    export_transcript,
    split_details,
    to_markdown,
)
from calle_tui.core.runs.polling import asks_user
from calle_tui.core.runs.runview import RunView, outcome_line
from calle_tui.core.wire.contract import ActivityEntry, TranscriptTurn, parse_time
from calle_tui.core.wire.status import phase_label
from calle_tui.core.worker_api import RunRecord, WorkerAPI, WorkerError
from calle_tui.ui.paths import styles_path
from calle_tui.ui.runs.app_context import clock_of, runs_for, tz_of
from calle_tui.ui.runs.follow_end import ActivityLog, FollowChanged
from calle_tui.ui.runs.format import (
    format_clock,
    format_datetime,
    format_duration,
    format_phone,
    format_when,
    short_phone,
    status_look,
)
from calle_tui.ui.runs.store import RunChanged, RunStore
from calle_tui.ui.runs.transcript import TranscriptLog

SPEECH = "speech"
ACTIVITY = "Activity"
TRANSCRIPT = "Transcript"


class MonitorScreen(Screen):
    CSS_PATH = str(styles_path("runs.tcss"))
    # A tall terminal gives the outcome (summary, judgement, details) room instead of an empty transcript.
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (34, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh", "Refresh now", id="monitor.refresh", tooltip="Check the call's status now"),
        Binding("c", "copy", "Copy transcript", id="monitor.copy", tooltip="Copy as Markdown (OSC 52)"),
        Binding("e", "export", "Export", id="monitor.export", tooltip="Save the transcript as Markdown and JSON"),
        Binding("escape,b", "back", "Back", id="monitor.back", tooltip="Leave; the call keeps being followed"),
    ]

    def __init__(self, worker: WorkerAPI, run_id: str, record: RunRecord | None = None) -> None:
        super().__init__()
        self.worker = worker
        self.run_id = run_id
        self.record = record
        # Everything known about the run, folded by core's one reducer (core/runs/runview.py) into the app's
        # store of runs (ui/runs/store.py); the screen only draws the store's view and watches it for changes.
        self.view = RunView(
            run_id=run_id,
            status=record.status if record else "queued",
            terminal=bool(record and record.terminal),
            poll_state="finished" if record and record.terminal else "waiting_first",
        )
        self._started_at: float | None = record.created_at if record else None
        self._finished_at: float | None = None
        self._drawn: tuple[ActivityEntry, ...] = ()  # the view's entries the activity log and transcript show
        self._said: tuple[TranscriptTurn, ...] = ()  # the live transcript shown
        self._final_transcript_shown = False
        self._activity_count = 0
        self._problem_shown = False
        self._store: RunStore | None = None
        self.title = self._title()

    @property
    def status(self) -> str:
        return self.view.status

    @property
    def poll_state(self) -> str:
        return self.view.poll_state

    @property
    def next_poll_at(self) -> float | None:
        return self.view.next_poll_at

    @property
    def poll_message(self) -> str:
        return self.view.poll_message

    def compose(self) -> ComposeResult:
        with Vertical(id="monitor-head"):
            yield Static(id="monitor-status")
            yield Static(id="monitor-info")
            yield Static(id="monitor-note")
        yield Label(ACTIVITY, classes="runs-section", id="monitor-activity-label")
        yield ActivityLog(id="monitor-activity", max_lines=10_000)
        yield Label(TRANSCRIPT, classes="runs-section", id="monitor-transcript-label")
        yield TranscriptLog(id="monitor-transcript", placeholder="Nothing said yet. Speech appears here live.")
        with VerticalScroll(id="monitor-outcome"):
            yield Static(id="monitor-outcome-text")
        yield Footer()

    def on_mount(self) -> None:
        if self._started_at is None:
            self._started_at = clock_of(self.app)()
        self._store = store = runs_for(self)
        # A run reopened from History (or after a restart) is drawn at once from what the store holds, which
        # starts from the journal: its whole activity, last status, summary and transcript.
        known = store.get(self.run_id)
        if known is not None:
            self.view = known
        if self.view.terminal:
            self._finished_at = self.view.last_checked_at or self._started_at
        self.query_one("#monitor-info", Static).update(self._info_text())
        self._render_entries()
        self._render_status()
        self._render_outcome()
        self.set_interval(1.0, self._render_status)  # countdown and elapsed time
        outcome = self.query_one("#monitor-outcome", VerticalScroll)
        self.watch(outcome, "scroll_y", self._hint_more_outcome, init=False)
        self.watch(outcome, "virtual_size", lambda _size: self.call_after_refresh(self._hint_more_outcome), init=False)
        store.watch(self, self._on_run_changed)
        # After this mount finishes, so this screen watches the store before the worker can report anything.
        # A run the journal knows has finished is drawn from it and never followed (or polled) again.
        if not self.view.terminal:
            self.call_later(self.worker.follow, self.run_id)

    # --- changes --------------------------------------------------------------------------------------

    def _on_run_changed(self, change: RunChanged) -> None:
        if change.run_id != self.run_id or change.view is None:
            return
        self.view = view = change.view
        event = change.event
        if view.problem:
            self._note(view.problem, error=True)
        elif self._problem_shown:
            self._note("")  # the trouble is over: a page arrived, the connection is being restored, the call ended
        if isinstance(event, RunUpdate) and view.poll_state == "waiting" and view.poll_message and not view.problem:
            # A server that answers in words instead of data: show what it said, in full, under the status.
            self._note(f"The server said: {view.poll_message}")
        if view.terminal and self._finished_at is None:
            self._finished_at = clock_of(self.app)()
        self._render_entries()
        self._render_status()
        self._render_outcome()

    def _render_entries(self) -> None:
        """Draw what changed, in one batch: new activity to the log (all of it again when an entry arrived
        before ones shown: the log is in the server's time order), the live transcript from its first changed
        line (a corrected line replaces its rough version); once the server's final transcript is known it
        replaces what was heard live."""
        entries, drawn = self.view.entries, self._drawn
        log = self.query_one("#monitor-activity", ActivityLog)
        if drawn and (len(entries) < len(drawn) or entries[len(drawn) - 1] is not drawn[-1]):
            log.clear()
            self._activity_count, drawn = 0, ()
        self._drawn = entries
        lines = [self._activity_line(e) for e in entries[len(drawn) :] if e.type != SPEECH]
        if lines:
            self._activity_count += len(lines)
            log.write_lines(lines)
        transcript = self.query_one(TranscriptLog)
        if self.view.transcript:
            if not self._final_transcript_shown:
                self._final_transcript_shown = True
                transcript.replace_turns((t.speaker, t.text) for t in self.view.transcript)
            return
        said, shown = self.view.said, self._said
        if said is shown:
            return
        same = 0
        if shown and len(said) >= len(shown) and said[len(shown) - 1] is shown[-1]:
            same = len(shown)  # the usual case: lines added after the ones shown
        else:
            while same < min(len(said), len(shown)) and said[same] is shown[same]:
                same += 1
        self._said = said
        transcript.replace_from(same, ((t.speaker, t.text) for t in said[same:]))

    def _activity_line(self, entry: ActivityEntry) -> str:
        when = parse_time(entry.at)
        if when is not None:
            stamp = format_clock(when.timestamp(), tz_of(self.app)) + "  "
        else:  # no time, or one we cannot read: shown as the server wrote it
            sent = (entry.extra_fields or {}).get("time_as_sent")
            stamp = f"{sent}  " if sent else ""
        return f"{stamp}{entry.text or entry.type}"

    @on(FollowChanged)
    def _on_follow_changed(self, message: FollowChanged) -> None:
        """A log the reader scrolled up says, on its section line, that newer lines wait below."""
        name = TRANSCRIPT if isinstance(message.log, TranscriptLog) else ACTIVITY
        label = self.query_one(f"#{message.log.id}-label", Label)
        if message.following or not message.unseen:
            label.update(name)
            return
        lines = "new line" if message.unseen == 1 else "new lines"
        label.update(f"{name}  ↓ {message.unseen} {lines} below (scroll to the end to follow)")

    # --- rendering ----------------------------------------------------------------------------------

    def _title(self) -> str:
        """'Call +44 20 7946 0000' for the shared header; the status goes in sub_title."""
        phones = self.record.to_phones if self.record else ()
        if not phones:
            return "Call"
        more = f" (+{len(phones) - 1} more)" if len(phones) > 1 else ""
        return f"Call {short_phone(phones[0])}{more}"

    def _render_status(self) -> None:
        now = clock_of(self.app)()
        glyph, colour, label = status_look(self.view.status, self.view.status_text)
        self.sub_title = label.lower()
        text = Text()
        text.append(f" {glyph} {label} ", style=f"bold {colour} reverse")
        phase = phase_label(self.view.phase, self.view.status, finished=self.view.terminal)
        if phase:  # what the activity shows goes beside the server's word
            text.append("  ", style=Style(bold=False))
            text.append(phase, style=f"bold {colour}")
        started = self._started_at if self._started_at is not None else now
        scheduled = self._scheduled_epoch()
        if scheduled is not None and scheduled > started:
            started = scheduled  # a scheduled call's time runs from its start, not from when it was booked
        # The gaps are runs of their own (plain, not bold): renderers that trim a run's leading blanks,
        # such as SVG viewers, then still keep the badge, the time and the poll state apart.
        gap = Style(bold=False)
        text.append("  ", style=gap)
        if started > now and not self.view.terminal:
            text.append(f"starts in {format_duration(started - now)}", style="bold")
        else:
            text.append(f"elapsed {format_duration((self._finished_at or now) - started)}", style="bold")
        text.append("  ", style=gap)
        text.append(self._poll_text(now))
        self.query_one("#monitor-status", Static).update(text)

    def _poll_text(self, now: float) -> str:
        tz = tz_of(self.app)
        left = None if self.next_poll_at is None else max(0, round(self.next_poll_at - now))
        state = self.poll_state
        if state == "finished" or self.view.terminal:
            return "· Finished"
        if state == "waiting_first":
            if left is None:
                return "· Waiting before the first check"
            return f"· First check in {left} s (calls take a minute to start)"
        if state == "polling":
            return "· Checking now…"
        if state == "waiting":
            return f"· Next check in {left} s" if left is not None else "· Waiting for the next check"
        if state == "reconnecting":
            detail = f": {self.poll_message}" if self.poll_message else ""
            return f"· Reconnecting{detail}" + (f" (retry in {left} s)" if left is not None else "")
        if state == "scheduled":
            when = self._scheduled_text()
            if when:
                return f"· Scheduled for {format_when(str(when), tz)}"
            if self.next_poll_at is not None:
                return f"· Scheduled; next check at {format_clock(self.next_poll_at, tz)}"
            return "· Scheduled"
        detail = f": {self.poll_message}" if self.poll_message else ""
        return f"· Status unknown{detail}"

    def _scheduled_text(self) -> str | None:
        latest = self.view.scheduled_at
        return (str(latest) if latest else None) or (self.record.scheduled_at if self.record else None)

    def _scheduled_epoch(self) -> float | None:
        when = self._scheduled_text()
        parsed = parse_time(when) if when else None
        return parsed.timestamp() if parsed is not None else None

    def _info_text(self) -> Text:
        text = Text()
        if self.record:
            phones = ", ".join(format_phone(p) for p in self.record.to_phones) or "(no number recorded)"
            text.append("To ", style="bold")
            text.append(phones + "\n")
            if self.record.goal:
                text.append("Why ", style="bold")
                text.append(self.record.goal + "\n")
        text.append("Run ", style="dim")
        text.append(self.run_id, style="dim")
        return text

    def _render_outcome(self) -> None:
        view = self.view
        tz = tz_of(self.app)
        text = Text()
        if view.message:
            text.append("CALL-E says  ", style="bold")
            text.append(view.message + "\n")
        if view.summary:
            text.append("Summary  ", style="bold")
            text.append(view.summary + "\n")
        judged = outcome_line(view.outcome)
        if judged:
            # The server's own judgement of the task, which "Completed" alone does not give: a glyph and a
            # colour for yes / no, the words for everything else.
            done = view.outcome.task_completed if view.outcome else None
            glyph, colour = {True: ("✓ ", "bold green"), False: ("✗ ", "bold magenta")}.get(done, ("", "bold"))
            text.append(glyph + judged + "\n", style=colour)
            for line in view.outcome.evidence if view.outcome else ():
                text.append(f"  • {line}\n")
        for label, value in _details(view.details, tz):
            text.append(f"{label}: ", style="bold")
            text.append(value + "\n")
        step = view.next_step
        if step and (step.message or step.action) and not _handled_here(step.action):
            asking = asks_user(step)
            text.append("CALL-E asks  " if asking else "Next  ", style="bold")
            text.append((step.message or step.action.replace("_", " ")) + "\n")
        if view.notes:
            text.append("Could not read  ", style="bold dim")
            text.append("; ".join(view.notes) + "\n", style="dim")
        # Everything else the server sent, under its own names: the details beyond the labelled ones
        # (extracted.*, calling.*), then the page's other fields (confirm tokens were scrubbed by the reader).
        _labelled, extras = split_details(view.details)
        extras.update((k, v) for k, v in view.extras.items() if k != "scheduled_at")
        if extras:
            text.append("Also from the server\n", style="bold dim")
            for key, value in extras.items():
                text.append(f"  {key}: {_plain(value)}\n")
        if view.terminal and not text:
            text.append("The call has ended. The server sent no summary.")
        text.rstrip()
        outcome = self.query_one("#monitor-outcome")
        outcome.display = bool(text)
        # Finished, a short transcript gives its blank rows to the outcome (styles/runs.tcss).
        self.set_class(view.terminal, "-finished")
        self.query_one("#monitor-outcome-text", Static).update(text)
        self.call_after_refresh(self._hint_more_outcome)

    def _hint_more_outcome(self, *_: object) -> None:
        """An outcome taller than its panel says so on its top line until it is read to the end."""
        outcome = self.query_one("#monitor-outcome", VerticalScroll)
        more = outcome.display and outcome.max_scroll_y > 0 and outcome.scroll_y < outcome.max_scroll_y
        outcome.border_title = "↓ more below: scroll, or Tab to it and press ↓" if more else None

    def on_resize(self) -> None:
        self.call_after_refresh(self._hint_more_outcome)

    def _note(self, sentence: str, *, error: bool = False) -> None:
        self._problem_shown = error and bool(sentence)  # an error note lasts only while its condition does
        note = self.query_one("#monitor-note", Static)
        note.update(sentence)
        note.set_class(error, "-error")
        note.set_class(bool(sentence), "-shown")

    # --- actions ------------------------------------------------------------------------------------

    async def action_refresh(self) -> None:
        if self.view.terminal or self.poll_state == "finished":
            self._note("The call has finished: there is nothing new to check.")
            return
        try:
            polled = await self.worker.refresh_now(self.run_id)
        except WorkerError as exc:
            self._note(f"{exc.message} {exc.action}".strip(), error=True)
            return
        if polled:
            self._note("Checked just now.")
        else:
            now = clock_of(self.app)()
            wait = ""
            if self.next_poll_at is not None:
                wait = f" The next check is in {max(0, round(self.next_poll_at - now))} s."
            self._note(f"Checked moments ago, so not again yet (checks are spaced out for the server).{wait}")

    def transcript_export(self) -> TranscriptExport:
        view = self.view
        return TranscriptExport(
            run_id=self.run_id,
            status=view.status_text or view.status,
            turns=list(view.best_transcript),
            summary=view.summary,
            details=view.details or None,
            to_phones=self.record.to_phones if self.record else (),
            goal=self.record.goal if self.record else None,
            extra=dict(view.extras),
            outcome=outcome_line(view.outcome),
            evidence=list(view.outcome.evidence) if view.outcome else [],
            activity=[(e.at, e.text) for e in view.entries if e.type != SPEECH],
            message=view.message,
            next_step=(view.next_step.message or None)
            if view.next_step and not _handled_here(view.next_step.action)
            else None,
            judgement=_judgement(view),
        )

    def action_copy(self) -> None:
        export = self.transcript_export()
        if not export.turns:
            self._note("There is no transcript to copy yet.")
            return
        self.app.copy_to_clipboard(to_markdown(export))
        self._note(
            f"Copied the transcript ({len(export.turns)} turns) as Markdown. If your terminal blocks "
            "clipboard access (OSC 52), press e to save it to a file instead."
        )

    async def action_export(self) -> None:
        export = self.transcript_export()
        try:
            md_path, json_path = await asyncio.to_thread(export_transcript, export)
        except OSError as exc:
            reason = exc.strerror or "the file could not be written"
            self._note(f"Could not save the transcript: {reason}. Check the folder's permissions.", error=True)
            return
        self.last_export = (md_path, json_path)
        self._note(f"Saved {md_path.name} and {json_path.suffix} in {md_path.parent}")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


# Instructions calle-tui carries out itself (checking again, waiting for a scheduled start): the status line
# already says when the next check is, so the server's words for them would only repeat it.
_HANDLED_HERE = frozenset({"poll_get_call_run", "poll", "wait_for_scheduled_run", "wait_for_scheduled_child_run"})


def _handled_here(action: str | None) -> bool:
    return (action or "").strip().lower() in _HANDLED_HERE


def _judgement(view: RunView) -> dict[str, Any] | None:
    outcome = view.outcome
    if outcome is None:
        return None
    return {"task_completed": outcome.task_completed, "confidence_label": outcome.confidence_label,
            "confidence_score": outcome.confidence_score}  # fmt: skip


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _details(details: dict[str, Any], tz: Any) -> list[tuple[str, str]]:
    """Call details as labelled fields: callee, start, end, duration and call id, in words a person uses.
    The other keys are shown with the server's additional fields."""
    shown: list[tuple[str, str]] = []
    for key, label in DETAIL_LABELS.items():
        value = details.get(key)
        if value is None:
            continue
        if key == "callee" and isinstance(value, str):
            shown.append((label, format_phone(value)))
        elif key in {"started_at", "ended_at"}:
            when = parse_time(value) if isinstance(value, str) else None
            shown.append((label, format_datetime(when, tz) if when else _plain(value)))
        elif key == "duration_seconds" and isinstance(value, int | float) and not isinstance(value, bool):
            shown.append((label, format_duration(value)))
        else:
            shown.append((label, _plain(value)))
    return shown
