"""The one long-lived background worker: the seam the screens call (worker_api.WorkerAPI). It wires the jobs
that live in their own modules and keeps none of their state:

- session/supervisor.py keeps one MCP session open and names its state (Phase);
- session/sign_in.py signs in (browser, CALL-E's brokered sign-in, CALL-E's CLI) and out;
- runs/placing.py plans and places calls, at most one per plan, and reconciles a lost answer;
- runs/follow.py follows each run: polls, pages, stores each page in the journal, announces it;
- runs/stored.py answers what the journal knows (history, a run's view), even after close.

Screens call its async methods and receive its events (events.py); it never touches a widget. Everything runs
in the caller's asyncio loop. Nothing heavy loads at import time: mcp and httpx2 load inside start().
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from calle_tui.core.config.settings import Settings
from calle_tui.core.config.timezone import user_zone
from calle_tui.core.events import (
    LoginFlowChoice,
    LoginFlowName,
    Subscribers,
    WorkerEvent,
)
from calle_tui.core.runs.follow import RunFollowers
from calle_tui.core.runs.placing import UNKNOWN_OUTCOME, Placing
from calle_tui.core.runs.polling import PollPolicy, backoff_delay
from calle_tui.core.runs.runview import RunView
from calle_tui.core.runs.stored import StoredRuns
from calle_tui.core.session.connection import Connection, ToolInfo
from calle_tui.core.session.request_budget import RequestBudget
from calle_tui.core.session.sign_in import SignIn
from calle_tui.core.session.supervisor import Supervisor
from calle_tui.core.store.journal import Journal
from calle_tui.core.store.logs import setup_logging
from calle_tui.core.support.clock import Clock, SystemClock
from calle_tui.core.wire.contract import TOOL_NAMES, ActivityEntry, PlanCallResult, RunCallResult
from calle_tui.core.worker_api import AuthStatus, PlanRequest, RunRecord, WorkerError

if TYPE_CHECKING:
    from calle_tui.core.auth.cli_cache import CliSignIn
    from calle_tui.core.auth.secret_store import SecretStore

log = logging.getLogger("calle_tui.worker")


class CalleWorker:
    """Implements calle_tui.core.worker_api.WorkerAPI against a real (or sandbox) CALL-E endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        secret_store: SecretStore | None = None,
        journal: Journal | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        login_flow: LoginFlowChoice | None = None,
        required_tools: tuple[str, ...] = TOOL_NAMES,
    ) -> None:
        self.settings = settings
        self.server_url = settings.url
        self.zone = user_zone(settings.timezone)  # sent with plan_call; the composer shows it
        clock = clock or SystemClock()
        rng = rng or random.Random()
        policy = PollPolicy.from_settings(settings)
        self._subscribers = Subscribers()
        self._starting: asyncio.Future[None] | None = None  # the one start-up, awaited by every early request
        self._session = Supervisor(
            settings,
            emit=self._emit,
            clock=clock,
            retry_delay=lambda failures, retry_after: backoff_delay(failures, policy, rng, retry_after),
            required_tools=required_tools,
            secret_store=secret_store,
            step_up=lambda: self._sign_in.step_up(),
        )
        self._sign_in = SignIn(self._session, emit=self._emit, clock=clock, flow=login_flow or settings.login)
        self._stored = StoredRuns(settings.state_root, self.server_url, journal=journal, closed=self._closed)
        self._runs = RunFollowers(
            clock=clock,
            rng=rng,
            policy=policy,
            journal=lambda: self.journal,
            emit=self._emit,
            connection=lambda: self._session.conn,
            connected=self._session.connected,
            closed=self._closed,
            budget=RequestBudget(clock, rate=settings.poll_budget_per_second),
        )
        self._placing = Placing(
            server_url=self.server_url,
            zone=self.zone,
            clock=clock,
            journal=lambda: self.journal,
            emit=self._emit,
            connection=self._connection,
            tools=lambda: self._session.tools,
            follow=self.follow,
        )

    @property
    def tools(self) -> ToolInfo | None:
        """The tools/list of the current session (of the last one while reconnecting; None before one)."""
        return self._session.tools

    @property
    def plan_call_schema(self) -> dict[str, Any] | None:
        """plan_call's inputSchema from the current session's tools/list (None before one): a composer
        opened after ToolsListed was announced builds its fields from it."""
        return self.tools.schemas.get("plan_call", {}) if self.tools is not None else None

    @property
    def journal(self) -> Journal:
        return self._stored.journal

    def subscribe(self, callback: Callable[[WorkerEvent], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def _emit(self, event: WorkerEvent) -> None:
        self._runs.remember(event)
        self._subscribers.emit(event)

    def _closed(self) -> bool:
        return self._session.closed

    # --- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Idempotent, and every caller returns only once the worker is ready: a sign-in or a plan asked for
        while the keyring is still being probed waits for the token storage instead of going out without it."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        await asyncio.shield(self._starting)

    async def _start(self) -> None:
        try:
            setup_logging(self.settings.state_root / "logs")
        except Exception:  # logging is best effort, never a reason not to start
            log.debug("logging setup failed", exc_info=True)
        await self._session.ensure_storage()
        self._stored.recover(emit=self._emit, follow=self.follow, unknown_outcome=UNKNOWN_OUTCOME)
        self._session.begin()

    async def close(self) -> None:
        if self._session.closed:
            return
        tasks = [*self._session.stop(), *self._runs.tasks()]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            self._sign_in.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):  # shutting down
                await task
        await self._session.close()
        await self._placing.settled(timeout=5.0)  # before the journal goes away
        self._stored.close()
        self._session.closed_down()

    async def _connection(self, timeout: float | None = None) -> Connection:
        """The live session, waiting briefly while one is being opened. Raises WorkerError."""
        if self._session.closed:
            raise WorkerError("The worker is closed.", kind="closed")
        await self.start()  # at once when started; else after the token storage is ready
        return await self._session.connection(timeout)

    async def reconnect(self) -> None:
        """Try to connect again now (after a failure the person wants to retry)."""
        self._session.retry()

    # --- sign-in (session/sign_in.py) -----------------------------------------------------------------

    def auth_status(self) -> AuthStatus:
        return self._session.auth_status()

    @property
    def sign_in_flow(self) -> str:
        return self._sign_in.flow

    async def sign_in(self, flow: LoginFlowName | None = None) -> None:
        await self.start()  # at once when started; else after the token storage is ready
        await self._sign_in.browser(flow)

    async def submit_redirect(self, pasted: str) -> None:
        await self._sign_in.submit_redirect(pasted)

    async def cancel_sign_in(self) -> None:
        self._sign_in.cancel()

    async def broker_offered(self) -> bool:
        return await self._sign_in.broker_offered()

    async def sign_in_brokered(self) -> None:
        if self._starting is None:
            await self.start()
        await self._sign_in.brokered()

    async def cancel_brokered_sign_in(self) -> None:
        self._sign_in.cancel_brokered()

    def cli_sign_in(self) -> CliSignIn:
        return self._sign_in.cli_state()

    async def use_cli_sign_in(self) -> None:
        await self._sign_in.use_cli()

    async def sign_out(self) -> None:
        await self._sign_in.sign_out()

    # --- placing calls (runs/placing.py) --------------------------------------------------------------

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

    # --- following runs and reading the journal (runs/follow.py, runs/stored.py) ----------------------

    def follow(self, run_id: str) -> None:
        self._runs.follow(run_id)

    async def refresh_now(self, run_id: str) -> bool:
        return await self._runs.refresh_now(run_id)

    def history(self, search: str = "") -> list[RunRecord]:
        return self._stored.history(search)

    def run_view(self, run_id: str) -> RunView | None:
        return self._stored.view(run_id)

    def run_entries(self, run_id: str) -> list[ActivityEntry]:
        return self._stored.entries(run_id)
