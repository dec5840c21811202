"""Placing calls: plan_call, run_call at most once per plan, learning what a lost run_call did, and the
doctor's one harmless tool call.

Safety: plan() sends only what the person gave. run() sends run_call at most once per plan, ever, guarded by
an in-process lock taken before the first await and by the journal's attempt latch written before the
request leaves. A lost reply is "outcome unknown" until the person explicitly asks to reconcile it, which
replays the same plan_id + confirm_token only on a server that declares run_call idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from calle_tui.core.advice import action_for
from calle_tui.core.events import ErrorEvent, PlanResult, RunOutcomeUnknown, RunStarted, WorkerEvent
from calle_tui.core.runs.reconcile import reconcile_attempt
from calle_tui.core.session.connection import PLAN_TIMEOUT, CallError, Connection, ToolInfo
from calle_tui.core.store.journal import Journal
from calle_tui.core.support.clock import Clock
from calle_tui.core.support.secrets import register_secret
from calle_tui.core.wire.contract import (
    SAFE_TOOL_NAMES,
    PlanCallInput,
    PlanCallResult,
    RunCallInput,
    RunCallResult,
    places_calls,
)
from calle_tui.core.wire.envelope import ProseOnly, Read, Refused, ToolError, UnreadableReply, read_reply
from calle_tui.core.wire.replies import read_plan, read_run_start
from calle_tui.core.worker_api import PlanRequest, WorkerError

if TYPE_CHECKING:
    from calle_tui.core.config.timezone import UserZone

log = logging.getLogger("calle_tui.worker")

CUSTOMER_METADATA_KEY = "call-e/customerMetadata"  # CALL-E's batch runner's _meta key for a line's metadata
UNKNOWN_OUTCOME = "We sent the call request but got no answer, so we do not know whether the call started."
UNKNOWN_PROSE = "The server answered in words without a run id, so we do not know whether the call started."
UNKNOWN_ACTION = "Do not plan it again yet: open the history (f2), select the request and press k to check it with CALL-E."
NO_REPLAY = (
    "This server does not say that repeating a call request is safe, so calle-tui cannot check this request "
    "from here without risking a second call."
)
NO_REPLAY_ACTION = "Check in CALL-E whether the call took place before planning it again."


class Placing:
    """Plans and places calls over the worker's live session; announces what happened as events."""

    def __init__(
        self,
        *,
        server_url: str,
        zone: UserZone,
        clock: Clock,
        journal: Callable[[], Journal],
        emit: Callable[[WorkerEvent], None],
        connection: Callable[[], Awaitable[Connection]],
        tools: Callable[[], ToolInfo | None],
        follow: Callable[[str], None],
    ) -> None:
        self._server_url = server_url
        self._zone = zone
        self._clock = clock
        self._journal = journal  # a getter: the worker opens its journal lazily
        self._emit = emit
        self._connection = connection  # the live session, waiting briefly for one; raises WorkerError
        self._tools = tools  # the current session's tools/list (None before the first)
        self._follow = follow
        self._run_locks: dict[str, asyncio.Lock] = {}
        self._busy = 0  # run()/reconcile() calls still writing to the journal
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def journal(self) -> Journal:
        return self._journal()

    # --- plan ---------------------------------------------------------------------------------------

    async def plan(self, request: PlanRequest) -> PlanCallResult:
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
            meta = self._zone.plan_meta(self._clock.now())
            if request.customer_metadata is not None:
                meta[CUSTOMER_METADATA_KEY] = request.customer_metadata
            raw = await conn.call("plan_call", args, meta=meta, timeout=PLAN_TIMEOUT)
        except CallError as exc:
            raise WorkerError(
                f"Could not prepare the call: {exc.message}", action=action_for(exc.kind), kind=exc.kind
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
            # A server that repeats the token later (in run_call's words, say) is masked on screen and in logs.
            register_secret(result.confirm_token)
        await asyncio.to_thread(self.journal.record_plan, self._server_url, request, result, self._clock.now())
        self._emit(PlanResult(result=result, request_text=request.user_input))
        return result

    async def try_tool(self, name: str) -> Any:
        """Call one tool once with no arguments and return its CallToolResult (the doctor's --try-tool: it
        shows that a tool call passes the server's sign-in, a step-up included). Never a tool that places
        calls, and on a server that offers run_call only CALL-E's own safe tools. Raises WorkerError."""
        tools = self._tools()
        offered = set(tools.names) if tools is not None else set()
        if places_calls(name) or ("run_call" in offered and name not in SAFE_TOOL_NAMES):
            raise WorkerError(
                f"calle-tui will not try {name}: it may place a phone call.",
                action="Name a tool that only reads or plans.",
                kind="input",
            )
        conn = await self._connection()
        if conn.tools is None or name not in conn.tools.names:
            raise WorkerError(f"The server does not offer {name}.", action="Check the tool's name.", kind="input")
        try:
            return await conn.call(name, {})
        except CallError as exc:
            raise WorkerError(f"{name} failed: {exc.message}", action=action_for(exc.kind), kind=exc.kind) from None

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
                self.journal.begin_attempt, plan_id, confirm_token, self._server_url, self._clock.now()
            )
            if not began:
                raise WorkerError("This plan was already sent.", kind="already_started")
            with self._recording():
                return await self._send_run_call(conn, plan_id, confirm_token)

    @contextlib.contextmanager
    def _recording(self) -> Iterator[None]:
        """Marks a call request in flight so close() waits for its outcome to be written down."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    async def settled(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) until no run()/reconcile() is still recording what happened: one in
        a caller's task is woken by the closed session and still writes the attempt's fate down."""
        if self._busy:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=timeout)
            except TimeoutError:
                log.warning("closing with a call request still being recorded")

    def _check_confirmation(self, plan_id: str, confirm_token: str) -> None:
        ready, token = self.journal.plan_confirmation(plan_id)
        if not ready or not confirm_token or token != confirm_token:
            raise WorkerError(
                "This confirmation does not match the latest ready plan.",
                action="Plan the call again, then confirm.",
                kind="safety",
            )

    async def _send_run_call(self, conn: Connection, plan_id: str, confirm_token: str) -> RunCallResult:
        args = RunCallInput(plan_id=plan_id, confirm_token=confirm_token).to_arguments()
        try:
            raw = await conn.call("run_call", args)
        except CallError as exc:
            if exc.reached_server is False or exc.refused:
                self.journal.mark_rejected(plan_id, exc.message)
                raise WorkerError(
                    f"The call was not started: {exc.message}", action=action_for(exc.kind), kind=exc.kind
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
        self._follow(result.run_id)
        return result

    def _outcome_unknown(self, plan_id: str, detail: str, message: str = UNKNOWN_OUTCOME) -> RunCallResult:
        self.journal.mark_unknown(plan_id, detail)
        self._emit(RunOutcomeUnknown(plan_id=plan_id, message=message))
        action = UNKNOWN_ACTION if self.can_replay_run_call() else NO_REPLAY_ACTION
        raise WorkerError(message, action=action, kind="outcome_unknown")

    async def reconcile(self, plan_id: str) -> RunCallResult:
        """Only on the person's explicit request: learn what happened to a run_call whose answer was lost by
        replaying the SAME plan_id + confirm_token (the contract returns the same run_id for a replay; a plan
        can start at most one call). Never called automatically."""
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
        self._follow(result.run_id)
        return result

    def can_replay_run_call(self) -> bool:
        """Whether the server declares run_call idempotent (tools/list annotations.idempotentHint), the only
        ground on which re-sending the same plan_id + confirm_token cannot place a second call."""
        tools = self._tools()
        return tools is not None and "run_call" in tools.idempotent


def _line_busy(error: ToolError) -> bool:
    """A refusal because the account's line is busy, which says no call was started."""
    code = (error.code or "").casefold()
    busy = code == "account_concurrency_exceeded" or (code == "429" and error.call_started is False)
    return busy and error.call_started is not True
