"""A first calle-tui window in its own process, for two-process tests: it plans, places and follows one
call against URL with the real worker on the state folder STATE:
prints the run_id and stays open until its stdin closes.

    python first_window.py URL STATE
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from calle_fakes import Recorder, drive

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.events import RunUpdate, ToolsListed
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker import CalleWorker
from calle_tui.core.worker_api import PlanRequest


async def main(url: str, state: Path) -> None:
    clock = ManualClock()
    worker = CalleWorker(
        Settings(url=url, state_path=state, login="auto-follow"),
        secret_store=MemoryStore(),
        clock=clock,
        rng=random.Random(1),
        login_flow="auto-follow",
    )
    log = Recorder()
    worker.subscribe(log)
    await worker.start()
    await log.wait_kind(ToolsListed)
    plan = await worker.plan(PlanRequest(user_input="Call +1 415 555 0142 and ask if order 1182 is ready"))
    started = await worker.run(plan.plan_id, plan.confirm_token)
    print(started.run_id, flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    await drive(clock, log, lambda: any(u.new_activity for u in log.of(RunUpdate)))
    print(len(worker.run_entries(started.run_id)), flush=True)
    await asyncio.to_thread(sys.stdin.read)
    await worker.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2])))
