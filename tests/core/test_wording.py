"""Argument names never reach a person: they read the words they would use themselves."""

from calle_tui.core.wire.replies import read_plan
from calle_tui.core.wire.wording import field_words, in_peoples_words


def test_a_servers_sentence_speaks_of_the_request_not_user_input():
    assert in_peoples_words("user_input is too long (4100 characters; at most 4000).") == (
        "Your request is too long (4100 characters; at most 4000)."
    )
    assert in_peoples_words("Invalid to_phones: +1 555") == "Invalid phone number: +1 555"
    # Whole names only; everything else exactly as sent.
    assert in_peoples_words("my_user_input_x stays") == "my_user_input_x stays"
    assert in_peoples_words("No names here.") == "No names here."


def test_questions_built_from_bare_field_names_use_peoples_words():
    plan = read_plan({"plan_id": "p1", "missing": ["to_phones", "call_window"]})
    assert [m.question for m in plan.missing] == ["Missing: phone number.", "Missing: call window."]
    assert [m.field for m in plan.missing] == ["to_phones", "call_window"]  # the field itself is kept
    assert field_words("scheduled_at") == "call time"


def test_only_a_name_that_starts_the_sentence_gets_a_capital():
    assert in_peoples_words("invalid to_phones") == "invalid phone number"
    assert in_peoples_words("to_phones must be a list") == "Phone number must be a list"
