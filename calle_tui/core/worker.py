"""The one long-lived background worker: it owns the MCP session, sign-in, the journal and run following.

Screens call its async methods and receive its events (events.py); it never touches a widget. Everything
runs in the caller's asyncio loop as a few tasks:
- the supervisor keeps one session open: connects without a browser (a background reconnect never pops
  one: it emits SignInNeeded instead), backs off on failure and reconnects when the session drops;
- one follower per run (follow.py, RunFollowers) polls get_call_run on the seed's cadence, pages through
  cursors, stores each page in the journal before announcing it, and resumes from the saved cursor.

Safety: plan() sends only what the user gave; run() sends run_call at most once per plan, ever, guarded by
an in-process lock taken before the first await and by the journal's attempt latch written before the
request leaves. A lost reply is "outcome unknown" until the user explicitly asks to reconcile it.

Import cost: nothing heavy at import time (mcp and httpx2 load inside start()).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, TypeVar

from calle_tui.core.config.settings import Settings
from calle_tui.core.config.timezone import user_zone
from calle_tui.core.events import (
    ConnectionChanged,
    ConnectionState,
    ErrorEvent,
    LoginFlowChoice,
    LoginFlowName,
    PlanResult,
    RunOutcomeUnknown,
    RunStarted,
    SignedIn,
    SignedOut,
    SignInNeeded,
    Subscribers,
    TokenStorageKind,
    ToolsListed,
    WorkerEvent,
)
from calle_tui.core.runs.follow import RunFollowers, fmt_seconds
from calle_tui.core.runs.polling import PollPolicy, backoff_delay
from calle_tui.core.session.connection import PLAN_TIMEOUT, CallError, Connection, classify
from calle_tui.core.session.request_budget import RequestBudget
from calle_tui.core.store.journal import Journal, JournalError
from calle_tui.core.support.clock import Clock, SystemClock
from calle_tui.core.wire.contract import (
    SAFE_TOOL_NAMES,
    TOOL_NAMES,
    ActivityEntry,
    PlanCallInput,
    PlanCallResult,
    RunCallInput,
    RunCallResult,
    places_calls,
)
from calle_tui.core.wire.envelope import ProseOnly, Read, Refused, UnreadableReply, read_reply
from calle_tui.core.worker_api import AuthStatus, PlanRequest, RunRecord, WorkerError

log = logging.getLogger("calle_tui.worker")
_T = TypeVar("_T")

NOT_CALLE = "This server is not a CALL-E endpoint: it does not offer plan_call, run_call and get_call_run."
CUSTOMER_METADATA_KEY = "call-e/customerMetadata"  # CALL-E's batch runner's _meta key for a line's metadata
SIGN_IN_AGAIN_BEFORE = 300.0  # seconds: a token with less left counts as expired (CALL-E's CLI does the same)
UNKNOWN_OUTCOME = "We sent the call request but got no answer, so we do not know whether the call started."
UNKNOWN_PROSE = "The server answered in words without a run id, so we do not know whether the call started."
UNKNOWN_ACTION = "Do not plan it again yet: open the history (f2), select the request and press k to check it with CALL-E."


class CalleWorker:
    """Implements calle_tui.core.worker_api.WorkerAPI against a real (or sandbox) CALL-E endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        secret_store: Any = None,
        journal: Journal | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        login_flow: LoginFlowChoice | None = None,
        required_tools: tuple[str, ...] = TOOL_NAMES,
    ) -> None:
        self.settings = settings
        # A session that lacks one of these is refused as "not a CALL-E endpoint". Only the doctor's
        # --try-tool passes () to reach any MCP server (it then calls one named tool, never run_call).
        self._required_tools = required_tools
        self.zone = user_zone(settings.timezone)  # sent with plan_call; the composer shows it
        self.server_url = settings.url
        self._store = secret_store
        self._journal = journal
        self._own_journal = journal is None
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._policy = PollPolicy.from_settings(settings)
        self._login_flow_name = login_flow or settings.login
        self._signed_in_with: LoginFlowName | Literal["auto"] | None = (
            None  # the flow of the last sign-in: a step-up reuses it
        )
        self._subscribers = Subscribers()
        self._storage: Any = None  # ServerTokenStorage, built in start()
        self._conn: Any = None  # calle_tui.core.session.connection.Connection
        # Sessions replaced by a newer one, still closing. Held here because the event loop keeps only a weak
        # reference to a task (one it drops may vanish mid-close), and close() waits for them.
        self._retiring: set[asyncio.Task[None]] = set()
        self._state: ConnectionState = "disconnected"
        self._started = False
        self._starting: asyncio.Future[None] | None = None  # the one start-up, awaited by every early request
        self._closed = False
        self._supervisor: asyncio.Task[None] | None = None
        self._run_locks: dict[str, asyncio.Lock] = {}
        self._login: Any = None
        self._broker_client: Any = None  # core/auth/broker.BrokerClient, made on first use
        self._expiry_watch: asyncio.Task[None] | None = None  # asks to sign in again before a dead end
        self._sign_in_lock = asyncio.Lock()
        self._wake = asyncio.Event()  # sign-in finished / reconnect asked / closing
        self._connected = asyncio.Event()
        self._needs_sign_in = False
        self._announced_sign_in = False
        self._ever_connected = False
        self._refresh_tried = False
        # Each background connect attempt ends by setting the current event and arming a new one, so a call
        # made while disconnected can wait for "the next attempt" instead of a fixed time.
        self._attempt_end = asyncio.Event()
        self._last_error: CallError | None = None
        self._backing_off = False
        self._busy = 0  # run()/reconcile() calls still writing to the journal
        self._idle = asyncio.Event()
        self._idle.set()
        self._failed_message = ""  # why the state is "failed" (wrong URL: not MCP / not CALL-E)
        self._runs = RunFollowers(
            clock=self._clock,
            rng=self._rng,
            policy=self._policy,
            journal=lambda: self.journal,
            emit=self._emit,
            connection=lambda: self._conn,
            connected=self._connected,
            closed=lambda: self._closed,
            budget=RequestBudget(self._clock, rate=settings.poll_budget_per_second),
        )
        self.tools: Any = None  # connection.ToolInfo of the current session

    @property
    def plan_call_schema(self) -> dict[str, Any] | None:
        """plan_call's inputSchema from the current session's tools/list (None before one): a composer
        opened after ToolsListed was announced builds its fields from it."""
        return self.tools.schemas.get("plan_call", {}) if self.tools is not None else None

    # --- subscription ------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[WorkerEvent], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def _emit(self, event: WorkerEvent) -> None:
        self._runs.remember(event)
        self._subscribers.emit(event)

    def _set_state(self, state: ConnectionState, message: str = "") -> None:
        if state == self._state and not message:
            return
        self._state = state
        self._emit(ConnectionChanged(state=state, server_url=self.server_url, message=message))

    @property
    def journal(self) -> Journal:
        if self._closed and self._journal is None:
            raise WorkerError("calle-tui is shutting down; try again after a restart.", kind="closed")
        if self._journal is None:
            try:
                self._journal = Journal.in_state_dir(self.settings.state_root)
            except JournalError as exc:
                raise WorkerError(str(exc), kind="journal") from None
        return self._journal

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Idempotent, and every caller returns only once the worker is ready: a sign-in or a plan asked for
        while the keyring is still being probed waits for the token storage instead of going out without it."""
        if self._starting is None:
            self._started = True
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        try:
            from calle_tui.core.store.logs import setup_logging

            setup_logging(self.settings.state_root / "logs")
        except Exception:  # logging is best effort, never a reason not to start
            log.debug("logging setup failed", exc_info=True)
        await self._ensure_storage()
        for attempt in self.journal.settle_crashed_attempts(self.server_url):
            self._emit(RunOutcomeUnknown(plan_id=attempt.plan_id, message=UNKNOWN_OUTCOME))
        for run in self.journal.unfinished_runs(self.server_url):
            self.follow(run.run_id)
        self._supervisor = asyncio.create_task(self._supervise(), name="calle-supervisor")

    async def _ensure_storage(self) -> None:
        if self._storage is not None:
            return
        from calle_tui.core.auth.token_storage import ServerTokenStorage

        if self._store is None:
            from calle_tui.core.auth.secret_store import choose_secret_store

            insecure = self.settings.state_root / "tokens.json" if self.settings.insecure_storage else None
            # Probing a keyring can block (D-Bus): keep it off the event loop.
            self._store = await asyncio.to_thread(choose_secret_store, insecure_file=insecure)
        storage = ServerTokenStorage(self._store, self.server_url, meta_dir=self.settings.state_root / "auth")
        await storage.load()  # off the loop and bounded: a locked keyring must not freeze the app
        self._storage = storage

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        tasks = [t for t in [self._supervisor, self._expiry_watch, *self._runs.tasks()] if t is not None]
        for task in tasks:
            task.cancel()
        if self._login is not None:
            try:
                self._login.cancel()
            except Exception:  # noqa: BLE001
                pass
        for task in tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
        if self._retiring:  # not cancelled: a session's close is bounded and must not stop half way
            await asyncio.gather(*self._retiring, return_exceptions=True)
        self._connected.clear()
        # A run()/reconcile() in a caller's task is woken by the closed session and still records the
        # attempt's fate: let it finish writing before the journal goes away.
        if self._busy:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=5.0)
            except TimeoutError:
                log.warning("closing with a call request still being recorded")
        if self._own_journal and self._journal is not None:
            self._journal.close()
            self._journal = None
        self._set_state("disconnected")

    # --- connection ----------------------------------------------------------------------------------

    def _build_provider(self, login: Any, interactive: bool) -> Any:
        from calle_tui.core.auth.provider import build_oauth_provider

        secret = self.settings.client_secret.get_secret_value() if self.settings.client_secret else None
        return build_oauth_provider(
            self.server_url,
            self._storage,
            login,
            self._emit,
            client_id=self.settings.client_id,
            client_secret=secret,
            interactive=interactive,
            step_up=self._step_up_login,
        )

    @contextlib.asynccontextmanager
    async def _step_up_login(self) -> AsyncIterator[Any]:
        """A login flow for one step-up (a 403 insufficient_scope on a request the person asked for): the
        configured flow with its events, as a sign-in would use, and submit_redirect reaches it."""
        from calle_tui.core.auth.login_flows import make_login_flow

        name = self._signed_in_with or self._login_flow_name or "auto"
        login = make_login_flow(name, self._emit, timeout=self.settings.login_timeout_seconds)
        previous, self._login = self._login, login
        try:
            start = getattr(login, "start", None)
            if start is not None:
                await start()
            yield login
        finally:
            self._login = previous
            with contextlib.suppress(Exception):
                await login.close()

    async def _open(self, login: Any = None, interactive: bool = False) -> Any:
        """Open a session and check it is a CALL-E endpoint. Raises CallError."""

        provider = self._build_provider(login, interactive)
        conn = Connection(
            self.server_url,
            auth=provider,
            timeout=self.settings.request_timeout_seconds,
            on_lost=lambda failure: self._on_lost(conn, failure),
            now=self._clock.now,
        )
        tools = await conn.open()
        if not set(self._required_tools) <= set(tools.names):
            await conn.close()
            raise CallError("not_calle", NOT_CALLE, reached_server=True)
        return conn

    def _install(self, conn: Any) -> None:
        old, self._conn = self._conn, conn
        if old is not None and old is not conn:
            closing = asyncio.create_task(old.close(), name="calle-close-replaced-session")
            self._retiring.add(closing)
            closing.add_done_callback(self._retiring.discard)
        self.tools = conn.tools
        self._needs_sign_in = False
        self._announced_sign_in = False
        self._connected.set()
        self._ever_connected = True
        self._refresh_tried = False
        self._watch_expiry()
        self._set_state("connected")
        self._emit(
            ToolsListed(
                tool_names=conn.tools.names,
                plan_call_schema=conn.tools.schemas.get("plan_call", {}),
                server_name=conn.tools.server_name,
            )
        )

    def _watch_expiry(self) -> None:
        """A sign-in that cannot renew itself is announced 5 minutes before it ends (a token with less left
        counts as expired), so the person signs in again while nothing is at stake."""
        if self._expiry_watch is not None:
            self._expiry_watch.cancel()
            self._expiry_watch = None
        storage = self._storage
        if storage is None or not storage.has_tokens() or storage.can_refresh() or storage.expires_at is None:
            return
        self._expiry_watch = asyncio.create_task(self._warn_before_expiry(storage.expires_at), name="calle-expiry")

    async def _warn_before_expiry(self, expires_at: float) -> None:
        from calle_tui.core.events import SignInEnding

        await self._clock.sleep_until(expires_at - SIGN_IN_AGAIN_BEFORE)
        storage = self._storage
        if self._closed or storage is None or storage.expires_at != expires_at or storage.can_refresh():
            return  # signed in again (or out) meanwhile
        ends = "has ended" if expires_at <= self._clock.now() else "ends in less than 5 minutes"
        self._emit(SignInEnding(self.server_url, expires_at,
                                f"Your sign-in {ends} and cannot renew itself. Sign in again now, so nothing "
                                "is interrupted: press s."))  # fmt: skip

    def _on_lost(self, conn: Any, failure: Any) -> None:
        if conn is not self._conn:
            return  # an old session we already replaced
        self._connected.clear()
        self._wake.set()

    def _require_sign_in(self, reason: str) -> None:
        self._needs_sign_in = True
        self._connected.clear()
        if not self._announced_sign_in:
            self._announced_sign_in = True
            self._set_state("disconnected", reason)
            self._emit(SignInNeeded(server_url=self.server_url, reason=reason))

    async def _sleep_or_wake(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _supervise(self) -> None:

        failures = 0
        while not self._closed:
            self._wake.clear()
            conn = self._conn
            if conn is not None and conn.alive:
                await self._wake.wait()
                if self._closed:
                    return
                if self._conn is conn and not conn.alive:
                    failure = conn.failure
                    self._conn = None
                    self._connected.clear()
                    if failure is not None and failure.kind == "auth":
                        if await self._try_refresh_instead():
                            continue
                        self._require_sign_in("Your session expired. Sign in again.")
                    else:
                        msg = failure.message if failure is not None else "The connection was closed."
                        self._set_state("reconnecting", f"{msg} Reconnecting.")
                continue
            if self._needs_sign_in:
                await self._wake.wait()
                continue
            if self._state == "failed" and failures < 0:
                await self._wake.wait()  # not a CALL-E server: wait for an explicit retry
                failures = 0
                continue
            self._set_state("reconnecting" if self._ever_connected else "connecting")
            try:
                conn = await self._open(interactive=False)
            except CallError as exc:
                self._last_error = exc
                self._end_attempt()
                if exc.kind == "auth":
                    if self._sign_in_lock.locked():
                        await self._wake.wait()  # a sign-in is under way: it installs the session
                        continue
                    had_tokens = bool(self._storage is not None and self._storage.has_tokens())
                    if had_tokens and await self._try_refresh_instead():
                        continue
                    self._require_sign_in("Your session expired. Sign in again." if had_tokens else "Sign in to continue.")
                    continue
                if exc.kind in {"not_calle", "not_mcp"}:
                    # Retrying cannot fix a wrong URL: say so once and wait for an explicit retry.
                    self._failed_message = exc.message
                    self._set_state("failed", exc.message)
                    self._emit(ErrorEvent(message=exc.message, action=_action_for(exc.kind), kind=exc.kind))
                    failures = -1
                    continue
                failures += 1
                delay = backoff_delay(failures, self._policy, self._rng, exc.retry_after)
                self._set_state("reconnecting", f"{exc.message} Retrying in {fmt_seconds(delay)}.")
                self._backing_off = True
                try:
                    await self._sleep_or_wake(delay)
                finally:
                    self._backing_off = False
                continue
            failures = 0
            self._last_error = None
            self._install(conn)
            self._end_attempt()
            if self._storage is not None and self._storage.has_tokens():
                self._emit(self._signed_in_event())

    def _end_attempt(self) -> None:
        ended, self._attempt_end = self._attempt_end, asyncio.Event()
        ended.set()

    async def _try_refresh_instead(self) -> bool:
        """The server refused our access token before its known expiry (revoked or expired early). Once per
        session, mark it expired so the next background connect refreshes it instead of asking the person
        to sign in; a refused refresh then clears the tokens and we ask."""
        storage = self._storage
        if self._refresh_tried or storage is None or not storage.has_tokens():
            return False
        self._refresh_tried = True
        try:
            tokens = await storage.get_tokens()
            if tokens is None or not tokens.refresh_token:
                return False
            await storage.set_tokens(tokens.model_copy(update={"expires_in": 0}))
        except Exception:  # then we simply ask for a sign-in
            log.info("could not mark the access token expired", exc_info=True)
            return False
        self._set_state("reconnecting", "Refreshing the sign-in.")
        return True

    def _signed_in_event(self) -> SignedIn:
        status = self.auth_status()
        return SignedIn(
            server_url=self.server_url,
            expires_at=status.expires_at,
            storage=status.storage,
            storage_notice=status.storage_notice,
        )

    async def reconnect(self) -> None:
        """Try to connect again now (after a failure the user wants to retry)."""
        if self._state == "failed":
            self._state = "disconnected"
        self._wake.set()

    async def _connection(self, timeout: float | None = None) -> Any:
        """The live session, waiting briefly while one is being opened. Raises WorkerError."""
        if self._closed:
            raise WorkerError("The worker is closed.", kind="closed")
        await self.start()  # at once when started; else after the token storage is ready
        if self._needs_sign_in:
            raise WorkerError("You need to sign in first.", action="Sign in, then try again.", kind="auth")
        if self._state == "failed":
            raise WorkerError(self._failed_message or NOT_CALLE, action=_action_for("not_calle"), kind="not_calle")
        if not self._connected.is_set():
            # Someone is waiting: retry now rather than after the backoff, and report that attempt's failure
            # at once instead of sitting on a spinner for the whole request timeout.
            attempt = self._attempt_end
            if self._backing_off:
                self._wake.set()
            connected = asyncio.ensure_future(self._connected.wait())
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
            if not self._connected.is_set():
                if self._needs_sign_in:
                    raise WorkerError("You need to sign in first.", action="Sign in, then try again.", kind="auth")
                error = self._last_error if done else None
                if error is not None:
                    raise WorkerError(f"Not connected: {error.message}", action=_action_for(error.kind), kind=error.kind)
                raise WorkerError(
                    "Not connected to the server.", action="Check your network; we keep retrying.", kind="network"
                )
        conn = self._conn
        if conn is None or not conn.alive:
            raise WorkerError("Not connected to the server.", action="Try again in a moment.", kind="network")
        return conn

    # --- sign-in -------------------------------------------------------------------------------------

    def auth_status(self) -> AuthStatus:
        store = self._store
        storage = self._storage
        # Where the sign-in really is: a keyring that refused the last write means memory only, said so.
        kind: TokenStorageKind = storage.persisted_kind if storage is not None else getattr(store, "kind", "memory")
        notice = storage.notice if storage is not None else getattr(store, "notice", "") or ""
        signed_in = bool(storage is not None and storage.has_tokens())
        expires = storage.expires_at if storage is not None else None
        return AuthStatus(self.server_url, signed_in, expires, kind, notice)

    async def sign_in(self, flow: LoginFlowName | None = None) -> None:
        from calle_tui.core.auth.login_flows import make_login_flow

        await self.start()  # at once when started; else after the token storage is ready
        async with self._sign_in_lock:
            name = flow or self._login_flow_name or "auto"
            self._signed_in_with = name
            login = make_login_flow(name, self._emit, timeout=self.settings.login_timeout_seconds)
            self._login = login
            try:
                start = getattr(login, "start", None)
                if start is not None:
                    await start()
                signed = await self._open(login, interactive=True)
                # That session's provider may open a browser on a later 401; keep only its tokens and
                # continue on a background (non-interactive) session.
                await signed.close()
                conn = await self._open(interactive=False)
            except CallError as exc:
                if exc.kind in {"not_calle", "not_mcp"}:
                    self._failed_message = exc.message
                    self._set_state("failed", exc.message)
                kind = exc.detail if exc.kind == "auth" else exc.kind
                action = "" if kind == "canceled" else _action_for(exc.kind)
                if kind == "sign_in_not_offered":
                    # Signing in again cannot help: the server offers no OAuth sign-in at all.
                    action = "Check the URL (--url), or ask the server's operator how to sign in."
                if kind == "registration_failed":
                    # Signing in again would be refused the same way: only the settings can fix this.
                    action = _configure_client_action(configured=bool(self.settings.client_id))
                raise WorkerError(exc.message, action=action, kind=kind) from None
            except WorkerError:
                raise
            except Exception as exc:  # noqa: BLE001 - a sign-in failure is a sentence, not a traceback
                error = classify(exc)
                raise WorkerError(error.message, action="Try signing in again.", kind="auth") from None
            finally:
                self._login = None
                self._wake.set()
                close = getattr(login, "close", None)
                if close is not None:
                    try:
                        await close()
                    except Exception:
                        log.debug("login flow close failed", exc_info=True)
            self._install(conn)
            self._emit(self._signed_in_event())
            self._wake.set()

    # --- brokered sign-in and the CALL-E CLI's sign-in (core/auth/broker.py, cli_cache.py) ------------

    def _broker(self) -> Any:
        if self._broker_client is None:
            from calle_tui.core.auth.broker import BrokerClient

            self._broker_client = BrokerClient(
                self.server_url, self.settings.state_root, broker_url=self.settings.broker_url, clock=self._clock,
                request_timeout=self.settings.request_timeout_seconds,
            )  # fmt: skip
        return self._broker_client

    @property
    def sign_in_flow(self) -> str:
        return str(self._login_flow_name or "auto")

    async def broker_offered(self) -> bool:
        offered: bool = await self._broker().offered()
        return offered

    async def sign_in_brokered(self) -> None:
        from calle_tui.core.auth.broker import BrokerError, poll_delay
        from calle_tui.core.events import BrokerSignInEnded, BrokerSignInPending

        if not self._started:
            await self.start()
        await self._ensure_storage()
        broker = self._broker()

        def pending(session: Any) -> None:
            self._emit(BrokerSignInPending(self.server_url, session.login_url, session.expires_at,
                                           poll_delay(session.poll_after_ms)))  # fmt: skip

        async with self._sign_in_lock:
            try:
                await broker.sign_in(self._storage, pending, timeout=self.settings.login_timeout_seconds)
                conn = await self._open(interactive=False)
            except BrokerError as exc:
                self._emit(BrokerSignInEnded(self.server_url, exc.kind, exc.sentence))
                raise WorkerError(exc.sentence, kind=exc.kind) from None
            except CallError as exc:
                raise WorkerError(exc.message, action=_action_for(exc.kind), kind=exc.kind) from None
            finally:
                self._wake.set()
            self._install(conn)
            self._emit(self._signed_in_event())

    async def cancel_brokered_sign_in(self) -> None:
        self._broker().cancel()

    def cli_sign_in(self) -> Any:
        """What CALL-E's CLI holds for this server (cli_cache.CliSignIn: state + sentence; no token)."""
        from calle_tui.core.auth.cli_cache import peek_cli_sign_in

        return peek_cli_sign_in(self.server_url, self._clock.now())

    async def use_cli_sign_in(self) -> None:
        """Only after the person said yes: adopt the CLI's usable sign-in, then connect with it."""
        from calle_tui.core.auth.cli_cache import adopt_cli_sign_in

        await self._ensure_storage()
        seen = await adopt_cli_sign_in(self.server_url, self._storage, self._clock.now())
        if seen.state != "usable":
            raise WorkerError(seen.sentence, kind=seen.failure)
        try:
            conn = await self._open(interactive=False)
        except CallError as exc:
            raise WorkerError(exc.message, action=_action_for(exc.kind), kind=exc.kind) from None
        self._install(conn)
        self._emit(self._signed_in_event())

    async def submit_redirect(self, pasted: str) -> None:
        login = self._login
        if login is None:
            raise WorkerError("No sign-in is waiting for a code.", action="Start signing in first.", kind="no_login")
        login.submit(pasted)

    async def cancel_sign_in(self) -> None:
        login = self._login
        if login is not None:
            login.cancel()

    async def sign_out(self) -> None:
        await self._ensure_storage()
        conn, self._conn = self._conn, None
        self._connected.clear()
        if conn is not None:
            await conn.close()
        try:
            import httpx2

            from calle_tui.core.auth.provider import revoke_and_forget

            async with httpx2.AsyncClient(timeout=self.settings.request_timeout_seconds) as http:
                await revoke_and_forget(self._storage, http)
        except Exception:  # noqa: BLE001 - forgetting locally matters more than the revocation call
            log.info("token revocation failed; forgetting locally")
            await self._storage.clear()
        self._needs_sign_in = True
        self._announced_sign_in = True
        self._set_state("disconnected", "Signed out.")
        self._emit(SignedOut(server_url=self.server_url, message="Signed out."))

    # --- plan ---------------------------------------------------------------------------------------

    async def plan(self, request: PlanRequest) -> PlanCallResult:
        from calle_tui.core.wire.replies import read_plan

        if not request.user_input or not request.user_input.strip():
            raise WorkerError("Say what the call is for first.", action="Type your request.", kind="input")
        args = PlanCallInput(
            user_input=request.user_input,  # verbatim: never trimmed or rewritten
            to_phones=list(request.to_phones) if request.to_phones else None,
            region=request.region or None,
            language=request.language or None,
            goal=request.goal or None,
            scheduled_at=request.scheduled_at or None,
            plan_id=request.plan_id or None,
            ttl_seconds=request.ttl_seconds,
        ).to_arguments()
        conn = await self._connection()
        try:
            meta = self.zone.plan_meta(self._clock.now())
            if request.customer_metadata is not None:
                meta[CUSTOMER_METADATA_KEY] = request.customer_metadata
            raw = await conn.call("plan_call", args, meta=meta, timeout=PLAN_TIMEOUT)
        except CallError as exc:
            raise WorkerError(
                f"Could not prepare the call: {exc.message}", action=_action_for(exc.kind), kind=exc.kind
            ) from None
        match read_reply(raw, read_plan):
            case Read(value=result):
                pass  # recorded below
            case ProseOnly(text=text):
                result = read_plan(text)  # a plan that is not ready, the prose as its message
            case Refused() as refused:
                raise WorkerError(refused.said(), action="Change the request and try again.", kind="tool")
            case UnreadableReply(reason=reason):
                raise WorkerError(reason.capitalize() + ".", action="Try again later.", kind="malformed")
        if result.confirm_token:
            from calle_tui.core.store.logs import register_secret

            # A server that repeats the token later (in run_call's words, say) is masked on screen and in logs.
            register_secret(result.confirm_token)
        await asyncio.to_thread(self.journal.record_plan, self.server_url, request, result, self._clock.now())
        self._emit(PlanResult(result=result, request_text=request.user_input))
        return result

    async def try_tool(self, name: str) -> Any:
        """Call one tool once with no arguments and return its CallToolResult (the doctor's --try-tool: it
        shows that a tool call passes the server's sign-in, a step-up included). Never a tool that places
        calls, and on a server that offers run_call only CALL-E's own safe tools. Raises WorkerError."""
        offered = set(self.tools.names) if self.tools is not None else set()
        if places_calls(name) or ("run_call" in offered and name not in SAFE_TOOL_NAMES):
            raise WorkerError(
                f"calle-tui will not try {name}: it may place a phone call.",
                action="Name a tool that only reads or plans.",
                kind="input",
            )
        conn = await self._connection()
        if name not in conn.tools.names:
            raise WorkerError(f"The server does not offer {name}.", action="Check the tool's name.", kind="input")
        try:
            return await conn.call(name, {})
        except CallError as exc:
            raise WorkerError(f"{name} failed: {exc.message}", action=_action_for(exc.kind), kind=exc.kind) from None

    # --- run ----------------------------------------------------------------------------------------

    async def run(self, plan_id: str, confirm_token: str) -> RunCallResult:
        # The lock check and the journal latch happen before the first await: a second, concurrent run()
        # for the same plan cannot get past here, so exactly one run_call can ever go on the wire.
        lock = self._run_locks.setdefault(plan_id, asyncio.Lock())
        if lock.locked():
            raise WorkerError("This call is already being started.", kind="already_started")
        existing = self.journal.attempt(plan_id)
        if existing is not None and existing.state != "rejected":
            raise WorkerError(
                "This plan was already sent; a plan can place at most one call.",
                action="Plan a new call to call again.",
                kind="already_started",
            )
        self._check_confirmation(plan_id, confirm_token)
        async with lock:
            conn = await self._connection()
            # Off the UI loop (another window may hold the write lock); the per-plan lock is held meanwhile.
            began = await asyncio.to_thread(
                self.journal.begin_attempt, plan_id, confirm_token, self.server_url, self._clock.now()
            )
            if not began:
                raise WorkerError("This plan was already sent.", kind="already_started")
            with self._recording():
                return await self._send_run_call(conn, plan_id, confirm_token)

    def _recording(self) -> Any:
        """Marks a call request in flight so close() waits for its outcome to be written down."""
        import contextlib

        @contextlib.contextmanager
        def busy() -> Any:
            self._busy += 1
            self._idle.clear()
            try:
                yield
            finally:
                self._busy -= 1
                if self._busy == 0:
                    self._idle.set()

        return busy()

    def _check_confirmation(self, plan_id: str, confirm_token: str) -> None:
        ready, token = self.journal.plan_confirmation(plan_id)
        if not ready or not confirm_token or token != confirm_token:
            raise WorkerError(
                "This confirmation does not match the latest ready plan.",
                action="Plan the call again, then confirm.",
                kind="safety",
            )

    async def _send_run_call(self, conn: Any, plan_id: str, confirm_token: str) -> RunCallResult:
        from calle_tui.core.wire.replies import read_run_start

        args = RunCallInput(plan_id=plan_id, confirm_token=confirm_token).to_arguments()
        try:
            raw = await conn.call("run_call", args)
        except CallError as exc:
            if exc.reached_server is False or exc.refused:
                self.journal.mark_rejected(plan_id, exc.message)
                raise WorkerError(
                    f"The call was not started: {exc.message}", action=_action_for(exc.kind), kind=exc.kind
                ) from None
            return self._outcome_unknown(plan_id, exc.message)
        except asyncio.CancelledError:
            self.journal.mark_unknown(plan_id, "The request was interrupted.")
            raise
        match read_reply(raw, read_run_start):
            case Read(value=result):
                pass  # recorded below
            case Refused(error=error) as refused:
                message = refused.message
                if error.call_started is True or error.started_unknown:
                    # The server itself says the call may have started (call_started true or "unknown"): the
                    # latch stays closed and the person checks, nothing is re-sent.
                    return self._outcome_unknown(plan_id, message, message=f"{UNKNOWN_PROSE} The server said: {message}")
                self.journal.mark_rejected(plan_id, message)
                if _line_busy(error):
                    # Production's one-call-at-a-time line (CALLE-DIALECT.md, "Limits"): nothing was placed and
                    # the same plan may be sent again once the live call has ended.
                    raise WorkerError(
                        f"The call was not started: {message}",
                        action="Wait for the live call to end, then confirm again.",
                        kind="line_busy",
                    )
                raise WorkerError(f"The server did not start the call: {message}", action="Plan again.", kind="tool")
            case ProseOnly() as prose:
                # Text only: the call may well have started, but run_id is opaque and we never pick one out of
                # prose. The person reads what the server said; nothing is re-sent.
                said = prose.said()
                return self._outcome_unknown(plan_id, said, message=f"{UNKNOWN_PROSE} The server said: {said}")
            case UnreadableReply(reason=reason):
                # The call may well have started: we just cannot read its run_id.
                return self._outcome_unknown(plan_id, f"{reason}.")
        try:
            await asyncio.to_thread(self.journal.mark_started, plan_id, result, self._clock.now())
        except Exception as exc:  # noqa: BLE001 - the call started: its run_id must not be lost with the write
            log.error("run %s started but could not be recorded (%s)", result.run_id, type(exc).__name__)
            self._emit(
                ErrorEvent(
                    message=f"The call started (run {result.run_id}) but could not be saved in the history.",
                    action="It is still being followed; note the run id.",
                    kind="journal",
                    plan_id=plan_id,
                )
            )
        self._emit(RunStarted(plan_id=plan_id, result=result))
        self.follow(result.run_id)
        return result

    def _outcome_unknown(self, plan_id: str, detail: str, message: str = UNKNOWN_OUTCOME) -> RunCallResult:
        self.journal.mark_unknown(plan_id, detail)
        self._emit(RunOutcomeUnknown(plan_id=plan_id, message=message))
        action = UNKNOWN_ACTION if self.can_replay_run_call() else NO_REPLAY_ACTION
        raise WorkerError(message, action=action, kind="outcome_unknown")

    async def reconcile(self, plan_id: str) -> RunCallResult:
        """Only on the user's explicit request: learn what happened to a run_call whose answer was lost by
        replaying the SAME plan_id + confirm_token (the contract returns the same run_id for a replay; a plan
        can start at most one call). Never called automatically."""
        from calle_tui.core.runs.reconcile import reconcile_attempt

        lock = self._run_locks.setdefault(plan_id, asyncio.Lock())
        if lock.locked():
            raise WorkerError("This request is already being checked.", kind="busy")
        async with lock:
            conn = await self._connection()
            if not self.can_replay_run_call():
                raise WorkerError(NO_REPLAY, action=NO_REPLAY_ACTION, kind="cannot_check")
            with self._recording():
                result = await reconcile_attempt(conn, self.journal, plan_id, self._clock.now)
        self._emit(RunStarted(plan_id=plan_id, result=result))
        self.follow(result.run_id)
        return result

    def can_replay_run_call(self) -> bool:
        """Whether the server declares run_call idempotent (tools/list annotations.idempotentHint), the only
        ground on which re-sending the same plan_id + confirm_token cannot place a second call."""
        return self.tools is not None and "run_call" in getattr(self.tools, "idempotent", frozenset())

    # --- following runs ------------------------------------------------------------------------------

    def follow(self, run_id: str) -> None:
        self._runs.follow(run_id)

    async def refresh_now(self, run_id: str) -> bool:
        return await self._runs.refresh_now(run_id)

    def history(self, search: str = "") -> list[RunRecord]:
        return self._read(lambda journal: journal.history(search, server_url=self.server_url))

    def run_view(self, run_id: str) -> Any:
        """What the journal knows of a run, folded by the one reducer (core/runs/runview.py): enough to redraw a
        past or live run at once (its whole activity, last status, summary, transcript), or None."""
        from calle_tui.core.runs.runview import from_journal

        def build(journal: Journal) -> Any:
            state = journal.run(run_id)
            if state is None:
                return None
            return from_journal(
                run_id,
                status=state.status,
                terminal=state.terminal,
                entries=journal.entries(run_id),
                last=state.last,
                transcript=state.transcript,
                last_checked_at=state.last_poll_at,
            )

        return self._read(build)

    def run_entries(self, run_id: str) -> list[ActivityEntry]:
        """Every activity entry stored for a run, in order (to redraw a past run)."""
        return self._read(lambda journal: journal.entries(run_id))

    def _read(self, query: Callable[[Journal], _T]) -> _T:
        """Reads keep working after close(): the history is on disk, so a closed worker opens it briefly."""
        if not (self._closed and self._own_journal):
            return query(self.journal)
        try:
            journal = Journal.in_state_dir(self.settings.state_root)
        except Exception as exc:  # a sentence, not a traceback; the details go to the log
            log.warning("the call history could not be opened", exc_info=exc)
            raise WorkerError("The call history could not be opened.", kind="journal") from None
        try:
            return query(journal)
        finally:
            journal.close()


def _configure_client_action(configured: bool = False) -> str:
    from calle_tui.core.config.settings import config_file

    if configured:
        return (
            f"Check client_id and client_secret in {config_file()} (or the CALLE_TUI_CLIENT_ID and "
            "CALLE_TUI_CLIENT_SECRET environment variables): the sign-in server does not recognise them."
        )
    return (
        "This server only accepts apps registered in advance: ask its operator for a client_id (and a "
        f"client_secret if they issue one), then set client_id and client_secret in {config_file()} "
        "(or the CALLE_TUI_CLIENT_ID and CALLE_TUI_CLIENT_SECRET environment variables) and sign in."
    )


NO_REPLAY = (
    "This server does not say that repeating a call request is safe, so calle-tui cannot check this request "
    "from here without risking a second call."
)
NO_REPLAY_ACTION = "Check in CALL-E whether the call took place before planning it again."


def _line_busy(error: Any) -> bool:
    """A refusal because the account's line is busy, which says no call was started."""
    code = (error.code or "").casefold()
    busy = code == "account_concurrency_exceeded" or (code == "429" and error.call_started is False)
    return busy and error.call_started is not True


def _action_for(kind: str) -> str:
    return {
        "auth": "Sign in again.",
        "network": "Check your network connection and try again.",
        "timeout": "Try again in a moment.",
        "rate_limited": "Wait a moment, then try again.",
        "server": "Try again in a moment.",
        "not_calle": "Check the URL (--url), or run calle-tui --demo to try the sandbox.",
        "not_mcp": "Check the URL (--url), or run calle-tui --demo to try the sandbox.",
        "malformed": "Try again later.",
    }.get(kind, "Try again.")
