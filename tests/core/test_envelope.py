"""read_reply: any tool reply (an SDK CallToolResult or its JSON-RPC dict) becomes exactly one outcome."""

from __future__ import annotations

from mcp.types import CallToolResult, TextContent

from calle_tui.core.support.secrets import register_secret
from calle_tui.core.wire.envelope import ProseOnly, Read, Refused, UnreadableReply, read_reply
from calle_tui.core.wire.replies import read_run_start


def text(*blocks: str, error: bool = False) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=b) for b in blocks], is_error=error)


def test_structured_content_is_read_by_the_reader() -> None:
    raw = CallToolResult(content=[], structured_content={"run_id": "run-1", "status": "QUEUED"})
    reply = read_reply(raw, read_run_start)
    assert isinstance(reply, Read)
    assert reply.value.run_id == "run-1"


def test_json_in_a_later_text_block_is_read() -> None:
    reply = read_reply(text("Call started.", '{"run_id": "run-2"}'), read_run_start)
    assert isinstance(reply, Read) and reply.value.run_id == "run-2"


def test_a_raw_json_rpc_dict_is_read_too() -> None:
    raw = {"isError": True, "structuredContent": {"error": {"message": "Plan expired.", "call_started": "unknown"}}}
    reply = read_reply(raw, read_run_start)
    assert isinstance(reply, Refused)
    assert reply.message == "Plan expired." and reply.error.started_unknown


def test_a_refusal_masks_our_secrets_and_uses_peoples_words() -> None:
    register_secret("tok-secret-123456")
    reply = read_reply(text("user_input is bad; token tok-secret-123456", error=True), read_run_start)
    assert isinstance(reply, Refused)
    assert "tok-secret-123456" not in reply.message
    assert "your request" in reply.message.casefold()
    assert reply.said(20).endswith("...")


def test_prose_only_keeps_the_text_as_sent() -> None:
    reply = read_reply(text("The call   was placed."), read_run_start)
    assert reply == ProseOnly("The call   was placed.")
    assert isinstance(reply, ProseOnly) and reply.said() == "The call was placed."
    assert read_reply(CallToolResult(content=[]), read_run_start) == ProseOnly("")


def test_an_answer_without_its_identifier_is_unreadable_and_kept() -> None:
    reply = read_reply(text('{"status": "QUEUED", "odd": [1]}'), read_run_start)
    assert isinstance(reply, UnreadableReply)
    assert "run id" in reply.reason
    assert reply.answer == {"status": "QUEUED", "odd": [1]}
