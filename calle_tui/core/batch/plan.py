"""Step 1 of a batch: plan every line (plan_call only, through the worker), a few at a time.

Planning is slow (the vendor waits up to 150 s for one plan_call) and the server is shared, so at most
`concurrency` plans are in flight. Nothing here can place a call: the only worker method used is plan().
Results come back in the file's order whatever order the answers arrive in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from calle_tui.core.batch.file import BatchLine
from calle_tui.core.support.secrets import mask_known_secrets as safe_text
from calle_tui.core.worker_api import PlanRequest, WorkerError

if TYPE_CHECKING:
    from calle_tui.core.wire.contract import PlanCallResult

log = logging.getLogger("calle_tui.batch")

DEFAULT_CONCURRENCY = 2
PlanState = Literal["ready", "questions", "not_ready", "error", "skipped"]


class Planner(Protocol):
    async def plan(self, request: PlanRequest) -> PlanCallResult: ...


@dataclass(frozen=True)
class PlannedLine:
    line: BatchLine
    result: PlanCallResult | None = None
    error: str = ""  # a sentence safe to show, when plan_call failed
    skipped: bool = False  # the person chose not to call this line: it is never sent
    asked: PlanRequest | None = None  # the request this plan answered, when not the file's own (answers)

    @property
    def state(self) -> PlanState:
        if self.skipped:
            return "skipped"
        if self.result is None:
            return "error"
        if self.result.ready_to_run:
            return "ready"
        return "questions" if self.questions else "not_ready"

    @property
    def destinations(self) -> tuple[str, ...]:
        """Who this line would call: the plan's numbers, else the file's, else those typed as an answer."""
        plan = self.result.plan if self.result is not None else None
        if plan is not None and plan.to_phones:
            return tuple(plan.to_phones)
        asked = self.asked.to_phones if self.asked is not None else None
        return tuple(self.line.request.to_phones or asked or ())

    @property
    def questions(self) -> list[str]:
        if self.result is None or self.result.ready_to_run:
            return []
        return [safe_text(m.question or m.field) for m in self.result.missing]

    @property
    def server_message(self) -> str:
        """What the server said about a plan that is not ready and asks nothing (production may do that)."""
        if self.result is None:
            return ""
        step = self.result.next_step.message if self.result.next_step else ""
        return safe_text(" ".join((self.result.message or step or "").split()))


async def plan_lines(
    worker: Planner, lines: Sequence[BatchLine], *, concurrency: int = DEFAULT_CONCURRENCY
) -> list[PlannedLine]:
    """plan_call for each line, at most `concurrency` at once; one PlannedLine per line, in file order."""
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(line: BatchLine) -> PlannedLine:
        async with gate:
            return await plan_line(worker, line, line.request)

    return list(await asyncio.gather(*(one(line) for line in lines)))


async def plan_line(worker: Planner, line: BatchLine, request: PlanRequest) -> PlannedLine:
    """One plan_call for a line (its own request, or the answers to its questions); never raises."""
    asked = None if request is line.request else request
    try:
        return PlannedLine(line, result=await worker.plan(request), asked=asked)
    except WorkerError as exc:
        return PlannedLine(line, error=safe_text(exc.message) or "plan_call failed.", asked=asked)
    except Exception as exc:  # one line's failure must not stop the others or show a traceback
        log.error("planning line %d failed", line.line, exc_info=exc)
        return PlannedLine(line, error="Planning failed unexpectedly.", asked=asked)
