"""The readers of each tool's answer: the JSON object envelope.read_reply found in a reply in, normalised
models out (the envelope itself, refusals and prose are envelope.py's; its names are re-exported here).

Every other module reads only what these functions return (contract.py's output models, with canonical
statuses). Pure functions, no I/O, and total: whatever JSON they are given they return a model or raise
`Unreadable` naming the one identifier that was missing (`run_id` for a run, `plan_id` + `confirm_token`
only for a plan that says it is ready, and then it is read as not ready instead). Every other field that
cannot be read is kept for display under its own name (secrets scrubbed, see values.scrub) and named in
`notes`, while the rest of the reply is used.

Dialects covered (CALLE-DIALECT.md): our sandbox's reference shapes; production's upper-case statuses,
`clarifying_questions` / `questions` / `missing`, `{ts, message}` activity without ids, nested `result`
with `summary` / `post_summary`, string or list transcripts, `extracted.calling`, `outcome`, typed or prose
`next_step`; flat or nested error objects and JSON in any text block are envelope.py's.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from calle_tui.core.wire.activity import read_activity
from calle_tui.core.wire.contract import (
    ActivityEntry,
    CallOutcome,
    GetCallRunResult,
    MissingField,
    NextStep,
    PlanCallResult,
    PlanDetails,
    RunCallResult,
    TranscriptTurn,
)
from calle_tui.core.wire.envelope import ToolError, Unreadable, extract, is_error, read_tool_error, sentence
from calle_tui.core.wire.status import canonical_status, status_kind, status_label
from calle_tui.core.wire.transcript import read_turns
from calle_tui.core.wire.values import (
    MISSING,
    as_bool,
    as_identifier,
    as_number,
    as_object,
    as_text,
    iso,
    pick,
    scrub,
    shown,
    unsaid,
)
from calle_tui.core.wire.wording import field_words, in_peoples_words

__all__ = [
    "ToolError",
    "Unreadable",
    "canonical_status",
    "extract",
    "is_error",
    "read_plan",
    "read_run_page",
    "read_run_start",
    "read_tool_error",
    "status_kind",
    "status_label",
]


M = TypeVar("M", bound=BaseModel)


def _build(model: type[M], fields: dict[str, Any], extras: dict[str, Any]) -> M:
    """model(**fields, **extras) where an extra named like a field of the model is kept beside it."""
    known = set(model.model_fields)
    kept = {(f"{k}_as_sent" if k in known or k in fields else k): v for k, v in extras.items()}
    return model(**fields, **kept)


# --- next_step -------------------------------------------------------------------------------------


def read_next_step(value: Any, notes: list[str] | None = None) -> NextStep | None:
    """A typed object ({action, poll_after_seconds, instruction, ...}) or a string: one word is an action,
    prose is an instruction (production's plan_call sends prose)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if len(text) <= 40 and " " not in text:
            return NextStep(action=text.casefold())
        return NextStep(message=text)
    if not isinstance(value, dict):
        if notes is not None:
            notes.append(f"next_step: {shown(value, 120)}")
        return None
    action = as_text(pick(value, "action", "type", "name", "step")) or ""
    after = pick(value, "after_seconds", "poll_after_seconds", "poll_after", "retry_after_seconds", "delay_seconds")
    seconds = as_number(after) if after is not MISSING else None
    if seconds is None:
        millis = as_number(pick(value, "poll_after_ms", "after_ms"))
        seconds = millis / 1000.0 if millis is not None else None
    if after is not MISSING and seconds is None and notes is not None:
        notes.append(f"next_step.poll_after_seconds: {shown(after, 80)}")
    message = as_text(pick(value, "instruction", "message", "text", "description"))
    used = {"action", "type", "name", "step", "after_seconds", "poll_after_seconds", "poll_after",
            "retry_after_seconds", "delay_seconds", "poll_after_ms", "after_ms", "instruction", "message", "text",
            "description", "scheduled_at"}  # fmt: skip
    extras = {k: v for k, v in scrub(value).items() if k not in used}
    return _build(
        NextStep,
        {
            "action": action.casefold(),
            "after_seconds": seconds if seconds is None or seconds >= 0 else None,
            "message": message,
            "scheduled_at": iso(value.get("scheduled_at")),
        },
        extras,
    )


# --- plan_call -------------------------------------------------------------------------------------

_PLAN_FIELDS = ("to_phones", "region", "language", "goal", "scheduled_at")
_PLAN_USED = {"plan_id", "planId", "ready_to_run", "ready", "confirm_token", "missing", "missing_fields",
              "clarifying_questions", "questions", "message", "plan", "expires_at", "next_step", "display_goal",
              "confirm_summary", "confirm_expires_at", *_PLAN_FIELDS}  # fmt: skip


def read_plan(data: dict[str, Any] | str) -> PlanCallResult:
    """plan_call's answer. Prose becomes a not-ready plan whose message is the prose. An object without a
    plan_id raises Unreadable (the one field a plan cannot do without); one that says it is ready without a
    confirm_token is read as not ready (with a note), never guessed."""
    if isinstance(data, str):
        return PlanCallResult(message=sentence(data, 2000) or "The server sent an empty answer.")
    notes: list[str] = []
    plan_id = as_identifier(pick(data, "plan_id", "planId"))
    if plan_id is None and isinstance(data.get("plan"), dict):
        plan_id = as_identifier(pick(data["plan"], "plan_id", "id"))
    if plan_id is None:
        said = as_text(data.get("message"))
        raise Unreadable("the server's plan has no plan id" + (f"; it said: {sentence(said, 200)}" if said else ""))
    token = as_identifier(data.get("confirm_token"))
    # Everything but the token itself is read from a copy without it: its words may be shown or stored.
    data = {**unsaid(data, token), "confirm_token": token} if token else data
    said_ready = as_bool(pick(data, "ready_to_run", "ready")) is True
    ready = said_ready and plan_id is not None and token is not None
    if said_ready and not ready:
        notes.append("The server said the plan is ready but sent no plan id or confirmation: plan again.")
    questions = _questions(data, notes)
    message = as_text(data.get("message")) or ""
    details = _plan_details(data, notes)
    extras = {k: v for k, v in scrub(data).items() if k not in _PLAN_USED}
    return _build(
        PlanCallResult,
        {
            "plan_id": plan_id,
            "ready_to_run": ready,
            "confirm_token": token if ready else None,
            "missing": questions,
            "message": message,
            "plan": details,
            "expires_at": _instant_or_note(data, "expires_at", notes),
            "next_step": read_next_step(data.get("next_step"), notes),
            "display_goal": as_text(data.get("display_goal")),
            "confirm_summary": as_text(data.get("confirm_summary")),
            "confirm_expires_at": _instant_or_note(data, "confirm_expires_at", notes),
            "notes": notes,
        },
        extras,
    )


def _questions(data: dict[str, Any], notes: list[str]) -> list[MissingField]:
    found: list[MissingField] = []
    seen: dict[str, int] = {}

    def add(field: str, question: str, extras: dict[str, Any] | None = None) -> None:
        question = in_peoples_words(question)  # "user_input is too long" reads "Your request is too long"
        key = " ".join(question.casefold().split())
        if key in seen:  # clarifying_questions and questions often carry the same sentence
            index = seen[key]
            if field and not found[index].field:
                found[index] = MissingField(field=field, question=found[index].question, **found[index].extra_fields)
            return
        seen[key] = len(found)
        found.append(MissingField(field=field, question=question, **(extras or {})))

    for name in ("missing", "missing_fields", "questions", "clarifying_questions"):
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, dict):  # {"to_phones": "Who should I call?"}
            value = [{"field": k, "question": v} for k, v in value.items()]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            notes.append(f"{name}: {shown(value, 120)}")
            continue
        for item in value:
            if isinstance(item, str) and item.strip():
                # A bare field name ("goal") from `missing`, a sentence from clarifying_questions.
                if name.startswith("missing") and " " not in item.strip():
                    add(item.strip(), f"Missing: {field_words(item.strip())}.")
                else:
                    add("", item.strip())
            elif isinstance(item, dict):
                field = as_text(pick(item, "field", "key", "name")) or ""
                question = as_text(pick(item, "question", "prompt", "message", "text", "description"))
                if question is None:
                    question = f"Missing: {field_words(field)}." if field else None
                if question:
                    used = {"field", "key", "name", "question", "prompt", "message", "text", "description"}
                    add(field, question, {k: v for k, v in scrub(item).items() if k not in used})
                else:  # nothing to ask: kept as the server sent it, never dropped
                    notes.append(f"{name}: {shown(item, 120)}")
            elif item is not None:
                notes.append(f"{name}: {shown(item, 120)}")
    return found


def _plan_details(data: dict[str, Any], notes: list[str]) -> PlanDetails | None:
    """The plan's fields as the server echoes them (under `plan`, or at the top level). None when it does
    not: production may not echo them, and they are never filled in from anywhere else here."""
    source = as_object(data.get("plan"))
    fields: dict[str, Any] = {}
    for name in _PLAN_FIELDS:
        value = source.get(name, data.get(name))
        if value is None:
            continue
        if name == "to_phones":
            phones = [value] if isinstance(value, str) else value
            if isinstance(phones, list) and all(isinstance(p, str) for p in phones):
                if phones:
                    fields[name] = [p for p in phones if p.strip()]
            else:
                notes.append(f"to_phones: {shown(value, 120)}")
        elif name == "scheduled_at":
            when = iso(value)
            if when is not None:
                fields[name] = when
            else:
                notes.append(f"scheduled_at: {shown(value, 120)}")
        else:
            text = as_text(value)
            if text is not None:
                fields[name] = text
            else:
                notes.append(f"{name}: {shown(value, 120)}")
    extras = {k: v for k, v in scrub(source).items() if k not in _PLAN_FIELDS and k not in {"plan_id", "id"}}
    if not fields and not extras:
        return None
    return PlanDetails(**fields, **extras)


def _instant_or_note(data: dict[str, Any], name: str, notes: list[str]) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    when = iso(value)
    if when is None:
        notes.append(f"{name}: {shown(value, 80)}")
    return when


# --- run_call --------------------------------------------------------------------------------------


def read_run_id(data: dict[str, Any]) -> str | None:
    value = pick(data, "run_id", "runId", "call_run_id", "id")
    ident = as_identifier(value) if value is not MISSING else None
    if ident is None:
        for nest in ("run", "result", "data"):
            inner = data.get(nest)
            if isinstance(inner, dict):
                ident = as_identifier(pick(inner, "run_id", "runId", "id"))
                if ident is not None:
                    break
    return ident


def read_run_start(data: dict[str, Any]) -> RunCallResult:
    """run_call's answer. Raises Unreadable without a run_id (the caller treats the outcome as unknown)."""
    run_id = read_run_id(data) if isinstance(data, dict) else None
    if run_id is None:
        raise Unreadable("the server's answer has no run id")
    status = data.get("status")
    raw_status = status.strip() if isinstance(status, str) else None
    used = {"run_id", "runId", "call_run_id", "id", "status", "scheduled_at", "next_step", "message"}
    extras = {k: v for k, v in scrub(data).items() if k not in used}
    return _build(
        RunCallResult,
        {
            "run_id": run_id,
            "status": canonical_status(raw_status) if raw_status else "queued",
            "status_text": raw_status or "",
            "scheduled_at": iso(data.get("scheduled_at")),
            "next_step": read_next_step(data.get("next_step")),
            "message": as_text(data.get("message")),
        },
        extras,
    )


# --- get_call_run ----------------------------------------------------------------------------------

_PAGE_USED = {"run_id", "runId", "call_run_id", "id", "status", "terminal", "activity", "events",
              "next_cursor", "nextCursor", "resume_cursor", "scheduled_at", "summary", "post_summary",
              "details", "transcript", "next_step", "result", "outcome", "message", "duration_seconds",
              "call_id", "call_ids", "extracted"}  # fmt: skip
_RESULT_USED = {"summary", "post_summary", "transcript", "outcome", "extracted", "call_id", "call_ids",
                "details", "duration_seconds", "status", "run_id"}  # fmt: skip


def read_run_page(data: dict[str, Any], asked_run_id: str | None = None) -> GetCallRunResult:
    """get_call_run's answer. A missing run_id is the one we asked about; a different one raises Unreadable
    (the answer is about another call). Every other field is salvaged or noted."""
    run_id = read_run_id(data) if isinstance(data, dict) else None
    if run_id is None:
        if asked_run_id is None:
            raise Unreadable("the server's answer has no run id")
        run_id = asked_run_id
    notes: list[str] = []
    nested = as_object(data.get("result"))

    def field(name: str, *more: str) -> Any:
        value = pick(data, name, *more)
        return pick(nested, name, *more) if value is MISSING else value

    raw_status = data.get("status")
    status_word = raw_status.strip() or None if isinstance(raw_status, str) else None  # a word, not a number
    if raw_status is not None and status_word is None:
        notes.append(f"status: {shown(raw_status, 80)}")
    terminal = as_bool(data.get("terminal"))

    summary = None
    for name in ("summary", "post_summary"):
        value = field(name)
        if value is MISSING:
            continue
        summary = as_text(value)
        if summary is None:
            notes.append(f"{name}: {shown(value, 200)}")
        else:
            break

    turns: list[dict[str, Any]] = []
    transcript_text: str | None = None
    raw_transcript = field("transcript")
    if raw_transcript is not MISSING:
        turns, transcript_text = read_turns(raw_transcript)
        if not isinstance(raw_transcript, list | str):
            notes.append(f"transcript: {shown(raw_transcript, 200)}")

    cursor = pick(data, "next_cursor", "nextCursor")
    next_cursor = as_text(cursor) if cursor is not MISSING else None
    resume = as_text(data.get("resume_cursor"))

    extras = {k: v for k, v in scrub(data).items() if k not in _PAGE_USED}
    for key, value in scrub(nested).items():
        if key not in _RESULT_USED:
            extras[f"result.{key}"] = value
    for note in notes:
        key = note.split(":", 1)[0]
        if key in data and key not in extras:
            extras[key] = scrub(data[key])  # shown as the server sent it
    activity_raw = pick(data, "activity", "events")
    return _build(
        GetCallRunResult,
        {
            "run_id": run_id,
            "status": canonical_status(status_word) if status_word else "",
            "status_text": status_word or "",
            "terminal": terminal,
            "activity": [ActivityEntry(**e) for e in read_activity(activity_raw if activity_raw is not MISSING else [])],
            "next_cursor": next_cursor,
            "resume_cursor": resume,
            "scheduled_at": iso(data.get("scheduled_at")),
            "summary": summary,
            "details": _details(data, nested) or None,
            "transcript": [TranscriptTurn(**t) for t in turns] or None,
            "transcript_text": transcript_text,
            "outcome": _outcome(pick(nested, "outcome") if "outcome" in nested else data.get("outcome"), notes),
            "message": as_text(data.get("message")),
            "next_step": read_next_step(data.get("next_step"), notes),
            "notes": notes,
        },
        extras,
    )


def _details(data: dict[str, Any], nested: dict[str, Any]) -> dict[str, Any]:
    """Call details as flat fields: callee, started_at, ended_at, duration_seconds, call_id first, then the
    rest of `extracted` under dotted names, then a reference-dialect `details` object as it came."""
    details: dict[str, Any] = {}
    extracted = as_object(nested.get("extracted", data.get("extracted")))
    calling = as_object(extracted.get("calling"))
    for name, sources in (
        ("callee", (calling.get("callee"), calling.get("to"))),
        ("started_at", (calling.get("started_at"), calling.get("start_time"))),
        ("ended_at", (calling.get("ended_at"), calling.get("end_time"))),
        (
            "duration_seconds",
            (calling.get("duration_seconds"), nested.get("duration_seconds"), data.get("duration_seconds")),
        ),
        ("call_id", (nested.get("call_id"), data.get("call_id"), calling.get("call_id"))),
    ):
        value = next((v for v in sources if v is not None), None)
        if value is not None:
            details[name] = value
    for key, value in scrub(calling).items():
        if key not in {"callee", "to", "started_at", "start_time", "ended_at", "end_time", "duration_seconds",
                       "call_id"}:  # fmt: skip
            details[f"calling.{key}"] = value
    for key, value in scrub(extracted).items():
        if key != "calling":
            details[f"extracted.{key}"] = value
    call_ids = nested.get("call_ids", data.get("call_ids"))
    if call_ids is not None:
        details["call_ids"] = scrub(call_ids)
    own = data.get("details", nested.get("details"))
    if isinstance(own, dict):
        details.update(scrub(own))
    elif own is not None:
        details["details"] = scrub(own)
    return details


def _outcome(value: Any, notes: list[str]) -> CallOutcome | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        notes.append(f"outcome: {shown(value, 200)}")
        return None
    confidence = value.get("completion_confidence", value.get("confidence"))
    score = label = None
    if isinstance(confidence, dict):
        score = as_number(confidence.get("score"))
        label = as_text(confidence.get("label"))
    elif isinstance(confidence, str) and as_number(confidence) is None:
        label = confidence.strip() or None
    else:
        score = as_number(confidence)
    evidence = value.get("evidence")
    if isinstance(evidence, str):
        evidence = [evidence]
    lines = [shown(e, 300) for e in evidence if e is not None] if isinstance(evidence, list) else []
    used = {"task_completed", "completion_confidence", "confidence", "evidence"}
    extras = {k: v for k, v in scrub(value).items() if k not in used}
    return _build(
        CallOutcome,
        {
            "task_completed": as_bool(value.get("task_completed")),
            "confidence_score": score,
            "confidence_label": label,
            "evidence": lines,
        },
        extras,
    )
