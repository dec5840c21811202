"""Shared fixtures: the local sandbox (real HTTP on 127.0.0.1, a free port) and a manual clock.

def test_x(sandbox): ...                        # auto-approve, state in tmp, stopped at teardown
def test_y(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, speed=10, auto_approve=False)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from calle_tui.core.support import secrets
from calle_tui.sandbox.harness import ManualClock, RunningSandbox, SandboxConfig, start_sandbox


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers a core. Most of a test's wall time is spent waiting (on a sandbox thread, a
    pilot's pause, a child process), so a second worker per core fills it: measured on 2 cores, 4 workers
    finish the suite in about 0.6x the time 2 take. Capped, since each worker costs its imports."""
    return min(8, 2 * (os.cpu_count() or 1))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that starts a sandbox (through any fixture built on `sandbox_factory`) is an end-to-end journey:
    marked `slow`, so `pytest -m "not slow"` is the quick loop. Journeys without a sandbox (a whole app driven
    key by key, other processes) carry the mark in their own module."""
    slow = pytest.mark.slow
    for item in items:
        if "sandbox_factory" in getattr(item, "fixturenames", ()):
            item.add_marker(slow)


@pytest.fixture(autouse=True)
def _isolated_process_state(tmp_path, monkeypatch):
    """Each test starts as a new process would, whichever tests ran before it in this worker process:
    - the user's folders point into the test's tmp folder (never the real ones; tests run in parallel);
    - no sign-in hints from the environment (SSH, a display, a configured URL) and no real keyring;
    - no secret registered by an earlier test: the registry is process-wide, and a pattern built from every
      token the whole suite ever issued made each later test slower than the one before."""
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    for name in ("CALLE_TUI_CONFIG", "CALLE_TUI_URL", "SSH_CONNECTION", "SSH_TTY", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    secrets.forget_secrets()
    yield
    secrets.forget_secrets()


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
