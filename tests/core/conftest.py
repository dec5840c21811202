"""Fixtures for the worker's tests: a manual clock, workers with their state in tmp, tiny servers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from calle_fakes import FakeCalle, Recorder, serve

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker import CalleWorker


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def secret_store() -> MemoryStore:
    """Shared by every worker of a test, so a second worker models a restart with stored tokens."""
    return MemoryStore()


@pytest.fixture
async def make_worker(tmp_path: Path, manual_clock: ManualClock, secret_store: MemoryStore):
    """make_worker(url, **kw) -> (worker, Recorder). Workers are closed at teardown."""
    made: list[CalleWorker] = []

    def make(url: str, *, state: Path | None = None, clock=None, store=None, login_flow="auto-follow", **settings):
        s = Settings(url=url, state_path=state or tmp_path / "state", login=login_flow, **settings)
        worker = CalleWorker(
            s,
            secret_store=store if store is not None else secret_store,
            clock=clock if clock is not None else manual_clock,
            rng=random.Random(1),
            login_flow=login_flow,
        )
        log = Recorder()
        worker.subscribe(log)
        made.append(worker)
        return worker, log

    yield make
    for worker in made:
        await worker.close()


@pytest.fixture
def fake_calle():
    """A FakeCalle served over real HTTP (no auth): yields (fake, url)."""
    fake = FakeCalle()
    with serve(fake.tools(), name="fake-calle") as server:
        yield fake, server.url
