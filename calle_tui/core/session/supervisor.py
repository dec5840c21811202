"""Session supervision: one named state (`Phase`) and every change of it in one place (`_enter`).

The supervisor keeps one MCP session open in the background. It connects without a browser (a background
reconnect never opens one: it asks for a sign-in instead), backs off on failure, reconnects when the session
drops, and puts every new session in place, a sign-in's included. Screens see the state as ConnectionChanged
(connecting / connected / reconnecting / disconnected / failed) and SignInNeeded.

    NEW -> CONNECTING -> CONNECTED                          the first background connect
    CONNECTED -> LOST -> RECONNECTING | REFRESHING | SIGNED_OUT   the session dropped
    CONNECTING | RECONNECTING -> BACKING_OFF -> ...         a failed attempt waits, then tries again
    -> REFRESHING      the server refused the access token early: refresh it once instead of asking
    -> SIGNED_OUT      no usable sign-in: SignInNeeded, said once; nothing is retried until a sign-in
    -> SIGNING_IN -> CONNECTED, or back where it was        a sign-in flow runs (one at a time)
    CONNECTED -> SIGNING_OUT -> SIGNED_OUT                  the person signed out
    -> FAILED          not a CALL-E (or not an MCP) endpoint: nothing is retried until reconnect()
    -> CLOSING -> CLOSED

LOST, SIGNING_IN, SIGNING_OUT and CLOSING show nothing of their own: what follows them says it. A session in use
stays in use while the person signs in again (SignInEnding asks them to before it ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from enum import Enum
from typing import TYPE_CHECKING

from calle_tui.core.advice import action_for
from calle_tui.core.auth.broker import MIN_TTL_SECONDS
from calle_tui.core.auth.secret_store import SecretStore, choose_secret_store
from calle_tui.core.auth.token_storage import ServerTokenStorage
from calle_tui.core.config.settings import Settings
from calle_tui.core.events import (
    ConnectionChanged,
    ConnectionState,
    ErrorEvent,
    SignedIn,
    SignInEnding,
    SignInNeeded,
    ToolsListed,
    WorkerEvent,
)
from calle_tui.core.session.connection import CallError, Connection, ToolInfo
from calle_tui.core.support.clock import Clock
from calle_tui.core.worker_api import AuthStatus, WorkerError

if TYPE_CHECKING:
    from calle_tui.core.auth.login_flows import AutoFollowLogin, BrowserLogin
    from calle_tui.core.auth.provider import StepUpLogin

log = logging.getLogger("calle_tui.session")

NOT_CALLE = "This server is not a CALL-E endpoint: it does not offer plan_call, run_call and get_call_run."


class Phase(Enum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"
    RECONNECTING = "reconnecting"
    BACKING_OFF = "backing off"
    REFRESHING = "refreshing"
    SIGNED_OUT = "signed out"
    SIGNING_IN = "signing in"
    SIGNING_OUT = "signing out"
    FAILED = "failed"
    CLOSING = "closing"
    CLOSED = "closed"


_SHOWN: dict[Phase, ConnectionState | None] = {
    Phase.NEW: "disconnected",
    Phase.CONNECTING: "connecting",
    Phase.CONNECTED: "connected",
    Phase.LOST: None,
    Phase.RECONNECTING: "reconnecting",
    Phase.BACKING_OFF: "reconnecting",
    Phase.REFRESHING: "reconnecting",
    Phase.SIGNED_OUT: "disconnected",
    Phase.SIGNING_IN: None,
    Phase.SIGNING_OUT: None,
    Phase.FAILED: "failed",
    Phase.CLOSING: None,
    Phase.CLOSED: "disconnected",
}
_WAITING = frozenset({Phase.SIGNED_OUT, Phase.SIGNING_IN, Phase.SIGNING_OUT, Phase.FAILED})  # for a person


class Supervisor:
    """The worker's one session: its token storage, the live Connection and its tools, and the phase."""

    def __init__(
        self,
        settings: Settings,
        *,
        emit: Callable[[WorkerEvent], None],
        clock: Clock,
        retry_delay: Callable[[int, float | None], float],
        required_tools: tuple[str, ...],
        secret_store: SecretStore | None,
        step_up: StepUpLogin,
    ) -> None:
        self.settings = settings
        self.server_url = settings.url
        self._emit = emit
        self._clock = clock
        self._retry_delay = retry_delay  # (failures so far, the server's Retry-After) -> seconds
        # A session that lacks one of these is refused as "not a CALL-E endpoint". Only the doctor's
        # --try-tool passes () to reach any MCP server (it then calls one named tool, never run_call).
        self._required_tools = required_tools
        self._step_up = step_up
        self.store = secret_store  # chosen in start() when not given
        self.storage: ServerTokenStorage | None = None  # built in start()
        self.conn: Connection | None = None
        self.tools: ToolInfo | None = None  # the last session's tools/list (kept while reconnecting)
        self.connected = asyncio.Event()  # set exactly while the phase is CONNECTED
        self.wake = asyncio.Event()  # a sign-in ended, a retry was asked for, or closing
        self.failed_message = ""  # why the phase is FAILED
        self._phase = Phase.NEW
        self._shown: ConnectionState = "disconnected"
        self._resume = Phase.NEW  # where a sign-in that fails leaves the phase
        self._sign_in_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._expiry_watch: asyncio.Task[None] | None = None  # asks to sign in again before a dead end
        # Sessions replaced by a newer one, still closing. Held here because the event loop keeps only a weak
        # reference to a task (one it drops may vanish mid-close), and close() waits for them.
        self._retiring: set[asyncio.Task[None]] = set()
        # Each background connect attempt ends by setting the current event and arming a new one, so a call
        # made while disconnected can wait for "the next attempt" instead of a fixed time.
        self._attempt_end = asyncio.Event()
        self._last_error: CallError | None = None

    # --- the phase -------------------------------------------------------------------------------------

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def closed(self) -> bool:
        return self._phase in (Phase.CLOSING, Phase.CLOSED)

    @property
    def needs_sign_in(self) -> bool:
        """No session can be opened until the person signs in (counting a sign-in under way from there)."""
        phase = self._resume if self._phase is Phase.SIGNING_IN else self._phase
        return phase in (Phase.SIGNED_OUT, Phase.SIGNING_OUT)

    def _enter(self, phase: Phase, message: str = "") -> None:
        """The one place the phase changes: `connected` follows it, and ConnectionChanged is emitted when
        what a person sees changes or there is something to say."""
        self._phase = phase
        if phase is Phase.CONNECTED:
            self.connected.set()
        else:
            self.connected.clear()
        shown = _SHOWN[phase]
        if shown is None or (shown == self._shown and not message):
            return
        self._shown = shown
        self._emit(ConnectionChanged(state=shown, server_url=self.server_url, message=message))

    def require_sign_in(self, reason: str) -> None:
        if self.needs_sign_in:
            return  # said once, until a session is in place again
        self._enter(Phase.SIGNED_OUT, reason)
        self._emit(SignInNeeded(server_url=self.server_url, reason=reason))

    def fail(self, message: str) -> None:
        """Not a CALL-E (or MCP) endpoint: retrying cannot fix a wrong URL, so wait for reconnect()."""
        self.failed_message = message
        self._enter(Phase.FAILED, message)

    def retry(self) -> None:
        """Try again now: after FAILED, or instead of the rest of a backoff."""
        if self._phase is Phase.FAILED:
            self._enter(Phase.RECONNECTING if self.tools is not None else Phase.CONNECTING)
        self.wake.set()

    @contextlib.asynccontextmanager
    async def signing_in(self) -> AsyncIterator[None]:
        """Held while a sign-in flow runs, one at a time. Meanwhile the background attempts wait for it instead
        of asking for a sign-in themselves; a session already in use stays in use until the new one is in place."""
        async with self._sign_in_lock:
            if self._phase is not Phase.CONNECTED:
                self._resume = self._phase
                self._enter(Phase.SIGNING_IN)
            try:
                yield
            finally:
                if self._phase is Phase.SIGNING_IN:
                    self._enter(self._resume)
                self.wake.set()

    def signing_out(self) -> Connection | None:
        """Stop using the session while the sign-in is forgotten; returns it for the caller to close."""
        conn, self.conn = self.conn, None
        self._enter(Phase.SIGNING_OUT)
        return conn

    def signed_out(self) -> None:
        self._enter(Phase.SIGNED_OUT, "Signed out.")

    # --- sessions --------------------------------------------------------------------------------------

    async def ensure_storage(self) -> ServerTokenStorage:
        if self.storage is not None:
            return self.storage
        if self.store is None:
            insecure = self.settings.state_root / "tokens.json" if self.settings.insecure_storage else None
            # Probing a keyring can block (D-Bus): keep it off the event loop.
            self.store = await asyncio.to_thread(choose_secret_store, insecure_file=insecure)
        storage = ServerTokenStorage(self.store, self.server_url, meta_dir=self.settings.state_root / "auth")
        await storage.load()  # off the loop and bounded: a locked keyring must not freeze the app
        self.storage = storage
        return storage

    def _tokens(self) -> ServerTokenStorage:
        if self.storage is None:
            raise RuntimeError("the token storage is loaded by start() before any session is opened")
        return self.storage

    async def open(self, login: BrowserLogin | AutoFollowLogin | None = None, interactive: bool = False) -> Connection:
        """Open a session and check it is a CALL-E endpoint. Raises CallError."""
        # The provider builds on the mcp SDK: it loads with the first connection, not with the worker.
        from calle_tui.core.auth.provider import build_oauth_provider

        secret = self.settings.client_secret.get_secret_value() if self.settings.client_secret else None
        provider = build_oauth_provider(
            self.server_url,
            self._tokens(),
            login,
            self._emit,
            client_id=self.settings.client_id,
            client_secret=secret,
            interactive=interactive,
            step_up=self._step_up,
        )
        conn = Connection(
            self.server_url,
            auth=provider,
            timeout=self.settings.request_timeout_seconds,
            on_lost=lambda failure: self._on_lost(conn),
            now=self._clock.now,
        )
        tools = await conn.open()
        if not set(self._required_tools) <= set(tools.names):
            await conn.close()
            raise CallError("not_calle", NOT_CALLE, reached_server=True)
        return conn

    def _install(self, conn: Connection, *, signed_in: bool) -> None:
        old, self.conn = self.conn, conn
        if old is not None and old is not conn:
            closing = asyncio.create_task(old.close(), name="calle-close-replaced-session")
            self._retiring.add(closing)
            closing.add_done_callback(self._retiring.discard)
        tools = conn.tools
        assert tools is not None  # open() listed them
        self.tools = tools
        self._enter(Phase.CONNECTED)
        self._watch_expiry()
        self._emit(ToolsListed(tool_names=tools.names, plan_call_schema=tools.schemas.get("plan_call", {}),
                               server_name=tools.server_name))  # fmt: skip
        if signed_in:
            self._emit(self.signed_in_event())

    async def adopt_sign_in(self) -> None:
        """After a sign-in stored its tokens: open a background session with them (it never opens a browser)
        and put it in place. Raises CallError."""
        self._install(await self.open(), signed_in=True)

    def _on_lost(self, conn: Connection) -> None:
        if conn is not self.conn or self._phase is not Phase.CONNECTED:
            return  # an old session we already replaced, or one being closed
        self._enter(Phase.LOST)
        self.wake.set()

    async def connection(self, timeout: float | None = None) -> Connection:
        """The live session, waiting briefly while one is being opened. Raises WorkerError."""
        if self.needs_sign_in:
            raise WorkerError("You need to sign in first.", action="Sign in, then try again.", kind="auth")
        if self._phase is Phase.FAILED:
            raise WorkerError(self.failed_message or NOT_CALLE, action=action_for("not_calle"), kind="not_calle")
        if not self.connected.is_set():
            # Someone is waiting: retry now rather than after the backoff, and report that attempt's failure
            # at once instead of sitting on a spinner for the whole request timeout.
            attempt = self._attempt_end
            if self._phase is Phase.BACKING_OFF:
                self.wake.set()
            connected = asyncio.ensure_future(self.connected.wait())
            ended = asyncio.ensure_future(attempt.wait())
            try:
                done, _ = await asyncio.wait(
                    {connected, ended},
                    timeout=timeout if timeout is not None else self.settings.request_timeout_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                connected.cancel()
                ended.cancel()
            if not self.connected.is_set():
                if self.needs_sign_in:
                    raise WorkerError("You need to sign in first.", action="Sign in, then try again.", kind="auth")
                error = self._last_error if done else None
                if error is not None:
                    raise WorkerError(f"Not connected: {error.message}", action=action_for(error.kind), kind=error.kind)
                raise WorkerError(
                    "Not connected to the server.", action="Check your network; we keep retrying.", kind="network"
                )
        conn = self.conn
        if conn is None or not conn.alive:
            raise WorkerError("Not connected to the server.", action="Try again in a moment.", kind="network")
        return conn

    # --- the background loop ---------------------------------------------------------------------------

    def begin(self) -> None:
        self._task = asyncio.create_task(self._run(), name="calle-supervisor")

    async def _run(self) -> None:
        failures = 0
        while not self.closed:
            self.wake.clear()
            conn = self.conn
            if conn is not None:
                if conn.alive:
                    await self.wake.wait()
                else:
                    await self._after_loss(conn)
                continue
            if self._phase in _WAITING:
                await self.wake.wait()
                continue
            if self._phase is not Phase.REFRESHING:  # a refresh's own attempt keeps saying so
                self._enter(Phase.RECONNECTING if self.tools is not None else Phase.CONNECTING)
            try:
                conn = await self.open()
            except CallError as exc:
                self._last_error = exc
                self._end_attempt()
                failures = await self._after_failure(exc, failures)
                continue
            failures = 0
            self._last_error = None
            self._install(conn, signed_in=self._tokens().has_tokens())
            self._end_attempt()

    async def _after_loss(self, conn: Connection) -> None:
        failure = conn.failure
        self.conn = None
        if failure is not None and failure.kind == "auth":
            if not await self._refresh_instead():
                self.require_sign_in("Your session expired. Sign in again.")
            return
        said = failure.message if failure is not None else "The connection was closed."
        self._enter(Phase.RECONNECTING, f"{said} Reconnecting.")

    async def _after_failure(self, exc: CallError, failures: int) -> int:
        """What follows a failed background attempt; returns the count of failures in a row."""
        if self._phase is Phase.SIGNING_IN:
            return failures  # the sign-in under way puts its session in place, or says why not
        if exc.kind == "auth":
            had_tokens = self._tokens().has_tokens()
            if not (had_tokens and await self._refresh_instead()):
                self.require_sign_in("Your session expired. Sign in again." if had_tokens else "Sign in to continue.")
            return failures
        if exc.kind in {"not_calle", "not_mcp"}:
            # Retrying cannot fix a wrong URL: say so once and wait for an explicit retry.
            self.fail(exc.message)
            self._emit(ErrorEvent(message=exc.message, action=action_for(exc.kind), kind=exc.kind))
            return 0
        failures += 1
        delay = self._retry_delay(failures, exc.retry_after)
        self._enter(Phase.BACKING_OFF, f"{exc.message} Retrying in {max(1, round(delay))} s.")
        await self._sleep_or_wake(delay)
        return failures

    def _end_attempt(self) -> None:
        ended, self._attempt_end = self._attempt_end, asyncio.Event()
        ended.set()

    async def _sleep_or_wake(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self.wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _refresh_instead(self) -> bool:
        """The server refused our access token before its known expiry (revoked or expired early). Once per
        session, mark it expired so the next background connect refreshes it instead of asking the person
        to sign in; a refused refresh then clears the tokens and we ask."""
        storage = self.storage
        if self._phase is Phase.REFRESHING or storage is None or not storage.has_tokens():
            return False
        try:
            tokens = await storage.get_tokens()
            if tokens is None or not tokens.refresh_token:
                return False
            await storage.set_tokens(tokens.model_copy(update={"expires_in": 0}))
        except Exception:  # then we simply ask for a sign-in
            log.info("could not mark the access token expired", exc_info=True)
            return False
        self._enter(Phase.REFRESHING, "Refreshing the sign-in.")
        return True

    # --- the sign-in's end -----------------------------------------------------------------------------

    def _watch_expiry(self) -> None:
        """A sign-in that cannot renew itself is announced 5 minutes before it ends (a token with less left
        counts as expired), so the person signs in again while nothing is at stake."""
        if self._expiry_watch is not None:
            self._expiry_watch.cancel()
            self._expiry_watch = None
        storage = self.storage
        if storage is None or not storage.has_tokens() or storage.can_refresh() or storage.expires_at is None:
            return
        self._expiry_watch = asyncio.create_task(self._warn_before_expiry(storage.expires_at), name="calle-expiry")

    async def _warn_before_expiry(self, expires_at: float) -> None:
        await self._clock.sleep_until(expires_at - MIN_TTL_SECONDS)  # CALL-E's CLI's margin, ours too
        storage = self.storage
        if self.closed or storage is None or storage.expires_at != expires_at or storage.can_refresh():
            return  # signed in again (or out) meanwhile
        ends = "has ended" if expires_at <= self._clock.now() else "ends in less than 5 minutes"
        self._emit(SignInEnding(self.server_url, expires_at,
                                f"Your sign-in {ends} and cannot renew itself. Sign in again now, so nothing "
                                "is interrupted: press s."))  # fmt: skip

    def auth_status(self) -> AuthStatus:
        store, storage = self.store, self.storage
        # Where the sign-in really is: a keyring that refused the last write means memory only, said so.
        if storage is not None:
            return AuthStatus(self.server_url, storage.has_tokens(), storage.expires_at, storage.persisted_kind,
                              storage.notice)  # fmt: skip
        return AuthStatus(self.server_url, False, None, store.kind if store else "memory", store.notice if store else "")

    def signed_in_event(self) -> SignedIn:
        status = self.auth_status()
        return SignedIn(self.server_url, status.expires_at, status.storage, status.storage_notice)

    # --- closing ---------------------------------------------------------------------------------------

    def stop(self) -> list[asyncio.Task[None]]:
        """No more attempts: the background tasks are cancelled and returned for the caller to await."""
        self._enter(Phase.CLOSING)
        self.wake.set()
        tasks = [t for t in (self._task, self._expiry_watch) if t is not None]
        for task in tasks:
            task.cancel()
        return tasks

    async def close(self) -> None:
        """After stop(): close the session and wait for replaced ones still closing (bounded: not cancelled, a
        session's close must not stop half way)."""
        if self.conn is not None:
            await self.conn.close()
            self.conn = None
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    def closed_down(self) -> None:
        self._enter(Phase.CLOSED)
