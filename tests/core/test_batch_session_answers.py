"""Between a batch's two steps, against the sandbox over HTTP (both dialects): a line CALL-E asks about is
answered in place (plan_call again with its plan id, nothing placed) and becomes ready; a line can be
skipped; the plans are saved privately and never hold a confirm token; once sent, nothing changes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat

import pytest
from calle_fakes import signed_in

from calle_tui.core.batch.session import BatchLocked, BatchSession
from calle_tui.core.wire.contract import MissingField
from calle_tui.core.worker_api import PlanRequest

READY = {"to_phones": ["+14155550100"], "language": "English", "goal": "Ask whether the shop is open today",
         "user_input": "Call +14155550100 in English and ask whether the shop is open today"}  # fmt: skip
ASKS = {"to_phones": ["+442079460000"], "user_input": "Please phone this number", "metadata": {"order": "42"}}


@pytest.fixture(params=["reference", "calle"])
def box(request, sandbox_factory):
    return sandbox_factory(auto_approve=True, dialect=request.param)


async def session_for(make_worker, box, tmp_path, manual_clock) -> BatchSession:
    worker, _log = await signed_in(make_worker, box.mcp_url)
    path = tmp_path / "tonight.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in (READY, ASKS, {"to_phones": ["4155550100"]})))
    session = BatchSession(worker, path, clock=manual_clock, exports_dir=tmp_path / "exports")
    await session.load()
    await session.plan()
    return session


def answers_for(session: BatchSession, number: int) -> list[tuple[MissingField, str]]:
    """What a person types: each question CALL-E asked, answered from the line's own words."""
    from calle_tui.ui.runs.answers import questions_of

    planned = session.planned_line(number)
    assert planned is not None and planned.result is not None
    questions, _ = questions_of(planned.result)
    typed = {"language": "English", "goal": "Ask whether they deliver on Sundays"}
    return [(q, typed.get(q.field, "In English: ask whether they deliver on Sundays")) for q in questions]


async def test_a_line_with_questions_is_answered_in_place_and_becomes_ready(box, make_worker, tmp_path, manual_clock):
    from calle_tui.ui.runs.answers import answered_request

    session = await session_for(make_worker, box, tmp_path, manual_clock)
    assert [p.state for p in session.planned] == ["ready", "questions"]
    asked = session.planned_line(2)
    assert asked is not None and asked.result is not None
    request = answered_request(answers_for(session, 2), plan_id=asked.result.plan_id, base=asked.line.request,
                               carry={"customer_metadata": asked.line.request.customer_metadata})  # fmt: skip
    answered = await session.answer(2, request)
    assert answered.state == "ready", answered
    assert [p.line.line for p in session.ready()] == [1, 2]
    assert box.stats.tool_calls["plan_call"] == 3 and box.stats.tool_calls["run_call"] == 0
    assert dict(session.destinations())[2] == ("+442079460000",)


async def test_skipped_lines_are_not_ready_and_saved_plans_hold_no_confirm_token(box, make_worker, tmp_path, manual_clock):
    session = await session_for(make_worker, box, tmp_path, manual_clock)
    tokens = [p.result.confirm_token for p in session.planned if p.result is not None and p.result.confirm_token]
    assert tokens  # the ready line has one: the canary
    assert session.skip(1).state == "skipped" and session.ready() == []
    assert session.skip(1).state == "ready"
    path = await session.save_plans()
    text = path.read_text()
    assert all(token not in text for token in tokens) and '"confirm_token"' not in text  # no key, no value
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["line"], r["state"]) for r in records] == [(1, "ready"), (2, "questions"), (3, "invalid")]
    assert records[0]["plan_id"] == session.planned[0].result.plan_id
    assert records[1]["questions"] and records[1]["destinations"] == ["+442079460000"]
    assert box.stats.tool_calls["run_call"] == 0


async def test_once_sent_no_plan_changes(box, make_worker, tmp_path, manual_clock):
    session = await session_for(make_worker, box, tmp_path, manual_clock)
    skipping: list[BaseException | None] = []
    sending_began = asyncio.Event()

    def on_change(line) -> None:
        if line.state == "sending" and not sending_began.is_set():  # the first line, before its run_call
            try:
                session.skip(1)
                skipping.append(None)
            except BatchLocked as exc:
                skipping.append(exc)
            sending_began.set()

    sending = asyncio.ensure_future(session.send(on_change=on_change))
    try:
        await asyncio.wait_for(sending_began.wait(), 30)
        assert isinstance(skipping[0], BatchLocked)
        with pytest.raises(BatchLocked):
            session.skip(1)
        with pytest.raises(BatchLocked):
            await session.answer(2, PlanRequest(user_input="English"))
        assert box.stats.tool_calls["plan_call"] == 2  # nothing re-planned
    finally:
        session.stop()
        sending.cancel()  # the placed call would take minutes of the sandbox's real time to end
        with contextlib.suppress(asyncio.CancelledError):
            await sending
