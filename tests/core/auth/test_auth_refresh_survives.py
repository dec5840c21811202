"""A refresh that meets an auth-server hiccup keeps the sign-in: only invalid_grant / invalid_client end it.
Against the sandbox over real HTTP, with its token-endpoint outage fault."""

from __future__ import annotations

import json
import socket

import pytest
from auth_helpers import expect_failure, list_tools
from calle_fakes import EventLog
from test_auth_sandbox import TOOLS, age_stored_token, sign_in_auto_follow

from calle_tui.core.auth.errors import LoginRequired, SignInServerUnavailable
from calle_tui.core.auth.provider import build_oauth_provider
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.auth.token_storage import ServerTokenStorage
from calle_tui.core.session.connection import classify


def background_provider(sandbox, storage):
    return build_oauth_provider(sandbox.mcp_url, storage, None, EventLog(), interactive=False)


@pytest.mark.parametrize("status", [503, 502, 429, 200])
async def test_a_refresh_answered_with_an_outage_keeps_the_sign_in(sandbox, status):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)
    refresh_before = (await first.get_tokens()).refresh_token
    sandbox.expire_access_tokens()
    age_stored_token(store, first)
    sandbox.config.faults.token_outage = 1
    sandbox.config.faults.token_outage_status = status

    storage = ServerTokenStorage(store, sandbox.mcp_url)
    failure = await expect_failure(sandbox.mcp_url, background_provider(sandbox, storage), SignInServerUnavailable)
    error = classify(failure)
    assert error.kind != "auth"  # the worker retries with backoff instead of asking for a browser sign-in
    assert "sign-in server" in error.message and "signed in" in error.message
    fresh = ServerTokenStorage(store, sandbox.mcp_url)  # as the next start-up reads it
    assert fresh.has_tokens() and (await fresh.get_tokens()).refresh_token == refresh_before

    before = sandbox.stats.snapshot()
    assert await list_tools(sandbox.mcp_url, background_provider(sandbox, fresh)) == TOOLS  # outage over
    after = sandbox.stats.snapshot()
    assert after["authorize_requests"] == before["authorize_requests"]
    assert after["token_grants"].get("refresh_token", 0) == before["token_grants"].get("refresh_token", 0) + 1


async def test_a_refresh_that_cannot_reach_the_sign_in_server_keeps_the_sign_in(sandbox):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)
    refresh_before = (await first.get_tokens()).refresh_token
    age_stored_token(store, first)
    with socket.socket() as sock:  # a port nobody listens on: a real connection refused
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    blob = json.loads(store.get(first.key))
    blob["oauth_metadata"]["token_endpoint"] = f"http://127.0.0.1:{dead}/token"
    store.set(first.key, json.dumps(blob))

    storage = ServerTokenStorage(store, sandbox.mcp_url)
    with pytest.raises(BaseException):  # noqa: B017 - any connect failure; what matters is the store after it
        await list_tools(sandbox.mcp_url, background_provider(sandbox, storage))
    fresh = ServerTokenStorage(store, sandbox.mcp_url)
    assert (await fresh.get_tokens()).refresh_token == refresh_before


async def test_a_refresh_answered_invalid_grant_ends_the_sign_in(sandbox):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)
    sandbox.revoke_all_refresh_tokens()  # the token endpoint answers 400 invalid_grant
    sandbox.expire_access_tokens()
    age_stored_token(store, first)
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    await expect_failure(sandbox.mcp_url, background_provider(sandbox, storage), LoginRequired)
    assert not ServerTokenStorage(store, sandbox.mcp_url).has_tokens()
