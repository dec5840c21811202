"""Run the sandbox inside a test (or any Python program): uvicorn in a thread on 127.0.0.1.

    with start_sandbox(speed=10, clock=clock.now) as sandbox:
        ... connect to sandbox.mcp_url ...
        sandbox.stats.tool_calls["run_call"]

`start_sandbox` returns once the server is listening and its MCP session manager is running: the socket is
bound and listening before uvicorn starts (connections wait in the backlog), and the app's lifespan signals
readiness, so nothing polls. `restart()` brings it back on the same port with the same SQLite state.
`ManualClock` (from calle_tui.core.support.clock) has now() / advance(seconds) / set(t); pass `clock=fake.now`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx2
import uvicorn
from mcp import Client
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from calle_tui.core.support.clock import ManualClock
from calle_tui.sandbox.app import SandboxApp, build_app
from calle_tui.sandbox.config import MCP_PATH, Faults, SandboxConfig, SandboxStats
from calle_tui.sandbox.store import Store

__all__ = [
    "Faults",
    "ManualClock",
    "RunningSandbox",
    "SandboxConfig",
    "SandboxStats",
    "follow_authorization",
    "start_sandbox",
]

STARTUP_TIMEOUT = 20.0
_ssl_context = None


def _tls() -> Any:
    """One shared default TLS context: building one costs ~30 ms, and test clients are made by the dozen."""
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context()
    return _ssl_context


class SandboxStartError(RuntimeError):
    pass


class RunningSandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.stats = SandboxStats()
        self._own_dir = config.data_dir is None
        self.data_dir = Path(config.data_dir) if config.data_dir else Path(tempfile.mkdtemp(prefix="calle-sandbox-"))
        self.port = 0
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._app: SandboxApp | None = None
        self._failure: BaseException | None = None

    # --- addresses ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = self.config.host if self.config.host not in {"0.0.0.0", "::", ""} else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def mcp_url(self) -> str:
        return self.base_url + MCP_PATH

    @property
    def database(self) -> Path:
        return self.data_dir / "sandbox.sqlite3"

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> RunningSandbox:
        sock = socket.socket(socket.AF_INET6 if ":" in self.config.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, self.port or self.config.port))
        except OSError as exc:
            sock.close()
            raise SandboxStartError(f"Cannot listen on {self.config.host}:{self.port or self.config.port}: "
                                    f"{exc.strerror or exc}.") from None  # fmt: skip
        sock.listen(128)  # from here on, connections queue until uvicorn accepts them
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._store = Store(self.database)
        self._app = build_app(self.config, self._store, self.stats, self.base_url)
        ready = threading.Event()
        inner_app = self._app

        @contextlib.asynccontextmanager
        async def lifespan(_app: Any) -> AsyncIterator[None]:
            async with inner_app.session_manager.run():
                ready.set()
                yield

        app = _with_lifespan(inner_app.app, lifespan)
        config = uvicorn.Config(
            app,
            log_config=None,  # never reconfigure the host program's logging
            access_log=False,  # our RequestLog logs paths without query strings
            lifespan="on",
            timeout_graceful_shutdown=1,
            ws="none",
        )
        self._server = uvicorn.Server(config)
        self._failure = None

        def serve() -> None:
            try:
                self._server.run(sockets=[sock])  # type: ignore[union-attr]
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                self._failure = exc
            finally:
                ready.set()

        self._thread = threading.Thread(target=serve, name=f"calle-sandbox-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(STARTUP_TIMEOUT) or self._failure is not None or not self._thread.is_alive():
            self._halt()
            raise SandboxStartError(f"The sandbox did not start: {self._failure or 'timed out'}")
        return self

    def _halt(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._sock is not None:
            self._sock.close()
        if self._store is not None:
            self._store.close()
        self._server = self._thread = self._sock = self._store = None

    def stop(self) -> None:
        """Stop serving; a temporary data folder is removed (a given --data folder is kept)."""
        self._halt()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def restart(self) -> RunningSandbox:
        """Stop and start again on the same port with the same state (clients, tokens, plans, runs)."""
        self._halt()
        return self.start()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- state hooks for tests ---------------------------------------------------------------------

    @property
    def provider(self):  # the OAuth provider, for tests that need to look deeper
        assert self._app is not None, "the sandbox is not running"
        return self._app.provider

    @property
    def store(self) -> Store:
        assert self._store is not None, "the sandbox is not running"
        return self._store

    def forget_clients(self) -> None:
        """The authorization server forgets every registered client (as after a reset of its database)."""
        self.provider.forget_clients()

    def revoke_all_refresh_tokens(self) -> None:
        self.provider.revoke_all_refresh_tokens()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (the next /mcp request gets a 401)."""
        self.provider.expire_access_tokens()

    def runs(self) -> list[dict[str, Any]]:
        """Every run record (one per placed call), oldest first."""
        return self.store.runs()


def _with_lifespan(app: Any, lifespan: Callable[[Any], Any]) -> Any:
    """Wrap an ASGI app so its lifespan is `lifespan` (which runs the session manager and signals ready)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            async with lifespan(app):
                await send({"type": "lifespan.startup.complete"})
                message = await receive()  # lifespan.shutdown
        except BaseException as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            raise
        await send({"type": "lifespan.shutdown.complete"})

    return wrapped


def start_sandbox(config: SandboxConfig | None = None, **overrides: Any) -> RunningSandbox:
    """Start a sandbox (defaults: 127.0.0.1, a free port, auto-approve, a temporary data folder)."""
    config = dataclasses.replace(config or SandboxConfig(), **overrides)
    return RunningSandbox(config).start()


async def follow_authorization(authorize_url: str, *, approve: bool = True) -> tuple[str | None, str | None]:
    """Act as the user's browser: GET the authorize URL, answer the consent page if one is shown, and
    return (code, state) from the redirect to the client's redirect URI, without contacting it.
    A denied or failed authorization returns (None, state)."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10, verify=_tls()) as http:
        response = await http.get(authorize_url)
        origin = urlsplit(authorize_url).netloc
        for _ in range(3):
            if response.status_code not in (302, 303):
                return None, None
            location = urljoin(str(response.url), response.headers["location"])
            parts = urlsplit(location)
            if parts.netloc == origin and parts.path == "/consent":
                page = await http.get(location)
                request_id = parse_qs(parts.query).get("request", [""])[0]
                if page.status_code != 200:
                    return None, None
                decision = "approve" if approve else "deny"
                response = await http.post(
                    urljoin(location, "/consent"), data={"request": request_id, "decision": decision}
                )
                continue
            query = parse_qs(parts.query)
            return query.get("code", [None])[0], query.get("state", [None])[0]
    return None, None


class MemoryTokenStorage:
    """The SDK's TokenStorage protocol in memory (share one between clients to model a restart)."""

    def __init__(self) -> None:
        self.tokens: Any = None
        self.client_info: Any = None

    async def get_tokens(self) -> Any:
        return self.tokens

    async def set_tokens(self, tokens: Any) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> Any:
        return self.client_info

    async def set_client_info(self, client_info: Any) -> None:
        self.client_info = client_info


def oauth_provider(
    server_url: str,
    storage: MemoryTokenStorage | None = None,
    *,
    approve: bool = True,
    tamper_state: bool = False,
    client_name: str = "calle-tui tests",
    redirect_uri: str = "http://127.0.0.1:9/callback",
) -> Any:
    """The SDK's own OAuthClientProvider, with handlers that follow the authorize redirect themselves
    (like a browser on auto-approve) instead of opening a browser. The redirect URI is never contacted."""
    pending: dict[str, tuple[str | None, str | None]] = {}

    async def redirect_handler(url: str) -> None:
        pending["result"] = await follow_authorization(url, approve=approve)

    async def callback_handler() -> AuthorizationCodeResult:
        code, state = pending.pop("result", (None, None))
        if code is None:
            raise OAuthFlowError("The authorization was denied or failed.")
        return AuthorizationCodeResult(code=code, state="tampered" if tamper_state else state)

    metadata = OAuthClientMetadata(
        client_name=client_name,
        redirect_uris=[redirect_uri],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=metadata,
        storage=storage or MemoryTokenStorage(),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )


@contextlib.asynccontextmanager
async def sdk_client(server_url: str, provider: Any = None, **provider_kwargs: Any) -> AsyncIterator[Any]:
    """An initialized mcp.Client (legacy initialize handshake) over Streamable HTTP with OAuth."""
    auth = provider if provider is not None else oauth_provider(server_url, **provider_kwargs)
    async with httpx2.AsyncClient(auth=auth, timeout=30, verify=_tls()) as http:
        async with Client(streamable_http_client(server_url, http_client=http), mode="legacy") as client:
            yield client
