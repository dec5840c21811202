"""Past runs from the worker's journal: when, to whom, the goal and the outcome. Searchable; Enter opens one.
A run's outcome is worded from its view in the app's store of runs when the store has one (as on the board and
the monitor), else from its journal row; the screen watches the store for changes.

An attempt whose outcome is unknown (run_call was sent, no answer came back) is shown distinctly and explained
in place: it is never re-sent from here.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import ColumnKey

from calle_tui.core.events import RunOutcomeUnknown, RunStarted
from calle_tui.ui.runs.app_context import runs_for
from calle_tui.ui.runs.format import status_look
from calle_tui.ui.runs.store import RunChanged, RunStore
from calle_tui.ui.screens.run_table import RunTableScreen
from calle_tui.ui.widgets.header import AppHeader

if TYPE_CHECKING:
    from calle_tui.core.worker_api import RunRecord, WorkerAPI

WHEN_WIDTH, TO_WIDTH, OUTCOME_WIDTH = 12, 18, 17
UNKNOWN_LOOK = ("?", "bold yellow", "Outcome unknown")
UNKNOWN_EXPLAINED = (  # fits the 3-line detail pane at 80 columns
    "No answer came back, so we cannot tell whether a call was placed; nothing is resent by itself. "
    "Press k to check with CALL-E: you confirm first, as checking places the call if the request never arrived."
)
# When the server does not declare run_call idempotent, a check would mean sending run_call again: never.
UNKNOWN_NOT_CHECKABLE = (
    "No answer came back, so we cannot tell whether a call was placed; nothing is resent by itself. "
    "This server does not say a repeat is safe: check in CALL-E whether the call took place."
)
CANNOT_CHECK = (
    "✗ This server does not say that repeating a call request is safe, so calle-tui cannot check "
    "it from here without risking a second call. Check in CALL-E whether the call took place before "
    "planning it again."
)


def row_look(record: RunRecord, runs: RunStore | None = None) -> tuple[str, str, str]:
    """(glyph, Rich colour, label) of a row: an attempt without an answer, or its run's status (a server's
    `UNKNOWN` among them) as every screen words it; the glyph carries the meaning where colour does not."""
    if is_unknown(record):
        return UNKNOWN_LOOK
    return status_look(*runs.status_of(record)) if runs is not None else status_look(record.status, record.status_text)


def is_unknown(record: RunRecord) -> bool:
    """run_call was sent and no answer is known: there is no run to open, only a request to check."""
    return record.run_id is None or record.attempt != "started"


def record_key(record: RunRecord) -> str:
    return f"run:{record.run_id}" if record.run_id else f"plan:{record.plan_id}"


class HistoryScreen(RunTableScreen):
    SEARCH_ID = "history-search"
    _runs: RunStore  # the app's store of runs (each run's view), from mount on
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="history.back", tooltip="Back to where you were."),
        Binding("slash", "focus_search", "Search", key_display="/", id="history.search", tooltip="Filter the list."),
        Binding("r", "reload", "Reload", id="history.reload", tooltip="Read the list again."),
        Binding(
            "k",
            "check_unknown",
            "Check request",
            id="history.check",
            tooltip="Ask CALL-E what happened to a request whose answer was lost (may place the call).",
        ),
    ]

    def __init__(self, worker: WorkerAPI) -> None:
        super().__init__()
        self.worker = worker
        self.title = "History"
        self.records: dict[str, RunRecord] = {}
        self._notes: dict[str, str] = {}  # a row's last check result, kept while the cursor moves

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Input(id="history-search", placeholder="Search: number, goal or outcome", compact=True)
        yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="history-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._runs = runs_for(self)
        self._runs.watch(self, self._on_run_changed)
        self.query_one("#history-search", Input).cursor_blink = getattr(self.app, "cursor_blink", True)
        table = self.query_one(DataTable)
        table.add_column("When", key="when", width=WHEN_WIDTH)
        table.add_column("To", key="to", width=TO_WIDTH)
        table.add_column("Outcome", key="outcome", width=OUTCOME_WIDTH)
        table.add_column("Goal", key="goal", width=self._goal_width())
        self.reload()
        table.focus()

    def _goal_width(self) -> int:
        # The goal takes what is left, so the table never scrolls sideways (80 columns over SSH).
        fixed = WHEN_WIDTH + TO_WIDTH + OUTCOME_WIDTH + 4 * 2  # each column has one cell of padding per side
        return max(12, self.size.width - fixed - 4)

    def on_resize(self) -> None:
        table = self.query_one(DataTable)
        goal = table.columns.get(ColumnKey("goal")) if table.columns else None
        if goal is not None and goal.width != self._goal_width():
            goal.width = self._goal_width()
            self.reload()

    # --- data ---------------------------------------------------------------------------------------

    def reload(self) -> None:
        from calle_tui.core.worker_api import WorkerError
        from calle_tui.ui.runs.format import short_phone

        search = self.query_one("#history-search", Input).value.strip()
        try:
            records = self.worker.history(search)
        except WorkerError as exc:
            self._detail(f"{exc.message} {exc.action}".strip())
            return
        except Exception as exc:  # a broken journal must not take the screen down
            logging.getLogger("calle_tui.ui").error("the history could not be read", exc_info=exc)
            self._detail("The history could not be read. Press r to try again.")
            return
        table = self.query_one(DataTable)
        keep = self._cursor_key()
        table.clear()
        self.records = {}
        tz = self.app.display_tz  # type: ignore[attr-defined]
        for record in records:
            key = record_key(record)
            if key in self.records:
                continue
            self.records[key] = record
            glyph, colour, label = row_look(record, self._runs)
            when = datetime.fromtimestamp(record.created_at, tz)
            phones = [short_phone(p) for p in record.to_phones]
            to = (phones[0] + (f" +{len(phones) - 1}" if len(phones) > 1 else "")) if phones else "-"
            goal = Text(record.goal or "(no goal)", style="" if record.goal else "dim", overflow="ellipsis", no_wrap=True)
            table.add_row(
                f"{when:%d %b %H:%M}",
                to,
                Text(f"{glyph} {label}", style=colour),
                goal,
                key=key,
            )
        if keep in self.records:
            table.move_cursor(row=table.get_row_index(keep))
        self._show_selected()

    def _detail(self, text: str) -> None:
        self.query_one("#history-detail", Static).update(text)

    def _show_selected(self) -> None:
        key = self._cursor_key()
        record = self.records.get(key or "")
        if record is None:
            search = self.query_one("#history-search", Input).value.strip()
            self._detail(
                f"No calls match “{search}”. Esc clears the search."
                if search
                else "No calls yet. Place one from the composer."
            )
            return
        if is_unknown(record):
            self._detail(f"? Outcome unknown. {self._unknown_explained()}")
            return
        note = self._notes.get(key or "")
        if note:
            self._detail(note)
            return
        summary = (record.summary or "").strip()
        judged = self._judgement(record)
        if judged:  # "Completed" says the call ended; the server's judgement says whether its task was done
            summary = f"{judged}. {summary}".strip()
        hint = "Enter opens it" + ("" if record.terminal else " and keeps following it")
        self._detail(f"{summary}  ({hint}.)" if summary else f"{hint}.")

    def _judgement(self, record: RunRecord) -> str:
        """The server's judgement of a finished run ("Task completed: no (confidence high 0.9)"), from its view
        in the store (read from the journal once); empty when nothing can say or the server judged nothing."""
        if not record.terminal or not record.run_id:
            return ""
        from calle_tui.core.runs.runview import outcome_line  # here: History's first paint does not need it

        view = self._runs.get(record.run_id)
        return outcome_line(view.outcome if view is not None else None)

    # --- events -------------------------------------------------------------------------------------

    def _on_run_changed(self, change: RunChanged) -> None:
        if isinstance(change.event, RunStarted | RunOutcomeUnknown) or change.ended:
            self.reload()  # a new row, or a row whose summary the end brought
            return
        key = f"run:{change.run_id}"
        record = self.records.get(key)
        if record is None:
            return
        glyph, colour, label = row_look(record, self._runs)
        cell = Text(f"{glyph} {label}", style=colour)
        table = self.query_one(DataTable)
        if str(table.get_cell(key, "outcome")) != cell.plain:
            table.update_cell(key, "outcome", cell)

    @on(Input.Changed, "#history-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.reload()

    @on(DataTable.RowHighlighted)
    def _check_key_follows_the_cursor(self, event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # k only on a request whose outcome is unknown

    def open(self, key: str) -> None:
        record = self.records.get(key)
        if record is None:
            return
        if is_unknown(record) or not record.run_id:
            self._detail(f"? Outcome unknown. {self._unknown_explained()}")
            return
        self._open_run(record.run_id, record)

    # --- actions ------------------------------------------------------------------------------------

    def action_focus_search(self) -> None:
        self.query_one("#history-search", Input).focus()

    def action_reload(self) -> None:
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check_unknown":
            record = self.records.get(self._cursor_key() or "")
            return record is not None and is_unknown(record)
        return True

    def action_check_unknown(self) -> None:
        """Reconcile only after the person types the digits: the replay may place the call."""
        from calle_tui.ui.screens.reconcile import ReconcileModal

        record = self.records.get(self._cursor_key() or "")
        if record is None or not is_unknown(record):
            return
        if not self._can_check():
            # Only a server that declares run_call idempotent answers a repeat with the same run and never a
            # second call (the seed forbids a second run_call otherwise): nothing is sent, the person is told.
            self._detail(CANNOT_CHECK)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._detail("Checking this request with CALL-E…")
                self.run_worker(self._reconcile(record.plan_id), group="reconcile", exclusive=True)

        self.app.push_screen(ReconcileModal(record.plan_id, record.to_phones, record.goal), confirmed)

    def _can_check(self) -> bool:
        """Whether the server declares run_call idempotent (tools/list), the only ground for a replay."""
        try:
            return self.worker.can_replay_run_call()
        except Exception:  # noqa: BLE001 - not knowing means no replay
            return False

    def _unknown_explained(self) -> str:
        return UNKNOWN_EXPLAINED if self._can_check() else UNKNOWN_NOT_CHECKABLE

    async def _reconcile(self, plan_id: str) -> None:
        from calle_tui.core.worker_api import WorkerError

        try:
            result = await self.worker.reconcile(plan_id)
        except WorkerError as exc:
            self._detail(f"✗ {exc.message} {exc.action}".strip())
            return
        except Exception as exc:  # a sentence, never a traceback on screen
            logging.getLogger("calle_tui.ui").error("reconcile failed", exc_info=exc)
            self._detail("✗ The request could not be checked. Try again in a moment.")
            return
        key = f"run:{result.run_id}"
        self._notes[key] = f"✓ Checked with CALL-E: the call for this request is {result.status}. Enter opens it."
        self.reload()
        table = self.query_one(DataTable)
        if key in self.records:
            table.move_cursor(row=table.get_row_index(key))
        self._show_selected()
        self.refresh_bindings()
