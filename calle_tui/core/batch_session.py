"""One batch from a JSONL file, as the batch screen drives it: read and check the file, plan every line
(plan_call only), then, after the person's one confirmation, send each ready line's one run_call and keep
the result files. No Textual here: the screen shows what this holds and calls its steps.

Safety, in this order of the steps:
- planning uses nothing but `worker.plan` (core/batch_plan.py): no call can be placed in step 1;
- only lines whose plan is ready are ever sent, each with its own plan's confirm_token, once
  (core/batch_send.py; the worker journals every attempt before it is sent);
- `send()` runs at most once per session, whatever the screen asks;
- the result files never see a confirm_token (core/batch_results.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calle_tui.core.batch_file import BatchFile, read_batch_file
from calle_tui.core.batch_plan import DEFAULT_CONCURRENCY, PlannedLine, plan_lines
from calle_tui.core.batch_results import BatchResults, ResultLine
from calle_tui.core.batch_send import BatchSender, SendLine
from calle_tui.core.clock import Clock
from calle_tui.core.contract import PlanCallResult


class BatchSession:
    def __init__(self, worker: Any, path: str | Path, *, clock: Clock, exports_dir: Path) -> None:
        self.worker = worker
        self.path = Path(path)
        self.clock = clock
        self.exports_dir = Path(exports_dir)
        self.file: BatchFile | None = None
        self.planned: list[PlannedLine] = []
        self.sender: BatchSender | None = None
        self.results: BatchResults | None = None
        self._sent = False

    async def load(self) -> BatchFile:
        """Read and check the file off the event loop. Raises BatchFileError (one sentence)."""
        self.file = await asyncio.to_thread(read_batch_file, self.path)
        return self.file

    async def plan(self, on_progress: Callable[[int, int], None] | None = None) -> list[PlannedLine]:
        """plan_call for every line (bounded concurrency), reporting (done, total) as answers come."""
        assert self.file is not None, "load() first"
        lines = list(self.file.lines)
        done = 0

        class Counting:
            def __init__(self, worker: Any) -> None:
                self.worker = worker

            async def plan(self, request: Any) -> Any:
                nonlocal done
                try:
                    return await self.worker.plan(request)
                finally:
                    done += 1
                    if on_progress is not None:
                        on_progress(done, len(lines))

        self.planned = await plan_lines(Counting(self.worker), lines, concurrency=DEFAULT_CONCURRENCY)
        return self.planned

    def ready(self) -> list[PlannedLine]:
        return [p for p in self.planned if p.state == "ready" and p.result is not None and p.result.plan_id]

    def destinations(self) -> list[tuple[int, tuple[str, ...]]]:
        """(line, numbers) of every call the confirmation would place: what the person confirms."""
        return [(line, phones) for line, phones, _plan in self.to_confirm()]

    def to_confirm(self) -> list[tuple[int, tuple[str, ...], PlanCallResult]]:
        """(line, numbers, plan) of every call the confirmation would place, with its plan (for its time)."""
        out = []
        for p in self.ready():
            assert p.result is not None
            phones = tuple(p.result.plan.to_phones) if p.result.plan and p.result.plan.to_phones else ()
            out.append((p.line.line, phones or tuple(p.line.request.to_phones or ()), p.result))
        return out

    async def send(self, on_change: Callable[[SendLine], None] | None = None) -> list[SendLine]:
        """Step 2, once: one run_call per ready line (one live call at a time), with the result files."""
        if self._sent:
            raise RuntimeError("a batch is sent once")
        self._sent = True
        lines = []
        for p in self.ready():
            assert p.result is not None and p.result.plan_id and p.result.confirm_token
            lines.append(SendLine(p.line.line, p.result.plan_id, p.result.confirm_token))
        stamp = datetime.fromtimestamp(self.clock.now(), UTC).strftime("%Y%m%d-%H%M%S")
        folder = self.exports_dir / f"batch-{self.path.stem}-{stamp}"
        shown = dict(self.destinations())
        given = [self._result_line(p, shown) for p in self.planned]
        if self.file is not None:
            planned_lines = {p.line.line for p in self.planned}
            invalid = sorted({problem.line for problem in self.file.problems} - planned_lines)
            given += [ResultLine(n, (), None, "invalid") for n in invalid if n > 0]
        self.results = await asyncio.to_thread(BatchResults, folder, given, clock=self.clock.now)
        unsubscribe = self.worker.subscribe(self.results.on_event)
        self.sender = BatchSender(self.worker, lines, clock=self.clock, on_change=on_change)
        try:
            return await self.sender.run()
        finally:
            unsubscribe()

    @staticmethod
    def _result_line(p: PlannedLine, shown: dict[int, tuple[str, ...]]) -> ResultLine:
        ready = p.state == "ready" and p.result is not None
        return ResultLine(
            p.line.line,
            shown.get(p.line.line, tuple(p.line.request.to_phones or ())),
            p.result.plan_id if ready and p.result is not None else None,
            "planned" if ready else p.state,
        )

    def stop(self) -> None:
        """Send no further line; calls already placed go on and are followed."""
        if self.sender is not None:
            self.sender.stop()
