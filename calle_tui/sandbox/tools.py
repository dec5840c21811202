"""The three CALL-E tools over the sandbox's store: plan_call, run_call, get_call_run.

Each returns a dict shaped by calle_tui.core.wire.contract, or raises ToolFailure whose text is one sentence a
person can act on (sent as an isError result).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import tzinfo
from typing import Any

from pydantic import BaseModel, ValidationError

from calle_tui.core.wire.contract import GetCallRunInput, PlanCallInput, RunCallInput
from calle_tui.sandbox import planner, simulator
from calle_tui.sandbox.config import SandboxConfig, SandboxStats
from calle_tui.sandbox.store import Store

PLAN_TTL = (60, 7 * 86400, 3600)  # min, max, default seconds
RUN_TTL = (60, 30 * 86400, 7 * 86400)
PAGE_LIMIT = (1, 200, 50)  # min, max, default activity entries per page
FIRST_POLL = 60.0  # the seed: wait about 60 s before the first status query (simulated seconds)
POLL_MIN, POLL_MAX = 5.0, 10.0
MAX_INPUT_CHARS = 4000


class ToolFailure(Exception):
    """A tool error for the caller: str(exc) is the sentence; `data`, when given, is the JSON object sent
    instead (production's structured refusals, e.g. account_concurrency_exceeded)."""

    def __init__(self, sentence: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(sentence)
        self.data = data


def concurrency_refusal(limit: int) -> ToolFailure:
    """Production's answer to a run_call while the line's calls are all busy (CALLE-DIALECT.md, "Limits")."""
    message = f"Another call is still active on this line (max_active_tasks={limit})."
    return ToolFailure(
        message,
        {
            "error": {
                "error_code": "account_concurrency_exceeded",
                "status": 429,
                "message": message,
                "retry_safe": True,
                "call_started": False,
            }
        },
    )


def validate(model: type[BaseModel], arguments: dict[str, Any]) -> Any:
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "input"
            if err.get("type") == "extra_forbidden":
                problems.append(f"'{where}' is not a parameter of this tool")
            elif err.get("type") == "missing":
                problems.append(f"'{where}' is required")
            else:
                problems.append(f"'{where}': {err.get('msg', 'invalid value').lower()}")
        raise ToolFailure("Invalid arguments: " + "; ".join(problems) + ".") from None


def _bounded(value: int | None, bounds: tuple[int, int, int], name: str) -> tuple[int, str]:
    low, high, default = bounds
    if value is None:
        return default, ""
    if value < low or value > high:
        clamped = min(max(value, low), high)
        return clamped, f" ({name} {value} is outside {low}..{high}; using {clamped}.)"
    return value, ""


class Tools:
    plan_ttl = PLAN_TTL
    run_ttl = RUN_TTL

    def __init__(self, store: Store, config: SandboxConfig, stats: SandboxStats) -> None:
        self.store = store
        self.config = config
        self.stats = stats

    def now(self) -> float:
        return float(self.config.clock())

    def speed(self) -> float:
        return max(float(self.config.speed), 1e-6)

    # --- plan_call ---------------------------------------------------------------------------------

    def plan_call(
        self, arguments: dict[str, Any], *, zone: tzinfo | None = None, schedule: str | None = None
    ) -> dict[str, Any]:
        """`zone`: the caller's time zone, to read "tomorrow at 9" (the calle dialect takes it from _meta).
        `schedule`: "now" drops any schedule, "ask" asks for an exact time unless one is set (production's
        schedule_mode / retry_confirmation_action)."""
        request: PlanCallInput = validate(PlanCallInput, arguments)
        text = request.user_input
        if not text.strip():
            raise ToolFailure("user_input is empty: pass the user's latest message verbatim.")
        if len(text) > MAX_INPUT_CHARS:
            raise ToolFailure(f"user_input is too long ({len(text)} characters; at most {MAX_INPUT_CHARS}).")
        now = self.now()
        ttl, ttl_note = _bounded(request.ttl_seconds, self.plan_ttl, "ttl_seconds")
        fields = request.model_dump(include={"to_phones", "region", "language", "goal", "scheduled_at"})
        with self.store.transaction() as db:
            if request.plan_id is not None:
                row = db.execute("SELECT data FROM plans WHERE plan_id = ?", (request.plan_id,)).fetchone()
                plan = json.loads(row["data"]) if row else None
                if plan is None or plan["expires_at"] <= now:
                    raise ToolFailure(
                        "No plan with this plan_id is open (it may have expired). "
                        "Start a new plan by calling plan_call without plan_id."
                    )
                if plan.get("run_id"):
                    raise ToolFailure(
                        "This plan has already started a call and cannot change. "
                        "Start a new plan by calling plan_call without plan_id."
                    )
                first = False
            else:
                plan = {
                    "plan_id": f"pln_{secrets.token_urlsafe(12)}",
                    "created_at": now,
                    "draft": planner.Draft().__dict__,
                    "confirm_token": None,
                    "ready": False,
                    "run_id": None,
                    "messages": [],
                }
                first = True
            before = planner.Draft(**plan["draft"])
            draft = planner.apply(before, user_input=text, fields=fields, now=planner.utc(now), first=first, zone=zone)
            if schedule == "now":
                draft.scheduled_at, draft.schedule_open = None, False
                draft.problems.pop("scheduled_at", None)
            elif schedule == "ask" and not draft.scheduled_at:
                draft.schedule_open = True
            missing = draft.missing()
            ready = not missing
            changed = draft.fields() != before.fields() or ready != plan["ready"]
            if not ready:
                plan["confirm_token"] = None
            elif changed or not plan["confirm_token"]:
                # Any change to a ready plan gets a fresh token: the old confirmation no longer applies.
                plan["confirm_token"] = f"cfm_{secrets.token_urlsafe(16)}"
            plan.update(
                draft={**draft.__dict__, "problems": {}},
                ready=ready,
                updated_at=now,
                ttl_seconds=ttl,
                expires_at=now + ttl,
            )
            plan["messages"] = (plan["messages"] + [text])[-20:]
            self.store.save_plan(db, plan)
        return self._plan_result(plan, draft, missing, ttl_note)

    def _plan_result(self, plan: dict[str, Any], draft: planner.Draft, missing: list, note: str) -> dict[str, Any]:
        details = draft.fields()
        if plan["ready"]:
            when = f" at {details['scheduled_at']}" if details["scheduled_at"] else " as soon as you confirm"
            message = (
                f"Ready to call {', '.join(details['to_phones'])} in {details['language']}{when}. Goal: {details['goal']}"
            )
            next_step = {
                "action": "confirm_with_user",
                "message": "Show this plan to the user; call run_call with plan_id and confirm_token only after "
                "they clearly confirm.",
            }
        else:
            count = len(missing)
            message = f"I need {count} more detail{'s' if count != 1 else ''} before this call can be placed."
            next_step = {
                "action": "ask_user",
                "message": "Ask the user the questions in `missing`, then call plan_call again with this plan_id "
                "and their answer verbatim in user_input.",
            }
        return {
            "plan_id": plan["plan_id"],
            "ready_to_run": plan["ready"],
            "confirm_token": plan["confirm_token"],
            "missing": missing,
            "message": message + note,
            "plan": details,
            "expires_at": planner.utc(plan["expires_at"]).isoformat(),
            "next_step": next_step,
        }

    # --- run_call ----------------------------------------------------------------------------------

    def run_call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        self.stats.bump("run_call_sent")
        request: RunCallInput = validate(RunCallInput, arguments)
        now = self.now()
        ttl, _ = _bounded(request.ttl_seconds, self.run_ttl, "ttl_seconds")
        # One transaction from check to insert: concurrent run_calls for one plan cannot both start a call.
        with self.store.transaction() as db:
            row = db.execute("SELECT data FROM plans WHERE plan_id = ?", (request.plan_id,)).fetchone()
            if row is None:
                raise ToolFailure("No plan with this plan_id exists. Call plan_call first and use its plan_id.")
            plan = json.loads(row["data"])
            if plan.get("run_id"):
                run_row = db.execute("SELECT data FROM runs WHERE run_id = ?", (plan["run_id"],)).fetchone()
                run = json.loads(run_row["data"]) if run_row else None
                if run is not None and secrets.compare_digest(run["confirm_token"], request.confirm_token):
                    return self._run_result(run, now)  # a replay: same run, no second call
                raise ToolFailure(
                    "This plan has already started a call; a plan can place at most one call. "
                    "Plan a new call to call again."
                )
            if plan["expires_at"] <= now:
                raise ToolFailure("This plan has expired. Plan the call again with plan_call.")
            if not plan["ready"] or not plan.get("confirm_token"):
                fields = ", ".join(m["field"] for m in planner.Draft(**plan["draft"]).missing()) or "details"
                raise ToolFailure(f"This plan is not ready to run: it still needs {fields}. Finish it with plan_call.")
            if not secrets.compare_digest(plan["confirm_token"], request.confirm_token):
                raise ToolFailure(
                    "The confirm_token does not match this plan's current confirmation (the plan may have "
                    "changed). Show the latest plan to the user and use its confirm_token."
                )
            limit = self.config.max_active_calls
            if limit is not None and self._live_calls(db, now) >= limit:
                self.stats.bump("run_call_refused_busy")
                raise concurrency_refusal(limit)
            draft = plan["draft"]
            start_at = now
            if draft.get("scheduled_at"):
                start_at = max(now, planner.parse_time(draft["scheduled_at"]).timestamp())  # type: ignore[union-attr]
            run = {
                "run_id": f"run_{secrets.token_urlsafe(12)}",
                "plan_id": plan["plan_id"],
                "confirm_token": plan["confirm_token"],
                "to_phones": draft["to_phones"],
                "language": draft["language"],
                "goal": draft["goal"],
                "region": draft.get("region"),
                "scheduled_at": draft["scheduled_at"] if start_at > now else None,
                "created_at": now,
                "start_at": start_at,
                "speed": self.speed(),
                "scenario": simulator.scenario_for(draft["to_phones"][0]),
                "marathon_entries": self.config.marathon_entries,
                "expires_at": now + ttl,
            }
            db.execute(
                "INSERT INTO runs (run_id, plan_id, confirm_token, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (run["run_id"], run["plan_id"], run["confirm_token"], json.dumps(run), now, run["expires_at"]),
            )
            plan["run_id"] = run["run_id"]
            self.store.save_plan(db, plan)
        self.stats.bump("calls_placed")
        return self._run_result(run, now)

    def _live_calls(self, db: Any, now: float) -> int:
        """Calls started and not ended at `now` (a scheduled call holds the line only once it starts)."""
        live = 0
        for row in db.execute("SELECT data FROM runs WHERE expires_at > ?", (now,)):
            run = json.loads(row["data"])
            state = simulator.state_at(run, now)
            if not state.terminal and state.status != "scheduled":
                live += 1
        return live

    def _run_result(self, run: dict[str, Any], now: float) -> dict[str, Any]:
        state = simulator.state_at(run, now)
        speed = float(run.get("speed") or 1.0)
        if state.status == "scheduled":
            next_step = {
                "action": "wait_until_scheduled",
                "after_seconds": round(state.starts_in, 3),
                "message": f"The call is scheduled for {run['scheduled_at']}. Check back then with get_call_run.",
            }
        else:
            next_step = {
                "action": "poll",
                "after_seconds": round(FIRST_POLL / speed, 3),
                "message": "The call has started. Wait about a minute, then check on it with get_call_run.",
            }
        return {
            "run_id": run["run_id"],
            "status": "scheduled" if state.status == "scheduled" else state.status,
            "scheduled_at": run.get("scheduled_at"),
            "next_step": next_step,
        }

    # --- get_call_run ------------------------------------------------------------------------------

    def get_call_run(self, arguments: dict[str, Any]) -> dict[str, Any]:
        request: GetCallRunInput = validate(GetCallRunInput, arguments)
        now = self.now()
        run = self.store.run_record(request.run_id)
        if run is None or run["expires_at"] <= now:
            raise ToolFailure("No call with this run_id exists (it may have expired). Use the run_id from run_call.")
        if request.limit is not None and request.limit < 1:
            raise ToolFailure(f"limit must be at least 1 (got {request.limit}).")
        limit = min(request.limit or PAGE_LIMIT[2], PAGE_LIMIT[1])
        start = decode_cursor(request.cursor, run["run_id"]) if request.cursor else 0
        events = simulator.timeline(run)
        state = simulator.state_at(run, now, events)
        visible = state.visible
        if start > len(visible):
            raise ToolFailure("This cursor is ahead of the call's activity; use a cursor from get_call_run.")
        page = visible[start : start + limit]
        end = start + len(page)
        caught_up = end >= len(visible)
        activity = []
        for index, event in enumerate(page, start):
            entry: dict[str, Any] = {
                "id": f"{run['run_id']}.{index:05d}",
                "at": simulator.entry_time(run, event),
                "type": event.type,
                "text": event.text,
            }
            if event.speaker:
                entry["speaker"] = event.speaker
            if event.status:
                entry["status"] = event.status
            activity.append(entry)
        self.stats.bump("activity_entries_returned", len(activity))
        result: dict[str, Any] = {
            "run_id": run["run_id"],
            "status": state.status,
            "terminal": state.terminal,
            "activity": activity,
            # Caught up after a page with entries: still a cursor, the place to resume from next time, so a
            # client that keeps its last cursor asks only for what is new. A page that brought nothing ends
            # the paging (null), so a client that pages until null stops after one short extra request.
            "next_cursor": encode_cursor(run["run_id"], end) if (not caught_up or page) else None,
            # Not in the seed: where to resume next time even once caught up, so polls stay incremental.
            "resume_cursor": encode_cursor(run["run_id"], end),
            "scheduled_at": run.get("scheduled_at"),
            "next_step": self._poll_step(run, state),
        }
        if state.terminal and caught_up:
            summary, details = simulator.outcome(run, state.status, events)
            result["summary"] = summary
            result["details"] = details
            result["transcript"] = [
                {"at": simulator.entry_time(run, e), "speaker": e.speaker, "text": e.text}
                for e in visible
                if e.type == "speech"
            ]
        return result

    def _poll_step(self, run: dict[str, Any], state: simulator.RunState) -> dict[str, Any]:
        speed = float(run.get("speed") or 1.0)
        if state.terminal:
            return {"action": "done", "after_seconds": None, "message": f"The call ended: {state.status}."}
        if state.status == "scheduled":
            return {
                "action": "wait_until_scheduled",
                "after_seconds": round(state.starts_in, 3),
                "message": f"The call is scheduled for {run['scheduled_at']}.",
            }
        wait = state.next_event_in if state.next_event_in is not None else POLL_MAX / speed
        wait = min(max(wait, POLL_MIN / speed), POLL_MAX / speed)
        return {"action": "poll", "after_seconds": round(wait, 3), "message": "The call is in progress."}


def encode_cursor(run_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(f"v1|{run_id}|{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, run_id: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, owner, offset = raw.split("|")
        value = int(offset)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ToolFailure("This cursor is not one get_call_run gave out; omit it to start from the beginning.") from None
    if version != "v1" or value < 0:
        raise ToolFailure("This cursor is not one get_call_run gave out; omit it to start from the beginning.")
    if owner != run_id:
        raise ToolFailure("This cursor belongs to another call; use cursors only with the run_id they came from.")
    return value
