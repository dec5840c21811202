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
from calle_tui.core.wire.replies import Unreadable, read_run_start
from calle_tui.core.wire.results import result_data, server_text, tool_error_message
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
    if getattr(raw, "is_error", False):
        # Still unknown: a refusal of the replay does not prove no call was placed.
        raise WorkerError(
            f"The server would not confirm this request: {tool_error_message(raw)}",
            action="Check with CALL-E before planning the call again.",
            kind="tool",
        )
    data = result_data(raw)
    if isinstance(data, str):
        # Prose: run_id is opaque and never picked out of text, so it stays unknown; the person reads the text.
        raise WorkerError(
            f"The server answered in words without a run id, so this is still unknown. "
            f"The server said: {server_text(data)}",
            action="Check with CALL-E before planning the call again.",
            kind="malformed",
        )
    try:
        result = read_run_start(data)
    except Unreadable as exc:
        raise WorkerError(f"The server's answer could not be read ({exc}).", kind="malformed") from None
    journal.mark_started(plan_id, result, now())
    return result
