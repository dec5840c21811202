"""A transcript that shows its last line keeps showing it when the log gets shorter (the outcome panel
appearing under it at the end of a call), and one scrolled back by the reader stays where it was."""

from __future__ import annotations

from textual.app import App, ComposeResult

from calle_tui.ui.runs.transcript import TranscriptLog

TURNS = [("agent" if i % 2 else "callee", f"Line {i} of a long call.") for i in range(30)]


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TranscriptLog(id="log")

    def on_mount(self) -> None:
        self.query_one(TranscriptLog).styles.height = 16


async def test_the_end_stays_in_view_when_the_log_shrinks() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 20)) as pilot:
        log = app.query_one(TranscriptLog)
        log.append_turns(TURNS)
        await pilot.pause()
        assert log.is_vertical_scroll_end and log.scroll_offset.y > 0
        log.styles.height = 6
        await pilot.pause()
        await pilot.pause()
        assert log.is_vertical_scroll_end


async def test_a_log_scrolled_back_stays_put_when_it_shrinks() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 20)) as pilot:
        log = app.query_one(TranscriptLog)
        log.append_turns(TURNS)
        await pilot.pause()
        log.scroll_to(y=2, animate=False)
        await pilot.pause()
        log.styles.height = 6
        await pilot.pause()
        await pilot.pause()
        assert log.scroll_offset.y == 2
