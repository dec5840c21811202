"""A URL's user name and password never reach the screen: the header's server label and the Account screen
name the server without them (issue 22, item 8)."""

from __future__ import annotations

import html
import re

import pytest
from fake_worker import FakeWorker
from fakes_shell import make_shell_app, until

from calle_tui.ui.screens.login import LoginScreen
from calle_tui.ui.widgets.header import server_label

CANARY = "pw-canary-5Vq8Zr"


def screen_text(app) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


@pytest.mark.parametrize(
    ("url", "label"),
    [
        (f"https://someone:{CANARY}@calle.example/mcp", "calle.example"),
        (f"http://someone:{CANARY}@127.0.0.1:8765/mcp", "local server 127.0.0.1:8765"),
        # Shown before the address is checked (the first paint): a port out of range, no host at all.
        (f"http://someone:{CANARY}@calle.example:99999/mcp", "http://someone:[redacted]@calle.example:99999/mcp"),
        (f"http://someone:{CANARY}@/mcp", "http://someone:[redacted]@/mcp"),
    ],
)
def test_the_header_label_never_shows_the_password(url, label):
    assert server_label(url) == label


async def test_the_account_screen_names_the_server_without_its_password(tmp_path):
    worker = FakeWorker(signed_in=False)
    worker.server_url = f"https://someone:{CANARY}@calle.invalid/mcp"
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and "Server" in screen_text(app))
        shown = screen_text(app)
        assert "https://someone:[redacted]@calle.invalid/mcp" in shown and CANARY not in shown


async def test_the_sign_out_question_names_the_server_without_its_password(tmp_path):
    from calle_tui.ui.widgets.question import YesNoModal

    worker = FakeWorker(signed_in=True)
    worker.server_url = f"https://someone:{CANARY}@calle.invalid/mcp"
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.title == "New call")
        app.action_account()
        await until(pilot, lambda: isinstance(app.screen, LoginScreen))
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, YesNoModal))
        assert app.screen.question.startswith("Sign out of https://someone:[redacted]@calle.invalid/mcp?")
        assert CANARY not in screen_text(app)
