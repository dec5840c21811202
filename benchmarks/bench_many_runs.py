"""Following many calls at once versus one: the app's CPU time per minute, requests per run per minute,
the board's key-press-to-repaint time and peak memory, measured in one run and quoted as ratios.

One local sandbox in its own process (so its CPU is not counted as ours), `calle` dialect, speed 1: calls
whose number ends in 0-4 take 96 s, so every call stays live through a window of up to 90 s. One real
CalleWorker (OAuth, journal, followers, the global request budget) follows first 1 call, then N calls, for
the same window each. Requests are counted by the sandbox (`/_sandbox/stats`). While the N calls are live,
the runs board is opened headless on the same worker and a key (down) is pressed again and again: the time
from the press until the app is idle again (handled, laid out, painted) is the repaint time.

Run: .venv/bin/python benchmarks/bench_many_runs.py [--runs 50] [--seconds 90] [--presses 100]
Goals (issue 10): requests per run per minute within the seed's cadence (one poll per 5-10 s, so 6-12
per run-minute, fewer when the server asks for longer), p95 repaint under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path


def start_sandbox(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = folder / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-m", "calle_tui", "sandbox", "--port", "0", "--auto-approve", "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the sandbox did not start")
        time.sleep(0.05)  # waiting for another process to write its ready file: nothing to await
    return proc, ready.read_text().strip().rstrip("/")


def polls(base: str) -> int:
    with urllib.request.urlopen(f"{base}/_sandbox/stats", timeout=10) as answer:
        return int(json.load(answer)["tool_calls"].get("get_call_run", 0))


async def place(worker, count: int, first: int) -> list[str]:
    from calle_tui.core.worker_api import PlanRequest

    run_ids = []
    for i in range(count):
        phone = f"+1415555{(first + i) * 10 % 10000:04d}"  # last digit 0: a 96 s call
        plan = await worker.plan(PlanRequest(user_input=f"Call {phone} in English and ask if they are open today."))
        assert plan.ready_to_run and plan.plan_id and plan.confirm_token, plan.missing
        run_ids.append((await worker.run(plan.plan_id, plan.confirm_token)).run_id)
    return run_ids


async def window(base: str, seconds: float, live_runs: int) -> dict[str, float]:
    before_cpu, before_polls = time.process_time(), polls(base)
    tracemalloc.reset_peak()
    await asyncio.sleep(seconds)  # the measurement window: the followers work meanwhile
    cpu, requests = time.process_time() - before_cpu, polls(base) - before_polls
    _current, peak = tracemalloc.get_traced_memory()
    minutes = seconds / 60
    return {
        "cpu_s_per_min": cpu / minutes,
        "requests_per_run_per_min": requests / live_runs / minutes,
        "peak_mib": peak / 2**20,
    }


async def board_repaints(worker, presses: int) -> tuple[list[float], list[float]]:
    """(press -> idle, idle alone) in ms: waiting for idle costs something by itself, measured alongside."""
    from textual.app import App

    from calle_tui.ui.screens.board import RunsBoardScreen

    class BoardApp(App):
        def on_mount(self) -> None:
            self.push_screen(RunsBoardScreen(worker))

    times, idle = [], []
    app = BoardApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for i in range(presses):
            started = time.perf_counter()
            await pilot.pause()
            idle.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await pilot.press("down" if i % 20 < 10 else "up")
            await pilot.pause()
            times.append((time.perf_counter() - started) * 1000)
    return times, idle


async def main(runs: int, seconds: float, presses: int) -> None:
    from calle_tui.core.auth.secret_store import MemoryStore
    from calle_tui.core.events import SignInNeeded, ToolsListed
    from calle_tui.core.settings import Settings
    from calle_tui.core.worker import CalleWorker

    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_sandbox(Path(tmp))
        try:
            settings = Settings(url=f"{base}/mcp", state_path=Path(tmp) / "state", login="auto-follow")
            worker = CalleWorker(settings, secret_store=MemoryStore(), login_flow="auto-follow")
            seen: asyncio.Queue = asyncio.Queue()
            worker.subscribe(lambda e: seen.put_nowait(e) if isinstance(e, ToolsListed | SignInNeeded) else None)
            await worker.start()
            if isinstance(await seen.get(), SignInNeeded):
                await worker.sign_in("auto-follow")
            tracemalloc.start()

            await place(worker, 1, 0)
            one = await window(base, seconds, 1)
            await asyncio.sleep(max(0.0, 100 - seconds))  # the one call ends (96 s): the next window is the N new
            await place(worker, runs, 1)
            many = await window(base, seconds, runs)
            repaint, idle = (sorted(t) for t in await board_repaints(worker, presses))
            await worker.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    p95 = repaint[int(len(repaint) * 0.95) - 1]
    print(f"following {runs} live calls vs 1, {seconds:.0f} s window each, one run:")
    for key, label in (("cpu_s_per_min", "app CPU s/min"), ("requests_per_run_per_min", "requests per run per min"),
                       ("peak_mib", "peak traced memory MiB")):  # fmt: skip
        ratio = many[key] / one[key] if one[key] else float("nan")
        print(f"  {label:<26} 1 run {one[key]:8.2f}   {runs} runs {many[key]:8.2f}   ratio {ratio:6.2f}x")
    print(f"  board key press -> idle (repaint), {len(repaint)} presses with {runs} live calls: "
          f"median {statistics.median(repaint):.1f} ms, p95 {p95:.1f} ms (goal < 50 ms); "
          f"waiting for idle alone: median {statistics.median(idle):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--presses", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.runs, min(args.seconds, 90.0), args.presses))
