"""A session replaced by a newer one (signing in again while connected) is closed for sure, and closing the
worker waits for it: nothing is left half-open, or pending for the event loop to destroy, when calle-tui quits."""

from __future__ import annotations

import gc

from calle_tui.core.connection import ToolInfo
from calle_tui.core.events import ToolsListed


class _Session:
    """Stands in for a Connection: what the worker reads of one, and whether it was closed."""

    def __init__(self) -> None:
        self.tools = ToolInfo(names=("plan_call", "run_call", "get_call_run"), schemas={})
        self.alive = True
        self.closed = False

    async def close(self) -> None:
        self.alive = False
        self.closed = True


async def test_closing_the_worker_closes_a_session_it_replaced(make_worker):
    worker, log = make_worker("http://127.0.0.1:9/mcp")
    first, second = _Session(), _Session()
    worker._install(first)
    worker._install(second)  # a new sign-in took over: the first session must still be closed
    assert len(log.of(ToolsListed)) == 2
    gc.collect()  # the closing task is held by the worker, not only by the event loop's weak reference
    await worker.close()
    assert first.closed and second.closed
