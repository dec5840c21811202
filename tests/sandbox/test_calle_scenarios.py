"""The `calle` dialect beyond the happy path, over real HTTP with the SDK client: every scenario digit in
production's words, at-most-once runs and replays, scheduled runs, the time zone from plan_call's request
_meta, production's extra inputs, pydantic's own text for bad arguments, and content-only results for every
tool."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calle_tui.core.wire import replies
from calle_tui.sandbox.harness import sdk_client

SHANGHAI = {"openai/userLocation": {"timezone": "Asia/Shanghai"}, "timezone_offset_minutes": -480}


@pytest.fixture
def calle_box(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock.now, dialect="calle")


async def call(client, name, meta=None, **arguments):
    result = await client.call_tool(name, arguments, meta=meta)
    return result, (None if result.is_error else replies.extract(result))


async def start(client, phone, **fields):
    _, plan = await call(client, "plan_call", user_input=f"Call {phone} in English and ask about the order", **fields)
    assert plan["ready_to_run"], plan
    _, run = await call(client, "run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])
    return plan, run


@pytest.mark.parametrize(
    ("phone", "status", "task_completed", "spoken"),
    [
        ("+14155550121", "COMPLETED", True, True),
        ("+14155550125", "NO_ANSWER", False, False),
        ("+14155550126", "BUSY", False, False),
        ("+14155550127", "COMPLETED", False, True),  # voicemail: the call ended, the task was not done
        ("+14155550128", "FAILED", False, False),
    ],
)
async def test_each_scenario_digit_in_production_s_words(calle_box, fake_clock, phone, status, task_completed, spoken):
    async with sdk_client(calle_box.mcp_url) as client:
        _, run = await start(client, phone)
        assert run["status"] == "STARTED"
        fake_clock.advance(5)
        _, early = await call(client, "get_call_run", run_id=run["run_id"])
        if status != "FAILED":  # the carrier rejects 8 at 6 s; the others are still ringing or dialing
            assert early["status"] == "PREPARING" and early["next_step"]["action"] == "poll_get_call_run"
            assert early["next_step"]["poll_after_seconds"] > 0 and early["transcript"] is None
        fake_clock.advance(600)
        _, done = await call(client, "get_call_run", run_id=run["run_id"])
    assert done["status"] == status and done["next_step"]["action"] == "report_result"
    assert done["activity"][0]["message"] == "run_call started."
    assert done["activity"][: len(early["activity"])] == early["activity"]  # cumulative
    result = done["result"]
    assert result["outcome"]["task_completed"] is task_completed and result["outcome"]["evidence"]
    assert result["extracted"]["to_phones"] == [phone] and result["extracted"]["calling"]["status"] == "finished"
    assert len(result["call_id"]) == 32 and int(result["call_id"], 16) >= 0
    assert (result["transcript"] is not None) is spoken
    if spoken:
        assert all(line.startswith("[00:") and (": " in line) for line in result["transcript"].split("\n"))
    for entry in done["activity"]:
        assert entry["ts"].endswith("Z") and len(entry["ts"].split(".")[1]) == 7  # microseconds, then Z
        assert datetime.fromisoformat(entry["ts"].replace("Z", "+00:00"))


async def test_the_long_call_returns_its_whole_history_every_time(calle_box, fake_clock):
    async with sdk_client(calle_box.mcp_url) as client:
        _, run = await start(client, "+14155550129")
        fake_clock.advance(3000)
        _, done = await call(client, "get_call_run", run_id=run["run_id"])
        _, again = await call(client, "get_call_run", run_id=run["run_id"], cursor=done["next_cursor"] or None)
    assert done["status"] == "COMPLETED" and len(done["activity"]) >= 1000
    assert again["activity"] == done["activity"] and done["next_cursor"] == ""  # the cursor changes nothing


async def test_one_call_per_plan_and_a_replay_answers_the_same_run(calle_box, fake_clock):
    async with sdk_client(calle_box.mcp_url) as client:
        plan, run = await start(client, "+14155550120")
        _, replay = await call(client, "run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])
        assert replay["run_id"] == run["run_id"] and replay["next_step"]["run_id"] == run["run_id"]
        result, again = await call(client, "plan_call", plan_id=plan["plan_id"], user_input="make it in Spanish")
    # A plan that started a call cannot change: production answers problems as questions, never as errors.
    assert not result.is_error and again["plan_id"] != plan["plan_id"] and again["ready_to_run"] is False
    assert again["questions"][0]["key"] == "plan_id" and "already started a call" in again["clarifying_questions"][0]
    assert again["confirm_token"] is None and "already started a call" in again["message"]
    assert calle_box.stats.calls_placed == 1 and calle_box.stats.run_call_sent == 2


async def test_problems_come_back_as_questions(calle_box):
    async with sdk_client(calle_box.mcp_url) as client:
        unknown, gone = await call(client, "plan_call", plan_id="pln_nope", user_input="Call +14155550120")
        long, too_long = await call(client, "plan_call", user_input="Call +14155550120 " + "x" * 5000)
        _, local = await call(client, "plan_call", user_input="Call 555-1234 in English about the order")
    assert not unknown.is_error and gone["plan_id"] != "pln_nope" and gone["ready_to_run"] is False
    assert gone["questions"][0]["key"] == "plan_id" and "plan_id" in gone["clarifying_questions"][0]
    assert not long.is_error and "too long" in too_long["clarifying_questions"][0]
    assert local["ready_to_run"] is False and "555-1234" in local["clarifying_questions"][0]


async def test_a_scheduled_run_waits_with_production_s_step(calle_box, fake_clock):
    when = datetime.fromtimestamp(fake_clock.now() + 3600).astimezone(ZoneInfo("UTC")).isoformat()
    async with sdk_client(calle_box.mcp_url) as client:
        plan, run = await start(client, "+14155550120", scheduled_at=when)
        assert "as soon as" not in plan["confirm_summary"]
        assert run["status"] == "SCHEDULED" and run["next_step"]["action"] == "wait_for_scheduled_run"
        assert run["next_step"]["scheduled_at"] and run["next_step"]["poll_after_seconds"] > 0
        _, waiting = await call(client, "get_call_run", run_id=run["run_id"])
        assert waiting["status"] == "SCHEDULED" and waiting["next_step"]["action"] == "wait_for_scheduled_run"
        assert waiting["schedule_mode"] == "scheduled"
        fake_clock.advance(3600 + 600)
        _, done = await call(client, "get_call_run", run_id=run["run_id"])
    assert done["status"] == "COMPLETED"


async def test_tomorrow_at_9_is_read_in_the_time_zone_from_meta(calle_box, fake_clock):
    text = "Call +14155550120 tomorrow at 9 in English and ask if the order is ready"
    async with sdk_client(calle_box.mcp_url) as client:
        _, zoned = await call(client, "plan_call", meta=SHANGHAI, user_input=text)
        _, by_offset = await call(client, "plan_call", meta={"timezone_offset_minutes": 300}, user_input=text)
        _, unzoned = await call(client, "plan_call", user_input=text)
    local = datetime.fromtimestamp(fake_clock.now(), ZoneInfo("Asia/Shanghai"))
    expected = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    assert zoned["ready_to_run"] and expected.isoformat() in zoned["confirm_summary"]
    assert by_offset["ready_to_run"] and "T09:00:00-05:00" in by_offset["confirm_summary"]
    # Without a time zone the sandbox never guesses: it asks for an exact time.
    assert unzoned["ready_to_run"] is False and [q["key"] for q in unzoned["questions"]] == ["scheduled_at"]


async def test_production_s_extra_inputs_and_pydantic_s_text_for_bad_ones(calle_box):
    async with sdk_client(calle_box.mcp_url) as client:
        _, empty = await call(client, "plan_call")  # production accepts {}: a plan that asks
        assert empty["ready_to_run"] is False and empty["plan_id"] and isinstance(empty["next_step"], str)
        assert "What should" in " ".join(empty["clarifying_questions"]) or empty["clarifying_questions"]
        _, now = await call(client, "plan_call", to_phones=["+14155550120"], language="English",
                            goal="Ask about the order", schedule_mode="immediate",
                            retry_confirmation_action="retry_now")  # fmt: skip
        assert now["ready_to_run"] and "+14155550120" in now["message"] and "+14155550120" in now["confirm_summary"]
        assert "plan" not in now and "to_phones" not in now  # the plan's fields are not echoed
        _, kept = await call(client, "plan_call", goal="Ask about the order", ttl_seconds=0)
        assert kept["expires_at"].startswith("9999-")
        assert "ending in ...0120" in (await call(client, "plan_call", to_phones=["+14155550120"]))[1]["confirm_summary"]
        wrong, _ = await call(client, "plan_call", user_input="hi", result_schema="x")
        bad_enum, _ = await call(client, "plan_call", retry_confirmation_action="sometime")
        no_run, _ = await call(client, "get_call_run", call_id="call_1")
    assert wrong.is_error and wrong.structured_content is None
    assert wrong.content[0].text.startswith("1 validation error for call[plan_call]\nresult_schema\n")
    assert "Unexpected keyword argument [type=unexpected_keyword_argument" in wrong.content[0].text
    assert bad_enum.is_error and "retry_confirmation_action" in bad_enum.content[0].text
    text = no_run.content[0].text
    assert no_run.is_error and text.startswith("2 validation errors for call[get_call_run]")
    assert "Missing required argument [type=missing_argument" in text and "Unexpected keyword argument" in text


async def test_an_unknown_run_is_an_answer_not_an_error(calle_box):
    async with sdk_client(calle_box.mcp_url) as client:
        result, unknown = await call(client, "get_call_run", run_id="not-a-real-id")
    assert result.is_error is False and result.structured_content["status"] == "FAILED"
    assert unknown["message"] == "run_id not found." and unknown["next_step"]["action"] == "report_blocked"
    assert unknown["result"] == {"call_id": None, "call_ids": [], "transcript": None}


async def test_content_only_for_every_tool_keeps_prose_first(sandbox_factory, fake_clock):
    box = sandbox_factory(clock=fake_clock.now, dialect="calle", content_only=True)
    async with sdk_client(box.mcp_url) as client:
        asked, _ = await call(client, "plan_call", user_input="Call someone")
        plan, ready = await call(client, "plan_call", user_input="Call +14155550120 in English about the order")
        run, started = await call(client, "run_call", plan_id=ready["plan_id"], confirm_token=ready["confirm_token"])
        fake_clock.advance(600)
        page, done = await call(client, "get_call_run", run_id=started["run_id"])
        unknown, _ = await call(client, "get_call_run", run_id="nope")
    for result in (asked, plan, run, page, unknown):
        assert result.structured_content is None and not result.is_error
        assert len(result.content) >= 2 and not result.content[0].text.lstrip().startswith("{")
        assert isinstance(json.loads(result.content[-1].text), dict)
    assert "No call was started." in asked.content[0].text and "No call was started." in plan.content[0].text
    assert ready["confirm_token"] not in plan.content[0].text  # the prose never shows the token
    assert started["status"] == "STARTED" and done["status"] == "COMPLETED" and done["result"]["transcript"]


async def test_tools_list_in_production_s_terms(calle_box):
    async with sdk_client(calle_box.mcp_url) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        ignored, _ = await call(client, "track_ui_events", events=[{"name": "opened"}])
    assert set(tools) == {"plan_call", "run_call", "get_call_run", "track_ui_events"}
    destructive = {name for name, t in tools.items() if t.annotations and t.annotations.destructive_hint}
    assert destructive == {"run_call"} and tools["run_call"].annotations.idempotent_hint
    assert tools["get_call_run"].annotations.read_only_hint
    plan_inputs = tools["plan_call"].input_schema["properties"]
    assert {"retry_confirmation_action", "schedule_mode", "user_input", "ttl_seconds"} <= set(plan_inputs)
    assert "user_input" not in tools["plan_call"].input_schema.get("required", [])
    assert not ignored.is_error
