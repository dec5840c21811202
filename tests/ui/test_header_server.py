"""Which server the header names: production plainly (it places real calls), the demo's own sandbox, and any
other server on this machine as a "local server" (it may be anything, not our sandbox)."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from calle_tui import PRODUCTION_URL
from calle_tui.ui.widgets.header import AppHeader, ShellStatus, server_label


def test_production_is_named_as_production_with_real_calls() -> None:
    label = server_label(PRODUCTION_URL)
    assert "production" in label and "real calls" in label


def test_a_loopback_server_is_a_local_server_unless_it_is_the_demos_own() -> None:
    assert server_label("http://127.0.0.1:8765/mcp") == "local server 127.0.0.1:8765"
    assert server_label("http://localhost:9/mcp") == "local server localhost:9"
    assert server_label("http://127.0.0.1:8765/mcp", demo=True) == "sandbox 127.0.0.1:8765"
    assert server_label("https://calle.example/mcp") == "calle.example"


class HeaderApp(App[None]):
    def __init__(self, status: ShellStatus) -> None:
        super().__init__()
        self.shell_status = status

    def compose(self) -> ComposeResult:
        yield AppHeader()

    def on_mount(self) -> None:
        self.screen.title = "New call"


def header_text(app: App) -> str:
    return "".join(segment.text for segment in app.screen.query_one(AppHeader).render_line(0))


async def test_the_header_says_production_plainly_even_at_80_columns() -> None:
    status = ShellStatus(server_url=PRODUCTION_URL, connection="connected", signed_in=True, storage="keyring")
    app = HeaderApp(status)
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        text = header_text(app)
    assert "production: real calls" in text
    assert "airudder" not in text  # a host name says less than the word "production"


async def test_the_header_says_sandbox_only_for_the_demo() -> None:
    url = "http://127.0.0.1:8765/mcp"
    for demo, word in ((True, "sandbox 127.0.0.1:8765"), (False, "local server 127.0.0.1:8765")):
        app = HeaderApp(ShellStatus(server_url=url, connection="connected", signed_in=True, demo=demo))
        async with app.run_test(size=(100, 5)) as pilot:
            await pilot.pause()
            assert word in header_text(app)


SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_production_header_snapshot(snap_compare, size):
    status = ShellStatus(server_url=PRODUCTION_URL, connection="connected", signed_in=True, storage="keyring")
    assert snap_compare(HeaderApp(status), terminal_size=size)


def test_the_demo_header_does_not_warn_about_memory_tokens():
    from calle_tui.ui.widgets.header import status_content

    def token_styles(demo: bool) -> list[str]:
        content = status_content(ShellStatus(server_url="http://127.0.0.1:9/mcp", storage="memory", demo=demo))
        start = content.plain.index("tokens: memory")
        return [str(span.style) for span in content.spans if span.start <= start < span.end]

    assert token_styles(demo=False) == ["$warning"]
    assert token_styles(demo=True) == []
