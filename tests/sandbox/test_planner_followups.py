"""A follow-up that answers several questions at once (one answer per line, as the composer sends them)."""

from datetime import UTC, datetime

from calle_tui.sandbox.planner import Draft, apply

NOW = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
FIRST = "Call +44 20 7946 0000 tomorrow and move my appointment to Friday"


def _open(draft: Draft) -> list[str]:
    return [m["field"] for m in draft.missing()]


def test_first_message_asks_for_language_and_exact_time():
    draft = apply(Draft(), user_input=FIRST, fields={}, now=NOW, first=True)
    assert _open(draft) == ["language", "scheduled_at"]


def test_two_answers_on_two_lines_answer_both_questions():
    draft = apply(Draft(), user_input=FIRST, fields={}, now=NOW, first=True)
    done = apply(draft, user_input="English\nnow", fields={}, now=NOW, first=False)
    assert _open(done) == []
    assert done.language == "English" and done.scheduled_at is None


def test_now_is_never_read_as_part_of_a_language():
    draft = apply(Draft(), user_input=FIRST, fields={}, now=NOW, first=True)
    later = apply(draft, user_input="English now", fields={}, now=NOW, first=False)
    assert later.language != "English Now"
    assert "language" in _open(later)
