"""The browser step of sign-in, in three ways that all end in the SDK's callback handler.

- BrowserLogin: a loopback listener on 127.0.0.1 (port 0, path /callback) AND, at the same time, a paste
  box: the user may paste the final redirect URL (or its query, or the bare code) - this is what works over
  SSH. The state is checked; a wrong state keeps the login pending. The browser is opened only where one
  is local: never over SSH or without a display, where `webbrowser` would start a console browser that
  seizes the terminal.
- AutoFollowLogin: for the sandbox's auto-approve mode and automation: GET the authorize URL ourselves and
  read code/state from the redirect's Location.

Both have a timeout and a cancel (the SDK pauses request timeouts while a person logs in). Codes never
appear in messages or logs: every code seen is registered with the log redactor at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
import webbrowser
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx2
from mcp.shared.auth import AuthorizationCodeResult

from calle_tui.core.auth.errors import ClientRejected, LoginCanceled, LoginDenied, LoginFailed, LoginTimedOut
from calle_tui.core.events import LoginFlowName, SignInProgress
from calle_tui.core.support.secrets import register_secret
from calle_tui.core.worker_api import WorkerError

log = logging.getLogger("calle_tui.auth.login")

Emit = Callable[[SignInProgress], None]
CALLBACK_PATH = "/callback"
PASTE_REDIRECT_URI = "http://127.0.0.1:8976/callback"  # where the browser lands when nothing listens
_MAX_REQUEST_BYTES = 16_384


# --- environment -------------------------------------------------------------------------------------------


def is_ssh_session(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT"))


def can_open_browser(environ: Mapping[str, str] | None = None, *, platform: str | None = None) -> bool:
    """False over SSH, and on Linux/BSD without DISPLAY or WAYLAND_DISPLAY (only console browsers there)."""
    env = os.environ if environ is None else environ
    if is_ssh_session(env):
        return False
    plat = platform or sys.platform
    if plat.startswith(("win", "darwin", "cygwin")):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def ssh_forward_hint(port: int) -> str:
    return f"ssh -L {port}:127.0.0.1:{port} <host>"


def _open_in_gui_browser(url: str) -> bool:
    """Open `url` in a graphical browser; refuse console browsers (they would take over our terminal)."""
    try:
        controller = webbrowser.get()
    except webbrowser.Error:
        return False
    foreground = type(controller) is webbrowser.GenericBrowser or (
        isinstance(controller, webbrowser.UnixBrowser) and not getattr(controller, "background", True)
    )
    if foreground or type(controller).__name__ == "Elinks":
        log.info("only a console browser is available; not opening it")
        return False
    try:
        return bool(controller.open(url, new=2))
    except Exception as exc:  # noqa: BLE001 - a failed launch means "paste instead"
        log.info("could not open a browser (%s)", type(exc).__name__)
        return False


# --- parsing what comes back -------------------------------------------------------------------------------


def parse_pasted(pasted: str) -> tuple[dict[str, str], bool]:
    """(params, bare): the parameters of a pasted redirect URL, query string or bare code.

    Raises WorkerError(kind="no_code") when the text cannot hold a code."""
    text = (pasted or "").strip().strip("\"'<>").strip()
    if not text:
        raise WorkerError("Nothing was pasted.", action="Paste the address from the browser's address bar.", kind="no_code")
    if "://" in text or text.startswith("/"):
        parts = urlsplit(text)
        params = dict(parse_qsl(parts.fragment, keep_blank_values=True))
        params.update(parse_qsl(parts.query, keep_blank_values=True))  # the query wins over the fragment
        return params, False
    if "=" in text:
        return dict(parse_qsl(text.lstrip("?#"), keep_blank_values=True)), False
    if any(ch.isspace() for ch in text) or len(text) < 4:
        raise WorkerError(
            "That does not look like a sign-in code.",
            action="Paste the whole address from the browser's address bar.",
            kind="no_code",
        )
    return {"code": text}, True


def client_rejected(status: int, body: bytes | str) -> bool:
    """Does this authorization/token error response say the server does not know our client (or its
    redirect URI)? Then registering again may fix it."""
    if status not in (400, 401):
        return False
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return False
    if not isinstance(data, dict):
        return False
    error = str(data.get("error") or "")
    description = str(data.get("error_description") or "").lower()
    if error in ("invalid_client", "unauthorized_client"):
        return True
    return (
        error == "invalid_request"
        and "client" in description
        and any(word in description for word in ("not found", "unknown", "not registered", "invalid"))
    )


def _error_sentence(error: str) -> str:
    # Only the error code (a fixed vocabulary), never the free-text description, which may echo anything.
    code = "".join(ch for ch in error if ch.isalnum() or ch == "_")[:40] or "unknown_error"
    return f"The sign-in server refused the request ({code})."


# --- a login in progress -----------------------------------------------------------------------------------


class _PendingLogin:
    """What BrowserLogin and AutoFollowLogin share: the result future, the deadline, cancel."""

    flow_name: LoginFlowName

    def __init__(self, emit: Emit, timeout: float) -> None:
        self._emit = emit
        self.timeout = timeout
        self._future: asyncio.Future[Any] | None = None
        self._deadline: float | None = None
        self._canceled = False
        self.authorize_url: str | None = None

    def _ensure_future(self) -> asyncio.Future[Any]:
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
            # A failure nobody awaits (canceled before the SDK asked) must not be reported as "never retrieved".
            self._future.add_done_callback(lambda f: f.cancelled() or f.exception())
        return self._future

    def _fail(self, exc: BaseException) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_exception(exc)

    def _start_clock(self) -> float:
        self._deadline = asyncio.get_running_loop().time() + self.timeout
        return self._deadline

    @property
    def pending(self) -> bool:
        return self._future is not None and not self._future.done() and not self._canceled

    async def callback_result(self) -> AuthorizationCodeResult:
        """The SDK's AuthorizationCodeResult (code, state, iss), after the timeout/cancel checks."""
        if self._canceled:
            raise LoginCanceled()
        future = self._ensure_future()
        deadline = self._deadline if self._deadline is not None else self._start_clock()
        remaining = max(0.0, deadline - asyncio.get_running_loop().time())
        try:
            params = await asyncio.wait_for(asyncio.shield(future), remaining)
        except TimeoutError:
            self._fail(LoginTimedOut())
            raise LoginTimedOut() from None
        finally:
            await self._after_result()
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    async def callback_handler(self) -> tuple[str, str | None]:
        result = await self.callback_result()
        return result.code, result.state

    async def _after_result(self) -> None:
        """Hook: BrowserLogin closes its listener here."""

    def cancel(self) -> None:
        self._canceled = True
        self._fail(LoginCanceled())

    def rearm(self) -> bool:
        """Get ready for a second authorization round (after the server rejected our client). False when
        this login cannot take another callback (canceled, or its listener is already closed)."""
        if self._canceled:
            return False
        if self._future is not None and self._future.done():
            self._future = None
        self._deadline = None
        return True

    def _emit_waiting(self, **fields: Any) -> None:
        try:
            self._emit(
                SignInProgress(step="waiting_for_browser", flow=self.flow_name, authorize_url=self.authorize_url, **fields)
            )
        except Exception:  # a broken subscriber must not break sign-in
            log.exception("sign-in progress subscriber failed")


class BrowserLogin(_PendingLogin):
    """Loopback listener and paste, at the same time (see the module docstring)."""

    def __init__(
        self,
        emit: Emit,
        *,
        timeout: float = 300,
        open_browser: bool | None = None,
        listen: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(emit, timeout)
        self.listen = listen
        self.open_browser = open_browser
        self._environ = environ
        self.flow_name = "loopback" if listen else "paste"
        self.redirect_uri = PASTE_REDIRECT_URI
        self.port: int | None = None
        self._server: asyncio.base_events.Server | None = None
        self._expected_state: str | None = None
        self.browser_opened = False

    async def start(self) -> None:
        """Bind the listener (port 0) so `redirect_uri` is known before the provider is built."""
        self._ensure_future()
        if not self.listen or self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, host="127.0.0.1", port=0)
        self.port = self._server.sockets[0].getsockname()[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    async def redirect_handler(self, authorize_url: str) -> None:
        if self._canceled:
            raise LoginCanceled()
        self._ensure_future()
        self.authorize_url = authorize_url
        state = dict(parse_qsl(urlsplit(authorize_url).query)).get("state")
        register_secret(state)
        self._expected_state = state
        self._start_clock()
        want_browser = can_open_browser(self._environ) if self.open_browser is None else self.open_browser
        if want_browser:
            self.browser_opened = await asyncio.to_thread(_open_in_gui_browser, authorize_url)
        self._emit_waiting(callback_port=self.port, browser_opened=self.browser_opened, message=self._hint())

    def _hint(self) -> str:
        paste = "paste the address your browser ends on"
        if self.port is not None and is_ssh_session(self._environ):
            return f"Open the link in your browser, then {paste}, or forward the port first: {ssh_forward_hint(self.port)}"
        if self.browser_opened:
            return f"Finish signing in in your browser. If it does not come back here, {paste}."
        return f"Open the link in a browser and sign in, then {paste}."

    def submit(self, pasted: str) -> None:
        """Finish with a pasted redirect URL / query / bare code. Raises WorkerError; the code never appears
        in the message, and a wrong state keeps the login pending."""
        params, bare = parse_pasted(pasted)
        register_secret(params.get("code"))
        self._accept(params, bare=bare)

    def _accept(self, params: dict[str, str], *, bare: bool) -> None:
        if not self.pending or self._expected_state is None:
            raise WorkerError("No sign-in is waiting for a code.", action="Start signing in first.", kind="no_login")
        state = params.get("state")
        if not bare and not any(params.get(name) for name in ("code", "state", "error")):
            # Not a sign-in answer at all (the callback before approving, another page): "a different
            # attempt" would send the person looking for a tab that does not exist.
            raise WorkerError(
                "That address has no sign-in code in it (nor the sign-in's state).",
                action="Approve in the browser first, then copy the whole address it ends on.",
                kind="no_code",
            )
        if not bare and (state is None or not secrets.compare_digest(state.encode(), self._expected_state.encode())):
            raise WorkerError(
                "That address belongs to a different sign-in attempt.",
                action="Paste the address from the browser tab you opened last.",
                kind="state_mismatch",
            )
        error = params.get("error")
        if error:
            failure = LoginDenied() if error == "access_denied" else LoginFailed(_error_sentence(error))
            self._fail(failure)
            raise WorkerError(failure.message, action="Try signing in again.", kind="denied")
        code = params.get("code")
        if not code:
            raise WorkerError(
                "That address has no sign-in code in it.",
                action="Paste the address your browser shows after you approve.",
                kind="no_code",
            )
        future = self._ensure_future()
        if not future.done():
            future.set_result({"code": code, "state": self._expected_state if bare else state, "iss": params.get("iss")})
        self._close_listener()

    # --- loopback listener ------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
            status, body = self._respond_to(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            status, body = 400, "Bad request."
        except Exception:  # the listener must answer, never crash
            log.exception("callback listener failed")
            status, body = 500, "Something went wrong."
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>calle-tui</title></head>"
            f"<body style='font-family:sans-serif;margin:3em'><p>{body}</p></body></html>"
        ).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict"}.get(
            status, "Error"
        )
        try:
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(page)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
                + page
            )
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _respond_to(self, head: bytes) -> tuple[int, str]:
        if len(head) > _MAX_REQUEST_BYTES:
            return 400, "Bad request."
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3:
            return 400, "Bad request."
        method, target, _version = parts
        split = urlsplit(target)
        if split.path != CALLBACK_PATH:
            return 404, "Not found."
        if method != "GET":
            return 405, "Method not allowed."
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        register_secret(params.get("code"))
        try:
            self._accept(params, bare=False)
        except WorkerError as exc:
            if exc.kind == "denied":
                return 200, "Sign-in was not approved. You can close this tab and return to the terminal."
            if exc.kind == "no_login":
                return 409, "No sign-in is waiting. Start signing in from calle-tui again."
            return 400, exc.message
        return 200, "You are signed in to calle-tui. You can close this tab and return to the terminal."

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # stops accepting; the connection being answered still gets its page

    async def _after_result(self) -> None:
        self._close_listener()

    def rearm(self) -> bool:
        if self.listen and self._server is None and self.port is not None:
            return False  # the callback URL we registered no longer answers
        self._expected_state = None
        return super().rearm()

    def cancel(self) -> None:
        super().cancel()
        self._close_listener()

    async def close(self) -> None:
        if self._future is not None and not self._future.done():
            self._canceled = True
            self._fail(LoginCanceled())
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)


class AutoFollowLogin(_PendingLogin):
    """GET the authorize URL ourselves (no automatic redirects) and read code/state from the Location that
    points at our redirect URI. Only for the sandbox's auto-approve mode and automation."""

    flow_name: LoginFlowName = "auto-follow"

    def __init__(self, emit: Emit, *, timeout: float = 60, redirect_uri: str = "http://127.0.0.1:8976/callback") -> None:
        super().__init__(emit, timeout)
        self.redirect_uri = redirect_uri
        self._task: asyncio.Task[dict[str, str]] | None = None

    async def start(self) -> None:
        self._ensure_future()

    async def redirect_handler(self, authorize_url: str) -> None:
        if self._canceled:
            raise LoginCanceled()
        future = self._ensure_future()
        self.authorize_url = authorize_url
        register_secret(dict(parse_qsl(urlsplit(authorize_url).query)).get("state"))
        self._start_clock()
        self._emit_waiting(message="Approving automatically (auto-follow sign-in).")
        self._task = asyncio.ensure_future(self._follow(authorize_url))
        try:
            params = await asyncio.wait_for(asyncio.shield(self._task), self.timeout)
        except TimeoutError:
            self._task.cancel()
            self._fail(LoginTimedOut())
            raise LoginTimedOut() from None
        except asyncio.CancelledError:
            if self._canceled:
                raise LoginCanceled() from None
            raise
        if not future.done():
            future.set_result(params)

    async def _follow(self, url: str) -> dict[str, str]:
        target = urlsplit(self.redirect_uri)
        async with httpx2.AsyncClient(follow_redirects=False, timeout=min(self.timeout, 30.0)) as http:
            for _hop in range(6):
                try:
                    response = await http.get(url)
                except httpx2.HTTPError as exc:
                    log.info("sign-in page unreachable (%s)", type(exc).__name__)
                    raise LoginFailed("Could not reach the sign-in page.") from None
                if response.is_redirect:
                    location = urljoin(url, response.headers.get("location", ""))
                    where = urlsplit(location)
                    if (where.scheme, where.netloc, where.path) == (target.scheme, target.netloc, target.path):
                        params = dict(parse_qsl(where.query, keep_blank_values=True))
                        register_secret(params.get("code"))
                        return self._check(params)
                    url = location
                    continue
                if client_rejected(response.status_code, response.content):
                    raise ClientRejected()
                raise LoginFailed(
                    "The sign-in page did not approve automatically. Use the loopback or paste sign-in instead."
                )
        raise LoginFailed("The sign-in page redirected too many times.")

    @staticmethod
    def _check(params: dict[str, str]) -> dict[str, str]:
        error = params.get("error")
        if error:
            raise LoginDenied() if error == "access_denied" else LoginFailed(_error_sentence(error))
        if not params.get("code"):
            raise LoginFailed("The sign-in server sent no code.")
        return params

    def submit(self, pasted: str) -> None:
        raise WorkerError(
            "This sign-in approves automatically and takes no pasted code.", action="Wait, or cancel.", kind="no_login"
        )

    def cancel(self) -> None:
        super().cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._future is not None and not self._future.done():
            self._canceled = True
            self._fail(LoginCanceled())


def make_login_flow(
    name: Literal["auto", "loopback", "paste", "auto-follow"],
    emit: Emit,
    *,
    timeout: float,
    environ: Mapping[str, str] | None = None,
) -> BrowserLogin | AutoFollowLogin:
    """auto and loopback: listener + paste; paste: paste only (nothing listens); auto-follow: no person."""
    if name == "auto-follow":
        return AutoFollowLogin(emit, timeout=timeout)
    if name == "paste":
        return BrowserLogin(emit, timeout=timeout, listen=False, environ=environ)
    if name in ("auto", "loopback"):
        return BrowserLogin(emit, timeout=timeout, listen=True, environ=environ)
    raise ValueError(f"Unknown sign-in method: {name!r}")
