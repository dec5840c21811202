"""Reconciling a run_call whose answer was lost ("outcome unknown").

A client may learn the run_id of a sent plan by replaying the SAME plan_id + confirm_token only when the
server declares run_call idempotent (tools/list annotations.idempotentHint, as production and our sandbox
do): then the replay answers with the same run_id and never starts a second call. The worker checks that
before calling here; the seed otherwise forbids a second run_call for a plan. We still only do this when the
user explicitly asks (never automatically, never on startup), and only for an attempt the journal recorded
as sent-without-answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from calle_tui.core.session.connection import CallError
from calle_tui.core.store.journal import Journal
from calle_tui.core.wire.contract import RunCallInput, RunCallResult
from calle_tui.core.wire.envelope import ProseOnly, Read, Refused, UnreadableReply, read_reply
from calle_tui.core.wire.replies import read_run_start
from calle_tui.core.worker_api import WorkerError


async def reconcile_attempt(conn: Any, journal: Journal, plan_id: str, now: Callable[[], float]) -> RunCallResult:
    attempt = journal.attempt(plan_id)
    if attempt is None:
        raise WorkerError("There is no call request to check for this plan.", kind="unknown_plan")
    if attempt.state == "started":
        raise WorkerError("This call already started; its status is in the history.", kind="already_started")
    if attempt.state == "rejected":
        raise WorkerError("The server refused this request; no call was placed.", kind="rejected")
    args = RunCallInput(plan_id=attempt.plan_id, confirm_token=attempt.confirm_token).to_arguments()
    try:
        raw = await conn.call("run_call", args)
    except CallError as exc:
        raise WorkerError(
            f"Could not check the request: {exc.message}", action="Try again in a moment.", kind=exc.kind
        ) from None
    match read_reply(raw, read_run_start):
        case Read(value=result):
            journal.mark_started(plan_id, result, now())
            return result
        case Refused() as refused:
            # Still unknown: a refusal of the replay does not prove no call was placed.
            raise WorkerError(
                f"The server would not confirm this request: {refused.said()}",
                action="Check with CALL-E before planning the call again.",
                kind="tool",
            )
        case ProseOnly() as prose:
            # Prose: run_id is opaque and never picked out of text, so it stays unknown; the person reads it.
            raise WorkerError(
                f"The server answered in words without a run id, so this is still unknown. The server said: {prose.said()}",
                action="Check with CALL-E before planning the call again.",
                kind="malformed",
            )
        case UnreadableReply(reason=reason):
            raise WorkerError(f"The server's answer could not be read ({reason}).", kind="malformed")
