"""Sign-in against the sandbox over real HTTP with the real SDK client: the three flows, restart, refresh,
a forgotten client, timeout and cancel."""

from __future__ import annotations

import asyncio
import json
import time

import httpx2
import pytest
from auth_helpers import BrowserPlayer, expect_failure, list_tools
from calle_fakes import EventLog

from calle_tui.core.auth.errors import LoginCanceled, LoginRequired, LoginTimedOut
from calle_tui.core.auth.login_flows import AutoFollowLogin, BrowserLogin
from calle_tui.core.auth.provider import build_oauth_provider, revoke_and_forget
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.auth.token_storage import ServerTokenStorage
from calle_tui.core.events import SignInProgress
from calle_tui.core.worker_api import WorkerError

TOOLS = ["plan_call", "run_call", "get_call_run"]


def steps(events: EventLog) -> list[str]:
    return [e.step for e in events.of(SignInProgress)]


async def sign_in_auto_follow(sandbox, store) -> ServerTokenStorage:
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    events = EventLog()
    login = AutoFollowLogin(events, timeout=20)
    await login.start()
    assert await list_tools(sandbox.mcp_url, build_oauth_provider(sandbox.mcp_url, storage, login, events)) == TOOLS
    return storage


def age_stored_token(store, storage: ServerTokenStorage) -> None:
    """As if the app was closed for longer than the token's lifetime (what a restart next day sees)."""
    blob = json.loads(store.get(storage.key))
    blob["expires_at"] = time.time() - 60
    store.set(storage.key, json.dumps(blob))


async def test_first_sign_in_auto_follow(sandbox):
    store, events = MemoryStore(), EventLog()
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    login = AutoFollowLogin(events, timeout=20)
    await login.start()
    provider = build_oauth_provider(sandbox.mcp_url, storage, login, events)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    assert steps(events) == ["discovering", "registering", "waiting_for_browser", "exchanging", "done"]
    assert all(e.flow == "auto-follow" for e in events.of(SignInProgress))
    assert storage.has_tokens()
    assert storage.expires_at == pytest.approx(time.time() + 3600, abs=60)
    meta = storage.get_metadata()
    assert meta["oauth_metadata"]["token_endpoint"].startswith(sandbox.base_url)
    assert meta["protected_resource_metadata"]["resource"] == sandbox.mcp_url
    assert (sandbox.stats.registrations, sandbox.stats.authorize_requests) == (1, 1)


async def test_first_sign_in_loopback(sandbox):
    store = MemoryStore()
    storage = ServerTokenStorage(store, sandbox.mcp_url)

    async def to_listener(location: str) -> None:
        async with httpx2.AsyncClient() as http:
            page = await http.get(location)
        assert page.status_code == 200

    player = BrowserPlayer(to_listener)
    login = BrowserLogin(player, open_browser=False, listen=True, environ={})
    await login.start()
    provider = build_oauth_provider(sandbox.mcp_url, storage, login, player)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    assert steps(player.events)[-2:] == ["exchanging", "done"]
    [waiting] = [e for e in player.events.of(SignInProgress) if e.step == "waiting_for_browser"]
    assert waiting.callback_port == login.port and waiting.flow == "loopback"
    assert player.redirects[0].startswith(login.redirect_uri)
    assert storage.has_tokens()
    await login.close()


async def test_first_sign_in_paste_checks_state(sandbox):
    store = MemoryStore()
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    refused: list[str] = []

    def paste(location: str) -> None:
        try:
            login.submit(location.replace("state=", "state=x"))  # a stale tab's URL first
        except WorkerError as exc:
            refused.append(exc.kind)
        login.submit(f"  {location}\n")

    player = BrowserPlayer(paste)
    login = BrowserLogin(player, open_browser=False, listen=False, environ={"SSH_CONNECTION": "1 2 3 4"})
    await login.start()
    assert login.redirect_uri == "http://127.0.0.1:8976/callback"
    provider = build_oauth_provider(sandbox.mcp_url, storage, login, player)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    assert refused == ["state_mismatch"]
    assert storage.has_tokens()


async def test_restart_with_stored_tokens_needs_no_login(sandbox):
    store = MemoryStore()
    await sign_in_auto_follow(sandbox, store)
    before = sandbox.stats.snapshot()
    storage = ServerTokenStorage(store, sandbox.mcp_url)  # a new process: new storage and provider
    provider = build_oauth_provider(sandbox.mcp_url, storage, None, EventLog(), interactive=False)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    after = sandbox.stats.snapshot()
    assert after["authorize_requests"] == before["authorize_requests"]
    assert after["registrations"] == before["registrations"]
    assert after["token_grants"] == before["token_grants"]
    assert after["unauthorized_401"] == before["unauthorized_401"]


async def test_restart_with_an_expired_token_refreshes_without_login(sandbox):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)
    old_refresh = (await first.get_tokens()).refresh_token
    sandbox.expire_access_tokens()
    age_stored_token(store, first)
    before = sandbox.stats.snapshot()

    storage = ServerTokenStorage(store, sandbox.mcp_url)
    provider = build_oauth_provider(sandbox.mcp_url, storage, None, EventLog(), interactive=False)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    after = sandbox.stats.snapshot()
    assert after["authorize_requests"] == before["authorize_requests"]  # zero authorize requests
    assert after["token_grants"].get("refresh_token", 0) == before["token_grants"].get("refresh_token", 0) + 1
    assert after["unauthorized_401"] == before["unauthorized_401"]  # refreshed before the first request
    assert storage.expires_at > time.time() + 3000
    assert (await storage.get_tokens()).refresh_token not in (None, old_refresh)  # the sandbox rotates them


async def test_a_token_the_server_dropped_early_is_refreshed_not_logged_in_again(sandbox):
    store = MemoryStore()
    await sign_in_auto_follow(sandbox, store)
    sandbox.expire_access_tokens()  # the server side only: locally the token still looks valid
    before = sandbox.stats.snapshot()
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    provider = build_oauth_provider(sandbox.mcp_url, storage, None, EventLog(), interactive=False)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    after = sandbox.stats.snapshot()
    assert after["authorize_requests"] == before["authorize_requests"]
    assert after["token_grants"].get("refresh_token", 0) == before["token_grants"].get("refresh_token", 0) + 1
    assert after["unauthorized_401"] == before["unauthorized_401"] + 1


async def test_rejected_refresh_token_means_login_required_and_is_forgotten(sandbox):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)
    sandbox.revoke_all_refresh_tokens()
    sandbox.expire_access_tokens()
    age_stored_token(store, first)
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    await expect_failure(
        sandbox.mcp_url, build_oauth_provider(sandbox.mcp_url, storage, None, EventLog(), interactive=False), LoginRequired
    )
    assert not storage.has_tokens()  # a dead refresh token is not retried after the next restart
    assert await storage.get_client_info() is not None


async def test_server_forgot_the_client_on_refresh_re_registers_once(sandbox):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)
    sandbox.forget_clients()
    sandbox.expire_access_tokens()
    age_stored_token(store, first)
    events = EventLog()
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    login = AutoFollowLogin(events, timeout=20)
    await login.start()
    provider = build_oauth_provider(sandbox.mcp_url, storage, login, events)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    assert sandbox.stats.registrations == 2
    assert "registering" in steps(events) and steps(events)[-1] == "done"


async def test_server_forgot_the_client_at_authorize_re_registers_once(sandbox):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)
    await first.clear_tokens()  # signed out locally, registration kept
    sandbox.forget_clients()
    events = EventLog()
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    login = AutoFollowLogin(events, timeout=20)
    await login.start()
    provider = build_oauth_provider(sandbox.mcp_url, storage, login, events)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    assert sandbox.stats.registrations == 2
    assert sandbox.stats.authorize_requests == 3  # first sign-in, the refused one, the one after re-registering


async def test_loopback_sign_in_after_an_earlier_one_registers_for_the_new_port(sandbox):
    store = MemoryStore()
    first = await sign_in_auto_follow(sandbox, store)  # registered for the auto-follow redirect URI
    await first.clear_tokens()

    async def to_listener(location: str) -> None:
        async with httpx2.AsyncClient() as http:
            await http.get(location)

    player = BrowserPlayer(to_listener)
    login = BrowserLogin(player, open_browser=False, listen=True, environ={})
    await login.start()
    storage = ServerTokenStorage(store, sandbox.mcp_url)
    assert await list_tools(sandbox.mcp_url, build_oauth_provider(sandbox.mcp_url, storage, login, player)) == TOOLS
    assert sandbox.stats.registrations == 2
    assert login.redirect_uri in [str(u) for u in (await storage.get_client_info()).redirect_uris]
    await login.close()


async def test_background_connect_without_tokens_raises_login_required(sandbox):
    storage = ServerTokenStorage(MemoryStore(), sandbox.mcp_url)
    error = await expect_failure(
        sandbox.mcp_url, build_oauth_provider(sandbox.mcp_url, storage, None, EventLog(), interactive=False), LoginRequired
    )
    assert str(error) == "You need to sign in."
    assert sandbox.stats.authorize_requests == 0 and sandbox.stats.registrations == 0


async def test_login_timeout_ends_cleanly(sandbox):
    events = EventLog()
    login = BrowserLogin(events, timeout=0.5, open_browser=False, listen=True, environ={})
    await login.start()
    storage = ServerTokenStorage(MemoryStore(), sandbox.mcp_url)
    await expect_failure(sandbox.mcp_url, build_oauth_provider(sandbox.mcp_url, storage, login, events), LoginTimedOut)
    assert steps(events)[-1] == "failed"
    with pytest.raises(OSError):  # the listener is closed: the browser's redirect finds nobody
        await asyncio.open_connection("127.0.0.1", login.port)
    assert not storage.has_tokens()
    await login.close()


async def test_cancel_ends_cleanly(sandbox):
    events = EventLog()

    def cancel_when_waiting(event) -> None:
        events(event)
        if isinstance(event, SignInProgress) and event.step == "waiting_for_browser":
            login.cancel()

    login = BrowserLogin(cancel_when_waiting, timeout=60, open_browser=False, listen=True, environ={})
    await login.start()
    storage = ServerTokenStorage(MemoryStore(), sandbox.mcp_url)
    started = time.monotonic()
    error = await expect_failure(
        sandbox.mcp_url, build_oauth_provider(sandbox.mcp_url, storage, login, cancel_when_waiting), LoginCanceled
    )
    assert time.monotonic() - started < 10
    assert str(error) == "Sign-in was canceled."
    assert steps(events)[-1] == "canceled"
    await login.close()


async def test_sign_out_revokes_and_forgets(sandbox):
    store = MemoryStore()
    storage = await sign_in_auto_follow(sandbox, store)
    tokens = await storage.get_tokens()
    client = await storage.get_client_info()
    async with httpx2.AsyncClient(timeout=10) as http:
        await revoke_and_forget(storage, http)
        assert store.get(storage.key) is None and not storage.has_tokens()
        # the revoked refresh token no longer works at the token endpoint
        data = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": client.client_id}
        if client.client_secret:
            data["client_secret"] = client.client_secret
        refused = await http.post(sandbox.base_url + "/token", data=data)
        assert refused.status_code == 400


async def test_a_pre_registered_client_is_used_instead_of_registration(sandbox):
    async with httpx2.AsyncClient() as http:
        registered = await http.post(
            sandbox.base_url + "/register",
            json={"redirect_uris": ["http://127.0.0.1:8976/callback"], "client_name": "configured", "scope": "calls"},
        )
    assert registered.status_code == 201, registered.text
    client = registered.json()
    events = EventLog()
    storage = ServerTokenStorage(MemoryStore(), sandbox.mcp_url)
    login = AutoFollowLogin(events, timeout=20)
    await login.start()
    provider = build_oauth_provider(
        sandbox.mcp_url, storage, login, events, client_id=client["client_id"], client_secret=client.get("client_secret")
    )
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
    assert sandbox.stats.registrations == 1  # only ours above
    assert "registering" not in steps(events)
    assert sandbox.stats.token_grants["authorization_code"] == 1
