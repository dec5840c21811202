"""A DataTable that re-renders only the cells whose content changed.

Textual's DataTable keys its cell render cache on one table-wide counter that every `update_cell`, `add_row`
or `remove_row` bumps, so changing one cell re-renders every visible cell on the next frame: about 0.1 ms a
cell, 25 ms for a 120x40 board of 50 calls, and the board changes cells several times a second (the clocks
every second, each follower's report). Here body cells are also cached by what decides their rendering (row
and column index, width, styles, cursor, the cell's text and style), so a frame re-renders only the cells that
differ and re-assembles the lines from the cache (about 2 ms for the whole board). The cache does not key on
the row's position: a cell that moves (a filter takes rows away or brings them back, a new run pushes the
others down) is re-used with its lines' mouse meta changed to its new row, which costs a few microseconds
instead of a render; and it outlives `clear()`, since its key holds everything the rendering depends on.

Only the lookup in front of `DataTable._render_cell` is ours: a miss renders with Textual's own code, so the
pictures are the same. textual is pinned exactly (pyproject), which keeps the private names used here valid.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

CACHED_CELLS = 8000  # 50 rows x 7 columns, times the cursor, hover, zebra and focus variants, with room


def content_key(value: object) -> Hashable | None:
    """What a cell's rendering depends on in its value; None for a value kind this cache does not know."""
    if isinstance(value, str):
        return ("str", value)
    if type(value) is Text:  # a subclass may render differently: left to Textual's own cache
        return (
            "text",
            value.plain,
            value.style,
            value.justify,
            value.overflow,
            value.no_wrap,
            value.end,
            value.tab_size,
            tuple(value.spans),
        )
    return None


class CellCachedTable(DataTable[object]):
    def __init__(self, *args: object, **kwargs: object) -> None:
        # Before DataTable's own __init__, which may already clear the caches.
        # key -> (the row index the lines were made for, the lines)
        self._cells_by_content: LRUCache[Hashable, tuple[int, SegmentLines]] = LRUCache(CACHED_CELLS)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        key = self._cell_key(row_index, column_index, base_style, width, cursor, hover)
        if key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cached = self._cells_by_content.get(key)
        if cached is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        elif cached[0] == row_index:
            return cached[1]
        else:
            lines = _moved(cached[1], Style.from_meta({"row": row_index, "column": column_index}))
        self._cells_by_content[key] = (row_index, lines)
        return lines

    def _cell_key(
        self, row_index: int, column_index: int, base_style: Style, width: int, cursor: bool, hover: bool
    ) -> Hashable | None:
        if row_index < 0 or column_index < 0:
            return None  # header and row labels: few, and Textual's cache serves them
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        if row_key is None or column_key is None:
            return None
        row = self.rows.get(row_key)
        if row is None or row.auto_height:
            return None  # an auto-height row's cached lines are padded afterwards by Textual: not shared
        content = content_key(self._data.get(row_key, {}).get(column_key))
        if content is None:
            return None
        # The row's index is not in the key: it decides only the fixed-cell style (in the key as a flag) and the
        # lines' mouse meta, which _moved() rewrites; the rest is what Textual's own key holds besides its
        # table-wide counter.
        return (
            row_index < self.fixed_rows,
            column_index,
            width,
            row.height,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self.show_cursor,
            self.cell_padding,
            self.fixed_rows,
            self.fixed_columns,
            self.cursor_foreground_priority,
            self.cursor_background_priority,
            self._pseudo_class_state,
            content,
        )

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Textual measures every cell of each new row to widen auto-width columns: with every column of a
        # fixed width that measure (about 0.08 ms a row, 8 ms when a filter brings 100 rows back) changes
        # nothing. Rows with a label or an auto height are still measured (the label column, their height).
        if not any(column.auto_width for column in self.columns.values()):
            new_rows = [
                key for key in new_rows if (row := self.rows.get(key)) and (row.label is not None or row.auto_height)
            ]
        super()._update_dimensions(new_rows)

    def notify_style_update(self) -> None:
        self._cells_by_content.clear()  # a theme or CSS change restyles every cell
        super().notify_style_update()


def _moved(lines: SegmentLines, meta: Style) -> SegmentLines:
    """A cell's lines for another row: every style that carries the mouse meta gets `meta` (row and column)
    on top, as Textual's render puts it on the cell's base style; the rest is kept."""
    restyled: dict[Style, Style] = {}
    out = []
    for line in lines:
        new_line = []
        for segment in line:
            style = segment.style
            if style is not None and style._meta:
                new = restyled.get(style)
                if new is None:
                    new = restyled[style] = style + meta
                segment = Segment(segment.text, new, segment.control)
            new_line.append(segment)
        out.append(new_line)
    return out
