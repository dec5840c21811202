"""Bad endpoints and sign-in failures turn into plain sentences with the right kind, never a traceback."""

from __future__ import annotations

import asyncio
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from calle_fakes import serve

from calle_tui.core.auth.errors import LoginCanceled, LoginDenied, LoginRequired, LoginTimedOut
from calle_tui.core.events import ConnectionChanged, ErrorEvent
from calle_tui.core.session.connection import CallError, Connection, classify
from calle_tui.core.worker_api import PlanRequest, WorkerError


class _PlainPages(BaseHTTPRequestHandler):
    """Like `python -m http.server`: GET works, POST is 501; /html answers POST with a 200 web page."""

    def do_POST(self):
        if self.path.startswith("/html"):
            body = b"<html><body>hello</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_error(501, "Unsupported method ('POST')")

    def log_message(self, *args):
        pass


@pytest.fixture
def plain_http():
    server = HTTPServer(("127.0.0.1", 0), _PlainPages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    return port


@pytest.mark.parametrize("path", ["/mcp", "/html"])
async def test_a_web_server_is_not_mcp(plain_http, path):
    conn = Connection(plain_http + path, auth=None, timeout=5)
    with pytest.raises(CallError) as info:
        await conn.open()
    assert info.value.kind == "not_mcp"
    assert "not" in info.value.message and "MCP" in info.value.message


async def test_a_404_path_on_the_sandbox_is_not_mcp(sandbox):
    conn = Connection(sandbox.base_url + "/nope", auth=None, timeout=5)
    with pytest.raises(CallError) as info:
        await conn.open()
    assert info.value.kind == "not_mcp"
    assert "HTTP 404" in info.value.message


async def test_nothing_listening_is_cannot_reach():
    conn = Connection(f"http://127.0.0.1:{_closed_port()}/mcp", auth=None, timeout=5)
    with pytest.raises(CallError) as info:
        await conn.open()
    assert info.value.kind == "network"
    assert info.value.message == "Cannot reach the server."


async def test_worker_stops_retrying_a_wrong_url_and_says_what_to_do(make_worker, plain_http):
    worker, log = make_worker(plain_http + "/mcp")
    await worker.start()
    error = await log.wait_kind(ErrorEvent, kind="not_mcp")
    assert "--url" in error.action and "--demo" in error.action
    failed = await log.wait_for(lambda e: isinstance(e, ConnectionChanged) and e.state == "failed")
    assert "not an MCP endpoint" in failed.message
    with pytest.raises(WorkerError) as info:
        await worker.plan(PlanRequest(user_input="Call +15550100"))
    assert "not an MCP endpoint" in info.value.message


async def test_an_mcp_server_without_the_tools_is_not_calle(make_worker):
    with serve({"echo": lambda text: text}, name="other") as server:
        worker, log = make_worker(server.url)
        await worker.start()
        error = await log.wait_kind(ErrorEvent, kind="not_calle")
        assert "not a CALL-E endpoint" in error.message


@pytest.mark.parametrize(
    ("exc", "detail", "words"),
    [
        (LoginCanceled(), "canceled", "canceled"),
        (LoginTimedOut(), "login_timeout", "too long"),
        (LoginDenied(), "denied", "denied"),
        (LoginRequired(), "login_required", "sign in"),
    ],
)
def test_classify_tells_sign_in_failures_apart(exc, detail, words):
    # Wrapped the way the SDK's task group delivers them, next to the transport noise they caused.
    group = BaseExceptionGroup("torn down", [RuntimeError("stream closed"), ExceptionGroup("inner", [exc])])
    error = classify(group)
    assert error.kind == "auth"
    assert error.detail == detail
    assert words in error.message.lower()


def test_classify_sdk_token_error_never_quotes_the_server():
    from mcp.client.auth.exceptions import OAuthTokenError

    error = classify(OAuthTokenError("Token refresh failed: 400 {'refresh_token': 'rt-SECRET'}"))
    assert error.kind == "auth" and error.detail == "token_refused"
    assert "SECRET" not in error.message


async def test_planning_while_the_server_is_down_fails_fast_with_the_reason(make_worker):
    worker, log = make_worker(f"http://127.0.0.1:{_closed_port()}/mcp", request_timeout_seconds=30.0)
    await worker.start()
    await log.wait_for(lambda e: isinstance(e, ConnectionChanged) and "Retrying" in e.message)
    # The supervisor now sleeps its backoff on the manual clock: only our request can wake it.
    async with asyncio.timeout(10):  # far below the 30 s request timeout
        with pytest.raises(WorkerError) as info:
            await worker.plan(PlanRequest(user_input="Call +15550100"))
    assert info.value.kind == "network"
    assert "Cannot reach the server" in info.value.message
