"""How fast the run monitor appends to a long transcript, next to a bare Textual `Log` doing the same.

Run: `.venv/bin/python benchmarks/bench_monitor.py [--rounds 30] [--lines 10000] [--batch 100]`

Both widgets first hold `--lines` lines; then each round appends `--batch` more and waits until the app is
idle again (the message queue drained and the screen refreshed), in the same app, same terminal size:
  event    the monitor as a person sees it: worker event with speech entries -> WorkerEventMessage ->
           MonitorScreen handler -> TranscriptLog (wrap, speaker colours)
  log      textual.widgets.Log.write_lines(...) of the same text
Prints the median and p90 per append in milliseconds and the monitor / Log ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Log

from calle_tui.core.events import RunUpdate
from calle_tui.core.wire.contract import ActivityEntry, GetCallRunResult
from calle_tui.ui.runs.transcript import TranscriptLog
from calle_tui.ui.screens.monitor import MonitorScreen

RUN_ID = "bench-run"
TEXT = "Thanks for holding. I can confirm the table for two at seven tonight, by the window as requested."


class _Worker:
    """Just enough of WorkerAPI for the monitor: it subscribes, reads the (empty) journal and follows."""

    server_url = "https://bench.invalid/mcp"

    def __init__(self) -> None:
        self.subscribers: list[Callable] = []

    def subscribe(self, callback: Callable) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, event) -> None:
        for callback in list(self.subscribers):
            callback(event)

    def run_view(self, run_id: str) -> None:
        return None  # nothing stored: a new run

    def follow(self, run_id: str) -> None:
        pass

    async def refresh_now(self, run_id: str) -> bool:
        return False


class _LogScreen(Screen):
    def compose(self) -> ComposeResult:
        yield Log(id="bare-log")


class _BenchApp(App):
    def __init__(self, worker: _Worker) -> None:
        super().__init__()
        self.worker = worker

    def on_mount(self) -> None:
        self.push_screen(MonitorScreen(self.worker, RUN_ID))  # type: ignore[arg-type]


def _entries(start: int, count: int) -> list[ActivityEntry]:
    return [
        ActivityEntry(id=f"e{i}", type="speech", speaker="agent" if i % 2 else "callee", text=f"{i}: {TEXT}")
        for i in range(start, start + count)
    ]


def _update(entries: list[ActivityEntry]) -> RunUpdate:
    return RunUpdate(
        run_id=RUN_ID,
        status="in_progress",
        poll_state="waiting",
        new_activity=tuple(entries),
        result=GetCallRunResult(run_id=RUN_ID, status="in_progress"),
    )


async def _time(pilot, action: Callable[[], None]) -> tuple[float, float]:
    """(ms inside the call, ms until the app is idle again: handled, laid out, rendered)."""
    await pilot.pause()
    started = time.perf_counter()
    action()
    called = time.perf_counter()
    await pilot.pause()
    return (called - started) * 1000, (time.perf_counter() - started) * 1000


async def run(rounds: int, lines: int, batch: int, size: tuple[int, int]) -> dict[str, list[float]]:
    worker = _Worker()
    app = _BenchApp(worker)
    timings: dict[str, list[tuple[float, float]]] = {"idle": [], "event": [], "log": []}
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        monitor: MonitorScreen = app.screen  # type: ignore[assignment]
        worker.emit(_update(_entries(0, lines)))
        await pilot.pause()
        transcript = monitor.query_one(TranscriptLog)
        assert transcript.turn_count == lines

        log_screen = _LogScreen()
        app.install_screen(log_screen, "bare-log")  # installed: popping it keeps the Log alive
        await app.push_screen("bare-log")
        log = log_screen.query_one(Log)
        log.write_lines([f"callee: {i}: {TEXT}" for i in range(lines)])
        await pilot.pause()

        next_id = lines
        for _ in range(rounds):
            timings["idle"].append(await _time(pilot, lambda: None))  # what waiting for idle costs by itself
            # the bare Log, on its own screen
            text = [f"agent: {i}: {TEXT}" for i in range(next_id, next_id + batch)]
            timings["log"].append(await _time(pilot, lambda text=text: log.write_lines(text)))
            app.pop_screen()
            await pilot.pause()
            # the monitor, through the worker event path
            update = _update(_entries(next_id, batch))
            timings["event"].append(await _time(pilot, lambda update=update: worker.emit(update)))
            next_id += batch
            await app.push_screen("bare-log")
            await pilot.pause()
        assert transcript.turn_count == lines + rounds * batch
    return timings


def _median(values: list[tuple[float, float]], which: int) -> float:
    return statistics.median(v[which] for v in values)


def _p90(values: list[tuple[float, float]], which: int) -> float:
    ordered = sorted(v[which] for v in values)
    return ordered[max(0, int(len(ordered) * 0.9) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    args = parser.parse_args()
    timings = asyncio.run(run(args.rounds, args.lines, args.batch, (args.width, args.height)))
    print(
        f"append {args.batch} entries to a {args.lines:,}-line transcript, {args.rounds} rounds, {args.width}x{args.height}"
    )
    idle = _median(timings["idle"], 1)
    print(f"  {'':8} {'call (median/p90)':>22} {'until idle (median/p90)':>26} {'minus idle wait':>16}")
    for name in ("idle", "event", "log"):
        t = timings[name]
        print(
            f"  {name:8} {_median(t, 0):10.2f} /{_p90(t, 0):7.2f} ms {_median(t, 1):13.2f} /{_p90(t, 1):7.2f} ms"
            f" {_median(t, 1) - idle:13.2f} ms"
        )
    log_total = _median(timings["log"], 1) - idle
    evt_total = _median(timings["event"], 1) - idle
    print(f"  ratio monitor (event path)/Log until idle (net) {evt_total / max(log_total, 1e-9):.2f}x")


if __name__ == "__main__":
    main()
