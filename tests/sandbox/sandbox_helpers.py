"""Helpers for the sandbox tests (imported as a plain module: tests/sandbox is on sys.path)."""

from __future__ import annotations

import json


class ToolError(Exception):
    pass


class Tools:
    """Thin wrapper: call a tool, get its structured result, or ToolError with the server's sentence."""

    def __init__(self, client) -> None:
        self.client = client

    async def __call__(self, name: str, **arguments):
        result = await self.client.call_tool(name, arguments)
        text = " ".join(getattr(c, "text", "") for c in result.content)
        if result.is_error:
            raise ToolError(text)
        assert json.loads(text) == result.structured_content  # text and structure agree
        return result.structured_content

    async def ready_plan(self, user_input: str, **fields):
        plan = await self("plan_call", user_input=user_input, language="English", **fields)
        assert plan["ready_to_run"], plan["missing"]
        return plan

    async def start(self, phone: str = "+44 20 7946 0000", **fields):
        plan = await self.ready_plan(f"Call {phone} and ask about opening hours", **fields)
        run = await self("run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])
        return plan, run
