"""The runs board: every followed call on one screen, live ones first, updated as the app's store of runs
(ui/runs/store.py) changes.

A row per run: status glyph and word, destination with its country, goal, started, elapsed, the last
activity line and the next check. Rows change cell by cell, and a filter or a new run adds and removes only
the rows that differ (no table rebuild, so nothing flickers and a key press repaints a few cells, issue 10);
a one-second tick moves the clocks. A burst of the followers' reports is applied once, after the messages
already queued. While a batch is being sent (or has been), one line above the table counts its calls. Enter
opens the run's monitor, `/` filters, Esc goes back. The wording lives in ui/runs/board_rows.py; this screen
reads the journal's rows (worker.history), each run's view in the store and the app's batch session.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.visual import visualize
from textual.widgets import Footer, Input, Static
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from calle_tui.core.events import RunStarted
from calle_tui.ui.runs.app_context import batch_session_of, clock_of, runs_for
from calle_tui.ui.runs.board_rows import BoardRow, batch_progress, board_row, live_count_title, ordered
from calle_tui.ui.runs.store import RunChanged, RunStore
from calle_tui.ui.screens.run_table import RunTableScreen
from calle_tui.ui.widgets.cell_table import CellCachedTable, content_key
from calle_tui.ui.widgets.header import AppHeader

if TYPE_CHECKING:
    from calle_tui.core.worker_api import RunRecord, WorkerAPI

log = logging.getLogger("calle_tui.ui")

# Column widths at 80 columns; the goal and the last activity share what is left (the table never scrolls
# sideways). "Started" appears from WIDE columns on.
STATUS_W, TO_W, ELAPSED_W, NEXT_W, STARTED_W = 13, 18, 7, 7, 12
TO_W_WIDE = 22  # room for a second destination's "+1"
WIDE = 110
VIEWS_READ = 200  # finished runs whose view (their last activity line) is read when the board opens (live: all)


class RunsBoardScreen(RunTableScreen):
    SEARCH_ID = "board-filter"
    _runs: RunStore  # the app's store of runs (each run's view), from mount on
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
        self._shown: list[str] = []  # run ids in table order
        self._dirty: set[str] = set()  # runs with a report not applied yet
        self._reload_due = False  # a run started or finished: the set of rows (or their order) changes
        self._flush_queued = False
        self._detail_text: str | None = None
        self._detail_height: int | None = None
        self._batch_text: str | None = None

    def compose(self) -> ComposeResult:
        yield AppHeader()
        yield Input(id="board-filter", placeholder="Filter: number, goal, status or activity", compact=True)
        yield Static(id="board-batch", markup=False)
        yield CellCachedTable(id="board-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="board-detail", markup=False)
        yield Footer()

    @cached_property
    def _table(self) -> CellCachedTable:
        return self.query_one(CellCachedTable)

    def on_mount(self) -> None:
        self._runs = runs_for(self)
        self._runs.watch(self, self._on_run_changed)
        self._search.cursor_blink = getattr(self.app, "cursor_blink", True)
        # The filter applies as the value changes, in the same turn as the key that changed it, so the typed
        # letter and the rows it leaves are painted in one frame (Input.Changed arrives a message later,
        # after the letter alone has been painted).
        self.watch(self._search, "value", self._filter_typed, init=False)
        self._show_batch()
        self._columns()
        self.reload()
        self._table.focus()
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
        table = self._table
        table.clear(columns=True)
        self._shown = []
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
        finished = 0
        for run_id, record in self.records.items():
            if record.terminal:
                finished += 1
                if finished > VIEWS_READ:
                    continue
            self._runs.get(run_id)  # read once from the journal into the store; then the store keeps it
        self._sync()

    def _row(self, run_id: str, now: float) -> BoardRow:
        return board_row(
            self.records[run_id], view=self._runs.known(run_id), now=now, tz=getattr(self.app, "display_tz", None)
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
        """Every row again (the columns changed: a resize)."""
        self._table.clear()
        self._shown = []
        self._sync()

    def _sync(self) -> None:
        """Bring the table to the records' order under the filter: rows that no longer match go, rows that
        stay change only the cells that differ, and only from the first row out of place on are rows re-added
        (DataTable inserts at the end only). The highlighted run keeps the cursor when it is still shown."""
        table = self._table
        keep = self._cursor_key()
        needle = self._search.value.strip()
        now = clock_of(self.app)()
        old = self.rows
        self.rows = {run_id: self._row(run_id, now) for run_id in self.records}
        want = [run_id for run_id, row in self.rows.items() if not needle or row.matches(needle)]
        wanted = set(want)
        staying = [run_id for run_id in self._shown if run_id in wanted]
        in_place = 0
        while in_place < len(staying) and staying[in_place] == want[in_place]:
            in_place += 1
        if len(self._shown) - in_place > in_place:
            # More rows would go than stay in place: clearing and adding the few back is cheaper than removing
            # each (every remove_row re-indexes the table and moves the cursor, ~0.2 ms a row).
            table.clear()
            in_place = 0
        else:
            for run_id in self._shown:
                if run_id not in wanted:
                    table.remove_row(run_id)
            for run_id in staying[in_place:]:
                table.remove_row(run_id)
        for run_id in want[:in_place]:
            self._change_cells(run_id, old.get(run_id), self.rows[run_id])
        order = [c.key.value for c in table.columns.values()]
        for run_id in want[in_place:]:
            cells = self._cells(self.rows[run_id])
            table.add_row(*(cells[key] for key in order if key), key=run_id)
        self._shown = want
        if keep in wanted:
            if self._cursor_key() != keep:
                table.move_cursor(row=want.index(keep))
        elif table.row_count:
            table.move_cursor(row=0)
        self.title = live_count_title(list(self.rows.values()))
        self._show_batch()
        self._show_selected()

    def _change_cells(self, run_id: str, old: BoardRow | None, row: BoardRow) -> None:
        """Update only the cells that differ from what the table shows (`old`, the row last put there): a live
        board changes a few cells a second, and each unchanged cell keeps its rendering."""
        if row == old:
            return
        table = self._table
        shown = self._cells(old) if old is not None else {}
        for key, value in self._cells(row).items():
            if key in shown and content_key(shown[key]) == content_key(value):
                continue  # Text's == ignores the style (a status colour): compare what the cell renders
            try:
                table.update_cell(run_id, key, value)
            except (CellDoesNotExist, RowDoesNotExist):
                return

    def _refresh_rows(self, run_ids: set[str]) -> None:
        now = clock_of(self.app)()
        shown = set(self._shown)
        for run_id in run_ids:
            if run_id not in self.records:
                continue
            old = self.rows.get(run_id)
            row = self._row(run_id, now)
            self.rows[run_id] = row
            if run_id in shown:
                self._change_cells(run_id, old, row)
        self._show_batch()
        if self._cursor_key() in run_ids:
            self._show_selected()  # the highlighted run's last line, in the detail below the table

    def _tick(self) -> None:
        self._refresh_rows({run_id for run_id, row in self.rows.items() if row.live})

    def _flush(self) -> None:
        """Apply the reports queued since the last flush: one reload, or one pass over the changed rows."""
        self._flush_queued = False
        if self._reload_due:
            self._reload_due = False
            self._dirty.clear()
            self.reload()
        elif self._dirty:
            dirty, self._dirty = self._dirty, set()
            self._refresh_rows(dirty)

    def _queue_flush(self) -> None:
        if not self._flush_queued:
            # After the messages already queued: a burst of reports (a batch's calls starting, a poll round)
            # costs one pass and one repaint, and a key press queued meanwhile is not held behind each one.
            self._flush_queued = self.call_later(self._flush)

    def _detail(self, text: str) -> None:
        if text == self._detail_text:
            return
        detail = self.query_one("#board-detail", Static)
        width = detail.content_size.width
        height = visualize(detail, text, markup=False).get_height(detail.styles, width) if width else None
        # A layout pass re-renders the whole screen (20-50 ms with 50 calls): only when the detail's height
        # changes. Each cursor move rewrites the detail, mostly to as many lines as before.
        layout = height is None or height != self._detail_height
        self._detail_text, self._detail_height = text, height
        detail.update(text, layout=layout)

    def _show_batch(self) -> None:
        """The batch progress line above the table, while the app's batch is being sent or after it was."""
        session = batch_session_of(self.app)
        sender = getattr(session, "sender", None)
        text = batch_progress(session.path.name, sender.lines) if session is not None and sender is not None else ""
        if text != self._batch_text:
            self._batch_text = text
            line = self.query_one("#board-batch", Static)
            line.update(text)
            line.display = bool(text)

    def _show_selected(self) -> None:
        row = self.rows.get(self._cursor_key() or "")
        if row is None:
            needle = self._search.value.strip()
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

    def _on_run_changed(self, change: RunChanged) -> None:
        if change.run_id is None:
            return  # the journal's rows read again, or an attempt without a run: no row changes here
        if isinstance(change.event, RunStarted) or change.ended or change.run_id not in self.records:
            # A new row (a run started here, elsewhere or in another window), or one that moves from the live
            # group to the finished one.
            self._reload_due = True
        else:
            self._dirty.add(change.run_id)
        self._queue_flush()

    def _filter_typed(self) -> None:
        self._sync()

    @on(Input.Changed, "#board-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()  # applied already (_filter_typed)

    def open(self, key: str) -> None:
        record = self.records.get(key)
        if record is not None:
            self._open_run(key, record)

    # --- actions ------------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self._search.focus()
