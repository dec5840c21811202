"""What a status means (wire/status.py), beyond its canonical word and kind (test_dialect.py): whether a run is
over given all a reply says, whether the call reached its person, the phase worth showing beside the word,
and the key of its look."""

from __future__ import annotations

import pytest

from calle_tui.core.wire.contract import ActivityEntry, GetCallRunResult, NextStep, RunCallResult
from calle_tui.core.wire.status import (
    LOOK_KEYS,
    OTHER_LOOK,
    PROGRESS,
    TERMINAL,
    is_finished,
    look_key,
    phase_label,
    phase_of,
    reached_person,
)


def test_a_replys_terminal_flag_is_believed_over_its_word_and_report_result_ends_any_word():
    assert is_finished("COMPLETED") and not is_finished("PREPARING") and not is_finished("UNKNOWN")
    assert not is_finished("COMPLETED", terminal=False) and is_finished("PREPARING", terminal=True)
    assert is_finished("AWAITING_OPERATOR", next_action="report_result")
    assert is_finished("", next_action="report_blocked") and not is_finished("", next_action="done")
    # The replies ask the same question with what each carries.
    step = NextStep(action="report_result")
    assert GetCallRunResult(run_id="r", status="preparing", next_step=step).is_terminal
    assert not GetCallRunResult(run_id="r", status="completed", terminal=False).is_terminal
    assert RunCallResult(run_id="r", status="failed").is_terminal
    assert not RunCallResult(run_id="r", status="queued", next_step=step).is_terminal  # polled once first


@pytest.mark.parametrize("word", ["NO ANSWER", "BUSY", "VOICEMAIL", "DECLINED", "FAILED", "CANCELLED", "EXPIRED"])
def test_endings_that_did_not_reach_the_person(word):
    assert reached_person(word) is False


def test_completed_was_answered_and_nothing_else_can_tell():
    assert reached_person("COMPLETED") is True
    assert all(reached_person(word) is None for word in PROGRESS)
    assert reached_person("UNKNOWN") is None and reached_person("") is None


def test_every_status_has_a_look_key_and_a_word_we_do_not_know_has_the_neutral_one():
    assert {look_key(word) for word in TERMINAL | PROGRESS} == LOOK_KEYS - {OTHER_LOOK}
    assert look_key("CANCELLED") == "canceled" and look_key("UNKNOWN") == look_key("on hold") == OTHER_LOOK


def test_the_phase_goes_beside_a_word_that_does_not_say_the_call_ended():
    said = [ActivityEntry(text="Call is ringing."), ActivityEntry(text="Call connected.")]
    phase = phase_of(said)
    assert phase == "connected"
    assert phase_label(phase, "preparing", finished=False) == "connected"
    # production may end a run with report_result while it still says PREPARING: the activity says more
    assert phase_label("ended", "preparing", finished=True) == "call ended"
    assert phase_label("ended", "completed", finished=True) == ""  # the word says it all
    assert phase_label("", "preparing", finished=False) == ""
