"""One MCP session over Streamable HTTP: an httpx2 client we own (with the OAuth provider as its auth) under
`mcp.Client(streamable_http_client(...), mode="legacy")`, held open by a task of its own.

Why a holder task: the SDK's transport runs an anyio task group, and an OAuth or network failure in any
request tears the whole session down as an ExceptionGroup out of the `async with`. The holder catches that
in one place, records the root cause, wakes every call in flight with `ConnectionLost`, and tells the owner.
Calls themselves run in the caller's task.

Why a context variable: the SDK turns an HTTP 429/5xx without a JSON-RPC body into a bare MCPError -32603,
losing the status and Retry-After. An httpx2 response hook writes them into a per-call record found through
a ContextVar (the transport runs each POST in the sending task's context), so the caller can back off right.

The mcp SDK and httpx2 (about half a second of imports) load with the first connection, not with this module:
the worker, built right after the first paint, does not wait on them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calle_tui.core.session.retry_after import parse_retry_after
from calle_tui.core.support.secrets import mask_known_secrets as safe_text

if TYPE_CHECKING:  # pragma: no cover
    import httpx2

    from calle_tui.core.error_kinds import CallFailure, ErrorKind

log = logging.getLogger("calle_tui.connection")

# A bare "Server returned an error response" (-32603) from the transport: see the module docstring.
_INTERNAL_ERROR = -32603
_CONNECTION_CLOSED = -32000


@dataclass
class HttpOutcome:
    """What the HTTP layer saw for one MCP call (written by the response hook)."""

    status: int | None = None
    retry_after: str | None = None
    sent: bool = False  # a response of any kind came back: the request reached the server
    # 403s whose WWW-Authenticate says error="insufficient_scope" (the hook sees the auth flow's responses
    # too): two mean the provider's one step-up happened and the server refused again.
    insufficient_scope: int = 0
    never_sent: bool = False  # this request's own connection could not be opened: it never left


_current_outcome: contextvars.ContextVar[HttpOutcome | None] = contextvars.ContextVar("calle_http_outcome", default=None)


class CallError(Exception):
    """A failed MCP call, classified. The text is a plain, secret-free sentence.

    kind: a CallFailure (core/error_kinds.py); `detail`: the finer word a failed sign-in gives (a SignInFailure).
    `reached_server` is False only when we know the request never got there (safe to resend a run_call).
    """

    def __init__(
        self,
        kind: CallFailure,
        message: str,
        *,
        retry_after: float | None = None,
        reached_server: bool | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.reached_server = reached_server
        self.status = status
        self.detail: ErrorKind = kind  # a finer word for sign-in failures: canceled, login_timeout, denied, ...
        self.refused = False  # the server answered with a JSON-RPC error that rejects the request unprocessed


class ConnectionLost(CallError):
    pass


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(_leaves(inner))
        return out
    return [exc]


def _leaves_other_than_cancel(exc: BaseException) -> bool:
    return any(not isinstance(e, asyncio.CancelledError | GeneratorExit) for e in _leaves(exc))


def _is_session_gone(exc: BaseException) -> bool:
    # A 404 on an established session: the server restarted and forgot it.
    text = str(exc).lower()
    return "session terminated" in text or "session not found" in text


def root_cause(exc: BaseException) -> BaseException:
    """The most telling exception inside an ExceptionGroup tree (cancellations are noise)."""
    leaves = [e for e in _leaves(exc) if not isinstance(e, asyncio.CancelledError | GeneratorExit)]
    if not leaves:
        return exc
    # Prefer sign-in problems, then transport errors: they explain everything else that failed with them.
    for leaf in leaves:
        if _is_login_required(leaf):
            return leaf
    for leaf in leaves:
        if _is_auth_error(leaf) or _is_oauth_error(leaf):
            return leaf
    return leaves[0]


def _is_login_required(exc: BaseException) -> bool:
    # calle_tui.core.auth.provider.LoginRequired, matched by name so this module does not import auth eagerly.
    return any(cls.__name__ == "LoginRequired" for cls in type(exc).__mro__)


def classify(exc: BaseException, outcome: HttpOutcome | None = None, *, now: float | None = None) -> CallError:
    """Turn anything a call or a connect can raise into a CallError with a human sentence."""
    # httpx2 and the mcp SDK (auth.errors builds on it) load with the first connection: see the module docstring.
    import httpx2
    from mcp import MCPError

    from calle_tui.core.auth.errors import AuthError, LoginRequired, ScopeStillInsufficient

    if isinstance(exc, CallError):
        return exc
    exc = root_cause(exc)
    if isinstance(exc, LoginRequired) or _is_login_required(exc):
        error = CallError("auth", "You need to sign in again.", reached_server=True)
        error.detail = "login_required"
        return error
    if type(exc).__name__ == "SignInServerUnavailable":
        # The refresh met an outage: still signed in, so a retry with backoff, never "sign in again".
        now_ = now if now is not None else 0.0
        retry_after = parse_retry_after(getattr(exc, "retry_after", None), now_)
        return CallError("server", str(getattr(exc, "message", exc)), retry_after=retry_after, reached_server=None)
    if isinstance(exc, AuthError) or _is_auth_error(exc):
        # Its message is a safe sentence written for people; its kind tells cancel, timeout, denied apart.
        error = CallError("auth", str(getattr(exc, "message", "") or "Sign-in failed."), reached_server=True)
        error.detail = exc.kind if isinstance(exc, AuthError) else "auth"
        return error
    if outcome is not None and outcome.status is not None and outcome.status >= 400:
        retry_after = parse_retry_after(outcome.retry_after, now if now is not None else 0.0)
        if outcome.status == 429:
            return CallError(
                "rate_limited",
                "The server is busy (too many requests).",
                retry_after=retry_after,
                reached_server=False,
                status=429,
            )
        if outcome.status == 401:
            return CallError("auth", "The server did not accept the sign-in.", reached_server=True, status=401)
        if outcome.status == 403 and outcome.insufficient_scope >= 2:
            # What is left after the provider's one step-up: the server still wants more permission. A 403
            # answers the HTTP request before any tool runs, so for run_call it proves no call was started.
            error = CallError("auth", ScopeStillInsufficient.default_message, reached_server=True, status=403)
            error.detail = ScopeStillInsufficient.kind
            error.refused = True
            return error
        if outcome.status >= 500:
            return CallError(
                "server",
                f"The server had a problem (HTTP {outcome.status}).",
                retry_after=retry_after,
                reached_server=True,
                status=outcome.status,
            )
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
        return CallError("network", "Cannot reach the server.", reached_server=False)
    if isinstance(exc, httpx2.TimeoutException | TimeoutError):
        return CallError("timeout", "The server did not answer in time.", reached_server=None)
    if isinstance(exc, httpx2.TransportError):
        return CallError("network", "The connection to the server was lost.", reached_server=None)
    if isinstance(exc, MCPError):
        code = getattr(exc, "code", None)
        if code == _CONNECTION_CLOSED:
            return CallError("network", "The connection to the server was lost.", reached_server=None)
        if "timed out" in str(exc).lower():
            return CallError("timeout", "The server did not answer in time.", reached_server=None)
        error = CallError("server", f"The server reported an error: {_short(str(exc))}", reached_server=True)
        # A JSON-RPC parse / invalid-request / unknown-method / invalid-params error is the server refusing
        # the request before any tool ran: for run_call that proves no call was started.
        error.refused = code in _REFUSALS
        return error
    if _is_oauth_error(exc):
        # The SDK's own OAuth errors: their text may quote server bodies, so we say which step failed instead.
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "OAuthRegistrationError" in names:
            error = CallError("auth", "The sign-in server would not register this app.", reached_server=True)
            error.detail = "registration_failed"
        elif "OAuthTokenError" in names:
            error = CallError("auth", "The sign-in server refused the sign-in. Sign in again.", reached_server=True)
            error.detail = "token_refused"
        else:
            error = CallError("auth", "Sign-in failed.", reached_server=True)
            error.detail = "login_failed"
        return error
    # Which exception it was is for the log (the caller logs it), never for the sentence a person reads.
    log.info("connection failure not recognised (%s)", type(exc).__name__)
    return CallError("network", "The connection failed unexpectedly.", reached_server=None)


# HTTP statuses that, in answer to an MCP initialize POST, mean "this URL is not an MCP endpoint": retrying
# will not help, the person has to fix the URL.
_NOT_MCP_STATUSES = {400, 403, 404, 405, 406, 410, 415, 501}
_METHOD_NOT_FOUND = -32601
_PARSE_ERROR = -32700
_INVALID_REQUEST = -32600
_INVALID_PARAMS = -32602
_REFUSALS = frozenset({_PARSE_ERROR, _INVALID_REQUEST, _METHOD_NOT_FOUND, _INVALID_PARAMS})


def not_mcp(exc: BaseException, outcome: HttpOutcome | None) -> CallError | None:
    """A failure of the handshake (before initialize succeeded) that shows the server answered but does
    not speak MCP: a 404/405/501 page, HTML, or a body that is not JSON-RPC. None when it is anything else."""
    from mcp import MCPError  # with the first connection: see the module docstring

    cause = root_cause(exc)
    if _is_login_required(cause) or _is_auth_error(cause) or _is_oauth_error(cause):
        return None
    status = outcome.status if outcome is not None else None
    if status in _NOT_MCP_STATUSES:
        return CallError(
            "not_mcp",
            f"The server at this address answered, but it is not an MCP endpoint (HTTP {status}).",
            reached_server=True,
            status=status,
        )
    if isinstance(cause, MCPError):
        code = getattr(cause, "code", None)
        text = str(cause).lower()
        if code in {_METHOD_NOT_FOUND, _PARSE_ERROR} or (code == _INVALID_REQUEST and "content type" in text):
            return CallError(
                "not_mcp", "The server at this address answered, but not in the MCP protocol.", reached_server=True
            )
    return None


def _is_auth_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "AuthError" for cls in type(exc).__mro__)


def _is_oauth_error(exc: BaseException) -> bool:
    return any(cls.__name__ in {"OAuthFlowError", "OAuthTokenError", "OAuthRegistrationError"} for cls in type(exc).__mro__)


def _short(text: str, limit: int = 200) -> str:
    text = safe_text(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "..."


PLAN_TIMEOUT = 150.0  # seconds CALL-E's own CLI waits for plan_call; other requests keep the short timeout


@dataclass
class ToolInfo:
    names: tuple[str, ...]
    schemas: dict[str, dict[str, Any]]
    server_name: str = ""
    server_version: str = ""
    # Tools whose annotations say a repeat with the same arguments has no further effect (idempotentHint):
    # the only ground on which an "outcome unknown" run_call may be replayed to learn its run_id.
    idempotent: frozenset[str] = frozenset()


class Connection:
    """One live MCP session. `open()` connects, initializes and lists tools; `call()` calls a tool;
    `lost` fires once when the session ends for any reason other than `close()`."""

    def __init__(
        self,
        url: str,
        *,
        auth: httpx2.Auth | None,
        timeout: float = 30.0,
        on_lost: Callable[[CallError], None] | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.url = url
        self._auth = auth
        self._timeout = timeout
        self._on_lost = on_lost
        self._now = now or (lambda: 0.0)
        self._client: Any = None
        self._holder: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._dead = asyncio.Event()
        self._failure: CallError | None = None
        self._calls: set[asyncio.Future[Any]] = set()
        self._broken = False
        self._user_closed = False
        self.tools: ToolInfo | None = None

    @property
    def alive(self) -> bool:
        return self._client is not None and not self._dead.is_set() and not self._broken

    @property
    def failure(self) -> CallError | None:
        return self._failure

    async def open(self) -> ToolInfo:
        """Connect and list tools. Raises CallError (never an ExceptionGroup) when that fails."""
        ready: asyncio.Future[ToolInfo] = asyncio.get_running_loop().create_future()
        self._holder = asyncio.create_task(self._hold(ready), name=f"mcp-connection {self.url}")
        try:
            return await ready
        except BaseException:
            if not ready.done():  # we were cancelled while connecting
                await self.close()
            raise

    async def _hold(self, ready: asyncio.Future[ToolInfo]) -> None:
        # The first connection loads httpx2 and the mcp SDK: see the module docstring.
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        failure: CallError | None = None
        outcome = HttpOutcome()
        token = _current_outcome.set(outcome)
        try:
            # The HTTP read timeout is only a backstop: each request's own limit is the session's read
            # timeout, which plan_call raises to PLAN_TIMEOUT (planning was measured at up to minutes).
            timeout = httpx2.Timeout(self._timeout, read=max(self._timeout, PLAN_TIMEOUT + 10.0))
            async with httpx2.AsyncClient(
                auth=self._auth,
                timeout=timeout,
                event_hooks={"response": [_record_response]},
                transport=_marking_transport(),
            ) as http:
                client = Client(
                    streamable_http_client(self.url, http_client=http),
                    mode="legacy",
                    read_timeout_seconds=self._timeout,
                    cache=None,
                )
                async with client:
                    self._client = client
                    tools = await self._list_tools(client)
                    if not ready.done():
                        ready.set_result(tools)
                    await self._closing.wait()
        except BaseException as exc:  # noqa: BLE001 - the one place a torn-down session is caught
            # Our own close() ends the session with cancellations only (a bare one or a group of them): that is
            # no failure. Anything else, while closing or not, is one.
            if not (self._closing.is_set() and not _leaves_other_than_cancel(exc)):
                failure = None if ready.done() else not_mcp(exc, outcome)
                failure = failure or classify(exc, outcome, now=self._now())
                log.info("MCP session ended: %s (%s)", failure.message, type(root_cause(exc)).__name__)
        finally:
            _current_outcome.reset(token)
            self._client = None
            if self._failure is None:
                self._failure = failure
            self._dead.set()
            if not ready.done():
                ready.set_exception(failure or ConnectionLost("network", "The connection was closed."))
            elif failure is not None:
                self._break(failure)

    async def _list_tools(self, client: Any) -> ToolInfo:
        names: list[str] = []
        schemas: dict[str, dict[str, Any]] = {}
        idempotent: set[str] = set()
        cursor = None
        for _ in range(50):  # a paginator that never ends cannot hang us
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                names.append(tool.name)
                schemas[tool.name] = dict(tool.input_schema or {})
                if getattr(getattr(tool, "annotations", None), "idempotent_hint", None) is True:
                    idempotent.add(tool.name)
            cursor = page.next_cursor
            if not cursor:
                break
        info = client.server_info
        self.tools = ToolInfo(
            tuple(names),
            schemas,
            getattr(info, "name", "") or "",
            getattr(info, "version", "") or "",
            frozenset(idempotent),
        )
        return self.tools

    async def call(
        self, name: str, arguments: dict[str, Any], *, meta: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """Call a tool; returns the CallToolResult. Raises CallError for transport/HTTP/JSON-RPC failures and
        ConnectionLost when the session dies meanwhile. A tool's own refusal is a reply (wire/envelope.py reads
        it), not raised. `meta` goes out as the request's `_meta`; `timeout` replaces the session's read
        timeout for this call only (plan_call may take minutes)."""
        if not self.alive:
            raise ConnectionLost("network", "Not connected to the server.", reached_server=False)
        outcome = HttpOutcome()
        token = _current_outcome.set(outcome)
        try:
            extra: dict[str, Any] = {}
            if meta:
                extra["meta"] = meta
            if timeout is not None:
                extra["read_timeout_seconds"] = timeout
            task = asyncio.ensure_future(self._client.call_tool(name, arguments, **extra))
        finally:
            _current_outcome.reset(token)
        self._calls.add(task)
        dead = asyncio.ensure_future(self._dead.wait())
        try:
            await asyncio.wait({task, dead}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            dead.cancel()
            self._calls.discard(task)
        if not task.done():
            task.cancel()
            failure = self._failure or CallError("network", "The connection to the server was lost.")
            reached = True if outcome.sent else (False if outcome.never_sent else None)
            raise ConnectionLost(
                failure.kind,
                failure.message,
                retry_after=failure.retry_after,
                reached_server=reached,
                status=failure.status,
            )
        if task.cancelled():
            # close() cancelled the request under us (we ourselves were not cancelled): a lost reply, not a
            # cancellation of the caller.
            raise ConnectionLost("network", "The connection was closed.", reached_server=True if outcome.sent else None)
        exc = task.exception()
        if exc is not None:
            error = classify(exc, outcome, now=self._now())
            if _is_session_gone(exc) or outcome.status == 404:
                # The server forgot our session (it restarted): the request was not processed.
                gone = CallError("network", "The server ended our session (it may have restarted).", reached_server=False)
                self._break(gone)
                raise ConnectionLost(gone.kind, gone.message, reached_server=False)
            if error.kind == "network":  # (a timeout alone leaves the session usable)
                # The session is unusable: let the holder finish so its root cause (e.g. a refused connect,
                # which proves the request never left) explains this call too, then report it lost.
                try:
                    await asyncio.wait_for(asyncio.shield(self._dead.wait()), timeout=2.0)
                except TimeoutError:
                    pass
                cause = self._failure or error
                self._break(cause)
                # "Never reached the server" only from this request's own failed connect (or its own 429, which
                # classify reports above), never from another request that failed in the same session.
                reached = True if outcome.sent else (False if outcome.never_sent else None)
                raise ConnectionLost(
                    cause.kind, cause.message, retry_after=cause.retry_after, reached_server=reached, status=cause.status
                )
            if error.reached_server is None and outcome.sent:
                error.reached_server = True
            raise error
        return task.result()

    def _break(self, failure: CallError) -> None:
        """Give up on this session (it can no longer answer); the owner hears about it once."""
        if self._broken:
            return
        self._broken = True
        if self._failure is None:
            self._failure = failure
        self._closing.set()
        if self._on_lost is not None and not self._user_closed:
            self._on_lost(self._failure)

    async def close(self) -> None:
        self._user_closed = True
        self._closing.set()
        for task in list(self._calls):
            task.cancel()
        holder = self._holder
        if holder is not None and not holder.done():
            try:
                await asyncio.wait_for(asyncio.shield(holder), timeout=5.0)
            except (TimeoutError, asyncio.CancelledError):
                holder.cancel()
            except Exception:  # noqa: BLE001 - closing must not fail
                pass


def _marking_transport() -> httpx2.AsyncHTTPTransport:
    """The default transport, noting on the current request's outcome when its own connection could not be
    opened: the one proof that a request (a run_call above all) never reached the server."""
    import httpx2  # with the first connection: see the module docstring

    class MarkingTransport(httpx2.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            try:
                return await super().handle_async_request(request)
            except (httpx2.ConnectError, httpx2.ConnectTimeout):
                outcome = _current_outcome.get()
                if outcome is not None and not outcome.sent:
                    outcome.never_sent = True
                raise

    return MarkingTransport()


async def _record_response(response: Any) -> None:
    outcome = _current_outcome.get()
    if outcome is None:
        return
    outcome.sent = True
    if response.status_code >= 400 and response.status_code != 401:
        outcome.status = response.status_code
        outcome.retry_after = response.headers.get("retry-after")
        challenge = response.headers.get("www-authenticate", "").lower()
        if response.status_code == 403 and "insufficient_scope" in challenge:
            outcome.insufficient_scope += 1
    elif response.status_code < 300:
        outcome.status = None
        outcome.retry_after = None
