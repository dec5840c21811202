"""Activity entries from a server that gives them no `id`: each is shown once, however often it is re-sent."""

import pytest
from calle_fakes import drive
from tolerant_servers import ScriptedCalle

from calle_tui.core.events import ErrorEvent, RunFinished, RunUpdate, ToolsListed
from calle_tui.core.wire.replies import read_run_page
from calle_tui.core.worker_api import PlanRequest

READY = PlanRequest(user_input="Call +1 555 0100 to book a table", to_phones=("+15550100",), goal="Book a table")

A = {"at": "2026-01-01T10:00:00Z", "type": "dialing", "text": "Dialing +15550100"}
B = {"type": "note", "text": "Hold music"}  # no time either: twice on one page means twice
C = {"id": "c-7", "at": "2026-01-01T10:00:05Z", "type": "status", "text": "Answered"}
D = {"at": "2026-01-01T10:00:09Z", "type": "speech", "speaker": "agent", "text": "Hello, a table for two?"}
E = {"at": "2026-01-01T10:00:12Z", "type": "speech", "speaker": "callee", "text": "Sure."}


def page(status, activity, **more):
    return {"run_id": "run-9", "status": status, "activity": activity, **more}


def test_ids_are_derived_from_content_and_kept_when_present():
    first = read_run_page(page("in_progress", [A, B, B, C, "Ringing", {**E, "id": 12}]))
    ids = [e.id for e in first.activity]
    assert ids[3] == "c-7" and ids[5] == "12"  # a server's id is kept (a number becomes its text)
    assert len(set(ids)) == 6  # identical B twice on a page: two entries
    assert first.activity[4].text == "Ringing"  # a bare line of text is an entry
    again = read_run_page(page("in_progress", [B, C, B]))  # the same entries, re-sent
    assert [e.id for e in again.activity] == [ids[1], "c-7", ids[2]]
    nulled = read_run_page(page("in_progress", [{**B, "id": None}, {**B, "id": ""}]))
    assert [e.id for e in nulled.activity] == ids[1:3]  # a null or empty id is no id
    other = read_run_page(page("in_progress", [{**B, "speaker": "agent"}]))
    assert other.activity[0].id not in ids  # any change of content is another entry


async def test_entries_without_ids_are_shown_once_across_polls(make_worker, manual_clock):
    script = [
        page("in_progress", [A, B, B, C]),
        page("in_progress", [A, B, B, C, D]),  # the whole log again, one more entry
        page("in_progress", [B, C, D, E]),  # a window that slid on
        page("completed", [A, B, B, C, D, E], terminal=True),
    ]
    fake = ScriptedCalle(manual_clock, run_answers=[{"run_id": "run-9", "status": "queued"}], poll_answers=script)
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(READY)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert len(fake.poll_times) == 4 and not log.of(ErrorEvent)
    shown = [e for u in log.of(RunUpdate) for e in u.new_activity]
    assert [e.text for e in shown] == [A["text"], B["text"], B["text"], C["text"], D["text"], E["text"]]
    assert shown[3].id == "c-7"
    assert [e.id for e in worker.run_entries("run-9")] == [e.id for e in shown]  # stored once each, in order


@pytest.mark.parametrize("activity", [None, []])
def test_missing_activity_is_no_activity(activity):
    assert read_run_page(page("queued", activity)).activity == []


async def test_a_page_without_run_id_or_status_is_about_the_run_we_asked(make_worker, manual_clock):
    script = [
        {"activity": [A]},  # neither run_id nor status: still the run we asked about, status unchanged
        page("completed", [A, B], terminal=True),
    ]
    fake = ScriptedCalle(manual_clock, run_answers=[{"run_id": "run-9", "status": "queued"}], poll_answers=script)
    with fake.server() as server:
        worker, log = make_worker(server.url)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(READY)
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert len(fake.poll_times) == 2 and not log.of(ErrorEvent)
    assert [e.text for u in log.of(RunUpdate) for e in u.new_activity] == [A["text"], B["text"]]
    assert worker.history()[0].status == "completed"
