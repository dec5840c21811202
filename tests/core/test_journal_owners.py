"""A pending run_call attempt belongs to the window that sent it: a second window (a real second process)
started meanwhile never calls it "outcome unknown"; once the sender dies, however it dies, it is."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from calle_tui.core.store.journal import Journal, JournalError

URL = "http://127.0.0.1:1/mcp"

SENDER = textwrap.dedent(
    """
    import sys
    from calle_tui.core.store.journal import Journal
    journal = Journal(sys.argv[1])
    assert journal.begin_attempt("p1", "tok-p1", sys.argv[2], 5.0)
    print("sent", flush=True)
    sys.stdin.readline()   # waits here "for run_call's answer" until the test kills it or closes stdin
    """
)


def start_sender(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(path), URL],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "sent"
    return proc


@pytest.mark.parametrize("death", [signal.SIGKILL, signal.SIGTERM])
def test_a_second_window_never_settles_a_live_send_but_does_once_the_sender_died(tmp_path, death):
    path = tmp_path / "journal.sqlite3"
    sender = start_sender(path)
    try:
        second = Journal(path)
        # The first window is still waiting for run_call's answer: not "outcome unknown", not offered a check.
        assert second.settle_crashed_attempts(URL) == []
        assert second.attempt("p1").state == "sent"
        # ...and the latch still holds: the second window cannot send this plan either.
        assert not second.begin_attempt("p1", "tok-p1", URL, 6.0)
    finally:
        os.kill(sender.pid, death)
        sender.wait(timeout=30)
    [unknown] = second.settle_crashed_attempts(URL)
    assert (unknown.plan_id, unknown.state) == ("p1", "outcome_unknown")
    assert not second.begin_attempt("p1", "tok-p1", URL, 7.0)
    # The dead sender's lock file is swept; only the open journal's own remains.
    assert len(list((tmp_path / "journal-owners").glob("*.lock"))) == 1
    second.close()
    assert list((tmp_path / "journal-owners").glob("*.lock")) == []


def test_two_journals_in_one_process_are_told_apart(tmp_path):
    path = tmp_path / "journal.sqlite3"
    first, second = Journal(path), Journal(path)
    assert first.begin_attempt("p1", "tok-p1", URL, 5.0)
    assert second.settle_crashed_attempts(URL) == []
    first.close()
    assert [a.state for a in second.settle_crashed_attempts(URL)] == ["outcome_unknown"]


def test_a_version_1_journal_is_migrated_and_its_pending_attempt_is_unknown(tmp_path):
    import sqlite3

    from calle_tui.core.store import journal as journal_module

    path = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(journal_module._SCHEMA)
    db.execute("PRAGMA user_version = 1")
    db.execute(
        "INSERT INTO attempts (plan_id, server_url, confirm_token, sent_at, state) VALUES ('p1', ?, 't', 1, 'pending')",
        (URL,),
    )
    db.commit()
    db.close()
    journal = Journal(path)
    assert [a.state for a in journal.settle_crashed_attempts(URL)] == ["outcome_unknown"]
    journal.close()
    with contextlib.closing(sqlite3.connect(path)) as db:  # the file now has the current format
        assert db.execute("PRAGMA user_version").fetchone()[0] == journal_module.SCHEMA_VERSION


def test_a_state_folder_that_cannot_be_made_is_one_sentence_naming_it(tmp_path):
    # HOME=/sys in the issue; here a plain file stands where the folder should be (root can write anywhere).
    blocker = tmp_path / "state"
    blocker.write_text("not a folder")
    with pytest.raises(JournalError) as info:
        Journal(blocker / "calle-tui" / "journal.sqlite3")
    message = str(info.value)
    assert str(blocker / "calle-tui") in message and "writable" in message
    assert "Error" not in message and "Traceback" not in message
