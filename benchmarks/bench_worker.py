"""plan_call round trip through CalleWorker vs. the same call on a bare mcp SDK Client, side by side.

Both talk to one local sandbox over real HTTP with real OAuth (auto-approve, auto-follow sign-in), both on
an already open session. Rounds are interleaved (and alternate which goes first) so drift on the machine
hits both equally; we report medians and their ratio (goal: worker within 1.15x of the bare SDK).

Run: .venv/bin/python benchmarks/bench_worker.py [--rounds N] [--warmup N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path


async def bench(rounds: int, warmup: int) -> dict[str, float]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from calle_tui.core.auth.secret_store import MemoryStore
    from calle_tui.core.auth.token_storage import ServerTokenStorage
    from calle_tui.core.config.settings import Settings
    from calle_tui.core.events import SignInNeeded, ToolsListed
    from calle_tui.core.store.journal import Journal
    from calle_tui.core.worker import CalleWorker
    from calle_tui.core.worker_api import PlanRequest
    from calle_tui.sandbox.harness import start_sandbox

    request = PlanRequest(user_input="Call the bakery to order a cake")
    arguments = {"user_input": request.user_input}
    with tempfile.TemporaryDirectory() as tmp, start_sandbox(auto_approve=True) as sandbox:
        store = MemoryStore()
        settings = Settings(url=sandbox.mcp_url, state_path=Path(tmp), login="auto-follow")
        worker = CalleWorker(settings, secret_store=store, journal=Journal(Path(tmp) / "journal.sqlite3"))
        ready = asyncio.Event()
        needs_sign_in = asyncio.Event()
        worker.subscribe(lambda e: ready.set() if isinstance(e, ToolsListed) else None)
        worker.subscribe(lambda e: needs_sign_in.set() if isinstance(e, SignInNeeded) else None)
        await worker.start()
        _done, _ = await asyncio.wait(
            [asyncio.ensure_future(ready.wait()), asyncio.ensure_future(needs_sign_in.wait())],
            return_when=asyncio.FIRST_COMPLETED,
            timeout=30,
        )
        if not ready.is_set():
            await worker.sign_in("auto-follow")
        tokens = await ServerTokenStorage(store, sandbox.mcp_url, meta_dir=settings.state_root / "auth").get_tokens()
        headers = {"Authorization": f"Bearer {tokens.access_token}"}

        worker_times: list[float] = []
        bare_times: list[float] = []
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(sandbox.mcp_url, http_client=http), mode="legacy") as bare:

                async def time_worker() -> float:
                    start = time.perf_counter()
                    await worker.plan(request)
                    return time.perf_counter() - start

                async def time_bare() -> float:
                    start = time.perf_counter()
                    result = await bare.call_tool("plan_call", arguments)
                    assert not result.is_error
                    return time.perf_counter() - start

                for _ in range(warmup):
                    await time_worker()
                    await time_bare()
                for i in range(rounds):
                    if i % 2 == 0:
                        worker_times.append(await time_worker())
                        bare_times.append(await time_bare())
                    else:
                        bare_times.append(await time_bare())
                        worker_times.append(await time_worker())
        await worker.close()
    w, b = statistics.median(worker_times), statistics.median(bare_times)
    return {"worker_ms": w * 1000, "bare_ms": b * 1000, "ratio": w / b, "rounds": rounds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    result = asyncio.run(bench(args.rounds, args.warmup))
    print(
        f"plan_call round trip, median of {result['rounds']} interleaved rounds:\n"
        f"  worker   {result['worker_ms']:7.2f} ms\n"
        f"  bare SDK {result['bare_ms']:7.2f} ms\n"
        f"  ratio    {result['ratio']:7.3f}x  (goal <= 1.15x)"
    )
    return 0 if result["ratio"] <= 1.15 else 1


if __name__ == "__main__":
    sys.exit(main())
