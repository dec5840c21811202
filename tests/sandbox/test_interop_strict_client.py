"""What a strict third-party client (the TypeScript SDK, MCP Inspector, a browser app) checks, without node.

scripts/interop/sdk_client_check.mjs runs the real TypeScript SDK; these tests pin the same rules in Python:
RFC 9728 metadata whose `resource` is the URL the client used (production's alias path too), an RFC 6750
challenge, an RFC 8414 issuer that matches exactly, tokens bound to the resource the client named (RFC 8707),
CORS preflights from a browser origin, and tool schemas that are valid JSON Schema with every
structuredContent conforming to its tool's outputSchema.
"""

from __future__ import annotations

import re

import httpx2
import pytest
from jsonschema import Draft202012Validator
from sandbox_helpers import ToolError, Tools

from calle_tui.sandbox.harness import MemoryTokenStorage, oauth_provider, sdk_client

PATHS = ("/mcp", "/mcp/openagent_oauth")
BROWSER = "http://localhost:6274"  # MCP Inspector's web UI
INITIALIZE = {
    "jsonrpc": "2.0", "id": 1, "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "strict", "version": "0"}},
}  # fmt: skip
# RFC 6750 §3: "Bearer" then comma-separated auth-params, each a token or a quoted string.
PARAM = r'[A-Za-z_]+=(?:"(?:[^"\\]|\\.)*"|[^\s,"]+)'
CHALLENGE = re.compile(rf"^Bearer {PARAM}(?:, ?{PARAM})*$")


def challenge_params(header: str) -> dict[str, str]:
    assert CHALLENGE.match(header), header
    return {k: v for k, v in re.findall(r'([A-Za-z_]+)="((?:[^"\\]|\\.)*)"', header)}


@pytest.mark.parametrize("path", PATHS)
async def test_discovery_is_exact_for_the_url_the_client_used(sandbox, path):
    url = sandbox.base_url + path
    async with httpx2.AsyncClient() as http:
        res = await http.post(url, json=INITIALIZE, headers={"accept": "application/json, text/event-stream"})
        assert res.status_code == 401
        params = challenge_params(res.headers["www-authenticate"])
        assert params["error"] == "invalid_token" and params["scope"] == "calls"
        assert params["resource_metadata"] == f"{sandbox.base_url}/.well-known/oauth-protected-resource{path}"
        prm = (await http.get(params["resource_metadata"])).json()
        assert prm["resource"] == url  # RFC 9728 §3.3: the TypeScript SDK refuses anything else
        [issuer] = prm["authorization_servers"]
        meta = (await http.get(f"{issuer}/.well-known/oauth-authorization-server")).json()
        assert meta["issuer"] == issuer  # compared as exact strings: no trailing slash added on either side
        assert "S256" in meta["code_challenge_methods_supported"] and meta["registration_endpoint"]


async def test_a_token_is_bound_to_the_resource_the_client_named(sandbox):
    alias = sandbox.base_url + "/mcp/openagent_oauth"
    storage = MemoryTokenStorage()
    async with sdk_client(alias, oauth_provider(alias, storage)) as client:
        assert len((await client.list_tools()).tools) == 3
    assert sandbox.store.one("SELECT resource FROM access_tokens")["resource"] == alias
    token = storage.tokens.access_token
    async with httpx2.AsyncClient() as http:
        headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
        assert (await http.post(alias, json=INITIALIZE, headers=headers)).status_code == 200
        # A token for the alias does not serve /mcp (a token for /mcp covers the alias, as paths below it).
        assert (await http.post(sandbox.mcp_url, json=INITIALIZE, headers=headers)).status_code == 401
    async with sdk_client(sandbox.mcp_url, oauth_provider(sandbox.mcp_url, storage)) as client:
        assert len((await client.list_tools()).tools) == 3  # re-authorized for /mcp
    async with httpx2.AsyncClient() as http:
        headers = {"authorization": f"Bearer {storage.tokens.access_token}",
                   "accept": "application/json, text/event-stream"}  # fmt: skip
        assert (await http.post(alias, json=INITIALIZE, headers=headers)).status_code == 200


async def test_cors_preflights_from_a_browser_origin(sandbox):
    wanted = "authorization, content-type, mcp-protocol-version, mcp-session-id, last-event-id"
    async with httpx2.AsyncClient() as http:
        meta = (await http.get(f"{sandbox.base_url}/.well-known/oauth-authorization-server")).json()
        targets = [(sandbox.base_url + p, m) for p in PATHS for m in ("POST", "GET", "DELETE")]
        targets += [(f"{sandbox.base_url}/.well-known/oauth-protected-resource{p}", "GET") for p in PATHS]
        targets += [(f"{sandbox.base_url}/.well-known/oauth-authorization-server", "GET")]
        targets += [(meta["registration_endpoint"], "POST"), (meta["token_endpoint"], "POST")]
        endpoints = {sandbox.base_url + p for p in PATHS}
        for target, method in targets:
            # The endpoint gets the MCP headers; metadata and OAuth endpoints what browser SDKs send there.
            sent = wanted if target in endpoints else "mcp-protocol-version"
            headers = {"origin": BROWSER, "access-control-request-method": method,
                       "access-control-request-headers": sent}  # fmt: skip
            res = await http.options(target, headers=headers)
            assert res.status_code in (200, 204), (target, method, res.status_code)
            assert res.headers["access-control-allow-origin"] in ("*", BROWSER), target
            if target in endpoints:
                allowed = res.headers["access-control-allow-headers"].lower()
                assert all(h in allowed for h in wanted.split(", ")), (target, allowed)
        # The browser must be able to read the challenge and, later, the session id.
        res = await http.post(sandbox.mcp_url, json=INITIALIZE, headers={"origin": BROWSER})
        exposed = res.headers["access-control-expose-headers"].lower()
        assert res.status_code == 401 and "www-authenticate" in exposed and "mcp-session-id" in exposed


async def test_tool_schemas_are_valid_and_every_result_conforms(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now)
    async with sdk_client(box.base_url + "/mcp/openagent_oauth") as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        validators = {}
        for name, tool in listed.items():
            assert tool.description and len(tool.description) > 40
            hints = tool.annotations
            assert hints is not None and hints.read_only_hint is (name == "get_call_run")
            assert hints.open_world_hint is (name == "run_call")  # only run_call reaches the outside world
            for schema in (tool.input_schema, tool.output_schema):
                Draft202012Validator.check_schema(schema)
                assert schema["type"] == "object"
            validators[name] = Draft202012Validator(tool.output_schema)

        async def call(name: str, **arguments):
            result = await client.call_tool(name, arguments)
            assert not result.is_error, result.content
            errors = [e.message for e in validators[name].iter_errors(result.structured_content)]
            assert not errors, (name, errors)
            return result.structured_content

        tools = Tools(client)
        asked = await call("plan_call", user_input="call the dentist")
        assert not asked["ready_to_run"] and asked["missing"]
        plan = await call("plan_call", user_input="Call +44 20 7946 0001 and ask about opening hours",
                          language="English")  # fmt: skip
        with pytest.raises(ToolError, match="confirm"):  # a tool error (is_error), never a protocol error
            await tools("run_call", plan_id=plan["plan_id"], confirm_token="not-the-token")
        run = await call("run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])
        first = await call("get_call_run", run_id=run["run_id"], limit=1)
        fake_clock.advance(2000)
        page = await call("get_call_run", run_id=run["run_id"], cursor=first["next_cursor"] or "")
        while page["next_cursor"]:
            page = await call("get_call_run", run_id=run["run_id"], cursor=page["next_cursor"])
        assert page["terminal"] and page["transcript"] and page["summary"]


async def test_localhost_is_us_too_and_a_foreign_host_is_not(sandbox):
    """The banner says 127.0.0.1; a client told `localhost` must see metadata for `localhost` (strict clients
    refuse a `resource` on another origin), get tokens bound to it, and those tokens serve us either way."""
    local = sandbox.base_url.replace("127.0.0.1", "localhost")
    storage = MemoryTokenStorage()
    async with httpx2.AsyncClient() as http:
        for path in PATHS:
            res = await http.post(local + path, json=INITIALIZE, headers={"accept": "application/json"})
            params = challenge_params(res.headers["www-authenticate"])
            assert params["resource_metadata"] == f"{local}/.well-known/oauth-protected-resource{path}"
            prm = (await http.get(params["resource_metadata"])).json()
            assert prm["resource"] == local + path and prm["authorization_servers"] == [local]
        meta = (await http.get(f"{local}/.well-known/oauth-authorization-server")).json()
        assert meta["issuer"] == local and meta["token_endpoint"] == f"{local}/token"
        # A Host that is not one of our names gets the canonical metadata and challenge.
        foreign = {"host": f"attacker.example:{sandbox.port}"}
        prm = (await http.get(f"{sandbox.base_url}/.well-known/oauth-protected-resource/mcp", headers=foreign)).json()
        assert prm["resource"] == sandbox.mcp_url
        res = await http.post(sandbox.mcp_url, json=INITIALIZE, headers=foreign)
        assert challenge_params(res.headers["www-authenticate"])["resource_metadata"].startswith(sandbox.base_url)

    async with sdk_client(local + "/mcp", oauth_provider(local + "/mcp", storage)) as client:
        assert len((await client.list_tools()).tools) == 3
    assert sandbox.store.one("SELECT resource FROM access_tokens")["resource"] == local + "/mcp"
    async with httpx2.AsyncClient() as http:
        headers = {"authorization": f"Bearer {storage.tokens.access_token}",
                   "accept": "application/json, text/event-stream"}  # fmt: skip
        for url in (sandbox.mcp_url, sandbox.base_url + "/mcp/openagent_oauth"):
            assert (await http.post(url, json=INITIALIZE, headers=headers)).status_code == 200, url
