"""The contract the screens rely on, asserted the same way against the UI tests' one fake (fake_worker.py) and
against CalleWorker on the sandbox (real HTTP, real OAuth, a manual clock): what start, sign-in, plan, run
and follow emit and in which order, the error kinds, auth_status' shape, history and run_view, and that every
member of WorkerAPI has the protocol's signature. A fake that drifts from the real worker fails here."""

from __future__ import annotations

import asyncio
import inspect
import random
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from calle_fakes import Recorder
from fake_worker import REAL_ERROR_KINDS, STATE, FakeWorker
from fakes_runs import ready_plan

from calle_tui.core.auth.broker import SENTENCES as BROKER_SENTENCES
from calle_tui.core.auth.cli_cache import CliSignIn, CliState
from calle_tui.core.auth.errors import AuthError
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.error_kinds import BrokerFailure, CliFailure, SignInFailure
from calle_tui.core.events import (
    ConnectionChanged,
    PlanResult,
    RunStarted,
    RunUpdate,
    SignedIn,
    SignInNeeded,
    SignInProgress,
    TokenStorageKind,
    ToolsListed,
)
from calle_tui.core.runs.runview import RunView
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.wire.contract import TOOL_NAMES, PlanCallResult
from calle_tui.core.worker import CalleWorker
from calle_tui.core.worker_api import AuthStatus, ErrorKind, PlanRequest, RunRecord, WorkerAPI, WorkerError

PHONE = "+14155550120"
GOAL = "Book a table for two at 7 pm"
READY = PlanRequest(user_input=f"Call {PHONE} and book a table for two", to_phones=(PHONE,), goal=GOAL,
                    language="English")  # fmt: skip


@dataclass
class Harness:
    worker: Any
    log: Recorder
    kind: str

    async def sign_in(self) -> None:
        """A whole browser sign-in: the fake's paste flow finished by a pasted address, the sandbox's
        auto-follow flow on its own."""
        if isinstance(self.worker, FakeWorker):
            task = asyncio.ensure_future(self.worker.sign_in())
            await self.worker.waiting_for_browser.wait()
            await self.worker.submit_redirect(f"http://127.0.0.1:53121/callback?code=c0de-1&state={STATE}")
            await task
        else:
            await self.worker.sign_in("auto-follow")

    async def signed_in(self) -> None:
        await self.worker.start()
        await self.log.wait_kind(SignInNeeded)
        await self.sign_in()

    def since(self, start: int) -> list:
        return self.log.events[start:]


@pytest.fixture(params=["fake", "sandbox"])
async def harness(request, sandbox_factory, tmp_path):
    if request.param == "fake":
        plan = ready_plan("plan-1", phones=(PHONE,), goal=GOAL)
        worker: Any = FakeWorker([plan], signed_in=False)
    else:
        clock = ManualClock()
        sim = sandbox_factory(clock=clock.now, auto_approve=True)
        settings = Settings(url=sim.mcp_url, state_path=tmp_path / "state", login="auto-follow")
        worker = CalleWorker(settings, secret_store=MemoryStore(), clock=clock, rng=random.Random(1),
                             login_flow="auto-follow")  # fmt: skip
    log = Recorder()
    worker.subscribe(log)
    yield Harness(worker, log, request.param)
    await worker.close()


def _members() -> list[str]:
    return [name for name, value in vars(WorkerAPI).items() if inspect.isfunction(value) and not name.startswith("_")]


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values() if p.name != "self"]


async def test_every_protocol_member_has_the_protocols_signature(harness):
    worker = harness.worker
    assert isinstance(worker.server_url, str) and worker.server_url
    assert hasattr(worker, "plan_call_schema") and hasattr(worker, "zone")
    assert set(_members()) >= {"subscribe", "plan", "run", "follow", "history", "run_view", "reconnect"}
    for name in _members():
        ours = getattr(worker, name, None)
        assert callable(ours), f"{harness.kind} worker has no {name}()"
        expected = inspect.signature(getattr(WorkerAPI, name))
        assert _shape(inspect.signature(ours)) == _shape(expected), name
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(getattr(WorkerAPI, name)), name


def _check_auth_status(worker, signed_in: bool) -> AuthStatus:
    status = worker.auth_status()
    assert isinstance(status, AuthStatus) and status.server_url == worker.server_url
    assert status.signed_in is signed_in
    assert status.storage in typing.get_args(TokenStorageKind)
    assert isinstance(status.storage_notice, str)
    assert status.expires_at is None or isinstance(status.expires_at, float)
    return status


async def test_start_signed_out_says_sign_in_is_needed_after_saying_it_connects(harness):
    await harness.worker.start()
    needed = await harness.log.wait_kind(SignInNeeded)
    events = harness.log.events
    first = events[0]
    assert isinstance(first, ConnectionChanged) and first.state == "connecting"
    before = events[events.index(needed) - 1]
    assert isinstance(before, ConnectionChanged) and before.state == "disconnected" and before.message == needed.reason
    assert not harness.log.of(ToolsListed) and not harness.log.of(SignedIn)
    _check_auth_status(harness.worker, signed_in=False)
    with pytest.raises(WorkerError) as refused:
        await harness.worker.plan(READY)
    assert refused.value.kind == "auth" and not harness.log.of(PlanResult)
    with pytest.raises(WorkerError) as exc:
        await harness.worker.submit_redirect("http://127.0.0.1/callback?code=x&state=y")
    assert exc.value.kind == "no_login"


async def test_sign_in_progresses_then_connects_lists_tools_and_signs_in(harness):
    await harness.worker.start()
    await harness.log.wait_kind(SignInNeeded)
    start = len(harness.log.events)
    await harness.sign_in()
    events = harness.since(start)
    steps = [e for e in events if isinstance(e, SignInProgress)]
    assert steps[-1].step == "done" and steps[-1].message
    waiting = [s for s in steps if s.step == "waiting_for_browser"]
    assert waiting and waiting[0].authorize_url and "state=" in waiting[0].authorize_url
    after = [e for e in events[events.index(steps[-1]) + 1 :] if not isinstance(e, SignInProgress)]
    assert [type(e) for e in after[:3]] == [ConnectionChanged, ToolsListed, SignedIn], after
    assert after[0].state == "connected" and set(TOOL_NAMES) <= set(after[1].tool_names)
    assert (harness.worker.plan_call_schema or {}) == after[1].plan_call_schema
    status = _check_auth_status(harness.worker, signed_in=True)
    assert isinstance(status.expires_at, float) and after[2].storage == status.storage


async def test_plan_emits_its_result_and_refuses_a_blank_request(harness):
    await harness.signed_in()
    start = len(harness.log.events)
    with pytest.raises(WorkerError) as exc:
        await harness.worker.plan(PlanRequest(user_input="   "))
    assert exc.value.kind == "input" and not harness.log.of(PlanResult)
    plan = await harness.worker.plan(READY)
    assert isinstance(plan, PlanCallResult) and plan.ready_to_run and plan.plan_id and plan.confirm_token
    announced = [e for e in harness.since(start) if isinstance(e, PlanResult)]
    assert len(announced) == 1 and announced[0].result == plan and announced[0].request_text == READY.user_input


async def test_run_starts_once_is_followed_and_follow_replays_the_last_update(harness):
    await harness.signed_in()
    plan = await harness.worker.plan(READY)
    with pytest.raises(WorkerError) as exc:
        await harness.worker.run(plan.plan_id, plan.confirm_token + "-not-it")
    assert exc.value.kind == "safety" and not harness.log.of(RunStarted)

    result = await harness.worker.run(plan.plan_id, plan.confirm_token)
    started = harness.log.of(RunStarted)  # told before run() returns
    assert [(s.plan_id, s.result.run_id) for s in started] == [(plan.plan_id, result.run_id)]
    first = await harness.log.wait_kind(RunUpdate, run_id=result.run_id)
    assert first.poll_state == "waiting_first" and first.next_poll_at is not None and first.result is None
    assert harness.log.events.index(first) > harness.log.events.index(started[0])

    with pytest.raises(WorkerError) as again:
        await harness.worker.run(plan.plan_id, plan.confirm_token)
    assert again.value.kind == "already_started" and len(harness.log.of(RunStarted)) == 1

    late = Recorder()  # a screen that subscribes after the run started (the monitor)
    unsubscribe = harness.worker.subscribe(late)
    harness.worker.follow(result.run_id)
    replayed = late.of(RunUpdate)
    last = [u for u in harness.log.of(RunUpdate) if u.run_id == result.run_id][-1]
    assert replayed and replayed[0] == replace(last, new_activity=())
    unsubscribe()
    count = len(late.events)
    harness.worker.follow(result.run_id)
    assert len(late.events) == count  # unsubscribed: told nothing more


async def test_history_and_run_view_know_the_started_run(harness):
    await harness.signed_in()
    plan = await harness.worker.plan(READY)
    result = await harness.worker.run(plan.plan_id, plan.confirm_token)
    records = harness.worker.history()
    assert all(isinstance(r, RunRecord) for r in records)
    mine = [r for r in records if r.run_id == result.run_id]
    assert len(mine) == 1 and mine[0].plan_id == plan.plan_id and mine[0].to_phones == (PHONE,)
    assert not mine[0].terminal and isinstance(mine[0].status, str) and isinstance(mine[0].created_at, float)
    assert [r.run_id for r in harness.worker.history("table for two")] == [result.run_id]
    assert harness.worker.history("no such words anywhere") == []
    view = harness.worker.run_view(result.run_id)
    assert isinstance(view, RunView) and view.run_id == result.run_id and not view.terminal
    assert harness.worker.run_view("run-that-never-was") is None
    assert harness.worker.run_entries("run-that-never-was") == []


async def test_a_closed_worker_plans_nothing(harness):
    await harness.signed_in()
    await harness.worker.close()
    await harness.worker.close()  # idempotent
    with pytest.raises(WorkerError) as exc:
        await harness.worker.plan(READY)
    assert exc.value.kind == "closed"


def test_the_fake_and_the_real_worker_share_one_vocabulary_of_error_kinds():
    """ErrorKind (core/error_kinds.py) is all WorkerError.kind may be: mypy holds the core to it and the fake
    raises nothing else. The words the core picks at run time (class attributes, dict keys) belong to it too."""
    kinds = set(typing.get_args(ErrorKind))
    assert kinds == REAL_ERROR_KINDS
    assert set(BROKER_SENTENCES) == set(typing.get_args(BrokerFailure))
    sign_in_errors, seen = [AuthError], set()
    while sign_in_errors:
        cls = sign_in_errors.pop()
        seen.add(cls.kind)
        sign_in_errors.extend(cls.__subclasses__())
    assert seen - {"auth"} <= set(typing.get_args(SignInFailure)) and "auth" in kinds
    cli = {CliSignIn(state, Path("token.json")).failure for state in typing.get_args(CliState) if state != "usable"}
    assert cli == set(typing.get_args(CliFailure))
    assert "cancelled" not in kinds  # one spelling: "canceled"
