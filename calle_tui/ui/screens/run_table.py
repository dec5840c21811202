"""What the two screens that list runs share (the calls board, History): a search box over a table of runs,
one row a run keyed by a string, and a detail line below about the highlighted row.

Enter in the search box goes to the table; Enter on a row opens it (`open`); Esc first clears the search, then
leaves the search box for the table, then leaves the screen. Opening a run that has not finished follows it
too (the monitor then shows what the follower says); a finished run is redrawn from the journal only.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.screen import Screen
from textual.widgets import DataTable, Input
from textual.widgets.data_table import CellDoesNotExist

if TYPE_CHECKING:
    from calle_tui.core.worker_api import RunRecord, WorkerAPI


class RunTableScreen(Screen[None]):
    SEARCH_ID: ClassVar[str]  # the search (or filter) box above the table
    worker: WorkerAPI

    @cached_property
    def _search(self) -> Input:
        return self.query_one(f"#{self.SEARCH_ID}", Input)

    @cached_property
    def _table(self) -> DataTable:
        return self.query_one(DataTable)

    def _cursor_key(self) -> str | None:
        """The key of the highlighted row; None when the table is empty."""
        table = self._table
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def _show_selected(self) -> None:
        """Say what the highlighted row is, below the table."""
        raise NotImplementedError

    def open(self, key: str) -> None:
        """Enter on a row."""
        raise NotImplementedError

    def _open_run(self, run_id: str, record: RunRecord) -> None:
        if not record.terminal:
            self.worker.follow(run_id)
        self.app.push_screen(self.app.new_monitor(run_id, record))  # type: ignore[attr-defined]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.SEARCH_ID:
            event.stop()
            self._table.focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_selected()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.open(event.row_key.value or "")

    def action_back(self) -> None:
        search = self._search
        if search.value:
            search.value = ""  # the first Esc clears the search, the next one leaves
            self._table.focus()
            return
        if search.has_focus:
            self._table.focus()
            return
        self.dismiss(None)
