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
from datetime import UTC, datetime
from typing import Any

from calle_tui.core.contract import GetCallRunInput
from calle_tui.sandbox import simulator
from calle_tui.sandbox.tools import POLL_MAX, POLL_MIN, Tools, validate

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

    def plan_call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if not arguments.get("user_input"):
            # CALL-E's own CLI (`calle call plan --to-phone ... --goal ...`) sends structured fields without
            # user_input, and production accepts that: plan from the fields, as if the goal had been said.
            arguments = {**arguments, "user_input": arguments.get("goal") or "Plan a call."}
        ref = super().plan_call(arguments)
        ready = bool(ref["ready_to_run"])
        missing = ref.get("missing") or []
        details = ref.get("plan") or {}
        out: dict[str, Any] = {
            "plan_id": ref["plan_id"],
            "ready_to_run": ready,
            "confirm_token": ref["confirm_token"] if ready else None,
            "clarifying_questions": [m["question"] for m in missing],
            "questions": [{"key": m["field"], "question": m["question"]} for m in missing],
            "display_goal": details.get("goal") if ready else None,
            "expires_at": ref["expires_at"],
        }
        if ready:
            numbers = ", ".join(details.get("to_phones") or [])
            when = f" at {details['scheduled_at']}" if details.get("scheduled_at") else ""
            language = f" in {details['language']}" if details.get("language") else ""
            out["confirm_summary"] = f"Call {numbers}{language}{when}: {details.get('goal') or ''}".rstrip(": ")
            out["confirm_expires_at"] = ref["expires_at"]
            out["next_step"] = (
                "Show the confirm_summary to the user and call run_call with plan_id and confirm_token only "
                "after they clearly confirm."
            )
        elif getattr(self.config, "no_questions", False):
            out["clarifying_questions"], out["questions"] = [], []  # production may ask nothing at all
            out["next_step"] = "Ask the user for the missing details, then call plan_call again with this plan_id."
        else:
            out["next_step"] = (
                "Ask the user the clarifying questions, then call plan_call again with this plan_id and their "
                "answer verbatim in user_input."
            )
        return out

    # --- run_call ----------------------------------------------------------------------------------

    def run_call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        ref = super().run_call(arguments)
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
        request: GetCallRunInput = validate(GetCallRunInput, arguments)
        now = self.now()
        run = self.store.run_record(request.run_id)
        if run is None or run["expires_at"] <= now:
            # Production answers an unknown run as a result, not an error.
            return {
                "run_id": request.run_id,
                "status": "FAILED",
                "message": "run_id not found.",
                "activity": [],
                "transcript": None,
                "next_step": self._step(request.run_id, None, "report_blocked", None,
                                        "Tell the user this run could not be found."),  # fmt: skip
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
            "status": status,
            "activity": activity,
            "next_cursor": "",
            "transcript": None,
        }
        if state.terminal:
            result["result"] = self._result(run, state.status, events)
            result["next_step"] = self._step(run["run_id"], run["plan_id"], "report_result", None,
                                             "Report the call result to the user.")  # fmt: skip
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

        def entry(kind: str, message: str, delay: float = 0.0) -> dict[str, Any]:
            return {"run_id": run["run_id"], "ts": _ts(at + delay), "level": "info", "kind": kind,
                    "message": message, "data": {}}  # fmt: skip

        if event.type == "speech":
            if event.speaker == "callee":
                rough = event.text.rstrip(".!?").lower().replace(",", "")
                corrected = entry("callee_realtime", f"Callee said: {event.text}", 0.4)
                return [entry("callee_realtime", f"Callee said: {rough}"), corrected] if rough != event.text else [
                    corrected
                ]
            return [entry("progress", f"Bot is speaking: {event.text}")]
        words = {
            "scheduled": ("stage_start", event.text),
            "queued": ("stage_start", "Creating the call agent."),
            "dialing": ("external_call", "Placing the call."),
            "ringing": ("external_call", "Call is ringing."),
            "in_progress": ("progress", "Call connected." if "answered" in event.text.lower() else event.text),
        }
        if event.status in words:
            kind, message = words[event.status]
            return [entry(kind, message)]
        if event.status in simulator.TERMINAL:
            return [entry("progress", event.text), entry("progress", "Call ended; syncing final Calling result.", 1)]
        return [entry("progress", event.text)]

    def _result(self, run: dict[str, Any], status: str, events: list[simulator.Event]) -> dict[str, Any]:
        summary, details = simulator.outcome(run, status, events)
        speed = max(float(run.get("speed") or 1.0), 1e-6)
        answered = next((e.offset for e in events if e.status == "in_progress"), None)
        speech = [e for e in events if e.type == "speech"]
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

