"""The journal: the at-most-once latch, pages with de-duplication and cursors, history, restart."""

import contextlib
import threading

import pytest

from calle_tui.core.store.journal import Journal
from calle_tui.core.wire.contract import ActivityEntry, GetCallRunResult, PlanCallResult, PlanDetails, RunCallResult
from calle_tui.core.worker_api import PlanRequest

URL = "http://127.0.0.1:1/mcp"


def planned(journal, plan_id="p1", phones=("+15551230001",), goal="Book a table"):
    result = PlanCallResult(
        plan_id=plan_id,
        ready_to_run=True,
        confirm_token="tok-" + plan_id,
        plan=PlanDetails(to_phones=list(phones), goal=goal, language="en"),
    )
    journal.record_plan(URL, PlanRequest(user_input="call them"), result, now=100.0)
    return result


def entries(*ids):
    return [ActivityEntry(id=i, type="note", text=f"entry {i}") for i in ids]


def test_begin_attempt_is_a_latch_even_across_threads(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    planned(journal)
    wins = []
    barrier = threading.Barrier(8)

    def go():
        barrier.wait()
        wins.append(journal.begin_attempt("p1", "tok-p1", URL, 1.0))

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
    # And across processes sharing the file: a second Journal object sees the latch.
    assert Journal(tmp_path / "j.sqlite3").begin_attempt("p1", "tok-p1", URL, 2.0) is False


def test_rejected_attempt_may_be_retried_but_unknown_may_not(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    assert journal.begin_attempt("p1", "t", URL, 1.0)
    journal.mark_rejected("p1", "The plan expired.")
    assert journal.begin_attempt("p1", "t", URL, 2.0)
    journal.mark_unknown("p1", "No answer.")
    assert not journal.begin_attempt("p1", "t", URL, 3.0)
    assert [a.plan_id for a in journal.unresolved_attempts()] == ["p1"]


def test_crash_between_send_and_reply_becomes_unknown_in_history(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    planned(journal)
    assert journal.begin_attempt("p1", "tok-p1", URL, 5.0)
    journal.close()  # the process "dies" here

    reopened = Journal(path)
    unknown = reopened.settle_crashed_attempts(URL)
    assert [(a.plan_id, a.state, a.confirm_token) for a in unknown] == [("p1", "outcome_unknown", "tok-p1")]
    [record] = reopened.history()
    assert (record.run_id, record.attempt, record.status) == (None, "outcome_unknown", "")
    assert record.to_phones == ("+15551230001",) and record.goal == "Book a table"
    assert not reopened.begin_attempt("p1", "tok-p1", URL, 6.0)


def test_started_run_and_pages_deduplicate_and_keep_cursor(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    planned(journal)
    journal.begin_attempt("p1", "tok-p1", URL, 5.0)
    journal.mark_started("p1", RunCallResult(run_id="r1", status="queued"), now=6.0)
    assert journal.attempt("p1").run_id == "r1"

    p1 = GetCallRunResult(run_id="r1", status="dialing", next_cursor="c2")
    assert [e.id for e in journal.save_page("r1", entries("a", "b"), "c2", p1, now=70.0)] == ["a", "b"]
    p2 = GetCallRunResult(run_id="r1", status="in_progress", next_cursor=None)
    # "b" again (a server replaying an entry) is dropped; order of first sight is kept.
    assert [e.id for e in journal.save_page("r1", entries("b", "c"), "c3", p2, now=80.0)] == ["c"]

    state = journal.run("r1")
    assert (state.status, state.cursor, state.entry_count, state.last_poll_at) == ("in_progress", "c3", 3, 80.0)
    assert [u.run_id for u in journal.unfinished_runs(URL)] == ["r1"]

    done = GetCallRunResult(run_id="r1", status="completed", terminal=True, summary="Table booked for 2.")
    journal.save_page("r1", [], "c3", done, now=90.0)
    journal.close()

    reopened = Journal(path)
    assert reopened.unfinished_runs(URL) == []
    assert [e.id for e in reopened.entries("r1")] == ["a", "b", "c"]
    [record] = reopened.history()
    assert (record.run_id, record.status, record.terminal, record.summary) == (
        "r1",
        "completed",
        True,
        "Table booked for 2.",
    )
    assert record.to_phones == ("+15551230001",)
    assert reopened.run("r1").last.summary == "Table booked for 2."


def test_history_search_and_order(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    for i, goal in enumerate(["Book a table", "Ask opening hours"]):
        planned(journal, plan_id=f"p{i}", goal=goal, phones=(f"+1555000000{i}",))
        journal.begin_attempt(f"p{i}", "t", URL, 10.0 + i)
        journal.mark_started(f"p{i}", RunCallResult(run_id=f"r{i}"), now=10.0 + i)
    assert [r.run_id for r in journal.history()] == ["r1", "r0"]
    assert [r.run_id for r in journal.history("HOURS")] == ["r1"]
    assert [r.run_id for r in journal.history("+15550000000")] == ["r0"]
    assert journal.history("nothing like it") == []


def test_no_confirm_token_in_plan_result_json(tmp_path):
    import sqlite3

    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    planned(journal)
    journal.close()
    with contextlib.closing(sqlite3.connect(path)) as db:  # the file as any program reads it
        [(result_json,)] = db.execute("SELECT result_json FROM plans").fetchall()
    assert "p1" in result_json and "tok-p1" not in result_json


def test_the_journal_format_is_versioned_and_migrated_in_order(tmp_path, monkeypatch):
    import sqlite3

    from calle_tui.core.store import journal as journal_module
    from calle_tui.core.store.journal import Journal, JournalError

    current = journal_module.SCHEMA_VERSION
    path = tmp_path / "j.sqlite3"
    # A file from before user_version was kept: the version-1 tables and user_version 0.
    db = sqlite3.connect(path)
    db.executescript(journal_module._SCHEMA)
    db.commit()
    db.close()
    Journal(path).close()
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == current
    # A later version adds a column: the step runs once, in order, and the data stays.
    monkeypatch.setattr(journal_module, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(journal_module.MIGRATIONS, current, ("ALTER TABLE runs ADD COLUMN note TEXT",))
    Journal(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == current + 1
    assert "note" in [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    db.close()
    # A file from a newer calle-tui is refused with a sentence that names it.
    monkeypatch.setattr(journal_module, "SCHEMA_VERSION", current)
    with pytest.raises(JournalError, match="newer calle-tui"):
        Journal(path)


def test_a_version_2_journal_is_migrated_once_and_reads_never_write(tmp_path):
    import sqlite3

    from calle_tui.core.store import journal as journal_module

    path = tmp_path / "j.sqlite3"
    Journal(path).close()
    # Rows as calle-tui's format 2 wrote them: a final status in the server's own word not marked terminal,
    # and the attempt states 'pending' and 'unknown'.
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA user_version = 2")
        db.execute(
            "INSERT INTO runs (run_id, plan_id, server_url, created_at, to_phones, status, terminal) "
            "VALUES ('r1', 'p1', 'u', 1.0, '[]', 'COMPLETED', 0), ('r2', 'p2', 'u', 2.0, '[]', 'PREPARING', 0)"
        )
        db.execute(
            "INSERT INTO attempts (plan_id, server_url, confirm_token, sent_at, state) "
            "VALUES ('p3', 'u', 't', 3.0, 'pending'), ('p4', 'u', 't', 4.0, 'unknown')"
        )
    journal = Journal(path)
    assert journal.run("r1").terminal and not journal.run("r2").terminal
    assert [(a.plan_id, a.state) for a in journal.unresolved_attempts("u")] == [("p3", "sent"), ("p4", "outcome_unknown")]
    journal.close()
    with contextlib.closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == journal_module.SCHEMA_VERSION
        # A run whose server said terminal: false is believed: no read settles it behind the server's back.
        db.execute("UPDATE runs SET terminal = 0 WHERE run_id = 'r1'")
        db.commit()
    journal = Journal(path)
    assert [r.run_id for r in journal.unfinished_runs("u")] == ["r1", "r2"]
    assert not journal.run("r1").terminal
