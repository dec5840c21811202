"""Shared fixtures: the local sandbox (real HTTP on 127.0.0.1, a free port) and a manual clock.

def test_x(sandbox): ...                        # auto-approve, state in tmp, stopped at teardown
def test_y(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, speed=10, auto_approve=False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from calle_tui.sandbox.harness import ManualClock, RunningSandbox, SandboxConfig, start_sandbox


@pytest.fixture
def fake_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningSandbox]]:
    started: list[RunningSandbox] = []

    def make(config: SandboxConfig | None = None, **overrides) -> RunningSandbox:
        if (config is None or config.data_dir is None) and "data_dir" not in overrides:
            overrides["data_dir"] = Path(tmp_path_factory.mktemp("sandbox-data"))
        box = start_sandbox(config, **overrides)
        started.append(box)
        return box

    yield make
    for box in started:
        box.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., RunningSandbox]) -> RunningSandbox:
    return sandbox_factory(auto_approve=True)
