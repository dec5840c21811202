"""Fixtures for the sandbox's own tests: a sandbox on a fake clock and a signed-in SDK client."""

from __future__ import annotations

import asyncio

import pytest
from sandbox_helpers import Tools

from calle_tui.sandbox.harness import sdk_client


@pytest.fixture
def sandbox_factory(sandbox_factory):
    """The sandbox's own tests name their dialect: the reference shapes unless a test asks for another, so
    they keep passing whichever default SandboxConfig.dialect has."""

    def make(config=None, **overrides):
        if config is None and "dialect" not in overrides:
            overrides["dialect"] = "reference"
        return sandbox_factory(config, **overrides)

    return make


@pytest.fixture
def box(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock.now)


@pytest.fixture
async def tools(box):
    """A signed-in client. Its `async with` lives in a task of its own: anyio cancel scopes must be entered
    and exited in one task, and pytest-asyncio runs fixture setup and teardown in different ones."""
    ready, done = asyncio.Event(), asyncio.Event()
    holder = {}

    async def hold():
        async with sdk_client(box.mcp_url) as client:
            holder["client"] = client
            ready.set()
            await done.wait()

    task = asyncio.create_task(hold())
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()  # raises the connection error
    yield Tools(holder["client"])
    done.set()
    await task
