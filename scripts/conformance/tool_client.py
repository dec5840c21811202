"""A conformance-suite client for the scenarios that need a tool call (auth/scope-step-up): `calle-tui doctor`
never calls a tool other than a safe plan_call on a CALL-E endpoint, so it cannot show a step-up there.

This drives the app's own sign-in exactly as the worker does (core/worker.py): sign in on an interactive
provider (auto-follow), then a background provider with the worker's step-up login, list the tools and call
each one once with no arguments. Usage (the suite appends the URL): python tool_client.py URL
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from calle_tui.core.auth.login_flows import AutoFollowLogin
from calle_tui.core.auth.provider import build_oauth_provider
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.auth.token_storage import ServerTokenStorage


def emit(event: Any) -> None:
    step = getattr(event, "step", None)
    if step:
        print(f"sign-in: {step}", file=sys.stderr)


async def session(url: str, provider: Any, call_tools: bool) -> None:
    async with httpx2.AsyncClient(auth=provider, timeout=20) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
            tools = (await client.list_tools()).tools
            print("tools:", ", ".join(t.name for t in tools))
            if call_tools:
                for tool in tools:
                    result = await client.call_tool(tool.name, {})
                    print(f"{tool.name}: {'error' if result.is_error else 'ok'}")


async def main(url: str) -> int:
    storage = ServerTokenStorage(MemoryStore(), url)
    login = AutoFollowLogin(emit, timeout=20)
    await login.start()
    await session(url, build_oauth_provider(url, storage, login, emit), call_tools=False)
    await login.close()

    @contextlib.asynccontextmanager
    async def step_up() -> AsyncIterator[Any]:
        again = AutoFollowLogin(emit, timeout=20)
        await again.start()
        try:
            yield again
        finally:
            await again.close()

    background = build_oauth_provider(url, storage, None, emit, interactive=False, step_up=step_up)
    await session(url, background, call_tools=True)
    print(f"step-ups: {background.step_ups}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[-1])))
