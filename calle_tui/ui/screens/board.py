"""The runs board: every followed call on one screen, live ones first, updated as the followers report.

A row per run: status glyph and word, destination with its country, goal, started, elapsed, the last
activity line and the next check. Rows change cell by cell (no table rebuild, so nothing flickers); a
one-second tick moves the clocks. Enter opens the run's monitor, `/` filters, Esc goes back. The wording
lives in ui/runs/board_rows.py; this screen reads only what the worker hands it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from calle_tui.core.events import RunFinished, RunStarted, RunUpdate
from calle_tui.ui.bridge import WorkerEventMessage, WorkerEventsMixin
from calle_tui.ui.runs.app_context import clock_of
from calle_tui.ui.runs.board_rows import BoardRow, board_row, live_count_title, ordered
from calle_tui.ui.widgets.header import AppHeader

if TYPE_CHECKING:
    from calle_tui.core.worker_api import RunRecord, WorkerAPI

log = logging.getLogger("calle_tui.ui")

# Column widths at 80 columns; the goal and the last activity share what is left (the table never scrolls
# sideways). "Started" appears from WIDE columns on.
STATUS_W, TO_W, ELAPSED_W, NEXT_W, STARTED_W = 13, 18, 7, 7, 12
TO_W_WIDE = 22  # room for a second destination's "+1"
WIDE = 110
LAST_LINES_READ = 200  # finished runs whose last activity line is read when the board opens (live: all)


class RunsBoardScreen(WorkerEventsMixin, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="board.back", tooltip="Back to where you were."),
        Binding("slash", "filter", "Filter", key_display="/", id="board.filter", tooltip="Show matching calls only."),
    ]

    def __init__(self, worker: WorkerAPI) -> None:
        super().__init__()
        self.worker = worker
        self.title = "Calls"
        self.records: dict[str, RunRecord] = {}
        self.rows: dict[str, BoardRow] = {}
        self._updates: dict[str, RunUpdate] = {}
        self._last_lines: dict[str, str] = {}
        self._shown: list[str] = []  # run ids in table order

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Input(id="board-filter", placeholder="Filter: number, goal, status or activity", compact=True)
        yield DataTable(id="board-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="board-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#board-filter", Input).cursor_blink = getattr(self.app, "cursor_blink", True)
        self._columns()
        self.reload()
        self.query_one(DataTable).focus()
        self.set_interval(1.0, self._tick)

    # --- layout -------------------------------------------------------------------------------------------

    def _wide(self) -> bool:
        return self.size.width >= WIDE

    def _to_width(self) -> int:
        return TO_W_WIDE if self._wide() else TO_W

    def _shared_width(self) -> int:
        fixed = STATUS_W + self._to_width() + ELAPSED_W + NEXT_W + (STARTED_W if self._wide() else 0)
        columns = 7 if self._wide() else 6
        left = self.size.width - fixed - columns * 2 - 4  # each column has one cell of padding per side
        return max(10, left // 2)

    def _columns(self) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        shared = self._shared_width()
        table.add_column("Status", key="status", width=STATUS_W)
        table.add_column("To", key="to", width=self._to_width())
        table.add_column("Goal", key="goal", width=shared)
        if self._wide():
            table.add_column("Started", key="started", width=STARTED_W)
        table.add_column("Elapsed", key="elapsed", width=ELAPSED_W)
        table.add_column("Activity", key="last", width=shared)
        table.add_column("Next", key="next", width=NEXT_W)
        self._layout = (self._wide(), shared)

    def on_resize(self) -> None:
        if getattr(self, "_layout", None) != (self._wide(), self._shared_width()):
            self._columns()
            self._fill()

    # --- data ---------------------------------------------------------------------------------------------

    def reload(self) -> None:
        from calle_tui.core.worker_api import WorkerError

        try:
            records = ordered(self.worker.history())
        except WorkerError as exc:
            self._detail(f"{exc.message} {exc.action}".strip())
            return
        except Exception as exc:
            log.error("the calls could not be read", exc_info=exc)
            self._detail("The calls could not be read. Esc goes back; open the board again to retry.")
            return
        fresh = [run_id for run_id in (r.run_id for r in records if r.run_id) if run_id not in self.records]
        self.records = {r.run_id: r for r in records if r.run_id}
        for run_id in fresh:
            if not self.records[run_id].terminal:
                # Follows a live run not followed yet (resumed after a restart) and, for one already followed,
                # replays its latest update, so its row shows the next check at once instead of "soon". Later,
                # so that the replay finds this screen subscribed (on the first reload it is not yet).
                self.call_later(self.worker.follow, run_id)
        finished_read = 0
        for run_id, record in self.records.items():
            if run_id in self._last_lines:
                continue
            if record.terminal:
                if finished_read >= LAST_LINES_READ:
                    continue
                finished_read += 1
            self._last_lines[run_id] = self._last_line_of(run_id)
        self._fill()

    def _last_line_of(self, run_id: str) -> str:
        try:
            entries = self.worker.run_entries(run_id)
        except Exception:  # noqa: BLE001 - a row without its last line is still a row
            return ""
        return entries[-1].text if entries else ""

    def _row(self, run_id: str) -> BoardRow:
        return board_row(
            self.records[run_id],
            update=self._updates.get(run_id),
            last_line=self._last_lines.get(run_id, ""),
            now=clock_of(self.app)(),
            tz=getattr(self.app, "display_tz", None),
        )

    def _cells(self, row: BoardRow) -> dict[str, object]:
        cells: dict[str, object] = {
            "status": Text(f"{row.glyph} {row.status}", style=row.colour, overflow="ellipsis", no_wrap=True),
            "to": Text(row.to, overflow="ellipsis", no_wrap=True),
            "goal": Text(row.goal, overflow="ellipsis", no_wrap=True),
            "elapsed": row.elapsed,
            "last": Text(row.last or "-", style="" if row.last else "dim", overflow="ellipsis", no_wrap=True),
            "next": row.next_check,
        }
        if self._wide():
            cells["started"] = row.started
        return cells

    def _fill(self) -> None:
        """Rebuild the rows (on open, filter or resize); live updates change cells in place instead."""
        table = self.query_one(DataTable)
        keep = self._cursor_key()
        needle = self.query_one("#board-filter", Input).value.strip()
        table.clear()
        self.rows = {run_id: self._row(run_id) for run_id in self.records}
        order = [c.key.value for c in table.columns.values()]
        self._shown = []
        for run_id, row in self.rows.items():
            if needle and not row.matches(needle):
                continue
            cells = self._cells(row)
            table.add_row(*(cells[key] for key in order if key), key=run_id)
            self._shown.append(run_id)
        if keep in self._shown:
            table.move_cursor(row=self._shown.index(keep))
        self.title = live_count_title(list(self.rows.values()))
        self._show_selected()

    def _refresh_row(self, run_id: str) -> None:
        """Change only the cells that differ: a live board repaints a few cells a second, not the table."""
        if run_id not in self.records:
            return
        old = self.rows.get(run_id)
        row = self._row(run_id)
        self.rows[run_id] = row
        if run_id not in self._shown or row == old:
            return
        table = self.query_one(DataTable)
        for key, value in self._cells(row).items():
            try:
                if table.get_cell(run_id, key) != value:
                    table.update_cell(run_id, key, value)
            except (CellDoesNotExist, RowDoesNotExist):
                return

    def _tick(self) -> None:
        for run_id, row in list(self.rows.items()):
            if row.live:
                self._refresh_row(run_id)

    def _cursor_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def _detail(self, text: str) -> None:
        self.query_one("#board-detail", Static).update(text)

    def _show_selected(self) -> None:
        row = self.rows.get(self._cursor_key() or "")
        if row is None:
            needle = self.query_one("#board-filter", Input).value.strip()
            self._detail(
                f"No calls match “{needle}”. Esc clears the filter."
                if needle
                else "No calls yet. Place one from the composer."
            )
            return
        live = sum(1 for r in self.rows.values() if r.live)
        follow = "Enter opens it; it keeps being followed." if row.live else "Enter opens it."
        said = f" Last: {row.last}" if row.last else ""
        self._detail(f"{row.glyph} {row.status} · {row.to} · {row.goal}.{said} {follow}  ({live} live)")

    # --- events -------------------------------------------------------------------------------------------

    def on_worker_event_message(self, message: WorkerEventMessage) -> None:
        message.stop()
        event = message.event
        if isinstance(event, RunUpdate):
            self._updates[event.run_id] = event
            if event.new_activity:
                self._last_lines[event.run_id] = event.new_activity[-1].text
            if event.run_id not in self.records:
                self.reload()  # a run this board has not seen yet (started elsewhere, another window)
                return
            self._refresh_row(event.run_id)
        elif isinstance(event, (RunStarted, RunFinished)):
            self.reload()  # a new row, or a row that moves from the live group to the finished one

    @on(Input.Changed, "#board-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._fill()

    @on(Input.Submitted, "#board-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(DataTable).focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        run_id = event.row_key.value or ""
        record = self.records.get(run_id)
        if record is None:
            return
        if not record.terminal:
            self.worker.follow(run_id)
        self.app.push_screen(self.app.new_monitor(run_id, record))  # type: ignore[attr-defined]

    # --- actions ------------------------------------------------------------------------------------------

    def action_back(self) -> None:
        search = self.query_one("#board-filter", Input)
        if search.value:
            search.value = ""  # the first Esc clears the filter, the next one leaves
            self.query_one(DataTable).focus()
            return
        if self.query_one("#board-filter", Input).has_focus:
            self.query_one(DataTable).focus()
            return
        self.dismiss(None)

    def action_filter(self) -> None:
        self.query_one("#board-filter", Input).focus()
