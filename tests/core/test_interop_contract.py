"""Result shapes other CALL-E-like servers plausibly send, read by the app's one reply reader
(dialect/replies.py) instead of failing the whole answer: the UI still shows a question per missing detail,
only a missing identifier fails a reply, and a field that cannot be read is kept, never dropped."""

from __future__ import annotations

import pytest

from calle_tui.core.wire.replies import Unreadable, read_plan, read_run_page, read_run_start


def asked(plan) -> list[tuple[str, str]]:
    return [(m.field, m.question) for m in plan.missing]


def test_missing_as_names_as_a_mapping_or_with_other_keys():
    names = read_plan({"plan_id": "p", "missing": ["to_phones", "goal"]})
    assert asked(names) == [("to_phones", "Missing: phone number."), ("goal", "Missing: goal.")]
    mapping = read_plan({"plan_id": "p", "missing": {"to_phones": "Who should I call?", "language": None}})
    assert asked(mapping) == [("to_phones", "Who should I call?"), ("language", "Missing: language.")]
    other = read_plan(
        {"plan_id": "p", "missing": [{"name": "goal", "prompt": "What is the call for?", "hint": "a table"}, {}]}
    )
    assert asked(other) == [("goal", "What is the call for?")]
    assert other.missing[0].extra_fields == {"hint": "a table"}  # what the reader did not use is kept, shown
    assert other.notes == ["missing: {}"]  # an item with nothing to ask is noted, not dropped nor invented
    none = read_plan({"plan_id": "p", "missing": None})
    assert none.missing == [] and none.notes == []


def test_next_step_as_a_word_and_one_number_as_a_string():
    plan = read_plan({"plan_id": "p", "next_step": "ask_user", "plan": {"to_phones": "+14155550123"}})
    assert plan.next_step.action == "ask_user" and plan.next_step.after_seconds is None
    assert plan.plan.to_phones == ["+14155550123"]
    assert read_plan({"plan_id": "p", "plan": {"to_phones": None}}).plan is None  # nothing echoed, nothing invented
    assert read_run_start({"run_id": "r", "next_step": "poll"}).next_step.action == "poll"
    page = read_run_page({"run_id": "r", "status": "completed", "next_step": "done"})
    assert page.is_terminal and page.next_step.action == "done"


def test_only_a_missing_identifier_fails_a_reply():
    with pytest.raises(Unreadable, match="no plan id"):
        read_plan({"missing": ["goal"], "message": "Which goal?"})
    odd = read_plan({"plan_id": "p", "missing": 7, "plan": {"to_phones": 7}, "expires_at": "soon"})
    assert odd.plan_id == "p" and odd.missing == []
    assert odd.notes == ["missing: 7", "to_phones: 7", "expires_at: soon"]  # each unreadable field named


def test_our_own_shapes_are_unchanged():
    data = {"plan_id": "p", "ready_to_run": False, "missing": [{"field": "goal", "question": "Why?"}],
            "next_step": {"action": "ask_user", "message": "Ask."}, "plan": {"to_phones": ["+1"]}}  # fmt: skip
    plan = read_plan(data)
    assert plan.model_dump(exclude_none=True, exclude_defaults=True) == {
        "plan_id": "p", "missing": [{"field": "goal", "question": "Why?"}],
        "next_step": {"action": "ask_user", "message": "Ask."}, "plan": {"to_phones": ["+1"]},
    }  # fmt: skip
