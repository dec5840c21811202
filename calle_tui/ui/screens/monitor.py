"""Follow one run live: status, polling state, activity, transcript, and the outcome when it ends.

All data arrives from the worker as events (bridge.py); the screen asks the worker to follow the run and,
on `r`, to check now. Transcript lines go to a virtualised view in batches, so a long call stays smooth.
Exports are written by calle_tui.core.export; copying uses the terminal's clipboard (OSC 52).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Log, Static

from calle_tui.core.contract import (
    ActivityEntry,
    GetCallRunResult,
    TranscriptTurn,
    is_terminal_status,
    parse_time,
)
from calle_tui.core.events import ErrorEvent, RunFinished, RunUpdate
from calle_tui.core.export import TranscriptExport, export_transcript, to_markdown
from calle_tui.core.worker_api import RunRecord, WorkerAPI, WorkerError
from calle_tui.ui.bridge import WorkerEventMessage, WorkerEventsMixin
from calle_tui.ui.runs.app_context import clock_of, tz_of
from calle_tui.ui.runs.format import (
    format_clock,
    format_duration,
    format_phone,
    format_when,
    short_phone,
    status_look,
)
from calle_tui.ui.paths import styles_path
from calle_tui.ui.runs.transcript import TranscriptLog

SPEECH = "speech"


class MonitorScreen(WorkerEventsMixin, Screen):
    CSS_PATH = [str(styles_path("runs.tcss"))]
    BINDINGS = [
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
        self.status = record.status if record else "queued"
        self.poll_state = "finished" if record and record.terminal else "waiting_first"
        self.next_poll_at: float | None = None
        self.poll_message = ""
        self.latest: GetCallRunResult | None = None
        self.final: RunFinished | None = None
        self._started_at: float | None = record.created_at if record else None
        self._finished_at: float | None = None
        self._seen: set[str] = set()
        self._live_turns: list[TranscriptTurn] = []
        self._activity_count = 0
        self.title = self._title()

    def compose(self) -> ComposeResult:
        with Vertical(id="monitor-head"):
            yield Static(id="monitor-status")
            yield Static(id="monitor-info")
            yield Static(id="monitor-note")
        yield Label("Activity", classes="runs-section")
        yield Log(id="monitor-activity", max_lines=10_000)
        yield Label("Transcript", classes="runs-section")
        yield TranscriptLog(id="monitor-transcript", placeholder="Nothing said yet. Speech appears here live.")
        with VerticalScroll(id="monitor-outcome"):
            yield Static(id="monitor-outcome-text")
        yield Footer()

    def on_mount(self) -> None:
        if self._started_at is None:
            self._started_at = clock_of(self.app)()
        if self.record and self.record.terminal:
            self._finished_at = self._started_at
        self.query_one("#monitor-info", Static).update(self._info_text())
        self._render_status()
        self._render_outcome()
        self.set_interval(1.0, self._render_status)  # countdown and elapsed time
        # After this mount finishes, so the bridge has subscribed before the worker can report anything.
        self.call_later(self.worker.follow, self.run_id)

    # --- events -------------------------------------------------------------------------------------

    @on(WorkerEventMessage)
    def _on_worker_event(self, message: WorkerEventMessage) -> None:
        event = message.event
        if isinstance(event, RunUpdate) and event.run_id == self.run_id:
            self._apply_update(event)
        elif isinstance(event, RunFinished) and event.run_id == self.run_id:
            self._apply_finished(event)
        elif isinstance(event, ErrorEvent) and event.run_id == self.run_id:
            self._note(f"{event.message} {event.action}".strip(), error=True)

    def _apply_update(self, event: RunUpdate) -> None:
        if self.final is not None:
            return  # a late poll cannot undo the end
        self.status = event.status or self.status
        self.poll_state = event.poll_state
        self.next_poll_at = event.next_poll_at
        self.poll_message = event.message
        if event.result is not None:
            self.latest = event.result
        self.add_activity(event.new_activity)
        if event.poll_state == "waiting" and event.message:
            # A server that answers in words instead of data: show what it said, in full, under the status.
            self._note(f"The server said: {event.message}")
        if is_terminal_status(self.status) and self._finished_at is None:
            self._finished_at = clock_of(self.app)()
        self._render_status()
        self._render_outcome()

    def _apply_finished(self, event: RunFinished) -> None:
        self.final = event
        self.latest = event.result
        self.status = event.status or event.result.status
        self.poll_state = "finished"
        self.next_poll_at = None
        self.poll_message = ""
        self.add_activity(event.result.activity)
        if self._finished_at is None:
            self._finished_at = clock_of(self.app)()
        turns = list(event.transcript) or list(event.result.transcript or [])
        if turns:  # the server's final transcript replaces what was heard live
            self.query_one(TranscriptLog).replace_turns((t.speaker, t.text) for t in turns)
        self._render_status()
        self._render_outcome()

    def add_activity(self, entries: tuple[ActivityEntry, ...] | list[ActivityEntry]) -> None:
        """Append new entries in one batch: speech to the transcript, the rest to the activity log."""
        tz = tz_of(self.app)
        speech: list[TranscriptTurn] = []
        lines: list[str] = []
        for entry in entries:
            if entry.id in self._seen:
                continue
            self._seen.add(entry.id)
            if entry.type == SPEECH:
                speech.append(TranscriptTurn(at=entry.at, speaker=entry.speaker or "?", text=entry.text))
            else:
                when = parse_time(entry.at)
                stamp = format_clock(when.timestamp(), tz) + "  " if when else ""
                lines.append(f"{stamp}{entry.text or entry.type}")
        if lines:
            self._activity_count += len(lines)
            self.query_one("#monitor-activity", Log).write_lines(lines)
        if speech and self.final is None:
            self._live_turns.extend(speech)
            self.query_one(TranscriptLog).append_turns((t.speaker, t.text) for t in speech)

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
        glyph, colour, label = status_look(self.status)
        self.sub_title = label.lower()
        text = Text()
        text.append(f" {glyph} {label} ", style=f"bold {colour} reverse")
        started = self._started_at if self._started_at is not None else now
        elapsed = (self._finished_at or now) - started
        # The gaps are runs of their own (plain, not bold): renderers that trim a run's leading blanks,
        # such as SVG viewers, then still keep the badge, the time and the poll state apart.
        gap = Style(bold=False)
        text.append("  ", style=gap)
        text.append(f"elapsed {format_duration(elapsed)}", style="bold")
        text.append("  ", style=gap)
        text.append(self._poll_text(now))
        self.query_one("#monitor-status", Static).update(text)

    def _poll_text(self, now: float) -> str:
        tz = tz_of(self.app)
        left = None if self.next_poll_at is None else max(0, round(self.next_poll_at - now))
        state = self.poll_state
        if state == "finished" or self.final is not None:
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
            when = (self.latest and self.latest.extra_fields.get("scheduled_at")) or (
                self.record.scheduled_at if self.record else None
            )
            if when:
                return f"· Scheduled for {format_when(str(when), tz)}"
            if self.next_poll_at is not None:
                return f"· Scheduled; next check at {format_clock(self.next_poll_at, tz)}"
            return "· Scheduled"
        detail = f": {self.poll_message}" if self.poll_message else ""
        return f"· Status unknown{detail}"

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
        result = self.latest
        text = Text()
        if result is not None:
            if result.summary:
                text.append("Summary  ", style="bold")
                text.append(result.summary + "\n")
            for key, value in (result.details or {}).items():
                text.append(f"{key}: ", style="bold")
                text.append(_plain(value) + "\n")
            step = result.next_step
            if step and (step.message or step.action):
                text.append("Next  ", style="bold")
                text.append((step.message or step.action) + "\n")
            extras = {k: v for k, v in result.extra_fields.items() if k != "scheduled_at"}
            if extras:
                text.append("Also from the server\n", style="bold dim")
                for key, value in extras.items():
                    text.append(f"  {key}: {_plain(value)}\n")
        if self.final is not None and not text:
            text.append("The call has ended. The server sent no summary.")
        text.rstrip()
        outcome = self.query_one("#monitor-outcome")
        outcome.display = bool(text)
        self.query_one("#monitor-outcome-text", Static).update(text)

    def _note(self, sentence: str, *, error: bool = False) -> None:
        note = self.query_one("#monitor-note", Static)
        note.update(sentence)
        note.set_class(error, "-error")
        note.set_class(bool(sentence), "-shown")

    # --- actions ------------------------------------------------------------------------------------

    async def action_refresh(self) -> None:
        if self.final is not None or self.poll_state == "finished":
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
        turns = list(self.final.transcript) if self.final and self.final.transcript else []
        if not turns and self.final and self.final.result.transcript:
            turns = list(self.final.result.transcript)
        if not turns:
            turns = list(self._live_turns)
        result = self.latest
        return TranscriptExport(
            run_id=self.run_id,
            status=self.status,
            turns=turns,
            summary=result.summary if result else None,
            details=result.details if result else None,
            to_phones=self.record.to_phones if self.record else (),
            goal=self.record.goal if self.record else None,
            extra=dict(result.extra_fields) if result else {},
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
            reason = exc.strerror or type(exc).__name__
            self._note(f"Could not save the transcript: {reason}. Check the folder's permissions.", error=True)
            return
        self.last_export = (md_path, json_path)
        self._note(f"Saved {md_path.name} and {json_path.suffix} in {md_path.parent}")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
