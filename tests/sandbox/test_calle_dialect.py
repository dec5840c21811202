"""The sandbox's `calle` dialect answers the way production does (CALLE-DIALECT.md), on the wire and in its
shapes: plain JSON to POST, no session id, 406 without application/json; clarifying questions; STARTED and a
typed next_step; PREPARING while people talk with the whole history on every poll; COMPLETED with a nested
result and a string transcript; an unknown run as FAILED + report_blocked; content-only results."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest

from calle_tui.core.wire import replies
from calle_tui.sandbox.harness import MemoryTokenStorage, oauth_provider, sdk_client

PHONE = "+14155550120"


@pytest.fixture
def calle_box(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock.now, dialect="calle")


async def with_client(box, body):
    async with sdk_client(box.mcp_url) as client:
        return await body(client)


async def call(client, name, **arguments):
    result = await client.call_tool(name, arguments)
    return result, replies.extract(result)


async def test_production_shapes_from_plan_to_finished_call(calle_box, fake_clock):
    async def body(client):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"plan_call", "run_call", "get_call_run", "track_ui_events"} <= set(tools)
        assert tools["run_call"].annotations.idempotent_hint and tools["run_call"].annotations.destructive_hint
        _, asked = await call(client, "plan_call", user_input="Call someone for me")
        assert asked["ready_to_run"] is False and asked["confirm_token"] is None
        assert asked["clarifying_questions"] and all(isinstance(q, str) for q in asked["clarifying_questions"])
        assert {q["key"] for q in asked["questions"]} and "plan" not in asked and "missing" not in asked
        assert isinstance(asked["next_step"], str)
        _, ready = await call(
            client,
            "plan_call",
            user_input=f"Call {PHONE} in English and ask if the order is ready",
            plan_id=asked["plan_id"],
            to_phones=[PHONE],
            language="English",
            goal="Ask about the order",
        )
        assert ready["ready_to_run"] and ready["confirm_token"] and PHONE in ready["confirm_summary"]
        assert ready["display_goal"] == "Ask about the order" and "plan" not in ready
        _, started = await call(client, "run_call", plan_id=ready["plan_id"], confirm_token=ready["confirm_token"])
        assert started["status"] == "STARTED" and started["next_step"]["action"] == "poll_get_call_run"
        run_id = started["run_id"]
        fake_clock.advance(60)
        _, live = await call(client, "get_call_run", run_id=run_id)
        assert live["status"] == "PREPARING" and live["transcript"] is None and "result" not in live
        assert all(set(e) == {"run_id", "ts", "level", "kind", "message", "data"} for e in live["activity"])
        assert any(e["message"].startswith("Bot is speaking: ") for e in live["activity"])
        assert any(e["kind"] == "callee_realtime" for e in live["activity"])
        fake_clock.advance(10)
        _, later = await call(client, "get_call_run", run_id=run_id)
        assert later["activity"][: len(live["activity"])] == live["activity"]  # cumulative history
        fake_clock.advance(600)
        _, done = await call(client, "get_call_run", run_id=run_id)
        assert done["status"] == "COMPLETED" and done["next_step"]["action"] == "report_result"
        result = done["result"]
        assert result["summary"] and result["transcript"].startswith("[00:00:")
        assert "BOT: " in result["transcript"] and "USER: " in result["transcript"]
        assert result["extracted"]["calling"]["callee"] == PHONE and result["outcome"]["task_completed"] is True
        page = replies.read_run_page(done)  # and our reader makes sense of all of it
        assert page.is_terminal and page.summary and page.transcript and page.details["callee"] == PHONE
        _, unknown = await call(client, "get_call_run", run_id="run_nope")
        assert (unknown["status"], unknown["message"], unknown["next_step"]["action"]) == (
            "FAILED", "run_id not found.", "report_blocked")  # fmt: skip

    await with_client(calle_box, body)


async def test_content_only_results_put_the_json_in_a_later_text_block(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, dialect="calle", content_only=True)

    async def body(client):
        result, plan = await call(client, "plan_call", user_input=f"Call {PHONE} in English about the order",
                                  to_phones=[PHONE], language="English", goal="Ask about the order")  # fmt: skip
        assert result.structured_content is None and len(result.content) == 2
        assert not result.content[0].text.lstrip().startswith("{")  # prose first
        assert plan["ready_to_run"] and json.loads(result.content[1].text) == plan

    await with_client(box, body)


async def test_a_plan_may_ask_nothing(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, dialect="calle", no_questions=True)

    async def body(client):
        _, plan = await call(client, "plan_call", user_input="Call someone")
        assert plan["ready_to_run"] is False and plan["clarifying_questions"] == [] and plan["next_step"]

    await with_client(box, body)


async def test_on_the_wire_plain_json_no_session_and_406(calle_box):
    storage = MemoryTokenStorage()
    async with sdk_client(calle_box.mcp_url, oauth_provider(calle_box.mcp_url, storage)) as client:
        await client.list_tools()
    token = storage.tokens.access_token
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "raw", "version": "1"}}}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx2.AsyncClient(timeout=10) as http:
        ok = await http.post(calle_box.mcp_url, json=initialize, headers={**headers, "Accept": "application/json"})
        assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json")
        assert "mcp-session-id" not in {k.lower() for k in ok.headers}
        listed = await http.post(
            calle_box.mcp_url,
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            headers={**headers, "Accept": "application/json", "Mcp-Session-Id": "made-up"},
        )
        assert listed.status_code == 200 and "plan_call" in listed.text
        refused = await http.post(calle_box.mcp_url, json=initialize, headers={**headers, "Accept": "text/event-stream"})
        assert refused.status_code == 406


async def test_the_reference_dialect_keeps_a_resumable_cursor_once_caught_up(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, dialect="reference")

    async def body(client):
        _, plan = await call(client, "plan_call", user_input=f"Call {PHONE} in English about the order",
                             to_phones=[PHONE], language="English", goal="Ask about the order")  # fmt: skip
        _, run = await call(client, "run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])
        fake_clock.advance(60)
        _, page = await call(client, "get_call_run", run_id=run["run_id"])
        assert page["activity"] and page["next_cursor"] == page["resume_cursor"]  # caught up: resume here
        _, after = await call(client, "get_call_run", run_id=run["run_id"], cursor=page["next_cursor"])
        assert after["activity"] == [] and after["next_cursor"] is None  # nothing new: paging ends

    await asyncio.wait_for(with_client(box, body), 30)


async def test_no_refresh_grant_is_advertised_or_issued_when_asked(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, dialect="calle", no_refresh=True)
    async with httpx2.AsyncClient(timeout=10) as http:
        metadata = (await http.get(box.base_url + "/.well-known/oauth-authorization-server")).json()
    assert metadata["grant_types_supported"] == ["authorization_code"]
    storage = MemoryTokenStorage()
    async with sdk_client(box.mcp_url, oauth_provider(box.mcp_url, storage)) as client:
        await client.list_tools()
    assert storage.tokens.access_token and storage.tokens.refresh_token is None


async def test_an_authorization_server_under_a_path_is_found_and_signs_in(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, dialect="calle", auth_path="/mcp-auth")
    async with httpx2.AsyncClient(timeout=10) as http:
        prm = (await http.get(box.base_url + "/.well-known/oauth-protected-resource/mcp")).json()
        assert prm["authorization_servers"] == [box.base_url + "/mcp-auth"]
        metadata = (await http.get(box.base_url + "/.well-known/oauth-authorization-server/mcp-auth")).json()
        assert metadata["issuer"] == box.base_url + "/mcp-auth"
        assert metadata["token_endpoint"] == box.base_url + "/mcp-auth/token"
    storage = MemoryTokenStorage()
    async with sdk_client(box.mcp_url, oauth_provider(box.mcp_url, storage)) as client:  # the SDK's own discovery
        names = {t.name for t in (await client.list_tools()).tools}
    assert "plan_call" in names and storage.tokens.access_token


async def test_a_plan_from_fields_alone_as_callE_s_own_cli_sends_it(calle_box):
    # `calle call plan --to-phone ... --goal ...` sends no user_input; production plans from the fields.
    async def body(client):
        _, plan = await call(client, "plan_call", to_phones=[PHONE], goal="Ask if my order is ready", language="English")
        assert plan["ready_to_run"] and PHONE in plan["confirm_summary"]

    await with_client(calle_box, body)
