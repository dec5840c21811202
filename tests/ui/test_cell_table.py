"""CellCachedTable (the runs board's table, issue 10): the same lines as Textual's DataTable, and after one
cell changes only that cell is rendered again."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from calle_tui.ui.widgets.cell_table import CellCachedTable


class Tables(App):
    def compose(self) -> ComposeResult:
        yield CellCachedTable(id="cached", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="plain", cursor_type="row", zebra_stripes=True)


def fill(table: DataTable) -> None:
    table.add_column("Status", key="status", width=12)
    table.add_column("Goal", key="goal", width=20)
    table.add_column("Next", key="next", width=8)
    fill_rows(table)


def lines(table: DataTable) -> list[list]:
    table.refresh()  # every line again, as a frame after a change would
    return [list(table.render_line(y)) for y in range(table.size.height)]


def count_renders(monkeypatch, cached: DataTable) -> list[tuple[int, int]]:
    """(row, column) of every body cell of `cached` rendered from now on (the cache's misses)."""
    rendered: list[tuple[int, int]] = []
    render_cell = DataTable._render_cell

    def counting(self, row_index, column_index, *args, **kwargs):
        if self is cached and row_index >= 0:
            rendered.append((row_index, column_index))
        return render_cell(self, row_index, column_index, *args, **kwargs)

    monkeypatch.setattr(DataTable, "_render_cell", counting)
    return rendered


async def test_the_cached_table_draws_what_the_data_table_draws_and_renders_only_changed_cells(monkeypatch):
    app = Tables()
    async with app.run_test(size=(60, 24)) as pilot:
        cached, plain = app.query_one("#cached", CellCachedTable), app.query_one("#plain", DataTable)
        fill(cached)
        fill(plain)
        cached.styles.height = plain.styles.height = 10
        app.set_focus(None)  # a focused table draws its cursor in another colour
        await pilot.pause()
        assert lines(cached) == lines(plain)

        rendered = count_renders(monkeypatch, cached)
        for table in (cached, plain):
            table.update_cell("run-3", "next", "now")
        assert lines(cached) == lines(plain)
        assert rendered == [(3, 2)]  # Textual's own cache would render every visible cell again
        # Same words, another colour: Text's == would call it unchanged, the cache does not.
        rendered.clear()
        for table in (cached, plain):
            table.update_cell("run-5", "status", Text("● call 5", style="red"))
        assert lines(cached) == lines(plain) and rendered == [(5, 0)]
        # The cursor moves: only the two rows it leaves and reaches are rendered again.
        rendered.clear()
        for table in (cached, plain):
            table.move_cursor(row=2)
        assert lines(cached) == lines(plain)
        assert {row for row, _ in rendered} == {0, 2}


async def test_rows_that_move_or_come_back_after_a_clear_are_drawn_the_same_without_rendering_again(monkeypatch):
    # What a filter does: rows go (the others move up), then the table is cleared and every row comes back.
    app = Tables()
    async with app.run_test(size=(60, 24)) as pilot:
        cached, plain = app.query_one("#cached", CellCachedTable), app.query_one("#plain", DataTable)
        fill(cached)
        fill(plain)
        cached.styles.height = plain.styles.height = 10
        app.set_focus(None)
        await pilot.pause()
        assert lines(cached) == lines(plain)

        rendered = count_renders(monkeypatch, cached)
        for table in (cached, plain):
            table.remove_row("run-0")
            table.remove_row("run-1")  # every row moves up two: the zebra stripe stays, the mouse's row changes
        assert lines(cached) == lines(plain)
        # Only the cursor's row (now another run) is drawn anew; rows 0-5 below it are the old ones moved.
        assert {row for row, _ in rendered} == {0}

        rendered.clear()
        for table in (cached, plain):
            table.clear()
            fill_rows(table)
        assert lines(cached) == lines(plain)
        assert rendered == []  # every cell was drawn before, at this very place or another

        # A click lands on the row shown there now: the mouse meta followed the move (line 0 is the header).
        for y in range(1, 6):
            rows = {seg.style.meta.get("row") for seg in cached.render_line(y) if seg.style and seg.style.meta}
            assert rows == {y - 1}


def fill_rows(table: DataTable) -> None:
    for i in range(8):
        table.add_row(Text(f"● call {i}", style="green"), Text(f"Ask shop {i} about kettles", overflow="ellipsis"),
                      f"in 0:0{i}", key=f"run-{i}")  # fmt: skip
