"""plan_call never guesses: it asks one plain question per missing detail and refines the same plan."""

from __future__ import annotations

import pytest
from sandbox_helpers import ToolError

from calle_tui.sandbox import planner

DENTIST = "Call the dentist at +44 20 7946 0000 and move my appointment to Friday"


def fields_of(plan) -> list[str]:
    return [m["field"] for m in plan["missing"]]


async def test_the_dentist_example_in_two_steps(tools):
    first = await tools("plan_call", user_input=DENTIST)
    assert first["ready_to_run"] is False and first["confirm_token"] is None
    assert fields_of(first) == ["language"]
    assert first["missing"][0]["question"].endswith("?")
    assert first["plan"]["goal"] == DENTIST  # "to Friday" belongs to the goal...
    assert first["plan"]["scheduled_at"] is None  # ...it is not a schedule
    assert first["next_step"]["action"] == "ask_user"
    second = await tools("plan_call", user_input="English", plan_id=first["plan_id"])
    assert second["ready_to_run"] is True and second["plan_id"] == first["plan_id"]
    assert second["plan"] == {
        "to_phones": ["+442079460000"], "region": None, "language": "English", "goal": DENTIST,
        "scheduled_at": None,
    }  # fmt: skip
    assert second["confirm_token"] and second["missing"] == []
    assert second["next_step"]["action"] == "confirm_with_user"


async def test_nothing_known_asks_for_everything(tools):
    plan = await tools("plan_call", user_input="hi")
    assert fields_of(plan) == ["to_phones", "goal", "language"]
    assert all(m["question"] for m in plan["missing"])


async def test_a_number_without_country_code_is_never_completed(tools):
    plan = await tools("plan_call", user_input="Call 020 7946 0000 in English to book a table")
    assert fields_of(plan) == ["to_phones"]
    assert "020 7946 0000" in plan["missing"][0]["question"] and "country code" in plan["missing"][0]["question"]
    assert plan["plan"]["to_phones"] == []
    fixed = await tools("plan_call", user_input="+44 20 7946 0000", plan_id=plan["plan_id"])
    assert fixed["ready_to_run"] and fixed["plan"]["to_phones"] == ["+442079460000"]


async def test_structured_number_without_country_code_is_refused(tools):
    plan = await tools("plan_call", user_input="book a table", to_phones=["020 7946 0000"], language="English")
    assert fields_of(plan) == ["to_phones"] and "020 7946 0000" in plan["missing"][0]["question"]


async def test_missing_goal_then_answered(tools):
    plan = await tools("plan_call", user_input="Call +1 415 555 0100 in Spanish")
    assert fields_of(plan) == ["goal"] and plan["plan"]["language"] == "Spanish"
    ready = await tools("plan_call", user_input="Ask whether they deliver on Sundays", plan_id=plan["plan_id"])
    assert ready["ready_to_run"] and ready["plan"]["goal"] == "Ask whether they deliver on Sundays"


async def test_unclear_schedule_asks_for_an_exact_time(tools, fake_clock):
    plan = await tools("plan_call", user_input="Call +1 415 555 0100 tomorrow at 9 in English to confirm my order")
    assert fields_of(plan) == ["scheduled_at"]
    vague = await tools("plan_call", user_input="in the morning", plan_id=plan["plan_id"])
    assert fields_of(vague) == ["scheduled_at"] and "in the morning" in vague["missing"][0]["question"]
    when = planner.utc(fake_clock.now() + 86400).replace(microsecond=0).isoformat()
    ready = await tools("plan_call", user_input=when, plan_id=plan["plan_id"])
    assert ready["ready_to_run"] and ready["plan"]["scheduled_at"] == when


async def test_now_answers_the_schedule_question(tools):
    plan = await tools("plan_call", user_input="Schedule a call to +1 415 555 0100 in English to confirm my order")
    assert fields_of(plan) == ["scheduled_at"]
    ready = await tools("plan_call", user_input="now", plan_id=plan["plan_id"])
    assert ready["ready_to_run"] and ready["plan"]["scheduled_at"] is None


async def test_schedule_from_field_and_past_times(tools, fake_clock):
    past = planner.utc(fake_clock.now() - 60).isoformat()
    plan = await tools("plan_call", user_input="Call +1 415 555 0100 to ask", language="English", scheduled_at=past)
    assert fields_of(plan) == ["scheduled_at"] and "past" in plan["missing"][0]["question"]
    naive = await tools("plan_call", user_input="x", plan_id=plan["plan_id"], scheduled_at="2031-01-01T10:00")
    assert fields_of(naive) == ["scheduled_at"] and "time zone" in naive["missing"][0]["question"]


async def test_language_from_in_language_and_from_field(tools):
    plan = await tools("plan_call", user_input="Call +33 1 23 45 67 89 in French to book a table for two")
    assert plan["ready_to_run"] and plan["plan"]["language"] == "French"
    # "in" followed by something that is not a language is not a language.
    other = await tools("plan_call", user_input="Call +33 1 23 45 67 89 in the morning to book a table")
    assert "language" in fields_of(other)


async def test_any_change_gets_a_new_token_and_no_change_keeps_it(tools):
    plan = await tools.ready_plan(DENTIST)
    same = await tools("plan_call", user_input="ok", plan_id=plan["plan_id"])
    assert same["ready_to_run"] and same["confirm_token"] == plan["confirm_token"]
    changed = await tools("plan_call", user_input="use German", plan_id=plan["plan_id"], language="German")
    assert changed["ready_to_run"] and changed["confirm_token"] != plan["confirm_token"]
    with pytest.raises(ToolError, match="does not match"):
        await tools("run_call", plan_id=plan["plan_id"], confirm_token=plan["confirm_token"])


async def test_plans_expire(tools, fake_clock):
    plan = await tools("plan_call", user_input=DENTIST, ttl_seconds=120)
    fake_clock.advance(121)
    with pytest.raises(ToolError, match="expired"):
        await tools("plan_call", user_input="English", plan_id=plan["plan_id"])


async def test_ttl_is_bounded(tools):
    plan = await tools("plan_call", user_input=DENTIST, ttl_seconds=10**9)
    assert "outside" in plan["message"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "'user_input' is required"),
        ({"user_input": ""}, "user_input is empty"),
        ({"user_input": "x", "bogus": 1}, "'bogus' is not a parameter"),
        ({"user_input": "x", "to_phones": "+44 20 7946 0000"}, "to_phones"),
        ({"user_input": "x", "plan_id": "pln_nope"}, "No plan with this plan_id"),
        ({"user_input": "x" * 5000}, "too long"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(tools, arguments, expected):
    with pytest.raises(ToolError, match=expected):
        await tools("plan_call", **arguments)


def test_reading_rules():
    reading = planner.read_message(DENTIST)
    assert reading.phones == ["+442079460000"] and reading.purpose and not reading.schedule_words
    assert planner.read_message("Call +1 415 555 0100 at 9 to ask").schedule_words
    assert planner.read_message("Tomorrow call +1 415 555 0100 to ask").schedule_words
    assert not planner.read_message("Call +1 415 555 0100 to move my slot to next week").schedule_words
    assert planner.read_message("call 2026-06-05T15:00+01:00 +1 415 555 0100").iso_times == ["2026-06-05T15:00+01:00"]
    assert planner.read_message("call 2026-06-05T15:00+01:00 +1 415 555 0100").local_numbers == []
    assert planner.read_message("in english").language == "English"
    assert planner.e164("+1 (415) 555-0100") == "+14155550100"
    assert planner.e164("415 555 0100") is None


async def test_an_answer_can_fill_several_questions_without_filler_becoming_a_language(tools):
    plan = await tools("plan_call", user_input="Call +1 415 555 0100 tomorrow")
    assert fields_of(plan) == ["goal", "language", "scheduled_at"]
    both = await tools("plan_call", user_input="Ask about prices in Spanish", plan_id=plan["plan_id"])
    assert both["plan"]["goal"] == "Ask about prices in Spanish" and both["plan"]["language"] == "Spanish"
    vague = await tools("plan_call", user_input="in the morning", plan_id=plan["plan_id"])
    assert fields_of(vague) == ["scheduled_at"]
    ready = await tools("plan_call", user_input="now", plan_id=plan["plan_id"])
    assert ready["ready_to_run"] and ready["plan"]["goal"] == "Ask about prices in Spanish"
