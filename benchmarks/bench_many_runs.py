"""Following many calls at once versus one: the app's CPU time per minute, requests per run per minute,
the board's key-press-to-repaint time and peak memory, measured in one run and quoted as ratios.

One local sandbox in its own process (so its CPU is not counted as ours), `calle` dialect, speed 1: calls
whose number ends in 0-4 take 96 s, so every call stays live through a window of up to 90 s. One real
CalleWorker (OAuth, journal, followers, the global request budget) follows first 1 call, then N calls, for
the same window each. Requests are counted by the sandbox (`/_sandbox/stats`). Once those N calls have
ended, N new ones are placed and, while all N are live, the runs board is opened headless on the same worker
(with the app's stylesheets, and without tracemalloc, which slows every allocation 3-4x). Keys are pressed
again and again, each once the app is idle: down/up (the cursor), then `/` and typing in the filter ("0",
"5", backspace, backspace: every row, the few that hold "05", every row). The repaint time is from the key reaching
the app (sent through the headless driver, as a terminal's key is) to the first frame written that shows its
effect (the cursor on the next row; the filter box holding the new text and the table exactly the rows that
match it). The followers keep polling meanwhile, and their reports are painted as they come. Textual may
write one more frame after that one (a layout repaints the table's scrollbar a frame later), not counted.

The previous figure, the pilot's `press()` then `pause()` until the app is idle, is printed too: it waits for
three 20 ms windows with less than 1 ms of CPU (Textual's wait_for_idle), so it is 60 ms at the very least
and counts the followers' CPU; it does not time the repaint.

Run: .venv/bin/python benchmarks/bench_many_runs.py [--runs 50] [--seconds 90] [--presses 100]
The app settles its heap once connected (core/support/heap.py: one collection, then gc.freeze), so the garbage
collector's full passes, which run every few seconds while the followers poll, walk only what was made
since; this script does the same at the same point, and times the board a second time after gc.unfreeze()
to show the difference side by side.

Goals (issue 10): requests per run per minute within the seed's cadence (one poll per 5-10 s, so 6-12
per run-minute, fewer when the server asks for longer), p95 repaint under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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


async def board_repaints(worker, presses: int) -> dict[str, list[float]]:
    """ms per press: "cursor" and "filter" (key -> painted frame), "pilot" (pilot press + pause, the old way)."""
    from textual import events
    from textual.app import App
    from textual.widgets import DataTable, Input

    from calle_tui.ui.app import _css_paths
    from calle_tui.ui.screens.board import RunsBoardScreen

    class BoardApp(App):
        CSS_PATH = _css_paths()

        def on_mount(self) -> None:
            self.push_screen(RunsBoardScreen(worker))

    times: dict[str, list[float]] = {"cursor": [], "filter": [], "pilot": []}
    app = BoardApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        table, box = screen.query_one(DataTable), screen.query_one("#board-filter", Input)
        waiting: dict = {}
        display = app._display

        def displayed(on_screen, update) -> None:  # every frame the compositor renders goes through here
            display(on_screen, update)
            handled = waiting.get("handled")
            if update is not None and handled is not None and handled():
                waiting.pop("handled")
                waiting.pop("painted").set_result(time.perf_counter())

        app._display = displayed

        async def press(key: str, handled) -> float:
            await pilot.pause()  # from an idle app: what was queued before is not this key's
            waiting.update(handled=handled, painted=asyncio.get_running_loop().create_future())
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            started = time.perf_counter()
            app._driver.send_message(event)
            return (await asyncio.wait_for(waiting["painted"], 10) - started) * 1000

        def filtered(value: str) -> bool:  # the box shows the value and the table holds the rows it matches
            needle = value.strip()
            matching = [run_id for run_id, row in screen.rows.items() if not needle or row.matches(needle)]
            return box.value == value and [row.key.value for row in table.ordered_rows] == matching

        for i in range(presses):
            key = "down" if i % 20 < 10 else "up"
            row = table.cursor_row + (1 if key == "down" else -1)
            times["cursor"].append(await press(key, lambda row=row: table.cursor_row == row))
        await pilot.press("slash")
        for i in range(presses):
            key = ("0", "5", "backspace", "backspace")[i % 4]
            value = box.value + key if len(key) == 1 else box.value[:-1]
            times["filter"].append(await press(key, lambda value=value: filtered(value)))
        await pilot.press("escape", "escape")  # the filter cleared, the table focused
        for i in range(presses):
            await pilot.pause()
            started = time.perf_counter()
            await pilot.press("down" if i % 20 < 10 else "up")
            await pilot.pause()
            times["pilot"].append((time.perf_counter() - started) * 1000)
    return times


async def main(runs: int, seconds: float, presses: int) -> None:
    from calle_tui.core.auth.secret_store import MemoryStore
    from calle_tui.core.config.settings import Settings
    from calle_tui.core.events import SignInNeeded, ToolsListed
    from calle_tui.core.support.heap import settle
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
            settle()  # what the app does once connected (core/support/heap.py)
            tracemalloc.start()

            await place(worker, 1, 0)
            one = await window(base, seconds, 1)
            await asyncio.sleep(max(0.0, 100 - seconds))  # the one call ends (96 s): the next window is the N new
            await place(worker, runs, 1)
            many = await window(base, seconds, runs)
            tracemalloc.stop()  # it traces every allocation (3-4x slower): the repaints are timed without it
            # Those calls end now (96 s): the board is timed with N calls just placed, live throughout (the
            # ended ones stay on the board, below them).
            await asyncio.sleep(max(0.0, 100 - seconds))
            await place(worker, runs, 1 + runs)
            repaints = await board_repaints(worker, presses)
            # The same board again with the start-up objects back in the collector's full passes (gc.unfreeze):
            # what core/support/heap.py's settle() saves, side by side in this run.
            gc.unfreeze()
            unsettled = await board_repaints(worker, presses)
            await worker.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    print(f"following {runs} live calls vs 1, {seconds:.0f} s window each, one run:")
    for key, label in (("cpu_s_per_min", "app CPU s/min"), ("requests_per_run_per_min", "requests per run per min"),
                       ("peak_mib", "peak traced memory MiB")):  # fmt: skip
        ratio = many[key] / one[key] if one[key] else float("nan")
        print(f"  {label:<26} 1 run {one[key]:8.2f}   {runs} runs {many[key]:8.2f}   ratio {ratio:6.2f}x")
    for key, label in (("cursor", "key press -> repaint, down/up"), ("filter", "key press -> repaint, typing in /"),
                       ("pilot", "pilot press + pause (old measure)")):  # fmt: skip
        ms = sorted(repaints[key])
        goal = "" if key == "pilot" else " (goal < 50 ms)"
        print(f"  board {label:<34} {len(ms)} presses, {runs} live calls: median {statistics.median(ms):6.1f} ms, "
              f"p95 {p95(ms):6.1f} ms, max {ms[-1]:6.1f} ms{goal}")  # fmt: skip
    for key in ("cursor", "filter"):
        ms, before = sorted(repaints[key]), sorted(unsettled[key])
        print(
            f"  board {key} p95 without settle(): {p95(before):6.1f} ms, with: {p95(ms):6.1f} ms, "
            f"ratio {p95(ms) / p95(before):5.2f}x; max {before[-1]:6.1f} -> {ms[-1]:6.1f} ms"
        )


def p95(ms: list[float]) -> float:
    return ms[int(len(ms) * 0.95) - 1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--presses", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.runs, min(args.seconds, 90.0), args.presses))
