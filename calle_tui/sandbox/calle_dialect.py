"""The sandbox's `calle` dialect: the same plans and simulated calls, answered the way production CALL-E
answers (CALLE-DIALECT.md), so the demo, the tests and any client are tried against production's shapes:

- plan_call: `clarifying_questions` (sentences) and `questions` (`{key, question}`), `confirm_token: null`
  until ready, `display_goal`, `confirm_summary` naming the number, a prose `next_step`; the plan's fields
  are not echoed back.
- run_call: `STARTED` (or `SCHEDULED`) with a typed `next_step` object.
- get_call_run: `PREPARING` through the whole live call (while people talk), then the outcome word
  (`COMPLETED` also for a voicemail, with `outcome.task_completed: false`); the whole activity history on
  every poll as `{run_id, ts, level, kind, message, data}` without ids, live speech as "Bot is speaking: ..." /
  "Callee said: ..." (a rough line followed by its corrected duplicate, as speech recognition does);
  `transcript: null` until the end, then `result {summary, post_summary, transcript: one string, call_id,
  extracted, outcome}`; an unknown run_id answered `FAILED` + "run_id not found." + `report_blocked`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, ValidationError
from pydantic_core import ValidationError as CoreValidationError

from calle_tui.core.wire.contract import GetCallRunInput, PlanCallInput, RunCallInput
from calle_tui.sandbox import simulator
from calle_tui.sandbox.tools import MAX_INPUT_CHARS, POLL_MAX, POLL_MIN, ToolFailure, Tools

FOREVER = 253402300799  # 9999-12-31T23:59:59Z: production's expires_at for ttl_seconds 0 ("keep permanently")
PLAN_DEFAULT_TTL = 86400  # production's plans and confirmations last about 24 h
VOICEMAIL_GREETING = "The person you are calling is not available. Please leave a message after the tone."
NOW_MODES = {"now", "immediate", "immediately", "asap"}


class CallePlanCallInput(PlanCallInput):
    """plan_call's inputs as production takes them: nothing required (`{}` is a plan that asks questions),
    plus retry_confirmation_action and schedule_mode."""

    user_input: str | None = Field(default=None, description="The user's latest message, passed verbatim.")
    ttl_seconds: int | None = Field(
        default=None,
        ge=0,
        description="Optional retention TTL for this plan and its call run records, in seconds. Omit to use the "
        "server default; set to 0 to keep records permanently.",
    )
    retry_confirmation_action: Literal["confirm_suggested_time", "retry_now", "set_custom_time"] | None = Field(
        default=None, description="The user's answer to a retry confirmation."
    )
    schedule_mode: str | None = Field(default=None, description="immediate, or scheduled with scheduled_at.")


class CalleRunCallInput(RunCallInput):
    ttl_seconds: int | None = Field(default=None, ge=0, description="Optional retention TTL, in seconds; 0 keeps.")


CALLE_INPUTS: dict[str, type[BaseModel]] = {
    "plan_call": CallePlanCallInput,
    "run_call": CalleRunCallInput,
    "get_call_run": GetCallRunInput,
}


def validate_as_production(tool: str, arguments: dict[str, Any]) -> Any:
    """Validate as production's FastMCP server does: a failure is pydantic's own text (validate_call's
    wording: "Unexpected keyword argument", "Missing required argument"), sent as an isError result."""
    try:
        return CALLE_INPUTS[tool].model_validate(arguments)
    except ValidationError as exc:
        renamed = {"extra_forbidden": "unexpected_keyword_argument", "missing": "missing_argument"}
        errors = []
        for err in exc.errors():
            kind = renamed.get(err["type"], err["type"])
            line: dict[str, Any] = {"type": kind, "loc": err["loc"], "input": err.get("input")}
            if kind == "missing_argument":
                line["input"] = arguments
            if err.get("ctx") and kind == err["type"]:
                line["ctx"] = err["ctx"]
            errors.append(line)
        try:
            text = str(CoreValidationError.from_exception_data(f"call[{tool}]", errors))
        except Exception:  # noqa: BLE001 - an error type pydantic cannot rebuild: its own text, retitled
            text = str(exc).replace(CALLE_INPUTS[tool].__name__, f"call[{tool}]", 1)
        raise ToolFailure(text) from None


def zone_from_meta(meta: dict[str, Any] | None) -> tzinfo | None:
    """The caller's time zone from plan_call's request _meta, as CALL-E's own CLI sends it:
    {"openai/userLocation": {"timezone": "Asia/Shanghai"}, "timezone_offset_minutes": -480}. The IANA name
    wins; the offset (UTC minus local, as JavaScript's getTimezoneOffset) is the fallback."""
    if not isinstance(meta, dict):
        return None
    location = meta.get("openai/userLocation")
    name = location.get("timezone") if isinstance(location, dict) else None
    if isinstance(name, str) and name.strip():
        try:
            return ZoneInfo(name.strip())
        except (ValueError, KeyError, OSError):
            pass
    offset = meta.get("timezone_offset_minutes")
    if isinstance(offset, int | float) and not isinstance(offset, bool) and abs(offset) <= 18 * 60:
        return timezone(timedelta(minutes=-offset))
    return None


# The reference simulator's statuses in production's words: everything before the end is PREPARING.
FINAL_WORDS = {
    "completed": "COMPLETED",
    "voicemail": "COMPLETED",  # production reported a voicemail call as COMPLETED, task not done
    "no_answer": "NO_ANSWER",
    "busy": "BUSY",
    "failed": "FAILED",
    "canceled": "CANCELED",
}


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class CalleTools(Tools):
    """The reference tools' logic (planning rules, at-most-once runs, the simulator) in production's shapes."""

    # --- plan_call ---------------------------------------------------------------------------------

    plan_ttl = (60, FOREVER, PLAN_DEFAULT_TTL)
    run_ttl = (60, FOREVER, PLAN_DEFAULT_TTL)

    def _ttl(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if arguments.get("ttl_seconds") == 0:  # production: 0 keeps the records permanently
            return {**arguments, "ttl_seconds": max(60, int(FOREVER - self.now()))}
        return arguments

    def plan_call(self, arguments: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:  # type: ignore[override]
        request: CallePlanCallInput = validate_as_production("plan_call", arguments)
        fields = request.model_dump(exclude_none=True, exclude={"retry_confirmation_action", "schedule_mode"})
        if not (request.user_input or "").strip():
            # CALL-E's own CLI (`calle call plan --to-phone ... --goal ...`) sends structured fields without
            # user_input, and production accepts that (even `{}`): plan from the fields, as if said.
            fields["user_input"] = request.goal or ("Refine the plan." if request.plan_id else "Plan a call.")
        mode = (request.schedule_mode or "").strip().lower()
        action = request.retry_confirmation_action
        schedule = None
        if mode in NOW_MODES or action == "retry_now":
            schedule = "now"
        elif (mode == "scheduled" or action == "set_custom_time") and not request.scheduled_at:
            schedule = "ask"
        zone = zone_from_meta(meta)
        problem = None
        try:
            ref = super().plan_call(self._ttl(fields), zone=zone, schedule=schedule)
        except ToolFailure as exc:
            # Production answers problems as questions, never as errors: a plan_id that is unknown, expired
            # or already used, or a message too long, gives a new plan whose first question says so.
            problem = str(exc)
            fresh = {k: v for k, v in fields.items() if k != "plan_id"}
            if len(fresh["user_input"]) > MAX_INPUT_CHARS:
                fresh["user_input"] = request.goal or "Plan a call."
            ref = super().plan_call(self._ttl(fresh), zone=zone, schedule=schedule)
            key = "plan_id" if request.plan_id else "user_input"
            ref = {**ref, "ready_to_run": False, "confirm_token": None,
                   "missing": [{"field": key, "question": problem}, *(ref.get("missing") or [])]}  # fmt: skip
        ready = bool(ref["ready_to_run"])
        missing = ref.get("missing") or []
        details = ref.get("plan") or {}
        numbers = ", ".join(details.get("to_phones") or [])
        out: dict[str, Any] = {
            "plan_id": ref["plan_id"],
            "ready_to_run": ready,
            "confirm_token": ref["confirm_token"] if ready else None,
            "clarifying_questions": [m["question"] for m in missing],
            "questions": [{"key": m["field"], "question": m["question"]} for m in missing],
            "display_goal": details.get("goal") if ready else None,
            "confirm_expires_at": ref["expires_at"] if ready else None,
            "expires_at": ref["expires_at"],
        }
        if ready:
            when = f" at {details['scheduled_at']}" if details.get("scheduled_at") else " as soon as you confirm"
            language = f" in {details['language']}" if details.get("language") else ""
            out["confirm_summary"] = f"Call {numbers}{language}{when}: {details.get('goal') or ''}".rstrip(": ")
            out["message"] = f"Plan created to call {numbers}. No call was started."
            out["next_step"] = (
                "Show the confirm_summary to the user and call run_call with plan_id and confirm_token only "
                "after they clearly confirm. Do not call run_call more than once for this plan_id."
            )
        else:
            # Production says what it has and what it lacks in confirm_summary, naming the number by its end.
            have = f"I have the recipient number ending in ...{numbers[-4:]}" if numbers else "I have no number yet"
            lacking = ", ".join(
                m["field"].replace("to_phones", "the number").replace("_", " ")
                for m in missing
                if m["field"] not in ("plan_id", "user_input")
            )
            out["confirm_summary"] = f"{have}, but I need {lacking or 'more details'} before I can place the call."
            out["message"] = "Plan created, but more details are needed. No call was started."
            if problem:
                out["message"] = f"{problem} A new plan was created. No call was started."
                out["next_step"] = (
                    f'Tell the user what the first clarifying question says, then continue with plan_id="{ref["plan_id"]}".'
                )
            elif getattr(self.config, "no_questions", False):
                out["clarifying_questions"], out["questions"] = [], []  # production may ask nothing at all
                out["next_step"] = (
                    f'Ask the user for the missing details, then call plan_call again with plan_id="{ref["plan_id"]}".'
                )
            else:
                out["next_step"] = (
                    "Ask the user the clarifying questions, then call plan_call again with "
                    f'plan_id="{ref["plan_id"]}" and their answer verbatim in user_input.'
                )
        return out

    # --- run_call ----------------------------------------------------------------------------------

    def run_call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        validate_as_production("run_call", arguments)
        ref = super().run_call(self._ttl(arguments))
        scheduled = ref.get("status") == "scheduled"
        step = ref.get("next_step") or {}
        return {
            "run_id": ref["run_id"],
            "status": "SCHEDULED" if scheduled else "STARTED",
            "next_step": {
                "action": "wait_for_scheduled_run" if scheduled else "poll_get_call_run",
                "tool_name": "get_call_run",
                "run_id": ref["run_id"],
                "plan_id": arguments.get("plan_id"),
                "poll_after_seconds": step.get("after_seconds"),
                "scheduled_at": ref.get("scheduled_at"),
                "required_user_input": [],
                "instruction": step.get("message") or "Call get_call_run to follow the call.",
            },
        }

    # --- get_call_run ------------------------------------------------------------------------------

    def get_call_run(self, arguments: dict[str, Any]) -> dict[str, Any]:
        request: GetCallRunInput = validate_as_production("get_call_run", arguments)
        now = self.now()
        run = self.store.run_record(request.run_id)
        if run is None or run["expires_at"] <= now:
            # Production answers an unknown run as a result, not an error.
            return {
                "run_id": request.run_id,
                "status": "FAILED",
                "message": "run_id not found.",
                "result": {"call_id": None, "call_ids": [], "transcript": None},
                "activity": [],
                "transcript": None,
                "next_step": self._step(
                    request.run_id,
                    None,
                    "report_blocked",
                    None,
                    "Report the current terminal run status. Do not start another call.",
                ),
            }
        events = simulator.timeline(run)
        state = simulator.state_at(run, now, events)
        activity = [entry for event in state.visible for entry in self._entries(run, event)]
        # Cumulative: the whole history on every poll (the cursor is accepted and changes nothing).
        self.stats.bump("activity_entries_returned", len(activity))
        status = (
            FINAL_WORDS.get(state.status, state.status.upper())
            if state.terminal
            else ("SCHEDULED" if state.status == "scheduled" else "PREPARING")
        )
        result: dict[str, Any] = {
            "run_id": run["run_id"],
            "requested_run_id": None,
            "parent_run_id": None,
            "root_run_id": None,
            "status": status,
            "message": activity[-1]["message"] if activity else "run_call started.",
            "display_goal": run.get("goal"),
            "schedule_mode": "scheduled" if run.get("scheduled_at") else "immediate",
            "scheduled_at": run.get("scheduled_at"),
            "schedule_timezone": None,
            "expires_at": _ts(float(run["expires_at"])) if float(run["expires_at"]) < FOREVER else None,
            "activity": activity,
            "next_cursor": "",
            "transcript": None,
        }
        if state.terminal:
            result["message"] = (
                "Call ended from realtime events."
                if state.status in ("completed", "voicemail")
                else (f"calling task completed with status={status.replace('_', ' ')}")
            )
            result["result"] = self._result(run, state.status, events)
            result["next_step"] = self._step(run["run_id"], run["plan_id"], "report_result", None,
                                             "Report the final call result to the user. Do not start another call.")  # fmt: skip
        elif state.status == "scheduled":
            step = self._step(run["run_id"], run["plan_id"], "wait_for_scheduled_run", round(state.starts_in, 3),
                              f"The call is scheduled for {run['scheduled_at']}; check again then.")  # fmt: skip
            step["scheduled_at"] = run.get("scheduled_at")
            result["next_step"] = step
        else:
            speed = float(run.get("speed") or 1.0)
            wait = state.next_event_in if state.next_event_in is not None else POLL_MAX / speed
            wait = min(max(wait, POLL_MIN / speed), POLL_MAX / speed)
            result["next_step"] = self._step(run["run_id"], run["plan_id"], "poll_get_call_run", round(wait, 3),
                                             "Poll get_call_run again in 5-10 seconds.")  # fmt: skip
        return result

    @staticmethod
    def _step(run_id: str, plan_id: str | None, action: str, after: float | None, instruction: str) -> dict[str, Any]:
        return {
            "action": action,
            "tool_name": "get_call_run" if action != "report_result" and action != "report_blocked" else None,
            "run_id": run_id,
            "plan_id": plan_id,
            "parent_run_id": None,
            "poll_after_seconds": after,
            "scheduled_at": None,
            "schedule_timezone": None,
            "required_user_input": [],
            "instruction": instruction,
        }

    def _entries(self, run: dict[str, Any], event: simulator.Event) -> list[dict[str, Any]]:
        """One simulator event as production's activity entries (speech may come twice: rough, corrected)."""
        at = datetime.fromisoformat(simulator.entry_time(run, event)).timestamp()

        def entry(kind: str, message: str, delay: float = 0.0, level: str = "info") -> dict[str, Any]:
            return {"run_id": run["run_id"], "ts": _ts(at + delay), "level": level, "kind": kind,
                    "message": message, "data": {}}  # fmt: skip

        if event.type == "speech":
            if event.speaker == "callee":
                rough = event.text.rstrip(".!?").lower().replace(",", "")
                corrected = entry("callee_realtime", f"Callee said: {event.text}", 0.4)
                return (
                    [entry("callee_realtime", f"Callee said: {rough}"), corrected] if rough != event.text else [corrected]
                )
            return [entry("progress", f"Bot is speaking: {event.text}")]
        # Production's live vocabulary (CALLE-DIALECT.md): its pipeline stages, then the call's moments.
        words = {
            "scheduled": [("stage_start", event.text)],
            "queued": [("stage_start", "run_call started."), ("external_call", "botlab create bot.")],
            "dialing": [("external_call", "calling create task."), ("external_call", "calling task status=calling")],
            "ringing": [("progress", "Call is ringing.")],
        }
        if event.status in words:
            return [entry(kind, message, i * 0.2) for i, (kind, message) in enumerate(words[event.status])]
        if event.status == "in_progress":
            lines = [entry("progress", "Call connected.")]
            if "voicemail" in event.text.lower():  # the greeting is what the "callee" says
                lines.append(entry("callee_realtime", f"Callee said: {VOICEMAIL_GREETING}", 0.5))
            elif "answered" not in event.text.lower():
                lines.append(entry("progress", event.text, 0.5))
            return lines
        if event.status in simulator.TERMINAL:
            word = FINAL_WORDS.get(event.status, event.status.upper()).replace("_", " ")
            if event.status in ("completed", "voicemail"):
                return [entry("progress", "Call ended; syncing final Calling result."),
                        entry("progress", "calling task status=finished", 1)]  # fmt: skip
            return [entry("progress", event.text, 0, "warning"),
                    entry("progress", f"calling task completed with status={word}", 1)]  # fmt: skip
        return [entry("progress", event.text)]

    def _result(self, run: dict[str, Any], status: str, events: list[simulator.Event]) -> dict[str, Any]:
        summary, details = simulator.outcome(run, status, events)
        speed = max(float(run.get("speed") or 1.0), 1e-6)
        answered = next((e.offset for e in events if e.status == "in_progress"), None)
        speech = [e for e in events if e.type == "speech"]
        if status == "voicemail" and answered is not None:
            speech.insert(0, simulator.Event(answered, "speech", VOICEMAIL_GREETING, None, "callee"))
        start = answered or 0.0
        transcript = "\n".join(
            f"[{_clock(e.offset - start)}] {'BOT' if e.speaker == 'agent' else 'USER'}: {e.text}" for e in speech
        )
        ended = float(run["start_at"]) + events[-1].offset / speed
        began = float(run["start_at"]) + (events[1].offset if len(events) > 1 else 0) / speed
        call_id = hashlib.sha256(run["run_id"].encode()).hexdigest()[:32]
        done = status == "completed"
        evidence = {
            "completed": ["The callee confirmed the request.", "The callee said goodbye after confirming."],
            "voicemail": ["Voicemail greeting detected; a message was left."],
            "no_answer": ["Nobody answered."],
            "busy": ["The line was busy."],
            "failed": ["The carrier rejected the call."],
        }.get(status, [])
        return {
            "summary": summary,
            "post_summary": summary,
            "transcript": transcript or None,
            "call_id": call_id,
            "call_ids": [call_id],
            "extracted": {
                "goal": run.get("goal"),
                "region": run.get("region"),
                "language": run.get("language"),
                "to_phones": list(run["to_phones"]),
                "calling": {
                    "callee": run["to_phones"][0],
                    "started_at": _ts(began),
                    "ended_at": _ts(ended),
                    "duration_seconds": round(details["clock_seconds"]),
                    "status": "finished",
                },
            },
            "outcome": {
                "task_completed": done,
                "completion_confidence": {"score": 0.86 if done else 0.9, "label": "high"},
                "evidence": evidence,
            },
        }


def prose_for(result: dict[str, Any]) -> str:
    """The prose text block production puts before the JSON in a content-only result."""
    if "ready_to_run" in result:
        if result.get("ready_to_run"):
            return f"Plan created: {result.get('confirm_summary') or 'ready'}. No call was started."
        return "Plan created, but more details are needed. No call was started."
    if "status" in result and "activity" not in result:
        return f"The call was started ({result.get('status')})."
    return f"Call run status: {result.get('status')}."
