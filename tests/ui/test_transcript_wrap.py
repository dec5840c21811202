"""Transcript lines wrap by terminal cells: a line in Chinese or Japanese (two cells a character, no
spaces) is wrapped under its speaker, never cut off at the edge; the agent and the callee keep their colours."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import App, ComposeResult

from calle_tui.ui.runs.transcript import NAME_WIDTH, TranscriptLog, wrap_cells

CJK = "您好，我想确认一下订单一一八二今天是否可以取货，以及贵店今天几点关门，谢谢您的帮助。"  # 44 characters, 88 cells


def test_wrap_counts_cells_not_characters():
    lines = wrap_cells(CJK, 30)
    assert "".join(lines) == CJK
    assert all(cell_len(line) <= 30 for line in lines) and len(lines) == 3
    assert wrap_cells("one two three four", 9) == ["one two", "three", "four"]
    assert wrap_cells("x" * 12, 5) == ["xxxxx", "xxxxx", "xx"]
    assert wrap_cells("short", 40) == ["short"]


class Host(App):
    def compose(self) -> ComposeResult:
        yield TranscriptLog()


async def test_a_cjk_turn_at_80_columns_is_wrapped_not_cut():
    app = Host()
    async with app.run_test(size=(80, 12)) as pilot:
        log = app.query_one(TranscriptLog)
        log.append_turns([("callee", CJK), ("agent", "Thank you.")])
        await pilot.pause()
        width = log.scrollable_content_region.width
        body = width - NAME_WIDTH - 3
        drawn = [list(log.render_line(y)) for y in range(log.line_count)]  # (name, " │ ", text) a line
        names, texts = [line[0].text.strip() for line in drawn], [line[2].text for line in drawn]
        assert names == ["callee"] + [""] * (len(drawn) - 2) + ["agent"]  # the name on a turn's first line only
        assert "".join(texts[:-1]) == CJK and len(texts) >= 3
        assert all(cell_len(text) <= body for text in texts)
        # whoever speaks first, the agent and the callee keep their own colours
        colours = {line[0].text.strip(): line[0].style.color.name for line in (drawn[0], drawn[-1])}
        assert colours == {"callee": "magenta", "agent": "cyan"}
