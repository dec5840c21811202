"""The OAuth side of the sandbox, driven by the mcp SDK's own client (OAuthClientProvider) over real HTTP,
plus direct HTTP where a test must play a misbehaving client."""

from __future__ import annotations

import base64
import hashlib
import secrets
import types
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest

from calle_tui.sandbox.harness import MemoryTokenStorage, follow_authorization, oauth_provider, sdk_client

REDIRECT = "http://127.0.0.1:9/callback"
DENTIST = "Call the dentist at +44 20 7946 0000 and move my appointment to Friday"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def register(http: httpx2.AsyncClient, base: str, **extra) -> dict:
    body = {"redirect_uris": [REDIRECT], "client_name": "raw test", **extra}
    response = await http.post(f"{base}/register", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def authorize(base: str, client_id: str, challenge: str, resource: str | None, state: str = "s1") -> dict:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    if resource:
        params["resource"] = resource
    async with httpx2.AsyncClient() as http:
        response = await http.get(f"{base}/authorize?{urlencode(params)}")
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


async def token(http: httpx2.AsyncClient, base: str, client: dict, **form) -> httpx2.Response:
    data = {"client_id": client["client_id"], **form}
    if client.get("client_secret"):
        data["client_secret"] = client["client_secret"]
    return await http.post(f"{base}/token", data=data)


async def signed_in(sandbox, http: httpx2.AsyncClient) -> tuple[dict, dict]:
    """A raw client that went through register -> authorize -> token; returns (client, token response)."""
    client = await register(http, sandbox.base_url)
    verifier, challenge = pkce()
    redirect = await authorize(sandbox.base_url, client["client_id"], challenge, sandbox.mcp_url)
    response = await token(
        http, sandbox.base_url, client, grant_type="authorization_code", code=redirect["code"],
        redirect_uri=REDIRECT, code_verifier=verifier,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return client, response.json()


async def mcp_status(http: httpx2.AsyncClient, url: str, access_token: str) -> int:
    init = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json, text/event-stream"}
    return (await http.post(url, json=init, headers=headers)).status_code


# --- the SDK client end to end ----------------------------------------------------------------------


async def test_whole_dance_then_tools(sandbox):
    storage = MemoryTokenStorage()
    async with sdk_client(sandbox.mcp_url, oauth_provider(sandbox.mcp_url, storage)) as client:
        tools = await client.list_tools()
        assert {t.name for t in tools.tools} == {"plan_call", "run_call", "get_call_run"}
        for tool in tools.tools:
            assert tool.description and len(tool.description) > 60
            assert tool.input_schema["properties"] and tool.output_schema["properties"]
        first = (await client.call_tool("plan_call", {"user_input": DENTIST})).structured_content
        assert first["ready_to_run"] is False
        assert [m["field"] for m in first["missing"]] == ["language"]
        answer = await client.call_tool("plan_call", {"user_input": "English", "plan_id": first["plan_id"]})
        ready = answer.structured_content
        assert ready["ready_to_run"] is True and ready["plan_id"] == first["plan_id"]
        assert ready["plan"]["to_phones"] == ["+442079460000"]
        run = await client.call_tool("run_call", {"plan_id": ready["plan_id"], "confirm_token": ready["confirm_token"]})
        assert not run.is_error, run.content
        page = await client.call_tool("get_call_run", {"run_id": run.structured_content["run_id"]})
        assert page.structured_content["status"] == "queued"
    stats = sandbox.stats
    assert stats.unauthorized_401 == 1 and stats.registrations == 1 and stats.authorize_requests == 1
    assert stats.token_grants["authorization_code"] == 1
    assert storage.tokens is not None and storage.tokens.refresh_token
    assert storage.tokens.scope == "calls"


async def test_the_production_path_is_served_too(sandbox):
    url = sandbox.base_url + "/mcp/openagent_oauth"
    async with sdk_client(url) as client:
        assert len((await client.list_tools()).tools) == 3


async def test_consent_page_approve_and_deny(sandbox_factory):
    box = sandbox_factory(auto_approve=False)
    async with sdk_client(box.mcp_url, approve=True) as client:
        assert len((await client.list_tools()).tools) == 3
    with pytest.raises(BaseException) as denied:
        async with sdk_client(box.mcp_url, approve=False) as client:
            await client.list_tools()
    assert "denied" in repr(denied.value).lower() or "OAuthFlowError" in repr(denied.value)
    assert box.stats.token_grants["authorization_code"] == 1


async def test_consent_page_is_html_and_single_use(sandbox_factory):
    box = sandbox_factory(auto_approve=False)
    async with httpx2.AsyncClient() as http:
        client = await register(http, box.base_url, client_name="<b>Evil</b>")
        _, challenge = pkce()
        params = {
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT,
            "code_challenge": challenge, "state": "st",
        }  # fmt: skip
        response = await http.get(f"{box.base_url}/authorize?{urlencode(params)}")
        assert response.status_code == 302
        page = await http.get(response.headers["location"])
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "&lt;b&gt;Evil&lt;/b&gt;" in page.text and "<b>Evil</b>" not in page.text
        request_id = parse_qs(urlsplit(response.headers["location"]).query)["request"][0]
        approved = await http.post(f"{box.base_url}/consent", data={"request": request_id, "decision": "approve"})
        assert approved.status_code == 302
        assert parse_qs(urlsplit(approved.headers["location"]).query)["state"] == ["st"]
        again = await http.post(f"{box.base_url}/consent", data={"request": request_id, "decision": "approve"})
        assert again.status_code == 400 and "expired or was already answered" in again.text
        bad = await http.post(f"{box.base_url}/consent", data={"request": "nope", "decision": "maybe"})
        assert bad.status_code == 400


# --- tokens ----------------------------------------------------------------------------------------


async def test_refresh_after_expiry_uses_the_refresh_token_not_a_new_login(sandbox_factory, fake_clock, monkeypatch):
    import mcp.client.auth.oauth2 as oauth2
    import mcp.shared.auth_utils as auth_utils

    # The client and the sandbox share one clock, so "expired" means the same to both.
    shim = types.SimpleNamespace(time=fake_clock.now)
    monkeypatch.setattr(oauth2, "time", shim)
    monkeypatch.setattr(auth_utils, "time", shim)
    box = sandbox_factory(clock=fake_clock.now)
    box.config.faults.token_lifetime = 60
    storage = MemoryTokenStorage()
    async with sdk_client(box.mcp_url, oauth_provider(box.mcp_url, storage)) as client:
        await client.list_tools()
        first_access = storage.tokens.access_token
        fake_clock.advance(61)
        result = await client.call_tool("plan_call", {"user_input": "hello"})
        assert not result.is_error
    assert box.stats.token_grants == {"authorization_code": 1, "refresh_token": 1}
    assert box.stats.unauthorized_401 == 1  # only the very first request
    assert storage.tokens.access_token != first_access


async def test_expired_token_is_refused_with_a_401(sandbox):
    async with httpx2.AsyncClient() as http:
        _, tokens = await signed_in(sandbox, http)
        assert await mcp_status(http, sandbox.mcp_url, tokens["access_token"]) == 200
        sandbox.expire_access_tokens()
        assert await mcp_status(http, sandbox.mcp_url, tokens["access_token"]) == 401


async def test_reused_refresh_token_is_refused_and_its_family_revoked(sandbox):
    async with httpx2.AsyncClient() as http:
        client, tokens = await signed_in(sandbox, http)
        first = await token(http, sandbox.base_url, client, grant_type="refresh_token",
                            refresh_token=tokens["refresh_token"])  # fmt: skip
        assert first.status_code == 200, first.text
        rotated = first.json()
        assert rotated["refresh_token"] != tokens["refresh_token"]
        assert await mcp_status(http, sandbox.mcp_url, rotated["access_token"]) == 200
        reuse = await token(http, sandbox.base_url, client, grant_type="refresh_token",
                            refresh_token=tokens["refresh_token"])  # fmt: skip
        assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
        # The whole family is gone: the rotated refresh token and its access token too.
        after = await token(http, sandbox.base_url, client, grant_type="refresh_token",
                            refresh_token=rotated["refresh_token"])  # fmt: skip
        assert after.status_code == 400 and after.json()["error"] == "invalid_grant"
        assert await mcp_status(http, sandbox.mcp_url, rotated["access_token"]) == 401


async def test_revocation_ends_the_family(sandbox):
    async with httpx2.AsyncClient() as http:
        client, tokens = await signed_in(sandbox, http)
        form = {"token": tokens["refresh_token"], "client_id": client["client_id"],
                "client_secret": client["client_secret"]}  # fmt: skip
        assert (await http.post(f"{sandbox.base_url}/revoke", data=form)).status_code == 200
        assert await mcp_status(http, sandbox.mcp_url, tokens["access_token"]) == 401


async def test_public_client_without_secret_works(sandbox):
    async with httpx2.AsyncClient() as http:
        client = await register(http, sandbox.base_url, token_endpoint_auth_method="none")
        assert client.get("client_secret") is None
        verifier, challenge = pkce()
        redirect = await authorize(sandbox.base_url, client["client_id"], challenge, sandbox.mcp_url)
        response = await token(http, sandbox.base_url, client, grant_type="authorization_code",
                               code=redirect["code"], redirect_uri=REDIRECT, code_verifier=verifier)  # fmt: skip
        assert response.status_code == 200, response.text


# --- refusals --------------------------------------------------------------------------------------


async def test_wrong_state_is_refused_by_the_client_and_no_code_is_exchanged(sandbox):
    with pytest.raises(BaseException) as failure:
        async with sdk_client(sandbox.mcp_url, tamper_state=True) as client:
            await client.list_tools()
    assert "State parameter mismatch" in repr(failure.value)
    assert sandbox.stats.token_grants["authorization_code"] == 0


async def test_wrong_pkce_verifier_is_refused_and_burns_the_code(sandbox):
    async with httpx2.AsyncClient() as http:
        client = await register(http, sandbox.base_url)
        verifier, challenge = pkce()
        code = (await authorize(sandbox.base_url, client["client_id"], challenge, sandbox.mcp_url))["code"]
        wrong = await token(http, sandbox.base_url, client, grant_type="authorization_code", code=code,
                            redirect_uri=REDIRECT, code_verifier=pkce()[0])  # fmt: skip
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        right = await token(http, sandbox.base_url, client, grant_type="authorization_code", code=code,
                            redirect_uri=REDIRECT, code_verifier=verifier)  # fmt: skip
        assert right.status_code == 400  # single use, even after a failed attempt
    assert sandbox.stats.token_grants["authorization_code"] == 0


async def test_codes_are_single_use_and_a_replay_revokes_what_they_gave(sandbox):
    async with httpx2.AsyncClient() as http:
        client = await register(http, sandbox.base_url)
        verifier, challenge = pkce()
        code = (await authorize(sandbox.base_url, client["client_id"], challenge, sandbox.mcp_url))["code"]
        form = dict(grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
        first = await token(http, sandbox.base_url, client, **form)
        assert first.status_code == 200
        replay = await token(http, sandbox.base_url, client, **form)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        assert await mcp_status(http, sandbox.mcp_url, first.json()["access_token"]) == 401


async def test_codes_expire(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now)
    async with httpx2.AsyncClient() as http:
        client = await register(http, box.base_url)
        verifier, challenge = pkce()
        code = (await authorize(box.base_url, client["client_id"], challenge, box.mcp_url))["code"]
        fake_clock.advance(box.config.code_lifetime + 1)
        late = await token(http, box.base_url, client, grant_type="authorization_code", code=code,
                           redirect_uri=REDIRECT, code_verifier=verifier)  # fmt: skip
        assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


async def test_a_token_for_another_resource_is_refused(sandbox):
    async with httpx2.AsyncClient() as http:
        client = await register(http, sandbox.base_url)
        _, challenge = pkce()
        # The authorization server will not issue a token for someone else's resource...
        refused = await authorize(sandbox.base_url, client["client_id"], challenge, "https://elsewhere.example/mcp")
        assert refused["error"] == "invalid_target" and refused["state"] == "s1"
        # ...and the resource server refuses a token bound to another resource.
        _, tokens = await signed_in(sandbox, http)
        assert await mcp_status(http, sandbox.mcp_url, tokens["access_token"]) == 200
        sandbox.store.run("UPDATE access_tokens SET resource = ?", "https://elsewhere.example/mcp")
        assert await mcp_status(http, sandbox.mcp_url, tokens["access_token"]) == 401


async def test_missing_or_garbage_bearer_gets_a_challenge_pointing_at_metadata(sandbox):
    async with httpx2.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
            response = await http.post(sandbox.mcp_url, json={}, headers=headers)
            assert response.status_code == 401
            challenge = response.headers["www-authenticate"]
            assert f'resource_metadata="{sandbox.base_url}/.well-known/oauth-protected-resource/mcp"' in challenge
        prm = (await http.get(f"{sandbox.base_url}/.well-known/oauth-protected-resource/mcp")).json()
        assert prm["resource"] == sandbox.mcp_url and prm["authorization_servers"] == [sandbox.base_url]
        meta = (await http.get(f"{sandbox.base_url}/.well-known/oauth-authorization-server")).json()
        assert meta["issuer"] == sandbox.base_url
        assert meta["code_challenge_methods_supported"] == ["S256"]
        assert "none" in meta["token_endpoint_auth_methods_supported"]
        assert meta["registration_endpoint"] and meta["revocation_endpoint"]


async def test_plain_pkce_and_unknown_clients_get_clear_errors(sandbox):
    async with httpx2.AsyncClient() as http:
        client = await register(http, sandbox.base_url)
        params = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT,
                  "code_challenge": "x" * 43, "code_challenge_method": "plain", "state": "p"}  # fmt: skip
        plain = await http.get(f"{sandbox.base_url}/authorize?{urlencode(params)}")
        assert plain.status_code == 302 and "error=invalid_request" in plain.headers["location"]
        params["client_id"], params["code_challenge_method"] = "nobody", "S256"
        unknown = await http.get(f"{sandbox.base_url}/authorize?{urlencode(params)}")
        assert unknown.status_code == 400 and "not found" in unknown.json()["error_description"]
        garbage = await http.post(f"{sandbox.base_url}/register", content=b"{not json")
        assert garbage.status_code == 400
        nothing = await http.post(f"{sandbox.base_url}/token", data={})
        assert nothing.status_code == 401 and nothing.json()["error"] == "invalid_client"


async def test_forgotten_clients_must_register_again(sandbox):
    storage = MemoryTokenStorage()
    async with sdk_client(sandbox.mcp_url, oauth_provider(sandbox.mcp_url, storage)) as client:
        await client.list_tools()
    sandbox.forget_clients()
    code, _ = await follow_authorization(
        f"{sandbox.base_url}/authorize?"
        + urlencode(
            {
                "response_type": "code",
                "client_id": storage.client_info.client_id,
                "redirect_uri": REDIRECT,
                "code_challenge": pkce()[1],
                "state": "z",
            }
        )
    )
    assert code is None


async def test_restart_keeps_clients_and_tokens(sandbox):
    storage = MemoryTokenStorage()
    async with sdk_client(sandbox.mcp_url, oauth_provider(sandbox.mcp_url, storage)) as client:
        await client.list_tools()
    port = sandbox.port
    sandbox.restart()
    assert sandbox.port == port
    async with sdk_client(sandbox.mcp_url, oauth_provider(sandbox.mcp_url, storage)) as client:
        await client.list_tools()
    assert sandbox.stats.registrations == 1 and sandbox.stats.token_grants["authorization_code"] == 1


async def test_secrets_carry_the_prefix_and_are_not_stored_in_clear(sandbox_factory):
    box = sandbox_factory(secret_prefix="SECRET-")
    async with httpx2.AsyncClient() as http:
        client, tokens = await signed_in(box, http)
    assert client["client_secret"].startswith("SECRET-")
    assert tokens["access_token"].startswith("SECRET-") and tokens["refresh_token"].startswith("SECRET-")
    raw = b"".join(p.read_bytes() for p in box.data_dir.glob("sandbox.sqlite3*"))
    assert tokens["access_token"].encode() not in raw and tokens["refresh_token"].encode() not in raw
