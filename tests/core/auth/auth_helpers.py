"""Helpers for the sign-in tests against the sandbox: a client connection and a browser stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx2
import pytest
from calle_fakes import EventLog

from calle_tui.core.events import SignInProgress


async def list_tools(url: str, provider) -> list[str]:
    """One real MCP session over Streamable HTTP with the provider as auth; returns the tool names."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(auth=provider, timeout=20) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
            return [tool.name for tool in (await client.list_tools()).tools]


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


async def expect_failure(url: str, provider, kind: type[BaseException]) -> BaseException:
    """Connect, expect the session to fail with `kind` somewhere in the (grouped) exception."""
    with pytest.raises(BaseException) as info:
        await list_tools(url, provider)
    found = [leaf for leaf in leaves(info.value) if isinstance(leaf, kind)]
    assert found, f"expected {kind.__name__}, got {info.value!r}"
    return found[0]


class BrowserPlayer:
    """Plays the person's browser: on "waiting_for_browser", GETs the authorize URL of the auto-approving
    sandbox and hands the redirect to `deliver` (the loopback listener, or the paste box)."""

    def __init__(self, deliver: Callable[[str], object]) -> None:
        self.deliver = deliver
        self.events = EventLog()
        self.tasks: list[asyncio.Task] = []
        self.redirects: list[str] = []

    def __call__(self, event) -> None:
        self.events(event)
        if isinstance(event, SignInProgress) and event.step == "waiting_for_browser" and event.authorize_url:
            self.tasks.append(asyncio.get_running_loop().create_task(self._play(event.authorize_url)))

    async def _play(self, authorize_url: str) -> None:
        async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as http:
            response = await http.get(authorize_url)
            assert response.is_redirect, response.status_code
            location = response.headers["location"]
            self.redirects.append(location)
            result = self.deliver(location)
            if asyncio.iscoroutine(result):
                await result
