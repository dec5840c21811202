"""How a call's status looks wherever it is shown (the monitor's badge and the header, the board's and History's
rows): a glyph that keeps the meaning where colour does not come through, a named ANSI colour, and the word,
in the server's own letters when it sent one. The monitor draws its badge from `status_look(status,
server_word)`, so these cases are what a person reads there for every final status CALL-E documents
(CALLE-DIALECT.md), in production's words and in the reference dialect's; test_monitor_snapshots.py keeps
pictures of one ending that reached the person and one that did not."""

from __future__ import annotations

import pytest

from calle_tui.core.wire.status import LOOK_KEYS, PROGRESS, TERMINAL, canonical_status
from calle_tui.ui.runs.format import STATUS_LOOK, status_look

# (the server's word, glyph, colour, the word a person reads)
DOCUMENTED_FINAL = [
    ("COMPLETED", "✓", "green", "Completed"),
    ("FAILED", "✗", "red", "Failed"),
    ("NO_ANSWER", "∅", "magenta", "No answer"),
    ("NO ANSWER", "∅", "magenta", "No answer"),
    ("DECLINED", "⊘", "magenta", "Declined"),
    ("CANCELED", "⊗", "red", "Canceled"),
    ("CANCELLED", "⊗", "red", "Cancelled"),  # the server's spelling is kept, the look is canceled's
    ("VOICEMAIL", "✉", "magenta", "Voicemail"),
    ("BUSY", "⊘", "magenta", "Busy"),
    ("EXPIRED", "⌛", "red", "Expired"),
]

IDS = [word for word, *_ in DOCUMENTED_FINAL]


@pytest.mark.parametrize(("word", "glyph", "colour", "label"), DOCUMENTED_FINAL, ids=IDS)
def test_each_final_status_calle_documents_reads_in_the_servers_word(word, glyph, colour, label):
    # As the monitor gets it: the canonical status, and the server's word beside it.
    assert status_look(canonical_status(word), word) == (glyph, colour, label)


@pytest.mark.parametrize(("word", "glyph", "colour", "label"), DOCUMENTED_FINAL, ids=IDS)
def test_without_the_servers_word_a_final_status_reads_in_ours(word, glyph, colour, label):
    # The reference dialect (the sandbox: "no_answer", no separate word), a stored record or a live-calls line:
    # the same glyph and colour, and our word for the status.
    ours = (glyph, colour, "Canceled" if word == "CANCELLED" else label)
    assert status_look(canonical_status(word)) == status_look(canonical_status(word), "") == ours
    assert status_look(word) == ours  # a server's spelling passed as the status is read the same


def test_only_a_completed_call_looks_like_success_and_no_ending_looks_like_a_live_call():
    looks = {status: status_look(status) for status in TERMINAL}
    assert [s for s, (glyph, colour, _) in looks.items() if colour == "green" or glyph == "✓"] == ["completed"]
    assert all(glyph != "?" for glyph, _colour, _label in looks.values())  # every ending has its own look
    live = {status_look(status)[0] for status in PROGRESS}
    assert not live & {glyph for glyph, _colour, _label in looks.values()}  # the glyph alone says it ended


def test_a_word_we_do_not_know_is_shown_as_sent_with_a_neutral_look():
    assert status_look("on_hold", "ON_HOLD") == ("?", "white", "On hold")
    assert status_look(None) == ("?", "white", "Unknown")


def test_the_look_table_has_a_look_for_every_key_the_status_module_gives_and_no_other():
    assert set(STATUS_LOOK) == LOOK_KEYS
