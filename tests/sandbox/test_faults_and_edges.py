"""Fault injection on /mcp (seeded, changeable at runtime) and bad input that must never become a 500."""

from __future__ import annotations

import time

import httpx2
import pytest

from calle_tui.sandbox.harness import Faults, MemoryTokenStorage, oauth_provider, sdk_client

INIT = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}  # fmt: skip
ACCEPT = {"Accept": "application/json, text/event-stream"}


async def bearer(box) -> str:
    storage = MemoryTokenStorage()
    async with sdk_client(box.mcp_url, oauth_provider(box.mcp_url, storage)) as client:
        await client.list_tools()
    return storage.tokens.access_token


async def statuses(box, token: str, count: int) -> list[int]:
    headers = {"Authorization": f"Bearer {token}", **ACCEPT}
    async with httpx2.AsyncClient() as http:
        return [(await http.post(box.mcp_url, json=INIT, headers=headers)).status_code for _ in range(count)]


async def test_429_with_retry_after_and_503_are_injected_and_switchable_at_runtime(sandbox_factory):
    box = sandbox_factory()
    token = await bearer(box)
    box.config.faults.rate_429, box.config.faults.retry_after = 1.0, 7
    async with httpx2.AsyncClient() as http:
        limited = await http.post(box.mcp_url, json=INIT, headers={"Authorization": f"Bearer {token}", **ACCEPT})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert "Retry in 7 s" in limited.json()["error_description"]
    box.config.faults.rate_429, box.config.faults.rate_5xx = 0.0, 1.0
    assert await statuses(box, token, 3) == [503, 503, 503]
    box.config.faults.rate_5xx = 0.0
    assert await statuses(box, token, 2) == [200, 200]
    assert box.stats.faults_injected == {"429": 1, "503": 3}


async def test_fault_pattern_is_deterministic_for_a_seed(sandbox_factory):
    patterns = []
    for _ in range(2):
        box = sandbox_factory(seed=42)
        token = await bearer(box)
        box.config.faults.rate_5xx = 0.5
        patterns.append(await statuses(box, token, 12))
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {200, 503}


async def test_latency_is_added(sandbox_factory):
    box = sandbox_factory(faults=Faults(latency=0.3))
    async with httpx2.AsyncClient() as http:
        started = time.perf_counter()
        response = await http.post(box.mcp_url, json=INIT, headers=ACCEPT)
        took = time.perf_counter() - started
    assert response.status_code == 401 and took >= 0.3


async def test_token_lifetime_applies_to_new_tokens(sandbox_factory):
    box = sandbox_factory(faults=Faults(token_lifetime=5))
    storage = MemoryTokenStorage()
    async with sdk_client(box.mcp_url, oauth_provider(box.mcp_url, storage)) as client:
        await client.list_tools()
    assert storage.tokens.expires_in == 5


async def test_mcp_allows_browser_clients(sandbox):
    async with httpx2.AsyncClient() as http:
        preflight = await http.options(
            sandbox.mcp_url,
            headers={"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type,mcp-session-id"},
        )  # fmt: skip
        assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == "*"
        assert "authorization" in preflight.headers["access-control-allow-headers"]
        response = await http.post(sandbox.mcp_url, json=INIT, headers={"Origin": "http://localhost:6274"})
        exposed = response.headers["access-control-expose-headers"]
        assert "Mcp-Session-Id" in exposed and "WWW-Authenticate" in exposed
        for path in ("/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource/mcp"):
            meta = await http.get(sandbox.base_url + path, headers={"Origin": "http://localhost:6274"})
            assert meta.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/authorize", {}),
        ("POST", "/authorize", {"data": {"client_id": "x"}}),
        ("POST", "/token", {"content": b"\x00\xff garbage"}),
        ("POST", "/token", {"json": {"grant_type": "password"}}),
        ("POST", "/register", {"json": [1, 2, 3]}),
        ("POST", "/register", {"json": {"redirect_uris": ["not a url"]}}),
        ("POST", "/revoke", {"data": {"token": "x"}}),
        ("GET", "/consent", {}),
        ("POST", "/consent", {"content": b"%%%"}),
        ("GET", "/nowhere", {}),
        ("DELETE", "/mcp", {}),
    ],
)
async def test_bad_input_to_endpoints_is_never_a_500(sandbox, method, path, kwargs):
    async with httpx2.AsyncClient() as http:
        response = await http.request(method, sandbox.base_url + path, **kwargs)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)


async def test_bad_json_rpc_with_a_valid_token_is_a_client_error(sandbox):
    token = await bearer(sandbox)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **ACCEPT}
    async with httpx2.AsyncClient() as http:
        response = await http.post(sandbox.mcp_url, content=b"{nope", headers=headers)
    assert 400 <= response.status_code < 500


async def test_faults_can_be_changed_over_http_for_a_separate_process(sandbox):
    async with httpx2.AsyncClient() as http:
        url = sandbox.base_url + "/_sandbox/faults"
        changed = await http.post(url, json={"rate_5xx": 1, "token_lifetime": 30})
        assert changed.status_code == 200 and changed.json()["rate_5xx"] == 1.0
        assert sandbox.config.faults.token_lifetime == 30
        assert (await http.post(sandbox.mcp_url, json=INIT, headers=ACCEPT)).status_code == 503
        for bad in ({"rate_5xx": 2}, {"nope": 1}, [1], {"latency": "x"}):
            refused = await http.post(url, json=bad)
            assert refused.status_code == 400 and refused.json()["error"].endswith(".")
        assert (await http.post(url, content=b"{")).status_code == 400
        counters = (await http.get(sandbox.base_url + "/_sandbox/stats")).json()
        assert counters["faults_injected"] == {"503": 1}


async def test_faults_reset_by_post_or_delete_clears_every_fault(sandbox):
    defaults = {"rate_429": 0.0, "retry_after": 1.0, "rate_5xx": 0.0, "latency": 0.0, "token_lifetime": 3600,
                "token_outage": 0, "token_outage_status": 503}  # fmt: skip
    async with httpx2.AsyncClient() as http:
        url = sandbox.base_url + "/_sandbox/faults"
        bent = {"rate_5xx": 1, "rate_429": 0, "latency": 0.5, "retry_after": 3, "token_lifetime": 30}
        assert (await http.post(url, json=bent)).status_code == 200
        reset = await http.post(url, json={"reset": True})
        assert reset.status_code == 200 and reset.json() == defaults
        assert (await http.post(sandbox.mcp_url, json=INIT, headers=ACCEPT)).status_code != 503
        assert (await http.post(url, json={"rate_5xx": 1})).status_code == 200
        deleted = await http.delete(url)
        assert deleted.status_code == 200 and deleted.json() == defaults
        assert sandbox.config.faults.rate_5xx == 0.0
        # Reset with changes in the same body: reset first, then the changes.
        both = await http.post(url, json={"reset": True, "latency": 0.25})
        assert both.json() == {**defaults, "latency": 0.25}
        assert (await http.post(url, json={"reset": "yes"})).status_code == 400
