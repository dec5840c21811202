"""The sign-in screen tells "cannot reach the server" from "this URL is not a CALL-E/MCP endpoint"."""

from __future__ import annotations

from fake_worker import FakeWorker
from fakes_shell import make_shell_app, until
from textual.widgets import Static

from calle_tui.core.events import ConnectionChanged
from calle_tui.ui.screens.login import LoginScreen

NOT_MCP = "The server at this address answered, but it is not an MCP endpoint (HTTP 404)."


class WrongUrlWorker(FakeWorker):
    def __init__(self, state: str, message: str) -> None:
        super().__init__(signed_in=False)
        self._failure = (state, message)
        self.reconnects = 0

    async def start(self) -> None:
        await super().start()
        state, message = self._failure
        self.emit(ConnectionChanged(state, self.server_url, message))  # type: ignore[arg-type]

    async def reconnect(self) -> None:
        self.reconnects += 1


def problem(app) -> str:
    return str(app.screen.query_one("#login-connection", Static).render())


async def test_a_wrong_url_is_not_called_unreachable_and_r_retries(tmp_path):
    worker = WrongUrlWorker("failed", NOT_MCP)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and "MCP endpoint" in problem(app))
        text = problem(app)
        assert "Cannot reach" not in text
        assert "--url" in text and "--demo" in text
        assert app.screen.check_action("retry", ()) is True
        await pilot.press("r")
        await until(pilot, lambda: worker.reconnects == 1)
        assert problem(app) == ""
        await app.close_worker()


async def test_a_server_that_is_down_says_cannot_reach_and_what_to_do(tmp_path):
    worker = WrongUrlWorker("reconnecting", "Cannot reach the server. Retrying in 5 s.")
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and "Cannot reach" in problem(app))
        assert "calle-tui --demo" in problem(app)
        await app.close_worker()
