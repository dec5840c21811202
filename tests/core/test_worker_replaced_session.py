"""A session replaced by a newer one (signing in again while connected) is closed for sure, and closing the
worker waits for it: nothing is left half-open, or pending for the event loop to destroy, when calle-tui quits."""

from __future__ import annotations

import asyncio
import gc

from calle_tui.core.events import ToolsListed
from calle_tui.core.session import supervisor
from calle_tui.core.session.connection import ToolInfo


class _Session:
    """Stands in for a Connection (the network is not the point here): what the worker reads of one, and
    whether it was closed. Its close may take until `close_after` is set; closing it may set `on_close`."""

    def __init__(self, close_after: asyncio.Event | None = None, on_close: asyncio.Event | None = None) -> None:
        self.tools = ToolInfo(names=("plan_call", "run_call", "get_call_run"), schemas={})
        self.alive = False
        self.failure = None
        self.closed = False
        self._close_after = close_after
        self._on_close = on_close

    async def open(self) -> ToolInfo:
        self.alive = True
        return self.tools

    async def close(self) -> None:
        self.alive = False
        if self._on_close is not None:
            self._on_close.set()
        if self._close_after is not None:
            await self._close_after.wait()
        self.closed = True


async def test_closing_the_worker_closes_a_session_it_replaced(make_worker, monkeypatch):
    quitting = asyncio.Event()  # set when the worker closes the session it holds last
    made: list[_Session] = []

    def connection(url, **_):
        # The sessions the worker opens, in order: the first (replaced later, its close is slow: it ends only
        # while calle-tui quits), the sign-in's own (closed at once), the one that replaces the first.
        made.append(_Session(close_after=quitting if not made else None, on_close=quitting if len(made) == 2 else None))
        return made[-1]

    monkeypatch.setattr(supervisor, "Connection", connection)
    worker, log = make_worker("http://127.0.0.1:9/mcp")
    await worker.start()
    await log.wait_kind(ToolsListed)
    await worker.sign_in("auto-follow")  # a new sign-in takes over: the first session must still be closed
    assert len(log.of(ToolsListed)) == 2 and len(made) == 3
    first = made[0]
    assert not first.closed  # its close is under way
    gc.collect()  # the closing task is held by the worker, not only by the event loop's weak reference
    await worker.close()
    assert [session.closed for session in made] == [True, True, True]
