"""The header's SVG text runs never begin with a blank: rsvg drops leading blanks of a run, which glued
"connected" to "· sandbox" and "calle-tui" to "› History" in the screenshots."""

from __future__ import annotations

import re

from textual.app import App, ComposeResult

from calle_tui.ui.widgets.header import AppHeader, ShellStatus


class HeaderApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.shell_status = ShellStatus(
            server_url="http://127.0.0.1:8765/mcp",
            connection="connected",
            signed_in=True,
            storage="keyring",
            demo=True,
        )

    def compose(self) -> ComposeResult:
        yield AppHeader()

    def on_mount(self) -> None:
        self.screen.title = "History"


async def test_no_header_run_starts_with_a_blank() -> None:
    app = HeaderApp()
    async with app.run_test(size=(100, 5)) as pilot:
        await pilot.pause()
        svg = app.export_screenshot()
    first_line = re.findall(r'<text class="[^"]*-r\d+" x="[^"]*" y="20"[^>]*>([^<]*)</text>', svg)
    words = [run.replace("&#160;", " ") for run in first_line if run.strip()]
    assert "".join(words).replace(" ", "").strip() == "calle-tui›History●connected·sandbox127.0.0.1:8765·tokens:keyring"
    assert all(not run.startswith(" ") for run in words), words  # a run of blanks alone is harmless
