"""Canned plans, runs and events, and a tiny host app, for the run screens' tests (no network, fixed clock and
ids). The worker they talk to is the one fake, fake_worker.FakeWorker."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from fake_worker import SERVER_URL
from textual.app import App
from textual.screen import Screen

from calle_tui.core.events import RunFinished, RunUpdate
from calle_tui.core.wire.contract import (
    ActivityEntry,
    GetCallRunResult,
    MissingField,
    NextStep,
    PlanCallResult,
    PlanDetails,
    TranscriptTurn,
)
from calle_tui.core.worker_api import RunRecord

FIXED_START = datetime(2026, 6, 5, 9, 30, tzinfo=UTC)


class FakeClock:
    """An injectable clock the tests move by hand."""

    def __init__(self, start: datetime = FIXED_START) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def iso(delta_seconds: float = 0, start: datetime = FIXED_START) -> str:
    return (start + timedelta(seconds=delta_seconds)).isoformat()


def ready_plan(
    plan_id: str = "plan-1",
    phones: Iterable[str] = ("+14155550123",),
    goal: str = "Book a table for two at 7 pm today",
    language: str | None = "English",
    scheduled_at: str | None = None,
    expires_in: float = 900,
    **extra,
) -> PlanCallResult:
    return PlanCallResult(
        plan_id=plan_id,
        ready_to_run=True,
        confirm_token=f"token-for-{plan_id}",
        message="The plan is ready.",
        plan=PlanDetails(to_phones=list(phones), goal=goal, language=language, scheduled_at=scheduled_at),
        expires_at=iso(expires_in),
        next_step=NextStep(action="confirm_and_run"),
        **extra,
    )


def missing_plan(plan_id: str = "plan-1", missing: Iterable[tuple[str, str]] = ()) -> PlanCallResult:
    fields = [MissingField(field=f, question=q) for f, q in missing] or [
        MissingField(field="to_phones", question="Which number should we call? Include the country code."),
        MissingField(field="language", question="Which language should the call be in?"),
    ]
    return PlanCallResult(
        plan_id=plan_id,
        ready_to_run=False,
        missing=fields,
        message="A few details are missing.",
        plan=PlanDetails(goal="Book a table for two"),
        expires_at=iso(900),
        next_step=NextStep(action="ask_user"),
    )


class RunsHostApp(App):
    """Hosts one run screen with the determinism contract's attributes (as CalleApp provides them)."""

    def __init__(self, make_screen: Callable[[], Screen], *, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.clock = clock or FakeClock()
        self.display_tz = UTC
        self.cursor_blink = False
        self._make_screen = make_screen

    def on_mount(self) -> None:
        self.push_screen(self._make_screen())


# --- canned run events -----------------------------------------------------------------------------

RUN_ID = "run-7f3a"


def record(status: str = "queued", terminal: bool = False, scheduled_at: str | None = None) -> RunRecord:
    return RunRecord(
        run_id=RUN_ID,
        plan_id="plan-1",
        server_url=SERVER_URL,
        created_at=FIXED_START.timestamp(),
        to_phones=("+14155550123",),
        goal="Book a table for two at 7 pm today",
        status=status,
        terminal=terminal,
        scheduled_at=scheduled_at,
    )


def activity(count: int = 3, start: int = 0) -> tuple[ActivityEntry, ...]:
    kinds = [("status", "Call queued"), ("dialing", "Dialing +1 415-555-0123"), ("status", "Ringing")]
    out = []
    for i in range(start, start + count):
        kind, text = kinds[i % len(kinds)]
        out.append(ActivityEntry(id=f"a{i}", at=iso(60 + i * 5), type=kind, text=text))
    return tuple(out)


def speech(count: int, start: int = 0) -> tuple[ActivityEntry, ...]:
    speakers = ("agent", "callee")
    lines = (
        "Hello, I'm calling to book a table for two tonight at seven.",
        "Sure, let me check. Yes, we have a table by the window.",
    )
    return tuple(
        ActivityEntry(id=f"s{i}", at=iso(90 + i), type="speech", speaker=speakers[i % 2], text=lines[i % 2])
        for i in range(start, start + count)
    )


def final_result(status: str, **extra) -> GetCallRunResult:
    summaries = {
        "completed": "Booked a table for two at 19:00 under the name on file.",
        "no_answer": "Nobody answered after 30 seconds of ringing.",
        "busy": "The line was busy.",
        "voicemail": "Reached voicemail; no message was left.",
        "failed": "The call could not be connected.",
        "canceled": "The call was canceled before it connected.",
    }
    turns = [TranscriptTurn(at=t.at, speaker=t.speaker or "", text=t.text) for t in speech(4)]
    return GetCallRunResult(
        run_id=RUN_ID,
        status=status,
        terminal=True,
        activity=[],
        summary=summaries.get(status),
        details={"duration_seconds": 42} if status == "completed" else None,
        transcript=turns if status == "completed" else [],
        next_step=NextStep(action="done", message="Nothing more to do."),
        **extra,
    )


def finished(status: str, **extra) -> RunFinished:
    result = final_result(status, **extra)
    return RunFinished(run_id=RUN_ID, status=status, result=result, transcript=tuple(result.transcript or ()))


def update(
    status: str,
    poll_state: str,
    *,
    entries=(),
    next_poll_in: float | None = None,
    message: str = "",
    clock: FakeClock | None = None,
) -> RunUpdate:
    base = (clock or FakeClock())()
    return RunUpdate(
        run_id=RUN_ID,
        status=status,
        poll_state=poll_state,  # type: ignore[arg-type]
        new_activity=tuple(entries),
        next_poll_at=None if next_poll_in is None else base + next_poll_in,
        # As the real follower: only an update that comes from a poll carries the page it read.
        result=GetCallRunResult(run_id=RUN_ID, status=status, terminal=False)
        if poll_state in {"polling", "finished"}
        else None,
        message=message,
    )
