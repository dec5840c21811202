"""A damaged journal (garbage over its header, random bytes, a truncated file, a damaged page) is kept, moved
aside to `journal.sqlite3.damaged-<UTC time>` (0600), replaced by an empty one, and the worker says so once,
naming where the old file went (issue 22, item 7). Before: "The background worker could not start."."""

from __future__ import annotations

import random
import re
import sqlite3
import stat

import pytest

from calle_tui.core.events import ErrorEvent, ToolsListed
from calle_tui.core.store.journal import Journal, JournalError
from calle_tui.core.wire.contract import ActivityEntry, GetCallRunResult, PlanCallResult, PlanDetails, RunCallResult
from calle_tui.core.worker_api import PlanRequest

URL = "http://127.0.0.1:1/mcp"
PAGE = 4096


def a_used_journal(path) -> bytes:
    """A journal with plans, runs and their activity, many pages long; its bytes once closed."""
    journal = Journal(path)
    for i in range(40):
        plan = PlanCallResult(
            plan_id=f"p{i}",
            ready_to_run=True,
            confirm_token=f"tok-{i}",
            plan=PlanDetails(to_phones=["+15551230001"], goal="Book a table " + "x" * 2000, language="en"),
        )
        journal.record_plan(URL, PlanRequest(user_input="call them"), plan, now=100.0)
        journal.begin_attempt(f"p{i}", f"tok-{i}", URL, 101.0)
        journal.mark_started(f"p{i}", RunCallResult(run_id=f"r{i}", status="queued"), now=102.0)
        page = GetCallRunResult(run_id=f"r{i}", status="in_progress")
        entries = [ActivityEntry(id=f"e{n}", type="note", text="said " * 50) for n in range(5)]
        journal.save_page(f"r{i}", entries, None, page, now=103.0)
    journal.close()
    return path.read_bytes()


def garbage_header(data: bytes) -> bytes:
    return b"garbage, not SQLite " * 6 + data[120:]


def random_bytes(data: bytes) -> bytes:
    return random.Random(22).randbytes(len(data))


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def a_damaged_page(data: bytes) -> bytes:
    """One page in the middle overwritten: the file opens and reads the history; only quick_check sees it."""
    page = len(data) // PAGE // 2
    return data[: page * PAGE] + b"\xff" * PAGE + data[(page + 1) * PAGE :]


DAMAGE = [
    pytest.param(garbage_header, "file is not a database", id="garbage-header"),
    pytest.param(random_bytes, "file is not a database", id="random-bytes"),
    pytest.param(truncated, "malformed", id="truncated"),
    pytest.param(a_damaged_page, "", id="damaged-page"),
]


def damaged_files(folder):
    return sorted(p for p in folder.iterdir() if ".damaged-" in p.name)


@pytest.mark.parametrize(("damage", "words"), DAMAGE)
def test_a_damaged_journal_is_kept_moved_aside_and_an_empty_one_started(tmp_path, damage, words):
    folder = tmp_path / "state"
    path = folder / "journal.sqlite3"
    folder.mkdir()
    broken = damage(a_used_journal(path))
    path.write_bytes(broken)

    journal = Journal(path)

    found = journal.damaged
    assert found is not None and found.path == path
    assert re.fullmatch(r"journal\.sqlite3\.damaged-\d{8}T\d{6}Z", found.moved_to.name)
    assert found.moved_to.parent == folder and damaged_files(folder)[0] == found.moved_to
    assert found.moved_to.read_bytes() == broken  # kept exactly as it was
    assert stat.S_IMODE(found.moved_to.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert words in found.reason
    assert found.message == (
        f"The call history at {path} was damaged ({found.reason}): it was moved aside to {found.moved_to}, "
        "and a new, empty history was started."
    )
    # The new journal is empty, private and works: the latch, the history.
    assert journal.history() == [] and journal.unfinished_runs(URL) == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    plan = PlanCallResult(plan_id="new", ready_to_run=True, confirm_token="tok", plan=PlanDetails(goal="Ask"))
    journal.record_plan(URL, PlanRequest(user_input="call"), plan, now=1.0)
    assert journal.begin_attempt("new", "tok", URL, 2.0) and not journal.begin_attempt("new", "tok", URL, 3.0)
    journal.close()

    # Said once: the next start finds a sound journal and moves nothing.
    again = Journal(path)
    assert again.damaged is None and [a.plan_id for a in again.unresolved_attempts(URL)] == ["new"]
    again.close()
    assert damaged_files(folder) == [found.moved_to]


def test_a_second_damaged_file_in_the_same_second_keeps_the_first(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(time, "gmtime", lambda *_: time.struct_time((2026, 1, 2, 3, 4, 5, 4, 2, 0)))
    path = tmp_path / "journal.sqlite3"
    path.write_bytes(b"not a database, first" * 10)
    first = Journal(path)
    first.close()
    path.write_bytes(b"not a database, second" * 10)
    second = Journal(path)
    second.close()
    assert [p.name for p in damaged_files(tmp_path)] == [
        "journal.sqlite3.damaged-20260102T030405Z",
        "journal.sqlite3.damaged-20260102T030405Z-2",
    ]
    assert first.damaged.moved_to.read_bytes() == b"not a database, first" * 10
    assert second.damaged.moved_to.read_bytes() == b"not a database, second" * 10


def test_a_journal_from_a_newer_calle_tui_is_refused_and_never_moved(tmp_path):
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(JournalError, match="newer calle-tui"):
        Journal(path)
    assert damaged_files(tmp_path) == [] and path.exists()


async def test_the_worker_starts_on_a_damaged_journal_and_says_where_the_old_one_went(tmp_path, make_worker, fake_calle):
    _fake, url = fake_calle
    state = tmp_path / "state"
    state.mkdir()
    path = state / "journal.sqlite3"
    path.write_bytes(garbage_header(a_used_journal(path)))

    worker, log = make_worker(url, state=state)
    await worker.start()
    await log.wait_kind(ToolsListed)  # connected: the start went all the way

    [said] = [e for e in log.of(ErrorEvent) if e.kind == "journal"]
    [moved] = damaged_files(state)
    assert str(path) in said.message and str(moved) in said.message and "file is not a database" in said.message
    assert "new, empty history" in said.message and said.action
    assert said.run_id is None and said.plan_id is None  # app-wide: the app shows it as a notice
    assert worker.history() == []
    result = await worker.plan(PlanRequest(user_input="Call +1 555 0100 to book a table"))
    assert result.plan_id  # recorded in the new journal
    assert "moved aside" in (state / "logs" / "calle-tui.log").read_text()

    # A restart on the same folder: nothing damaged, nothing said.
    await worker.close()
    again, again_log = make_worker(url, state=state)
    await again.start()
    await again_log.wait_kind(ToolsListed)
    assert [e for e in again_log.of(ErrorEvent) if e.kind == "journal"] == []
    assert damaged_files(state) == [moved]
