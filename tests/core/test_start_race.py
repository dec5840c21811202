"""The first requests at start-up wait for the token storage: a sign-in (or a plan) asked for while the worker
is still choosing where tokens live must not go out without it (it failed with an AttributeError that reached
the screen as "The connection failed (AttributeError)")."""

from __future__ import annotations

import asyncio
import random
import threading

from calle_fakes import Recorder

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.events import SignedIn
from calle_tui.core.session import supervisor as supervisor_module
from calle_tui.core.worker import CalleWorker
from calle_tui.core.worker_api import PlanRequest


async def test_sign_in_during_a_slow_keyring_probe_waits_for_it(sandbox_factory, tmp_path, manual_clock, monkeypatch):
    sim = sandbox_factory(clock=manual_clock.now, auto_approve=True)
    probing, release = threading.Event(), threading.Event()

    def slow_choice(**_kwargs):
        probing.set()
        release.wait(10)  # a keyring that takes its time over D-Bus
        return MemoryStore()

    monkeypatch.setattr(supervisor_module, "choose_secret_store", slow_choice)
    settings = Settings(url=sim.mcp_url, state_path=tmp_path / "state", login="auto-follow")
    worker = CalleWorker(settings, clock=manual_clock, rng=random.Random(1), login_flow="auto-follow")
    log = Recorder()
    worker.subscribe(log)
    try:
        starting = asyncio.create_task(worker.start())
        assert await asyncio.to_thread(probing.wait, 10)  # the slow probe is the one the worker uses
        signing_in = asyncio.create_task(worker.sign_in("auto-follow"))  # the `s` pressed right away
        await asyncio.sleep(0)
        release.set()
        await starting
        await signing_in  # raised WorkerError("The connection failed (AttributeError)") before the fix
        await log.wait_kind(SignedIn)
        result = await worker.plan(PlanRequest(user_input="hello"))
        assert result.ready_to_run is False
    finally:
        release.set()
        await worker.close()
