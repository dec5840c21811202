"""Result shapes other CALL-E-like servers plausibly send, read by the tolerant contract models instead of
failing the whole answer as malformed (the UI then still shows a question per missing detail)."""

from __future__ import annotations

from calle_tui.core.contract import GetCallRunResult, PlanCallResult, RunCallResult, parse_result


def test_missing_as_names_as_a_mapping_or_with_other_keys():
    names = parse_result(PlanCallResult, {"plan_id": "p", "missing": ["to_phones", "goal"]})
    assert [(m.field, m.question) for m in names.missing] == [("to_phones", "Missing: phone number."),
                                                               ("goal", "Missing: goal.")]  # fmt: skip
    mapping = parse_result(PlanCallResult, {"missing": {"to_phones": "Who should I call?", "language": None}})
    assert [(m.field, m.question) for m in mapping.missing] == [("to_phones", "Who should I call?"),
                                                                 ("language", "Missing: language.")]  # fmt: skip
    other = parse_result(PlanCallResult, {"missing": [{"name": "goal", "prompt": "What is the call for?"}, {}]})
    assert [(m.field, m.question) for m in other.missing] == [("goal", "What is the call for?"),
                                                               ("", "Add more detail.")]  # fmt: skip
    assert other.missing[0].extra_fields == {"name": "goal", "prompt": "What is the call for?"}  # kept, shown
    assert parse_result(PlanCallResult, {"missing": None}).missing == []


def test_next_step_as_a_word_and_one_number_as_a_string():
    plan = parse_result(PlanCallResult, {"next_step": "ask_user", "plan": {"to_phones": "+14155550123"}})
    assert plan.next_step.action == "ask_user" and plan.next_step.after_seconds is None
    assert plan.plan.to_phones == ["+14155550123"]
    assert parse_result(PlanCallResult, {"plan": {"to_phones": None}}).plan.to_phones == []
    assert parse_result(RunCallResult, {"run_id": "r", "next_step": "poll"}).next_step.action == "poll"
    page = parse_result(GetCallRunResult, {"run_id": "r", "status": "completed", "next_step": "done"})
    assert page.is_terminal and page.next_step.action == "done"


def test_our_own_shapes_are_unchanged():
    data = {"plan_id": "p", "ready_to_run": False, "missing": [{"field": "goal", "question": "Why?"}],
            "next_step": {"action": "ask_user", "message": "Ask."}, "plan": {"to_phones": ["+1"]}}  # fmt: skip
    plan = parse_result(PlanCallResult, data)
    assert plan.model_dump(exclude_none=True, exclude_defaults=True) == {
        "plan_id": "p", "missing": [{"field": "goal", "question": "Why?"}],
        "next_step": {"action": "ask_user", "message": "Ask."}, "plan": {"to_phones": ["+1"]},
    }  # fmt: skip
