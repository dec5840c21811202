"""Simulated phone calls. A run's state is a pure function of (run record, now): nothing ticks in the
background, so tests move a fake clock instead of sleeping, and a restarted sandbox picks up exactly where
the clock says the call is.

The outcome is chosen by the destination's last digit (the first destination when there are several):

    0-4  completed   (a short conversation, about 95 simulated seconds)
    5    no_answer   (rings for about 37 s)
    6    busy
    7    voicemail   (leaves a message)
    8    failed      (the carrier rejects the number)
    9    completed   with exactly 1,000 activity entries (a marathon call, for pagination tests;
                     SandboxConfig.marathon_entries sets another length)

Simulated time runs `speed` times faster than the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from calle_tui.core.wire.status import TERMINAL

MARATHON_ENTRIES = 1000


@dataclass(frozen=True)
class Event:
    offset: float  # simulated seconds after the call starts
    type: str  # status | speech | note
    text: str
    status: str | None = None  # the run's status from this event on
    speaker: str | None = None  # "agent" / "callee" on speech


def scenario_for(phone: str) -> str:
    digit = phone[-1] if phone and phone[-1].isdigit() else "0"
    return {
        "5": "no_answer",
        "6": "busy",
        "7": "voicemail",
        "8": "failed",
        "9": "marathon",
    }.get(digit, "completed")


def _opening(phone: str) -> list[Event]:
    return [
        Event(0, "status", "Call queued.", "queued"),
        Event(3, "status", f"Dialing {phone}.", "dialing"),
        Event(8, "status", "Ringing.", "ringing"),
    ]


def _conversation(goal: str, language: str) -> list[tuple[str, str]]:
    lines = [
        ("agent", "Hello, this is CALL-E, an automated assistant calling on behalf of my client."),
        ("callee", "Hi, yes, how can I help you?"),
        ("agent", f"I'm calling about the following: {goal}"),
        ("callee", "Let me look into that for you. One moment, please."),
        ("callee", "All right, that's taken care of."),
        ("agent", "Thank you. Could you confirm that once more, so I can pass it on?"),
        ("callee", "Yes, confirmed. Anything else?"),
        ("agent", "No, that's everything. Thank you very much, goodbye."),
        ("callee", "Goodbye!"),
    ]
    if language and language.lower() != "english":
        lines.insert(0, ("agent", f"(The call is held in {language}; the transcript is shown in English.)"))
    return lines


def timeline(run: dict[str, Any]) -> list[Event]:
    """Every event the call will ever produce, in order. Depends only on the run record."""
    phone = run["to_phones"][0]
    goal = run.get("goal") or ""
    language = run.get("language") or "English"
    scenario = run.get("scenario") or scenario_for(phone)
    events: list[Event] = []
    if run.get("scheduled_at"):
        events.append(Event(-1, "status", f"Call scheduled for {run['scheduled_at']}.", "scheduled"))
    events += _opening(phone)
    if scenario == "completed":
        events.append(Event(20, "status", "The call was answered.", "in_progress"))
        for i, (speaker, text) in enumerate(_conversation(goal, language)):
            events.append(Event(24 + i * 8, "speech", text, None, speaker))
        events.append(Event(24 + len(_conversation(goal, language)) * 8, "status", "Call completed.", "completed"))
    elif scenario == "marathon":
        events.append(Event(20, "status", "The call was answered.", "in_progress"))
        turns = max(0, int(run.get("marathon_entries") or MARATHON_ENTRIES) - len(events) - 1)
        for i in range(turns):
            speaker = "agent" if i % 2 == 0 else "callee"
            events.append(Event(21 + i, "speech", f"Line {i + 1} of a very long conversation.", None, speaker))
        events.append(Event(21 + turns, "status", "Call completed after a long conversation.", "completed"))
    elif scenario == "no_answer":
        events.append(Event(45, "status", "No one answered after 37 seconds of ringing.", "no_answer"))
    elif scenario == "busy":
        events.append(Event(9, "status", "The line is busy.", "busy"))
    elif scenario == "voicemail":
        events.append(Event(30, "note", "Reached a voicemail greeting.", "in_progress"))
        message = (
            f"Hello, this is CALL-E calling on behalf of my client about: {goal} Please call back when you can. Thank you."
        )
        events.append(Event(36, "speech", message, None, "agent"))
        events.append(Event(50, "status", "Left a voicemail message.", "voicemail"))
    else:  # failed
        events.append(Event(6, "status", "The carrier rejected the call: the number is not in service.", "failed"))
    return events


@dataclass(frozen=True)
class RunState:
    status: str
    terminal: bool
    visible: list[Event]  # events that have happened by now, in order
    next_event_in: float | None  # clock seconds until the next event, None when terminal
    starts_in: float  # clock seconds until the call starts (0 once started)


def state_at(run: dict[str, Any], now: float, events: list[Event] | None = None) -> RunState:
    events = events if events is not None else timeline(run)
    speed = max(float(run.get("speed") or 1.0), 1e-6)
    elapsed = (now - float(run["start_at"])) * speed  # simulated seconds since the call started
    visible = [e for e in events if e.offset <= elapsed or e.offset < 0]
    status = "queued"
    for event in visible:
        if event.status:
            status = event.status
    terminal = status in TERMINAL
    upcoming = [e for e in events if e.offset > elapsed]
    next_in = None if terminal or not upcoming else (upcoming[0].offset - elapsed) / speed
    return RunState(status, terminal, visible, next_in, max(0.0, float(run["start_at"]) - now))


def entry_time(run: dict[str, Any], event: Event) -> str:
    speed = max(float(run.get("speed") or 1.0), 1e-6)
    ts = float(run["created_at"]) if event.offset < 0 else float(run["start_at"]) + event.offset / speed
    return datetime.fromtimestamp(ts, tz=UTC).isoformat()


def outcome(run: dict[str, Any], status: str, events: list[Event]) -> tuple[str, dict[str, Any]]:
    phone = run["to_phones"][0]
    goal = run.get("goal") or ""
    speed = max(float(run.get("speed") or 1.0), 1e-6)
    answered = next((e.offset for e in events if e.status == "in_progress"), None)
    ended = events[-1].offset
    summary = {
        "completed": f"Reached {phone} and handled the request: {goal}",
        "no_answer": f"No one answered at {phone}. Nothing was done; you may try again later.",
        "busy": f"The line at {phone} was busy. Nothing was done; you may try again later.",
        "voicemail": f"Reached voicemail at {phone} and left a message about: {goal}",
        "failed": f"The call to {phone} could not be placed: the number is not in service.",
    }.get(status, f"The call ended with status {status}.")
    details = {
        "outcome": status,
        "destination": phone,
        "destinations": list(run["to_phones"]),
        "language": run.get("language"),
        "goal": goal,
        "talk_seconds": round((ended - answered), 1) if answered is not None else 0,
        "simulated_seconds": round(ended, 1),
        "clock_seconds": round(ended / speed, 1),
        "sandbox": True,
    }
    return summary, details
