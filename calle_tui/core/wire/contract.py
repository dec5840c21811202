"""Pydantic models of the three CALL-E tools' inputs and outputs.

Shared by the sandbox (which produces exactly these shapes) and the client (which must also accept a real
server that differs). Output models are therefore tolerant: unknown fields are kept (``extra="allow"``) and
everything but the identifiers is optional. The client builds them only through dialect/replies.py, which
reads any reply into them and fails one only for a missing identifier. ``plan_id``, ``confirm_token`` and
``run_id`` are opaque strings: never parsed, never edited.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from calle_tui.core.wire.status import RunStatus, is_finished
from calle_tui.core.wire.wording import field_words

TOOL_NAMES = ("plan_call", "run_call", "get_call_run")
# CALL-E's tools that never place a call (the seed: plan_call only plans, get_call_run only reads).
SAFE_TOOL_NAMES = ("plan_call", "get_call_run")
# Names that sound like placing, starting or scheduling a call ("place_call", "start-call", "makePhoneCall",
# "dial", "schedule_call"...), matched on the name's letters only. A tool we know nothing about with such a
# name is treated like run_call.
_CALL_PLACING = re.compile(
    r"runcall|dial(?!og|ect)|(place|start|make|create|trigger|initiate|send|schedule|queue|book|begin|launch)"
    r"(an?|new|the|phone|outbound|voice|agent)*(call|phone)"
)


def places_calls(tool_name: str) -> bool:
    """True for a tool that may place a real phone call: run_call, and anything named like it. The doctor
    refuses to call these before it contacts any server."""
    letters = re.sub(r"[^a-z]", "", tool_name.lower())
    return bool(_CALL_PLACING.search(letters))


class _Input(BaseModel):
    """Tool inputs: strict about what we send (no extras), and None fields are never sent."""

    model_config = ConfigDict(extra="forbid")

    def to_arguments(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, mode="json")


class _Output(BaseModel):
    """Tool outputs: keep unknown fields so the UI can show what a real server adds."""

    model_config = ConfigDict(extra="allow")

    @property
    def extra_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


# --- shared pieces ---------------------------------------------------------------------------------


class NextStep(_Output):
    action: str = ""  # lower case: poll_get_call_run, report_result, done, ... ("" when only prose came)
    after_seconds: float | None = None  # poll_after_seconds in production's words
    message: str | None = None  # the server's instruction, in its words
    scheduled_at: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_word(cls, data: Any) -> Any:
        # Another server may say just "poll" or "done".
        return {"action": data} if isinstance(data, str) else data


class MissingField(_Output):
    field: str
    question: str

    @model_validator(mode="before")
    @classmethod
    def _tolerant(cls, data: Any) -> Any:
        # Other servers' shapes: a bare field name, or other key names. The field name is shown as it came.
        if isinstance(data, str):
            return {"field": data, "question": f"Missing: {field_words(data)}."}
        if isinstance(data, dict) and ("field" not in data or "question" not in data):
            data = dict(data)
            name = next((data[k] for k in ("field", "name", "key") if isinstance(data.get(k), str)), "")
            asks = ("question", "prompt", "message", "description")
            ask = next((data[k] for k in asks if isinstance(data.get(k), str) and data[k]), "")
            data.setdefault("field", name)
            data.setdefault("question", ask or (f"Missing: {field_words(name)}." if name else "Add more detail."))
        return data


class PlanDetails(_Output):
    to_phones: list[str] = Field(default_factory=list)
    region: str | None = None
    language: str | None = None
    goal: str | None = None
    scheduled_at: str | None = None  # ISO 8601 with offset; None means "as soon as possible"

    @field_validator("to_phones", mode="before")
    @classmethod
    def _one_number(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value  # one number given as a string


class ActivityEntry(_Output):
    # Another server may omit `id`: GetCallRunResult then derives one from the entry's content (derived_id).
    id: str = ""
    at: str | None = None  # ISO 8601
    type: str = "event"  # status | dialing | speech | note | ...
    text: str = ""
    speaker: str | None = None  # set on type == "speech": the live transcript is built from these
    status: str | None = None  # the run's status from this entry on, when the entry changed it (sandbox)

    @model_validator(mode="before")
    @classmethod
    def _tolerant(cls, data: Any) -> Any:
        if isinstance(data, str):  # a bare line of text
            return {"text": data}
        if isinstance(data, dict) and "id" in data:
            ident = data["id"]
            if ident is None:
                data = {k: v for k, v in data.items() if k != "id"}  # "id": null is no id
            elif isinstance(ident, int | float) and not isinstance(ident, bool):
                data = {**data, "id": str(ident)}  # a numeric id is still an id
        return data


class CallOutcome(_Output):
    """Whether the call's task was done, as the server judged it (production: result.outcome)."""

    task_completed: bool | None = None
    confidence_score: float | None = None
    confidence_label: str | None = None
    evidence: list[str] = Field(default_factory=list)


class TranscriptTurn(_Output):
    at: str | None = None
    speaker: str = ""
    text: str = ""


# --- plan_call -------------------------------------------------------------------------------------


class PlanCallInput(_Input):
    user_input: str = Field(description="The user's latest message, passed verbatim.")
    to_phones: list[str] | None = Field(
        default=None,
        description="Destination phone numbers in international form (+<country code>...), only when known.",
    )
    region: str | None = Field(default=None, description="Region hint, only when known.")
    language: str | None = Field(default=None, description="Call language, only when known.")
    goal: str | None = Field(default=None, description="Call goal or instruction, only when known.")
    scheduled_at: str | None = Field(
        default=None, description="Optional one-time execution time (ISO 8601 with offset), only when clear."
    )
    plan_id: str | None = Field(default=None, description="An existing plan identifier when refining a plan.")
    ttl_seconds: int | None = Field(default=None, description="Optional retention TTL for plan and run records.")


class PlanCallResult(_Output):
    plan_id: str | None = None
    ready_to_run: bool = False
    confirm_token: str | None = None
    missing: list[MissingField] = Field(default_factory=list)
    message: str = ""
    plan: PlanDetails | None = None
    expires_at: str | None = None
    next_step: NextStep | None = None
    # Production's additions: the call script after the planner rewrote it, and the sentence to confirm.
    display_goal: str | None = None
    confirm_summary: str | None = None
    confirm_expires_at: str | None = None
    notes: list[str] = Field(default_factory=list)  # fields the reader could not use, in plain words

    @field_validator("missing", mode="before")
    @classmethod
    def _missing_map(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, dict):  # {"to_phones": "Who should I call?"}
            return [{"field": k, **({"question": v} if isinstance(v, str) and v else {})} for k, v in value.items()]
        return value


# --- run_call --------------------------------------------------------------------------------------


class RunCallInput(_Input):
    plan_id: str = Field(description="The exact plan identifier returned by plan_call.")
    confirm_token: str = Field(description="The exact confirmation token returned by plan_call.")
    ttl_seconds: int | None = Field(default=None, description="Optional retention TTL override for the run.")


class RunCallResult(_Output):
    run_id: str
    status: str = RunStatus.QUEUED.value  # canonical (wire/status.py)
    status_text: str = ""  # the server's own word, for display
    scheduled_at: str | None = None
    next_step: NextStep | None = None
    message: str | None = None

    @property
    def is_terminal(self) -> bool:
        # Only run_call's status word can end a run here: its next_step is read from the first poll on.
        return is_finished(self.status)


# --- get_call_run ----------------------------------------------------------------------------------


class GetCallRunInput(_Input):
    run_id: str = Field(description="The run identifier returned by run_call.")
    cursor: str | None = Field(default=None, description="Pagination cursor from a previous response.")
    limit: int | None = Field(default=None, description="Maximum number of activity entries to return.")


class GetCallRunResult(_Output):
    run_id: str
    status: str = ""  # canonical (wire/status.py); "" when the server sent none
    status_text: str = ""  # the server's own word, for display
    terminal: bool | None = None
    activity: list[ActivityEntry] = Field(default_factory=list)
    next_cursor: str | None = None
    # Sandbox addition: where to resume next time even once caught up (next_cursor is then null), so a
    # poll asks only for what is new. A server without it: resume from the cursor of the last page.
    resume_cursor: str | None = None
    scheduled_at: str | None = None  # set while a scheduled run waits for its time
    summary: str | None = None
    details: dict[str, Any] | None = None
    transcript: list[TranscriptTurn] | None = None
    transcript_text: str | None = None  # the transcript as one string, when the server sent it so
    outcome: CallOutcome | None = None
    message: str | None = None  # e.g. production's "run_id not found."
    next_step: NextStep | None = None
    notes: list[str] = Field(default_factory=list)  # fields the reader could not use, in plain words

    @field_validator("activity", mode="before")
    @classmethod
    def _activity_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def is_terminal(self) -> bool:
        # A server that omits `terminal` still tells us through a final status, or through a next_step that
        # says the result is to be reported (production's report_result / report_blocked).
        step = self.next_step.action if self.next_step else ""
        return is_finished(self.status, terminal=self.terminal, next_action=step)

    @property
    def label(self) -> str:
        return self.status_text or self.status


# --- helpers ---------------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 -> aware datetime, or None when absent or unreadable (never guessed)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
