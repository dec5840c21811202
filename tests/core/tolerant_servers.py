"""A scripted CALL-E look-alike for the tolerance tests: each get_call_run / run_call answer comes from a
script (the last answer repeats), as a structured object or as plain text (no structuredContent at all).

Real HTTP on 127.0.0.1, port 0, no auth (calle_fakes.ServerThread)."""

from __future__ import annotations

import json
import threading
from typing import Any

from calle_fakes import RUN_CALL_ANNOTATIONS, ServerThread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent

from calle_tui.core.support.clock import ManualClock


def text_only(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)])


def structured(data: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data))], structured_content=data)


def content_only(data: dict[str, Any], prose: str = "Here is what happened.") -> CallToolResult:
    """No structuredContent: a prose block first and the JSON object in a later text block (seen live)."""
    return CallToolResult(content=[TextContent(type="text", text=prose), TextContent(type="text", text=json.dumps(data))])


def _answer(value: Any, only_content: bool = False) -> CallToolResult:
    if isinstance(value, CallToolResult):
        return value
    if isinstance(value, str):
        return text_only(value)
    return content_only(value) if only_content else structured(value)


class ScriptedCalle:
    """plan_call is always ready; run_call and get_call_run answer from their scripts. Records the clock
    time of every get_call_run and the arguments it was called with."""

    def __init__(
        self,
        clock: ManualClock,
        *,
        run_answers: list[Any],
        poll_answers: list[Any],
        plan_answers: list[Any] | None = None,
        only_content: bool = False,
    ) -> None:
        self.clock = clock
        self.run_answers = run_answers
        self.poll_answers = poll_answers
        self.plan_answers = plan_answers  # None: always ready, echoing the plan (our reference shape)
        self.only_content = only_content  # answer objects as content-only results (JSON in a later block)
        self.plan_calls: list[dict[str, Any]] = []  # arguments and _meta of every plan_call
        self.lock = threading.Lock()
        self.run_calls = 0
        self.poll_times: list[float] = []
        self.idempotent_run = True  # tools/list marks run_call idempotentHint (production and our sandbox do)
        self.polled_ids: list[str] = []

    def server(self) -> ServerThread:
        mcp = MCPServer("scripted-calle")
        fake = self

        @mcp.tool(name="plan_call")
        def plan_call(
            ctx: Context,
            user_input: str,
            to_phones: list[str] | None = None,
            goal: str | None = None,
            plan_id: str | None = None,
        ) -> CallToolResult:
            with fake.lock:
                meta = ctx.request_context.meta
                fake.plan_calls.append({"user_input": user_input, "plan_id": plan_id, "to_phones": to_phones,
                                        "goal": goal, "_meta": dict(meta) if meta else None})  # fmt: skip
                if fake.plan_answers is not None:
                    answer = fake.plan_answers[min(len(fake.plan_calls) - 1, len(fake.plan_answers) - 1)]
                    return _answer(answer, fake.only_content)
            plan = {"to_phones": to_phones or [], "goal": goal}
            return structured({"plan_id": "plan-1", "ready_to_run": True, "confirm_token": "tok-1", "plan": plan})

        @mcp.tool(name="run_call", annotations=RUN_CALL_ANNOTATIONS if self.idempotent_run else None)
        def run_call(plan_id: str, confirm_token: str) -> CallToolResult:
            with fake.lock:
                answer = fake.run_answers[min(fake.run_calls, len(fake.run_answers) - 1)]
                fake.run_calls += 1
            return _answer(answer, fake.only_content)

        @mcp.tool(name="get_call_run")
        def get_call_run(run_id: str, cursor: str | None = None, limit: int | None = None) -> CallToolResult:
            with fake.lock:
                answer = fake.poll_answers[min(len(fake.poll_times), len(fake.poll_answers) - 1)]
                fake.poll_times.append(fake.clock.now())
                fake.polled_ids.append(run_id)
            return _answer(answer, fake.only_content)

        return ServerThread(mcp.streamable_http_app())
