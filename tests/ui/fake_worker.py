"""The one scripted fake of `WorkerAPI` for every UI test: no network, fixed clock and ids.

It is built on the real `Subscribers` and event types and emits only what `CalleWorker` emits, in the same
order; tests/ui/test_worker_contract.py runs the same assertions against it and against CalleWorker on the
sandbox. What a test scripts: the answers of plan() (a PlanCallResult or a WorkerError each), the runs'
updates (`emit`), finished runs (`finish`), the history (`records`), and gates that hold plan() or run()
"in flight". What it mirrors from the real worker:
- plan() and run() need a sign-in (kind "auth"); a blank request is refused (kind "input"); a ready plan is
  the only one run() accepts;
- run(): at most once per plan (kind "already_started"), only with the latest ready plan's confirm token
  (kind "safety"); RunStarted, then the run is followed, whose first word is "waiting_first";
- follow(): for a run already followed, replays its last update (without entries); a finished run is not
  followed again;
- sign-in: progress events, a pending login that a pasted redirect address finishes, the real error kinds;
- history(): the journal's search; run_view(): the journal's fold (core/runs/runview.py) of what was emitted.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args
from urllib.parse import parse_qs, urlsplit

from calle_tui.core.auth.broker import SENTENCES as BROKER_SENTENCES
from calle_tui.core.auth.cli_cache import CliSignIn, CliState
from calle_tui.core.events import (
    BrokerSignInEnded,
    BrokerSignInPending,
    ConnectionChanged,
    LoginFlowName,
    PlanResult,
    RunFinished,
    RunStarted,
    RunUpdate,
    SignedIn,
    SignedOut,
    SignInNeeded,
    SignInProgress,
    Subscribers,
    ToolsListed,
    WorkerEvent,
)
from calle_tui.core.runs.placing import NO_REPLAY, NO_REPLAY_ACTION
from calle_tui.core.runs.runview import RunView, from_journal
from calle_tui.core.store.journal import _haystack
from calle_tui.core.wire.contract import ActivityEntry, GetCallRunResult, PlanCallResult, RunCallResult
from calle_tui.core.worker_api import AuthStatus, ErrorKind, PlanRequest, RunRecord, WorkerError

FIXED_NOW = datetime(2026, 6, 5, 9, 30, tzinfo=UTC).timestamp()
SERVER_URL = "https://calle.invalid/mcp/openagent_oauth"  # never contacted: the fake answers everything
TOOL_NAMES = ("plan_call", "run_call", "get_call_run")
STATE = "st-0001"
AUTHORIZE_URL = (
    "https://calle.invalid/authorize?response_type=code&client_id=client-0001"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A53121%2Fcallback&state=" + STATE + "&code_challenge=abc123"
)
CALLBACK_PORT = 53121
BROKER_LOGIN_URL = "https://calle.invalid/cli/login?session=bs-0001"  # what a broker's login_url looks like
CLI_CACHE_PATH = Path("/home/user/.calle-mcp/cli/0123456789abcdef/token.json")
FIRST_CHECK_AFTER = 60.0  # the seed's first get_call_run, about a minute after run_call

# The kinds of WorkerError the real worker may raise (mypy holds the core to ErrorKind): a scripted error of
# any other kind would teach the screens something production never says.
REAL_ERROR_KINDS = frozenset(get_args(ErrorKind))


def fixed_clock() -> float:
    return FIXED_NOW


def _checked(error: WorkerError) -> WorkerError:
    assert error.kind in REAL_ERROR_KINDS, f"the real worker never raises kind {error.kind!r}"
    return error


class FakeWorker:
    def __init__(
        self,
        plans: Iterable[PlanCallResult | WorkerError] = (),
        *,
        signed_in: bool = True,
        storage: str = "keyring",
        storage_notice: str = "",
        records: Iterable[RunRecord] = (),
        flow: LoginFlowName = "paste",
        plan_call_schema: dict | None = None,
        zone=None,
        clock: Callable[[], float] = fixed_clock,
    ) -> None:
        self.server_url = SERVER_URL
        self.plan_call_schema = plan_call_schema
        self.zone = zone  # a core.config.timezone.UserZone; without one the composer shows no zone line
        self._plans = deque(_checked(p) if isinstance(p, WorkerError) else p for p in plans)
        self.signed_in = signed_in
        self.storage = storage
        self.storage_notice = storage_notice
        self.expires_at: float | None = FIXED_NOW + 3600 if signed_in else None
        self.records = list(records)
        self.flow = flow
        self.clock = clock
        self._subscribers = Subscribers()
        self._pending: asyncio.Future | None = None
        self._ready: dict[str, str] = {}  # plan_id -> confirm token of its latest ready plan
        self._plans_by_id: dict[str, PlanCallResult] = {}
        self._started_plans: set[str] = set()
        self._in_flight: set[str] = set()
        self._last_update: dict[str, RunUpdate] = {}
        self._finished: set[str] = set()
        self._entries: dict[str, list[ActivityEntry]] = {}
        self._last_page: dict[str, GetCallRunResult] = {}
        # What the screens asked, for the tests to check.
        self.plan_requests: list[PlanRequest] = []
        self.run_calls: list[tuple[str, str]] = []
        self.followed: list[str] = []
        self.refresh_calls: list[str] = []
        self.history_searches: list[str] = []
        self.submitted: list[str] = []
        self.sign_in_calls = 0
        self.sign_out_calls = 0
        self.closed = False
        # Scripted behaviour.
        self.refresh_result = True
        self.idempotent = True  # tools/list marks run_call idempotentHint (production and the sandbox do)
        self.reconcile_answers: dict[str, RunCallResult | WorkerError] = {}  # plan_id -> what the check learns
        self.reconciled: list[str] = []
        self.run_error: WorkerError | None = None  # run_call's failure, of a kind the real worker raises
        self.run_gate: asyncio.Event | None = None  # hold run_call "in flight" until set
        self.plan_gate: asyncio.Event | None = None
        self.run_entered = asyncio.Event()
        self.waiting_for_browser = asyncio.Event()
        self.started = asyncio.Event()
        # Brokered sign-in and the CALL-E CLI's sign-in (scripted like the real worker's outcomes).
        self.broker = False  # whether the server offers the broker
        self.sign_in_flow = "auto"  # as the real worker: settings `login`
        self.broker_login_url = BROKER_LOGIN_URL
        self.broker_expires_in = 600.0
        self.broker_calls = 0
        self.broker_cancels = 0
        self._broker_pending: asyncio.Future | None = None
        self.broker_waiting = asyncio.Event()
        self.cli_state: CliState = "none"
        self.cli_uses = 0

    # --- events ----------------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[WorkerEvent], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def emit(self, event: WorkerEvent) -> None:
        """Tell subscribers, keeping what the real worker keeps: a run's last update (replayed by follow), its
        entries and last page (for run_view), and a run's status (and the server's word for it) in the history."""
        if isinstance(event, RunUpdate):
            self._last_update[event.run_id] = replace(event, new_activity=())
            self._entries.setdefault(event.run_id, []).extend(event.new_activity)
            if event.result is not None:
                self._last_page[event.run_id] = event.result
            words = event.result.status_text if event.result is not None else None
            self._set_record(event.run_id, status=event.status or None, status_text=words or None)
        elif isinstance(event, RunFinished):
            self._finished.add(event.run_id)
            self._last_page[event.run_id] = event.result
            words = event.status_text or event.result.status_text or None
            self._set_record(event.run_id, status=event.status, terminal=True, summary=event.result.summary,
                             status_text=words)  # fmt: skip
        self._subscribers.emit(event)

    def _set_record(self, run_id: str, **changes) -> None:
        changes = {k: v for k, v in changes.items() if v is not None}
        self.records = [replace(r, **changes) if r.run_id == run_id else r for r in self.records]

    # --- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        # As the real worker: connect with saved tokens, or say a sign-in is needed.
        self.emit(ConnectionChanged("connecting", self.server_url))
        if self.signed_in:
            self._connected()
        else:
            self.emit(ConnectionChanged("disconnected", self.server_url, "Sign in to continue."))
            self.emit(SignInNeeded(self.server_url, "Sign in to continue."))
        self.started.set()

    def _connected(self) -> None:
        self.emit(ConnectionChanged("connected", self.server_url))
        self.emit(ToolsListed(tool_names=TOOL_NAMES, plan_call_schema=self.plan_call_schema or {}))
        self.emit(SignedIn(self.server_url, self.expires_at, self.storage, self.storage_notice))  # type: ignore[arg-type]

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()
        self.emit(ConnectionChanged("disconnected", self.server_url))

    async def reconnect(self) -> None:
        return None

    def auth_status(self) -> AuthStatus:
        return AuthStatus(self.server_url, self.signed_in, self.expires_at, self.storage, self.storage_notice)  # type: ignore[arg-type]

    # --- sign-in ---------------------------------------------------------------------------------------

    async def sign_in(self, flow: LoginFlowName | None = None) -> None:
        self.sign_in_calls += 1
        used = flow or self.flow
        self.emit(SignInProgress("discovering", used))
        self.emit(SignInProgress("registering", used))
        self._pending = asyncio.get_running_loop().create_future()
        self.emit(SignInProgress("waiting_for_browser", used, authorize_url=AUTHORIZE_URL, callback_port=CALLBACK_PORT))
        self.waiting_for_browser.set()
        try:
            await self._pending
        except asyncio.CancelledError:
            self.emit(SignInProgress("canceled", used, message="Sign-in canceled."))
            raise WorkerError("Sign-in canceled.", kind="canceled") from None
        finally:
            self._pending = None
            self.waiting_for_browser.clear()
        self.emit(SignInProgress("exchanging", used))
        self.signed_in = True
        self.expires_at = self.clock() + 3600
        self.emit(SignInProgress("done", used, message="Signed in."))
        self._connected()

    async def submit_redirect(self, pasted: str) -> None:
        self.submitted.append(pasted)
        if self._pending is None or self._pending.done():
            raise WorkerError("No sign-in is waiting for a code.", action="Start signing in first.", kind="no_login")
        query = parse_qs(urlsplit(pasted.strip()).query)
        if query.get("error") == ["access_denied"]:
            raise WorkerError("Access was denied in the browser.", kind="denied")
        if "code" not in query:
            raise WorkerError("That address has no sign-in code in it.", kind="no_code")
        if query.get("state") != [STATE]:
            raise WorkerError("That address is not from this sign-in (its state does not match).", kind="state_mismatch")
        self._pending.set_result(None)

    async def cancel_sign_in(self) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()

    async def broker_offered(self) -> bool:
        return self.broker

    async def sign_in_brokered(self) -> None:
        """Like the real worker: BrokerSignInPending, then wait for approve_broker() / end_broker(kind) /
        cancel_brokered_sign_in(); a failure is BrokerSignInEnded plus WorkerError of the same kind."""
        self.broker_calls += 1
        if not self.broker:
            return self._broker_ended("not_offered", "This server does not offer the one-link sign-in.")
        self._broker_pending = asyncio.get_running_loop().create_future()
        self.emit(BrokerSignInPending(self.server_url, self.broker_login_url, self.clock() + self.broker_expires_in, 2.0))
        self.broker_waiting.set()
        try:
            outcome = await self._broker_pending
        finally:
            self._broker_pending = None
            self.broker_waiting.clear()
        if outcome is not None:
            kind, message = outcome
            return self._broker_ended(kind, message)
        self.signed_in = True
        self.expires_at = self.clock() + 3600
        self._connected()

    def _broker_ended(self, kind: ErrorKind, message: str) -> None:
        self.emit(BrokerSignInEnded(self.server_url, kind, message))
        raise _checked(WorkerError(message, kind=kind))

    def approve_broker(self) -> None:
        """The person approved on their phone."""
        assert self._broker_pending is not None, "no brokered sign-in is waiting"
        self._broker_pending.set_result(None)

    def end_broker(self, kind: ErrorKind, message: str) -> None:
        """The broker said FAILED / EXPIRED / 410 ... (kind as the real worker names it)."""
        assert self._broker_pending is not None, "no brokered sign-in is waiting"
        self._broker_pending.set_result((kind, message))

    async def cancel_brokered_sign_in(self) -> None:
        self.broker_cancels += 1
        if self._broker_pending is not None and not self._broker_pending.done():
            self._broker_pending.set_result(("canceled", BROKER_SENTENCES["canceled"]))

    def cli_sign_in(self) -> CliSignIn:
        return CliSignIn(self.cli_state, CLI_CACHE_PATH, FIXED_NOW + 3600 if self.cli_state == "usable" else None)

    async def use_cli_sign_in(self) -> None:
        self.cli_uses += 1
        seen = self.cli_sign_in()
        if seen.state != "usable":
            raise _checked(WorkerError(seen.sentence, kind=seen.failure))
        self.signed_in = True
        self.expires_at = seen.expires_at
        self._connected()

    async def sign_out(self) -> None:
        self.sign_out_calls += 1
        self.signed_in = False
        self.expires_at = None
        self.emit(ConnectionChanged("disconnected", self.server_url, "Signed out."))
        self.emit(SignedOut(self.server_url, "Signed out."))

    # --- plan and run ----------------------------------------------------------------------------------

    async def plan(self, request: PlanRequest) -> PlanCallResult:
        self.plan_requests.append(request)
        if not request.user_input or not request.user_input.strip():
            raise WorkerError("Say what the call is for first.", action="Type your request.", kind="input")
        self._require_session()
        if self.plan_gate is not None:
            await self.plan_gate.wait()
        assert self._plans, "the test planned more often than it scripted answers for"
        answer = self._plans.popleft()
        if isinstance(answer, WorkerError):
            raise answer
        if answer.plan_id:
            self._plans_by_id[answer.plan_id] = answer
            if answer.ready_to_run and answer.confirm_token:
                self._ready[answer.plan_id] = answer.confirm_token
            else:
                self._ready.pop(answer.plan_id, None)
        self.emit(PlanResult(result=answer, request_text=request.user_input))
        return answer

    def _require_session(self) -> None:
        if self.closed:
            raise WorkerError("The worker is closed.", kind="closed")
        if not self.signed_in:
            raise WorkerError("You need to sign in first.", action="Sign in, then try again.", kind="auth")

    async def run(self, plan_id: str, confirm_token: str) -> RunCallResult:
        self.run_calls.append((plan_id, confirm_token))
        self.run_entered.set()
        if plan_id in self._in_flight:
            raise WorkerError("This call is already being started.", kind="already_started")
        if plan_id in self._started_plans:
            raise WorkerError("This plan was already sent; a plan can place at most one call.",
                              action="Plan a new call to call again.", kind="already_started")  # fmt: skip
        if not confirm_token or self._ready.get(plan_id) != confirm_token:
            raise WorkerError("This confirmation does not match the latest ready plan.",
                              action="Plan the call again, then confirm.", kind="safety")  # fmt: skip
        self._require_session()
        self._in_flight.add(plan_id)
        try:
            if self.run_gate is not None:
                await self.run_gate.wait()
            if self.run_error is not None:
                raise _checked(self.run_error)
            self._started_plans.add(plan_id)
        finally:
            self._in_flight.discard(plan_id)
        result = RunCallResult(run_id=f"run-{len(self._started_plans)}", status="queued")
        plan = self._plans_by_id[plan_id].plan
        self.records.insert(0, RunRecord(result.run_id, plan_id, self.server_url, self.clock(),
                                         tuple(plan.to_phones or ()) if plan else (), plan.goal if plan else None,
                                         "queued", False))  # fmt: skip
        self.emit(RunStarted(plan_id=plan_id, result=result))
        # The real follower's first word, from its own task once run() has returned: the first check's time.
        first = RunUpdate(run_id=result.run_id, status="queued", poll_state="waiting_first",
                          next_poll_at=self.clock() + FIRST_CHECK_AFTER)  # fmt: skip
        asyncio.get_running_loop().call_soon(self.emit, first)
        self.follow(result.run_id)
        return result

    def can_replay_run_call(self) -> bool:
        return self.idempotent

    async def reconcile(self, plan_id: str) -> RunCallResult:
        """As the real worker: only for a server that declares run_call idempotent; the check's answer (a run
        or an error) is scripted per plan in `reconcile_answers`."""
        self.reconciled.append(plan_id)
        if not self.idempotent:
            raise WorkerError(NO_REPLAY, action=NO_REPLAY_ACTION, kind="cannot_check")
        assert plan_id in self.reconcile_answers, "the test checked a plan it scripted no answer for"
        answer = self.reconcile_answers[plan_id]
        if isinstance(answer, WorkerError):
            raise _checked(answer)
        self.records = [replace(r, run_id=answer.run_id, status=answer.status or r.status, attempt="started")
                        if r.plan_id == plan_id and r.run_id is None else r for r in self.records]  # fmt: skip
        self.emit(RunStarted(plan_id=plan_id, result=answer))
        self.follow(answer.run_id)
        return answer

    # --- following -------------------------------------------------------------------------------------

    def follow(self, run_id: str) -> None:
        self.followed.append(run_id)
        if run_id in self._finished:
            return  # a finished run is redrawn from the journal, never followed again
        last = self._last_update.get(run_id)
        if last is not None:
            self.emit(last)  # a screen that subscribed late learns where the follower is

    async def refresh_now(self, run_id: str) -> bool:
        self.refresh_calls.append(run_id)
        return self.refresh_result

    def finish(self, run_id: str, status: str, summary: str = "") -> None:
        """The run ended: the history says so and subscribers are told, as the real worker does."""
        result = GetCallRunResult(run_id=run_id, status=status, terminal=True, summary=summary)
        self.emit(RunFinished(run_id=run_id, status=status, result=result))

    # --- the journal -----------------------------------------------------------------------------------

    def history(self, search: str = "") -> list[RunRecord]:
        self.history_searches.append(search)
        records = sorted(self.records, key=lambda r: r.created_at, reverse=True)
        needle = search.casefold()
        return [r for r in records if needle in _haystack(r)] if needle else records

    def run_view(self, run_id: str) -> RunView | None:
        record = next((r for r in self.records if r.run_id == run_id), None)
        if record is None and run_id not in self._entries:
            return None
        last = self._last_page.get(run_id)
        return from_journal(
            run_id,
            status=(record.status if record else "") or (last.status if last else ""),
            terminal=run_id in self._finished or bool(record and record.terminal),
            entries=self._entries.get(run_id, []),
            last=last,
            transcript=tuple(last.transcript or ()) if last is not None else (),
        )

    def run_entries(self, run_id: str) -> list[ActivityEntry]:
        return list(self._entries.get(run_id, []))
