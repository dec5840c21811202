"""A batch of calls from a JSONL file: plan every line, confirm once by typing how many calls, send, follow.

Step 1 plans each line (plan_call only: nothing can ring) and shows its readiness in a table; Enter on a
line with questions answers them in place (the composer's question boxes, then plan_call again), Enter on a
line that failed plans it again, `x` skips a line (or takes it back), ctrl+s saves the plans. Step 2 is one
confirmation that lists every destination and wants the number of calls typed, then ctrl+y; Enter alone
never places anything, and lines that are not ready are never sent. Sending is one live call at a time
(production's line; core/batch/send.py), and Esc stops sending further lines while the calls already placed
go on and are followed (F3 shows them). The screen does no I/O: core/batch/session.py reads the file, plans,
sends and writes the result files.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Input, ProgressBar, Static

from calle_tui.ui.runs.app_context import runs_of, settle_blink, tz_of
from calle_tui.ui.runs.board_rows import destination
from calle_tui.ui.runs.format import status_look
from calle_tui.ui.runs.plan_view import plan_when
from calle_tui.ui.screens.confirm import TypedConfirmModal
from calle_tui.ui.widgets.header import AppHeader

if TYPE_CHECKING:
    from datetime import tzinfo

    from calle_tui.core.batch.plan import PlannedLine
    from calle_tui.core.batch.send import SendLine
    from calle_tui.core.batch.session import BatchSession
    from calle_tui.core.wire.contract import MissingField, PlanCallResult
    from calle_tui.core.worker_api import PlanRequest

log = logging.getLogger("calle_tui.ui")

SEND_WORDS = {
    "queued": "waiting its turn",
    "sending": "placing the call…",
    "waiting_for_line": "line busy: waits",
    "started": "call started",
    "refused": "not placed",
    "unknown": "? outcome unknown: check History",
    "not_sent": "not sent (stopped)",
}


def plan_words(planned: PlannedLine) -> str:
    if planned.state == "ready":
        return "✓ ready"
    if planned.state == "skipped":
        return "skipped: never sent (x takes it back)"
    if planned.state == "questions":
        return "asks: " + "; ".join(planned.questions) + " (Enter answers, x skips)"
    if planned.state == "error":
        return "✗ not planned: " + planned.error + " (Enter tries again)"
    return "not ready: " + (planned.server_message or "CALL-E did not say why") + " (Enter answers)"


def confirm_words(plan: PlanCallResult, tz: tzinfo | None) -> str:
    """What the confirmation shows beside a line's destination: the plan's time, or, when CALL-E echoed no
    plan fields (production may not), CALL-E's own sentence about the call: what the person confirms."""
    if plan.plan is None:
        said = plan.confirm_summary or plan.display_goal or plan.message
        if said:
            return "CALL-E: " + " ".join(said.split())
    return plan_when(plan, tz)


class BatchScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+r", "review", "Review and place", id="batch.review", tooltip="One confirmation for every ready line."
        ),
        Binding("x", "skip", "Skip", id="batch.skip", tooltip="This line is never sent (x again takes it back)."),
        Binding("ctrl+s", "save_plans", "Save plans", id="batch.save", tooltip="Write plans.jsonl; nothing is called."),
        Binding("escape", "back", "Back / stop", id="batch.back", tooltip="Stop sending; placed calls go on."),
    ]

    def __init__(self, session: BatchSession) -> None:
        super().__init__()
        self.session = session
        self.title = f"Batch {session.path.name}"
        self.stage = "reading"  # reading | planning | planned | sending | sent | failed
        self._worked_on = False  # a line was answered, planned again or skipped since the last save
        self._leave_armed = False  # the first Esc said what leaving drops
        # The row whose whole text was last shown, or under the cursor when the counts were: the table reports
        # a highlight when rows are filled in too, and that late report must not replace the counts and keys.
        self._highlighted_row: int | None = None

    DEFAULT_CSS = """
    #batch-body { height: 1fr; padding: 0 1; }
    #batch-table { height: auto; max-height: 1fr; margin-top: 1; overflow-x: hidden; }
    #batch-message { height: auto; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Vertical(id="batch-body"):
            yield Static("Reading the file…", id="batch-status", markup=False)
            yield ProgressBar(id="batch-progress", show_eta=False)
            yield DataTable(id="batch-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="batch-message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#batch-table", DataTable)
        table.add_column("line", key="line", width=5)
        table.add_column("destination", key="to", width=20)
        table.add_column("state", key="state")
        self._plan()

    # --- step 1: plan --------------------------------------------------------------------------------

    @work(group="batch-plan", exclusive=True, exit_on_error=False)
    async def _plan(self) -> None:
        from calle_tui.core.batch.file import BatchFileError

        try:
            batch = await self.session.load()
        except BatchFileError as exc:
            self._fail(str(exc))
            return
        table = self.query_one("#batch-table", DataTable)
        rows: list[tuple[int, int, tuple[str, str, str], str]] = []
        for n, problem in enumerate(batch.problems):  # each with its line number; such lines are never planned
            rows.append((problem.line, 0, (str(problem.line), "-", "✗ " + problem.sentence), f"problem-{n}"))
        for line in batch.lines:
            rows.append((line.line, 1, (str(line.line), destination(line.request.to_phones or ()), "planning…"),
                         str(line.line)))  # fmt: skip
        for _line, _kind, cells, key in sorted(rows, key=lambda r: (r[0], r[1])):  # in the file's order
            table.add_row(*cells, key=key)
        if not batch.lines:
            self._fail("Nothing in this file can be planned: see each line's problem above.")
            return
        self.stage = "planning"
        bar = self.query_one("#batch-progress", ProgressBar)
        bar.update(total=len(batch.lines), progress=0)
        self._status(f"Planning {len(batch.lines)} calls (plan_call only: nothing rings)…")
        try:
            planned = await self.session.plan(lambda done, total: bar.update(progress=done))
        except Exception as exc:  # a bug must not leave the screen planning for ever
            log.error("planning the batch failed", exc_info=exc)
            self._fail("Planning stopped unexpectedly. Nothing was called.")
            return
        for p in planned:
            table.update_cell(str(p.line.line), "state", plan_words(p))
        self.stage = "planned"
        self._show_planned()

    def _show_planned(self, said: str = "") -> None:
        """The counts and what can be done next, after the planning and after each answer or skip."""
        planned = self.session.planned
        self._highlighted_row = self.query_one("#batch-table", DataTable).cursor_row
        ready = len(self.session.ready())
        skipped = sum(1 for p in planned if p.state == "skipped")
        open_ = sum(1 for p in planned if p.state in {"questions", "not_ready", "error"})
        self._status(f"{ready} of {len(planned)} calls ready" + (f", {skipped} skipped" if skipped else "")
                     + ". Nothing was called.")  # fmt: skip
        calls = "the ready call" if ready == 1 else f"the {ready} ready calls"
        hints = [f"ctrl+r reviews {calls}: one confirmation for all." if ready
                 else "No line is ready to call yet."]  # fmt: skip
        if open_:
            hints.append("Enter on a line answers its questions (or plans it again); x skips it.")
        hints.append("ctrl+s saves the plans.")
        self._say(" ".join(([said] if said else []) + hints))
        self.refresh_bindings()

    # --- between the steps: answer, retry or skip one line, save the plans ---------------------------

    def _planned_at(self, key: str | None) -> PlannedLine | None:
        """The planned line of a table row (rows keyed by line number; problem rows have other keys)."""
        return self.session.planned_line(int(key)) if key and key.isdigit() else None

    def _cursor_line(self) -> PlannedLine | None:
        table = self.query_one("#batch-table", DataTable)
        if table.row_count == 0:
            return None
        return self._planned_at(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected, "#batch-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.stage != "planned":
            return
        planned = self._planned_at(event.row_key.value)
        if planned is None:  # a problem line: the file must be fixed
            self._say("This line cannot be planned: fix it in the file and open the batch again.")
            return
        if self.session.is_busy(planned.line.line):
            self._say(f"Line {planned.line.line} is being planned…")
        elif planned.state in {"questions", "not_ready"}:
            self._answer(planned.line.line)
        elif planned.state == "error":
            self._plan_again(planned.line.line, None)
        elif planned.state == "skipped":
            self._say(f"Line {planned.line.line} is skipped: x takes it back.")
        else:
            self._say(f"Line {planned.line.line} is ready: ctrl+r reviews every ready call.")

    @work(group="batch-answer", exit_on_error=False)
    async def _answer(self, number: int) -> None:
        from calle_tui.ui.runs.answers import answered_request, questions_of

        planned = self.session.planned_line(number)
        if planned is None or planned.result is None:
            return
        questions, _asked = questions_of(planned.result)
        title = f"Line {number} · {destination(planned.line.request.to_phones or ())}"
        answers = await self.app.push_screen_wait(BatchAnswerModal(title, questions))
        if not answers or self.stage != "planned":
            return
        base = planned.asked or planned.line.request
        request = answered_request(answers, plan_id=planned.result.plan_id, base=base,
                                   carry={"customer_metadata": planned.line.request.customer_metadata})  # fmt: skip
        self._plan_again(number, request)

    @work(group="batch-replan", exit_on_error=False)
    async def _plan_again(self, number: int, request: PlanRequest | None) -> None:
        from calle_tui.core.batch.session import BatchLocked

        table = self.query_one("#batch-table", DataTable)
        table.update_cell(str(number), "state", "planning again…")
        self.refresh_bindings()  # no review while a line's plan may still change
        try:
            if request is None:
                new = await self.session.replan(number)
            else:
                new = await self.session.answer(number, request)
        except Exception as exc:  # locked, or a bug: either way the line must not stay "planning again"
            current = self.session.planned_line(number)
            if current is not None:
                table.update_cell(str(number), "state", plan_words(current))
            if isinstance(exc, BatchLocked):
                self._say(str(exc))
                return
            log.error("planning line %d again failed", number, exc_info=exc)
            self._show_planned("Planning that line failed unexpectedly. Nothing was called.")
            return
        self._worked_on, self._leave_armed = True, False
        table.update_cell(str(number), "state", plan_words(new))
        words = {"ready": f"Line {number} is ready.", "questions": f"Line {number} still has questions."}
        self._show_planned(words.get(new.state, f"Line {number}: {plan_words(new)}"))

    def action_skip(self) -> None:
        from calle_tui.core.batch.session import BatchLocked

        planned = self._cursor_line()
        if self.stage != "planned" or planned is None or self.session.is_busy(planned.line.line):
            return
        try:
            new = self.session.skip(planned.line.line)
        except BatchLocked as exc:
            self._say(str(exc))
            return
        self._worked_on, self._leave_armed = True, False
        self.query_one("#batch-table", DataTable).update_cell(str(new.line.line), "state", plan_words(new))
        self._show_planned(f"Line {new.line.line} " + ("skipped." if new.skipped else "taken back."))

    @work(group="batch-save", exclusive=True, exit_on_error=False)
    async def action_save_plans(self) -> None:
        if self.stage not in {"planned", "sending", "sent"}:
            return
        try:
            path = await self.session.save_plans()
        except OSError as exc:
            self._say(f"The plans could not be saved: {exc.strerror or exc}. Nothing was lost or called.")
            return
        self._worked_on, self._leave_armed = False, False
        self._say(f"Plans saved (nothing was called): {path}")

    # --- step 2: confirm and send --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "review":
            return self.stage == "planned" and bool(self.session.ready()) and not self.session.busy
        if action == "skip":
            return self.stage == "planned"
        if action == "save_plans":
            return self.stage in {"planned", "sending", "sent"}
        return True

    @work(group="batch-review", exclusive=True, exit_on_error=False)
    async def action_review(self) -> None:
        if self.stage != "planned" or not self.session.ready() or self.session.busy:
            return
        demo = bool(getattr(self.app, "demo", False))
        calls = [(line, phones, confirm_words(plan, tz_of(self.app))) for line, phones, plan in self.session.to_confirm()]
        sure = await self.app.push_screen_wait(BatchConfirmModal(calls, demo=demo, at_once=self.session.max_active))
        if not sure or self.stage != "planned":
            return
        if [(line, phones) for line, phones, _when in calls] != self.session.destinations():
            # A line's plan changed while the confirmation was open: what was confirmed is not what would go.
            self._say("The ready calls changed while you confirmed: nothing was placed. Press ctrl+r again.")
            return
        self.stage = "sending"  # from here on this batch can never be confirmed again
        self.refresh_bindings()
        self._send()

    @work(group="batch-send", exclusive=True, exit_on_error=False)
    async def _send(self) -> None:
        how = "one after the other" if self.session.max_active == 1 else f"up to {self.session.max_active} at once"
        self._status(f"Placing the calls {how}. Esc stops sending; F3 shows the calls.")
        self._say("")
        table = self.query_one("#batch-table", DataTable)
        for line, _phones in self.session.destinations():
            table.update_cell(str(line), "state", SEND_WORDS["queued"])
        try:
            lines = await self.session.send(self._on_line)
        except Exception as exc:
            log.error("sending the batch failed", exc_info=exc)
            self._fail("Sending stopped unexpectedly: check History for the calls already placed.")
            return
        self.stage = "sent"
        done = sum(1 for ln in lines if ln.state == "finished")
        unknown = sum(1 for ln in lines if ln.state == "unknown")
        where = self.session.results.folder if self.session.results is not None else ""
        self._status(
            f"Batch over: {done} calls finished" + (f", {unknown} with an unknown outcome" if unknown else "") + "."
        )
        self._say(f"Results: {where}")
        self.refresh_bindings()

    def _on_line(self, line: SendLine) -> None:
        words = SEND_WORDS.get(line.state, line.state)
        if line.state == "finished":
            words = self._ended_words(line)
        elif line.message and line.state in {"refused", "waiting_for_line"}:
            words = f"{words}: {line.message}"
        try:
            self.query_one("#batch-table", DataTable).update_cell(str(line.line), "state", words)
        except Exception:  # noqa: BLE001 - the screen was left: the sending goes on regardless
            return
        from calle_tui.core.batch.send import summary

        if self.session.sender is not None:
            counts = summary(self.session.sender.lines)
            self._status(f"Done {counts['done']} · live {counts['live']} · failed {counts['failed']} · "
                         f"waiting {counts['waiting']}. Esc stops sending; F3 shows the calls.")  # fmt: skip

    def _ended_words(self, line: SendLine) -> str:
        """'✓ ended: Completed': the call's status as every screen words it (its view in the app's store of
        runs), else as the sender heard it."""
        runs = runs_of(self.app)
        view = runs.get(line.run_id) if runs is not None and line.run_id else None
        status, word = (view.status, view.status_text) if view is not None else (line.final_status, "")
        glyph, _colour, label = status_look(status, word) if status else ("✓", "", "finished")
        return f"{glyph} ended: {label}"

    @on(DataTable.RowHighlighted, "#batch-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # A long question or problem is cut at the column's edge: the highlighted line's is shown whole.
        if event.cursor_row == self._highlighted_row:
            return
        self._highlighted_row = event.cursor_row
        row = event.data_table.get_row_at(event.cursor_row)
        if self.stage in {"planned", "failed"} and len(row) > 2:
            self._say(f"Line {row[0]}: {row[2]}")

    def action_back(self) -> None:
        if self.stage == "sending":
            self.session.stop()
            self._say("No further call will be placed. The calls already placed go on and are followed (F3).")
            return
        if self.stage == "planned" and self._worked_on and not self._leave_armed:
            # Answers typed and lines skipped live only here: one stray Esc must not drop them.
            self._leave_armed = True
            self._say("Esc again leaves this batch and drops its answers and skips (ctrl+s saves the plans first).")
            return
        self.dismiss(None)

    # --- helpers --------------------------------------------------------------------------------------

    def _fail(self, sentence: str) -> None:
        self.stage = "failed"
        self._status(sentence)
        self.refresh_bindings()

    def _status(self, text: str) -> None:
        self.query_one("#batch-status", Static).update(text)

    def _say(self, text: str) -> None:
        self.query_one("#batch-message", Static).update(text)


class BatchConfirmModal(TypedConfirmModal):
    """Every destination that will be called, and the number of calls typed by the person, then ctrl+y."""

    DEFAULT_CSS = """
    BatchConfirmModal { align: center middle; }
    BatchConfirmModal > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    BatchConfirmModal #batch-confirm-title { color: $error; text-style: bold; width: 1fr; content-align: center middle; }
    BatchConfirmModal #batch-confirm-list { height: auto; max-height: 10; margin: 1 0; }
    BatchConfirmModal #batch-confirm-count { width: 12; }
    BatchConfirmModal #batch-confirm-message { color: $error; height: auto; }
    BatchConfirmModal Horizontal { height: auto; align-horizontal: center; }
    BatchConfirmModal Button { margin: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="batch-confirm.cancel"),
        Binding("ctrl+y", "confirm", "Place the calls", id="batch-confirm.place"),
    ]
    GATE_ID, PLACE_ID, CANCEL_ID = "batch-confirm-count", "batch-confirm-place", "batch-confirm-cancel"
    MESSAGE_ID = "batch-confirm-message"

    def __init__(self, calls: list[tuple[int, tuple[str, ...], str]], *, demo: bool = False, at_once: int = 1) -> None:
        super().__init__()
        self.at_once = at_once
        self.destinations = calls  # (line, numbers, when: "As soon as you confirm" or the plan's time)
        self.count = len(calls)
        self.demo = demo

    def compose(self) -> ComposeResult:
        calls = f"{self.count} call" + ("s" if self.count != 1 else "")
        with Vertical():
            yield Static(
                f"⚠  Sandbox: {calls}, simulated, no phone rings"
                if self.demo
                else f"⚠  This places {calls}: REAL phone calls",
                id="batch-confirm-title",
            )
            with VerticalScroll(id="batch-confirm-list"):
                for line, phones, when in self.destinations:
                    yield Static(f"line {line:>3}  {destination(phones):<22} {when}", markup=False)
            pace = (
                "One at a time: the next starts when the previous has ended."
                if self.at_once == 1
                else f"Up to {self.at_once} at once: the next starts when one has ended."
            )
            yield Static(
                f"{pace} A started call cannot be stopped from calle-tui. Lines that are not ready are not sent.",
                markup=False,
            )
            yield Static(f"To confirm, type the number of calls to place ({self.count}), then ctrl+y:", markup=False)
            yield settle_blink(Input(id="batch-confirm-count", restrict=r"[0-9]*", max_length=4, compact=True))
            yield Static(id="batch-confirm-message", markup=False)
            with Horizontal():
                yield Button(
                    f"Place {calls} (ctrl+y)", id="batch-confirm-place", variant="error", compact=True, disabled=True
                )
                yield Button("Cancel (esc)", id="batch-confirm-cancel", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self._gate().focus()

    def _matches(self) -> bool:
        return self._gate().value == str(self.count)

    def _enter_pressed(self, matches: bool) -> None:
        self._say("Enter does not place calls: press ctrl+y once the number is typed.")

    def _refuse(self, typed: str) -> None:
        self._say(f"Type {self.count}, the number of calls this places, first.")


class BatchAnswerModal(ModalScreen["list[tuple[MissingField, str]] | None"]):
    """One line's questions, asked as the composer asks them; ctrl+s (or the button) sends the answers
    to plan_call (never a call), Esc leaves the line as it was."""

    DEFAULT_CSS = """
    BatchAnswerModal { align: center middle; }
    BatchAnswerModal #batch-answer-questions { height: auto; max-height: 16; }
    BatchAnswerModal > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    BatchAnswerModal #batch-answer-title { text-style: bold; }
    BatchAnswerModal .question { margin-top: 1; width: 100%; }
    BatchAnswerModal .answers-send { margin-top: 1; }
    BatchAnswerModal #batch-answer-message { color: $text-muted; height: auto; }
    BatchAnswerModal #batch-answer-message.-error { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="batch-answer.cancel"),
        Binding("ctrl+s", "send", "Plan again", id="batch-answer.send", tooltip="plan_call with the answers"),
    ]

    def __init__(self, title: str, questions: list[MissingField]) -> None:
        super().__init__()
        self.heading = title
        self.questions = questions

    def compose(self) -> ComposeResult:
        from calle_tui.ui.runs.answers import question_widgets

        with Vertical():
            yield Static(f"{self.heading}: CALL-E asks", id="batch-answer-title", markup=False)
            with VerticalScroll(id="batch-answer-questions"):  # many questions scroll; the title stays
                yield from question_widgets(self.questions, 0, send_label="Plan again with these answers (ctrl+s)")
            yield Static("Planning never places a call.", id="batch-answer-message", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @on(Input.Submitted, ".answer")
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        boxes = list(self.query(".answer").results(Input))
        index = boxes.index(event.input) if event.input in boxes else len(boxes) - 1
        if index < len(boxes) - 1:
            boxes[index + 1].focus()
        else:
            self.action_send()

    @on(Button.Pressed, ".answers-send")
    def _pressed_send(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_send()

    def action_send(self) -> None:
        answers = []
        for index, question in enumerate(self.questions):
            value = self.query_one(f"#answer-0-{index}", Input).value
            if value.strip():
                answers.append((question, value))
        if not answers:
            message = self.query_one("#batch-answer-message", Static)
            message.update("Type an answer first, or press Esc.")
            message.add_class("-error")
            return
        self.dismiss(answers)

    def action_cancel(self) -> None:
        self.dismiss(None)


class BatchPathModal(ModalScreen[str | None]):
    """Which batch file to open (Import batch in the palette, or F4)."""

    DEFAULT_CSS = """
    BatchPathModal { align: center middle; }
    BatchPathModal > Vertical { width: 70; max-width: 100%; height: auto; border: thick $accent;
                                background: $surface; padding: 1 2; }
    BatchPathModal Input { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="batch-path.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "The batch file (JSONL, one call per line, as CALL-E's batch runner writes it), then Enter. "
                "Opening it plans the lines only: nothing is called until you confirm.",
                markup=False,
            )
            yield settle_blink(Input(id="batch-path", placeholder="~/calls.jsonl", compact=True))
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#batch-path", Input).focus()

    @on(Input.Submitted, "#batch-path")
    def _submitted(self, event: Input.Submitted) -> None:
        import os

        event.stop()
        value = event.value.strip()
        self.dismiss(os.path.expanduser(value) if value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
