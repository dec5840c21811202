"""Signing in and out: the browser flows (loopback, paste, auto-follow; core/auth/login_flows.py), CALL-E's
brokered one-link sign-in (core/auth/broker.py), adopting the sign-in CALL-E's own CLI holds (cli_cache.py),
the login flow of a step-up, and signing out.

Each flow ends the same way: its tokens are in the token storage, and the supervisor opens a background
session with them and puts it in place (Supervisor.adopt_sign_in). A flow's failure is a WorkerError whose
kind says which (error_kinds.py) and whose action says what helps.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from calle_tui.core.advice import action_for, configure_client_action
from calle_tui.core.auth.broker import BrokerClient, BrokerError, PendingSession, poll_delay
from calle_tui.core.auth.cli_cache import CliSignIn, adopt_cli_sign_in, peek_cli_sign_in
from calle_tui.core.events import BrokerSignInEnded, BrokerSignInPending, LoginFlowChoice, SignedOut, WorkerEvent
from calle_tui.core.session.connection import CallError, classify
from calle_tui.core.session.supervisor import Supervisor
from calle_tui.core.support.clock import Clock
from calle_tui.core.worker_api import WorkerError

if TYPE_CHECKING:
    from calle_tui.core.auth.login_flows import AutoFollowLogin, BrowserLogin

log = logging.getLogger("calle_tui.sign_in")


class SignIn:
    """The worker's sign-in flows; at most one browser login is pending at a time (`submit_redirect` reaches it)."""

    def __init__(
        self,
        session: Supervisor,
        *,
        emit: Callable[[WorkerEvent], None],
        clock: Clock,
        flow: LoginFlowChoice | None,
    ) -> None:
        self._session = session
        self._settings = session.settings
        self._emit = emit
        self._clock = clock
        self._flow = flow  # the flow asked for (settings `login`, or the caller's); None: "auto"
        self._used: LoginFlowChoice | None = None  # the flow of the last sign-in: a step-up reuses it
        self._login: BrowserLogin | AutoFollowLogin | None = None  # the browser login waiting for the person
        self._broker_client: BrokerClient | None = None  # made on first use

    @property
    def flow(self) -> str:
        return str(self._flow or "auto")

    # --- browser sign-in ---------------------------------------------------------------------------------

    def _login_flow(self, name: LoginFlowChoice) -> BrowserLogin | AutoFollowLogin:
        # The login flows load the mcp SDK's OAuth types: imported on first use, not with the worker.
        from calle_tui.core.auth.login_flows import make_login_flow

        return make_login_flow(name, self._emit, timeout=self._settings.login_timeout_seconds)

    async def browser(self, flow: LoginFlowChoice | None = None) -> None:
        async with self._session.signing_in():
            name = flow or self._flow or "auto"
            self._used = name
            login = self._login = self._login_flow(name)
            try:
                await login.start()
                signed = await self._session.open(login, interactive=True)
                # That session's provider may open a browser on a later 401; keep only its tokens and
                # continue on a background (non-interactive) session.
                await signed.close()
                await self._session.adopt_sign_in()
            except CallError as exc:
                raise self._refused(exc) from None
            except WorkerError:
                raise
            except Exception as exc:  # noqa: BLE001 - a sign-in failure is a sentence, not a traceback
                error = classify(exc)
                raise WorkerError(error.message, action="Try signing in again.", kind="auth") from None
            finally:
                self._login = None
                try:
                    await login.close()
                except Exception:
                    log.debug("login flow close failed", exc_info=True)

    def _refused(self, exc: CallError) -> WorkerError:
        if exc.kind in {"not_calle", "not_mcp"}:
            self._session.fail(exc.message)
        kind = exc.detail if exc.kind == "auth" else exc.kind
        action = "" if kind == "canceled" else action_for(exc.kind)
        if kind == "sign_in_not_offered":
            # Signing in again cannot help: the server offers no OAuth sign-in at all.
            action = "Check the URL (--url), or ask the server's operator how to sign in."
        if kind == "registration_failed":
            # Signing in again would be refused the same way: only the settings can fix this.
            action = configure_client_action(configured=bool(self._settings.client_id))
        return WorkerError(exc.message, action=action, kind=kind)

    @contextlib.asynccontextmanager
    async def step_up(self) -> AsyncIterator[BrowserLogin | AutoFollowLogin]:
        """A login flow for one step-up (a 403 insufficient_scope on a request the person asked for): the
        flow of the last sign-in with its events, and submit_redirect reaches it."""
        login = self._login_flow(self._used or self._flow or "auto")
        previous, self._login = self._login, login
        try:
            await login.start()
            yield login
        finally:
            self._login = previous
            with contextlib.suppress(Exception):
                await login.close()

    async def submit_redirect(self, pasted: str) -> None:
        login = self._login
        if login is None:
            raise WorkerError("No sign-in is waiting for a code.", action="Start signing in first.", kind="no_login")
        login.submit(pasted)

    def cancel(self) -> None:
        login = self._login
        if login is not None:
            login.cancel()

    # --- CALL-E's brokered sign-in and its CLI's ---------------------------------------------------------

    def _broker(self) -> BrokerClient:
        if self._broker_client is None:
            self._broker_client = BrokerClient(
                self._session.server_url, self._settings.state_root, broker_url=self._settings.broker_url,
                clock=self._clock, request_timeout=self._settings.request_timeout_seconds,
            )  # fmt: skip
        return self._broker_client

    async def broker_offered(self) -> bool:
        return await self._broker().offered()

    async def brokered(self) -> None:
        storage = await self._session.ensure_storage()
        broker = self._broker()
        url = self._session.server_url

        def pending(session: PendingSession) -> None:
            self._emit(BrokerSignInPending(url, session.login_url, session.expires_at, poll_delay(session.poll_after_ms)))

        async with self._session.signing_in():
            try:
                await broker.sign_in(storage, pending, timeout=self._settings.login_timeout_seconds)
                await self._session.adopt_sign_in()
            except BrokerError as exc:
                self._emit(BrokerSignInEnded(url, exc.kind, exc.sentence))
                raise WorkerError(exc.sentence, kind=exc.kind) from None
            except CallError as exc:
                raise WorkerError(exc.message, action=action_for(exc.kind), kind=exc.kind) from None

    def cancel_brokered(self) -> None:
        self._broker().cancel()

    def cli_state(self) -> CliSignIn:
        """What CALL-E's CLI holds for this server (state + sentence; no token)."""
        return peek_cli_sign_in(self._session.server_url, self._clock.now())

    async def use_cli(self) -> None:
        """Only after the person said yes: adopt the CLI's usable sign-in, then connect with it."""
        storage = await self._session.ensure_storage()
        seen = await adopt_cli_sign_in(self._session.server_url, storage, self._clock.now())
        if seen.state != "usable":
            raise WorkerError(seen.sentence, kind=seen.failure)
        try:
            await self._session.adopt_sign_in()
        except CallError as exc:
            raise WorkerError(exc.message, action=action_for(exc.kind), kind=exc.kind) from None

    # --- signing out ---------------------------------------------------------------------------------------

    async def sign_out(self) -> None:
        storage = await self._session.ensure_storage()
        conn = self._session.signing_out()
        if conn is not None:
            await conn.close()
        try:
            # httpx2 and the mcp SDK (provider) are loaded by the first connection, not by the worker's import.
            import httpx2

            from calle_tui.core.auth.provider import revoke_and_forget

            async with httpx2.AsyncClient(timeout=self._settings.request_timeout_seconds) as http:
                await revoke_and_forget(storage, http)
        except Exception:  # noqa: BLE001 - forgetting locally matters more than the revocation call
            log.info("token revocation failed; forgetting locally")
            await storage.clear()
        self._session.signed_out()
        self._emit(SignedOut(server_url=self._session.server_url, message="Signed out."))
