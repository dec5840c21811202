"""One batch from a JSONL file, as the batch screen drives it: read and check the file, plan every line
(plan_call only), then, after the person's one confirmation, send each ready line's one run_call and keep
the result files. No Textual here: the screen shows what this holds and calls its steps.

Safety, in this order of the steps:
- planning uses nothing but `worker.plan` (core/batch/plan.py): no call can be placed in step 1;
- only lines whose plan is ready are ever sent, each with its own plan's confirm_token, once
  (core/batch/send.py; the worker journals every attempt before it is sent);
- `send()` runs at most once per session, whatever the screen asks, and never while a line is being
  planned again; after it, no line's plan changes (answers and skips are refused);
- the result files and the saved plans never see a confirm_token (core/batch/results.py, save_plans).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calle_tui.core.batch.file import BatchFile, read_batch_file
from calle_tui.core.batch.plan import DEFAULT_CONCURRENCY, PlannedLine, plan_line, plan_lines
from calle_tui.core.batch.results import BatchResults, ResultLine
from calle_tui.core.batch.send import BatchSender, SendLine
from calle_tui.core.store.private import private_dir, write_private_text
from calle_tui.core.support.clock import Clock
from calle_tui.core.wire.contract import PlanCallResult
from calle_tui.core.wire.values import scrub, unsaid
from calle_tui.core.worker_api import PlanRequest

PLANS = "plans.jsonl"


class BatchLocked(Exception):
    """The batch was sent (or is being sent): its plans are final. str(exc) is one sentence safe to show."""


class BatchSession:
    def __init__(self, worker: Any, path: str | Path, *, clock: Clock, exports_dir: Path, max_active: int = 1) -> None:
        self.worker = worker
        self.max_active = max(1, max_active)  # calls live at once: production's default line allows one
        self.path = Path(path)
        self.clock = clock
        self.exports_dir = Path(exports_dir)
        self.file: BatchFile | None = None
        self.planned: list[PlannedLine] = []
        self.sender: BatchSender | None = None
        self.results: BatchResults | None = None
        self._sent = False
        self._busy: set[int] = set()  # lines being planned again (answers, a retry)
        self._folder: Path | None = None

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

    # --- between step 1 and step 2: answer, retry or skip one line ------------------------------------

    def planned_line(self, number: int) -> PlannedLine | None:
        return next((p for p in self.planned if p.line.line == number), None)

    @property
    def busy(self) -> bool:
        return bool(self._busy)

    def is_busy(self, number: int) -> bool:
        return number in self._busy

    async def answer(self, number: int, request: PlanRequest) -> PlannedLine:
        """plan_call again for one line (its answers, or the file's request once more after an error): the
        line's plan is replaced by the new one. plan_call only: nothing can ring. Raises BatchLocked once sent."""
        current = self._changeable(number)
        if number in self._busy:
            raise BatchLocked(f"Line {number} is already being planned.")
        self._busy.add(number)
        try:
            new = await plan_line(self.worker, current.line, request)
        finally:
            self._busy.discard(number)
        if self._sent:  # sent while this plan was made (send waits for none): the batch stays as confirmed
            raise BatchLocked("The batch was sent: this line's new plan was not used.")
        self._replace(new)
        return new

    async def replan(self, number: int) -> PlannedLine:
        """The file's own request once more, e.g. after plan_call failed for this line."""
        current = self._changeable(number)
        return await self.answer(number, current.asked or current.line.request)

    def skip(self, number: int) -> PlannedLine:
        """Skip the line (it is never sent), or take it back when it was skipped."""
        current = self._changeable(number)
        new = dataclasses.replace(current, skipped=not current.skipped)
        self._replace(new)
        return new

    def _changeable(self, number: int) -> PlannedLine:
        if self._sent:
            raise BatchLocked("The batch was sent: its plans can no longer change.")
        current = self.planned_line(number)
        if current is None:
            raise KeyError(number)
        return current

    def _replace(self, new: PlannedLine) -> None:
        self.planned = [new if p.line.line == new.line.line else p for p in self.planned]

    # --- the plans, kept ------------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """This batch's folder in the exports folder: the saved plans and the results files share it."""
        if self._folder is None:
            stamp = datetime.fromtimestamp(self.clock.now(), UTC).strftime("%Y%m%d-%H%M%S")
            self._folder = self.exports_dir / f"batch-{self.path.stem}-{stamp}"
        return self._folder

    async def save_plans(self) -> Path:
        """Write plans.jsonl (0600 in a 0700 folder), one record per line of the file, and return its path.
        Nothing is called; a confirm token is never written (a plan is confirmed in this app or not at all)."""
        records = self.plan_records()
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        path = self.folder / PLANS

        def write() -> None:
            private_dir(self.folder)
            write_private_text(path, text, prefix=".plans-")

        await asyncio.to_thread(write)
        return path

    def plan_records(self) -> list[dict[str, Any]]:
        records: list[tuple[int, dict[str, Any]]] = []
        for p in self.planned:
            result = p.result
            plan: Any = None
            if result is not None:
                dumped = result.model_dump(mode="json", exclude={"confirm_token"})
                plan = unsaid(scrub(dumped), result.confirm_token)
            record = {
                "line": p.line.line,
                "state": p.state,
                "destinations": list(p.destinations),
                "plan_id": result.plan_id if result is not None else None,
                "questions": p.questions,
                "message": p.error or p.server_message,
                "ignored_fields": list(p.line.ignored_fields),
                "plan": plan,
            }
            records.append((p.line.line, record))
        for number in self._invalid_lines():
            problems = self.file.problems_on(number) if self.file is not None else []
            records.append((number, {"line": number, "state": "invalid", "problems": problems}))
        return [r for _n, r in sorted(records, key=lambda item: item[0])]

    # --- step 2 ---------------------------------------------------------------------------------------

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
            out.append((p.line.line, p.destinations, p.result))
        return out

    async def send(self, on_change: Callable[[SendLine], None] | None = None) -> list[SendLine]:
        """Step 2, once: one run_call per ready line (one live call at a time), with the result files."""
        if self._sent:
            raise RuntimeError("a batch is sent once")
        if self._busy:
            raise BatchLocked("A line is still being planned: wait for its plan, then confirm again.")
        self._sent = True
        lines = []
        for p in self.ready():
            assert p.result is not None and p.result.plan_id and p.result.confirm_token
            lines.append(SendLine(p.line.line, p.result.plan_id, p.result.confirm_token))
        folder = self.folder
        given = [self._result_line(p) for p in self.planned]
        given += [ResultLine(n, (), None, "invalid") for n in self._invalid_lines() if n > 0]
        self.results = await asyncio.to_thread(BatchResults, folder, given, clock=self.clock.now)
        unsubscribe = self.worker.subscribe(self.results.on_event)
        self.sender = BatchSender(self.worker, lines, clock=self.clock, max_active=self.max_active, on_change=on_change)
        try:
            return await self.sender.run()
        finally:
            unsubscribe()

    def _invalid_lines(self) -> list[int]:
        """The file's lines that could not be planned at all (each has its problems), in order."""
        if self.file is None:
            return []
        planned_lines = {p.line.line for p in self.planned}
        return sorted({problem.line for problem in self.file.problems} - planned_lines)

    @staticmethod
    def _result_line(p: PlannedLine) -> ResultLine:
        ready = p.state == "ready" and p.result is not None
        return ResultLine(
            p.line.line,
            p.destinations,
            p.result.plan_id if ready and p.result is not None else None,
            "planned" if ready else p.state,
        )

    def stop(self) -> None:
        """Send no further line; calls already placed go on and are followed."""
        if self.sender is not None:
            self.sender.stop()
