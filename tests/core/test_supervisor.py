"""The session's named state (session/supervisor.py Phase): which phase each event leads to and what a person is
told on the way, with a stand-in Connection (the network is not the point here; the worker's sandbox tests
drive the same paths over real HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from calle_fakes import Recorder

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.events import ConnectionChanged, ErrorEvent, SignedIn, SignInNeeded, ToolsListed
from calle_tui.core.session import supervisor
from calle_tui.core.session.connection import CallError, ToolInfo
from calle_tui.core.session.supervisor import Phase, Supervisor
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker_api import WorkerError


class _Session:
    """Opens as told: a CallError kind, or a session that lives until `drop()`."""

    def __init__(self, outcome: str, on_lost: Callable[[CallError], None]) -> None:
        self.outcome = outcome
        self.tools = ToolInfo(names=("plan_call", "run_call", "get_call_run"), schemas={})
        self.alive = False
        self.failure: CallError | None = None
        self._on_lost = on_lost

    async def open(self) -> ToolInfo:
        if self.outcome != "ok":
            raise CallError(self.outcome, f"failed: {self.outcome}")
        self.alive = True
        return self.tools

    def drop(self, kind: str = "network") -> None:
        self.alive, self.failure = False, CallError(kind, "The connection was lost.")
        self._on_lost(self.failure)

    async def close(self) -> None:
        self.alive = False


@pytest.fixture
def harness(tmp_path, monkeypatch):
    outcomes: list[str] = []
    made: list[_Session] = []

    def connection(url, *, on_lost, **_):
        made.append(_Session(outcomes.pop(0) if outcomes else "ok", on_lost))
        return made[-1]

    monkeypatch.setattr(supervisor, "Connection", connection)
    log = Recorder()

    def step_up():  # never used here: no request asks for more scope
        raise AssertionError("no step-up expected")

    session = Supervisor(
        Settings(url="http://127.0.0.1:9/mcp", state_path=tmp_path / "state"),
        emit=log,
        clock=ManualClock(),
        retry_delay=lambda failures, retry_after: 5.0,
        required_tools=("plan_call", "run_call", "get_call_run"),
        secret_store=MemoryStore(),
        step_up=step_up,
    )
    return session, log, outcomes, made


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def stop(session: Supervisor) -> None:
    for task in session.stop():
        try:
            await task
        except asyncio.CancelledError:
            pass
    await session.close()
    session.closed_down()


def shown(log: Recorder) -> list[tuple[str, str]]:
    return [(e.state, e.message) for e in log.of(ConnectionChanged)]


async def test_no_sign_in_is_asked_for_once_and_nothing_is_retried(harness):
    session, log, outcomes, made = harness
    outcomes.append("auth")
    await session.ensure_storage()
    session.begin()
    await until(lambda: session.phase is Phase.SIGNED_OUT)
    session.require_sign_in("Sign in to continue.")  # said once, until a session is in place
    assert [e.reason for e in log.of(SignInNeeded)] == ["Sign in to continue."]
    assert shown(log) == [("connecting", ""), ("disconnected", "Sign in to continue.")]
    with pytest.raises(WorkerError) as refused:
        await session.connection()
    assert refused.value.kind == "auth"
    session.wake.set()
    await asyncio.sleep(0)
    assert len(made) == 1  # waiting for a person, not retrying
    await stop(session)


async def test_a_failed_sign_in_goes_back_where_it_was_and_a_good_one_connects(harness):
    session, log, outcomes, made = harness
    outcomes.append("auth")
    await session.ensure_storage()
    session.begin()
    await until(lambda: session.phase is Phase.SIGNED_OUT)
    with pytest.raises(RuntimeError):
        async with session.signing_in():
            assert session.phase is Phase.SIGNING_IN and session.needs_sign_in
            raise RuntimeError("the person closed the browser")
    assert session.phase is Phase.SIGNED_OUT and len(log.of(SignInNeeded)) == 1
    async with session.signing_in():
        await session.adopt_sign_in()
    assert session.phase is Phase.CONNECTED and session.connected.is_set()
    assert len(log.of(ToolsListed)) == 1 and len(log.of(SignedIn)) == 1
    assert (await session.connection()) is made[-1]
    await stop(session)


async def test_a_wrong_endpoint_waits_for_an_explicit_retry(harness):
    session, log, outcomes, made = harness
    outcomes.extend(["not_calle", "not_calle"])
    await session.ensure_storage()
    session.begin()
    await until(lambda: session.phase is Phase.FAILED)
    session.wake.set()  # anything but reconnect() leaves it waiting
    await asyncio.sleep(0)
    assert len(made) == 1 and len(log.of(ErrorEvent)) == 1
    session.retry()
    await until(lambda: len(made) == 2 and session.phase is Phase.FAILED)
    session.retry()
    await until(lambda: session.phase is Phase.CONNECTED)
    assert shown(log)[-2:] == [("connecting", ""), ("connected", "")]
    await stop(session)


async def test_a_dropped_session_reconnects_and_says_so(harness):
    session, log, _outcomes, made = harness
    await session.ensure_storage()
    session.begin()
    await until(lambda: session.phase is Phase.CONNECTED)
    made[0].drop()
    assert session.phase is Phase.LOST and not session.connected.is_set()
    await until(lambda: len(made) == 2 and session.phase is Phase.CONNECTED)
    assert shown(log) == [
        ("connecting", ""),
        ("connected", ""),
        ("reconnecting", "The connection was lost. Reconnecting."),
        ("connected", ""),
    ]
    await stop(session)
    assert session.phase is Phase.CLOSED and shown(log)[-1] == ("disconnected", "")
