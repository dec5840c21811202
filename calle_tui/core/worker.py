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

from calle_tui.core.advice import action_for, configure_client_action
from calle_tui.core.config.settings import Settings
from calle_tui.core.config.timezone import user_zone
from calle_tui.core.events import (
    ConnectionChanged,
    ConnectionState,
    ErrorEvent,
    LoginFlowChoice,
    LoginFlowName,
    RunOutcomeUnknown,
    SignedIn,
    SignedOut,
    SignInNeeded,
    Subscribers,
    TokenStorageKind,
    ToolsListed,
    WorkerEvent,
)
from calle_tui.core.runs.follow import RunFollowers, fmt_seconds
from calle_tui.core.runs.placing import NO_REPLAY as NO_REPLAY  # the UI tests' fake words it the same
from calle_tui.core.runs.placing import NO_REPLAY_ACTION as NO_REPLAY_ACTION
from calle_tui.core.runs.placing import UNKNOWN_OUTCOME, Placing
from calle_tui.core.runs.polling import PollPolicy, backoff_delay
from calle_tui.core.session.connection import CallError, Connection, classify
from calle_tui.core.session.request_budget import RequestBudget
from calle_tui.core.store.journal import Journal, JournalError
from calle_tui.core.support.clock import Clock, SystemClock
from calle_tui.core.wire.contract import (
    TOOL_NAMES,
    ActivityEntry,
    PlanCallResult,
    RunCallResult,
)
from calle_tui.core.worker_api import AuthStatus, PlanRequest, RunRecord, WorkerError

log = logging.getLogger("calle_tui.worker")
_T = TypeVar("_T")

NOT_CALLE = "This server is not a CALL-E endpoint: it does not offer plan_call, run_call and get_call_run."
SIGN_IN_AGAIN_BEFORE = 300.0  # seconds: a token with less left counts as expired (CALL-E's CLI does the same)


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
        self._placing = Placing(
            server_url=self.server_url,
            zone=self.zone,
            clock=self._clock,
            journal=lambda: self.journal,
            emit=self._emit,
            connection=self._connection,
            tools=lambda: self.tools,
            follow=self.follow,
        )

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
        await self._placing.settled(timeout=5.0)  # before the journal goes away
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
                    self._emit(ErrorEvent(message=exc.message, action=action_for(exc.kind), kind=exc.kind))
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
            raise WorkerError(self._failed_message or NOT_CALLE, action=action_for("not_calle"), kind="not_calle")
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
                    raise WorkerError(f"Not connected: {error.message}", action=action_for(error.kind), kind=error.kind)
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
                action = "" if kind == "canceled" else action_for(exc.kind)
                if kind == "sign_in_not_offered":
                    # Signing in again cannot help: the server offers no OAuth sign-in at all.
                    action = "Check the URL (--url), or ask the server's operator how to sign in."
                if kind == "registration_failed":
                    # Signing in again would be refused the same way: only the settings can fix this.
                    action = configure_client_action(configured=bool(self.settings.client_id))
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
                raise WorkerError(exc.message, action=action_for(exc.kind), kind=exc.kind) from None
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
            raise WorkerError(exc.message, action=action_for(exc.kind), kind=exc.kind) from None
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

    # --- placing calls (core/runs/placing.py) --------------------------------------------------------

    async def plan(self, request: PlanRequest) -> PlanCallResult:
        return await self._placing.plan(request)

    async def try_tool(self, name: str) -> Any:
        return await self._placing.try_tool(name)

    async def run(self, plan_id: str, confirm_token: str) -> RunCallResult:
        return await self._placing.run(plan_id, confirm_token)

    async def reconcile(self, plan_id: str) -> RunCallResult:
        return await self._placing.reconcile(plan_id)

    def can_replay_run_call(self) -> bool:
        return self._placing.can_replay_run_call()

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
