"""The monitor with production's replies (tests/fixtures/replies/calle through the one reader): a page is
never lost to the countdown that follows it, re-sent history is drawn once, the server's questions are shown
and never acted on, a run reopened from the journal is whole and is not followed again, exports carry the
same content as the screen, and "Call finished" comes once per run. Snapshots of a live call at 80x24 and
120x40; the finished call's is test_calle_dialect_screens.py's, and reopened from History it is laid out the same."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pytest
import reply_fixtures as rf
from fake_worker import FakeWorker
from fakes_runs import FIXED_START, FakeClock, RunsHostApp, record
from textual.widgets import Log, Static

from calle_tui.core.events import RunFinished, RunUpdate
from calle_tui.core.runs.export import to_json, to_markdown
from calle_tui.core.runs.runview import from_journal
from calle_tui.core.wire.contract import NextStep
from calle_tui.ui.runs.transcript import TranscriptLog
from calle_tui.ui.screens.monitor import MonitorScreen

RUN = "run_51a0c2d4e6"
SIZES = [(80, 24), (120, 40)]


def rec(terminal: bool = False):
    return dataclasses.replace(
        record(status="completed" if terminal else "started", terminal=terminal),
        run_id=RUN, to_phones=("+14155550142",), goal="Order 1182: ready?",
    )  # fmt: skip


def host(worker, *, terminal: bool = False) -> RunsHostApp:
    return RunsHostApp(lambda: MonitorScreen(worker, RUN, rec(terminal)), clock=FakeClock())


def page_update(page, *, entries: bool = True, poll_state: str = "waiting") -> RunUpdate:
    return RunUpdate(run_id=RUN, status=page.status, status_text=page.status_text, poll_state=poll_state,
                     new_activity=tuple(page.activity) if entries else (), result=page)  # fmt: skip


def countdown(status: str = "preparing", at: float | None = None) -> RunUpdate:
    """What the follower sends right after a page, with no await between: a status and a time, no page."""
    return RunUpdate(run_id=RUN, status=status, poll_state="waiting", next_poll_at=at)


def finished(name: str = "get_call_run-completed") -> RunFinished:
    page = rf.run_page(name, asked=RUN)
    return RunFinished(run_id=RUN, status=page.status, status_text=page.status_text, result=page,
                       transcript=tuple(page.transcript or ()))  # fmt: skip


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def activity_lines(screen) -> list[str]:
    return list(screen.query_one("#monitor-activity", Log).lines)


async def test_a_countdown_right_after_a_page_never_loses_the_page():
    # The page brings no new entries, only a summary and a detail; the countdown that the follower sends at
    # once after it must not lose it (the store folds each event as the worker reports it).
    worker = FakeWorker()
    app = host(worker)
    live = rf.run_page("get_call_run-preparing-live")
    later = live.model_copy(update={
        "summary": "The shop is checking the order.",
        "details": {"callee": "+14155550142"},
    })  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(page_update(live))
        await pilot.pause()
        worker.emit(page_update(later, entries=False))
        worker.emit(countdown(at=app.clock() + 7))
        await pilot.pause()
        outcome = text_of(app.screen, "#monitor-outcome-text")
        assert "The shop is checking the order." in outcome
        assert "Callee: +1 415-555-0142 (United States)" in outcome
        # what calle-tui does itself (poll again) is said by the status line, not repeated from the server
        assert "Poll get_call_run again" not in outcome
        assert "Next check in 7 s" in text_of(app.screen, "#monitor-status")


async def test_production_resends_the_whole_history_and_each_line_is_drawn_once():
    worker = FakeWorker()
    app = host(worker)
    live = rf.run_page("get_call_run-preparing-live")
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(3):  # every poll returns the whole history
            worker.emit(page_update(live))
            worker.emit(countdown())
        await pilot.pause()
        lines = activity_lines(app.screen)
        assert len(lines) == 3 and sum("Call is ringing." in line for line in lines) == 1
        assert app.screen.query_one(TranscriptLog).turn_count == 3
        status = text_of(app.screen, "#monitor-status")
        assert "◌ Preparing" in status and "talking" in status  # the server's word, and what the activity shows


async def test_a_question_from_the_server_is_shown_as_a_question_and_never_acted_on():
    worker = FakeWorker()
    app = host(worker)
    page = rf.run_page("get_call_run-preparing-live").model_copy(update={
        "next_step": NextStep(action="ask_user_for_retry_confirmation",
                              message="Ask the user whether to retry the call at 14:00."),
    })  # fmt: skip
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(page_update(page))
        await pilot.pause()
        outcome = text_of(app.screen, "#monitor-outcome-text")
        assert "CALL-E asks  Ask the user whether to retry the call at 14:00." in outcome
        assert worker.run_calls == [] and worker.refresh_calls == [] and worker.plan_requests == []


async def test_an_unknown_run_says_so_in_the_servers_words_and_ends():
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(finished("get_call_run-unknown-run"))
        await pilot.pause()
        outcome = text_of(app.screen, "#monitor-outcome-text")
        assert "CALL-E says  run_id not found." in outcome
        assert "The call has ended. The server sent no summary." not in outcome
        status = text_of(app.screen, "#monitor-status")
        assert "✗ Failed" in status and "Finished" in status
        export = app.screen.transcript_export()
        assert export.message == "run_id not found." and "run_id not found." in to_markdown(export)


# --- reopening a past run -------------------------------------------------------------------------


class ViewWorker(FakeWorker):
    """A worker whose journal already holds a run (as the real one after a restart): `run_view` is core's
    reducer over the stored entries and the run's state (last page, transcript, times)."""

    def __init__(self, *, terminal: bool = True) -> None:
        super().__init__()
        live, final = rf.run_page("get_call_run-preparing-live"), rf.run_page("get_call_run-completed", asked=RUN)
        self.entries = [*live.activity, *final.activity]
        self.state = SimpleNamespace(
            status="completed" if terminal else "preparing", terminal=terminal, last=final if terminal else live,
            transcript=tuple(final.transcript or ()) if terminal else (), last_poll_at=FIXED_START.timestamp() + 99,
        )  # fmt: skip

    def run_view(self, run_id: str):
        state = self.state
        return from_journal(run_id, status=state.status, terminal=state.terminal, entries=self.entries,
                            last=state.last, transcript=state.transcript, last_checked_at=state.last_poll_at)  # fmt: skip


async def test_a_finished_run_reopened_is_whole_at_once_and_not_followed_again():
    worker = ViewWorker()
    app = host(worker, terminal=True)
    async with app.run_test(size=(100, 40)) as pilot:
        app.clock.advance(3 * 3600)  # reopened hours later
        await pilot.pause()
        lines = activity_lines(app.screen)
        assert lines[0].endswith("Creating the call agent.") and lines[-1].endswith("Call ended from realtime events.")
        assert len(lines) == len({line for line in lines}) == 5
        status = text_of(app.screen, "#monitor-status")
        # the run's own time (started to its last check), not the time since it was created
        assert "✓ Completed" in status and "elapsed 1:39" in status and "Finished" in status
        outcome = text_of(app.screen, "#monitor-outcome-text")
        assert "The shop confirmed order 1182 is ready" in outcome and "Task completed: yes" in outcome
        transcript = app.screen.query_one(TranscriptLog)
        assert transcript.turn_count == 4
        # laid out as a call that ended while watched: the transcript leaves no blank rows above the outcome
        assert transcript.size.height == transcript.line_count and app.screen.query_one("#monitor-outcome").display
        assert worker.followed == []  # a finished run is not polled again
        await pilot.press("r")
        assert worker.refresh_calls == [] and "nothing new to check" in text_of(app.screen, "#monitor-note")


async def test_an_unfinished_run_reopened_shows_what_is_stored_and_keeps_following():
    worker = ViewWorker(terminal=False)
    app = host(worker)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert worker.followed == [RUN]
        assert len(activity_lines(app.screen)) == 5
        worker.emit(page_update(rf.run_page("get_call_run-preparing-live")))  # the same history again
        await pilot.pause()
        assert len(activity_lines(app.screen)) == 5


# --- exports and the notice -----------------------------------------------------------------------


async def test_exports_of_a_production_call_carry_summary_transcript_details_and_outcome():
    worker = FakeWorker()
    app = host(worker)
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(page_update(rf.run_page("get_call_run-preparing-live")))
        worker.emit(finished())
        await pilot.pause()
        export = app.screen.transcript_export()
    markdown, data = to_markdown(export), json.loads(to_json(export))
    assert "## Summary\n\nThe shop confirmed order 1182 is ready" in markdown
    assert "**Task completed: yes (confidence high 0.82)**\n- Callee said the order is ready." in markdown
    assert "- Callee: +14155550142" in markdown and "- Duration: 0:38" in markdown
    assert "- Call id: 5f0e6a1c9b2d4e7fa3c18b6d2e9f4a70" in markdown
    assert "- extracted.goal: Ask whether order 1182 is ready" in markdown  # the server's other fields
    assert "**agent**" in markdown and "**callee**" in markdown and "Next: Report the call result" in markdown
    assert data["status"] == "COMPLETED" and data["summary"].startswith("The shop confirmed")
    assert data["judgement"] == {"task_completed": True, "confidence_label": "high", "confidence_score": 0.82}
    assert data["details"]["duration_seconds"] == 38 and len(data["transcript"]) == 4
    assert [turn["speaker"] for turn in data["transcript"]] == ["agent", "callee", "agent", "callee"]
    assert any(item["text"] == "Call is ringing." for item in data["activity"])


async def test_call_finished_once_per_run_with_the_servers_judgement(tmp_path):
    from fake_worker import FakeWorker
    from fakes_shell import make_shell_app, sample_records, until
    from toasts import toasts

    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: worker.started.is_set())
        voicemail = rf.run_page("get_call_run-voicemail", asked="run-0004")
        event = RunFinished(run_id="run-0004", status=voicemail.status, status_text=voicemail.status_text,
                            result=voicemail)  # fmt: skip
        worker.emit(event)
        worker.emit(event)  # reported again (a reopened run, a second window): no second bell
        await until(pilot, lambda: len(toasts(app)) >= 1)
        await pilot.pause()
        assert bells == [1]
        (note,) = toasts(app)
        text = str(note.render())
        assert text.startswith("Call finished\n") and "Task completed: no" in text
        assert "success" not in text.lower() and note.has_class("-warning")
        await app.close_worker()


# --- snapshots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_calle_live_monitor_while_people_talk(snap_compare, size):
    async def run_before(pilot) -> None:
        pilot.app.clock.advance(52)
        pilot.app.screen.worker.emit(page_update(rf.run_page("get_call_run-preparing-live")))
        pilot.app.screen.worker.emit(countdown(at=pilot.app.clock() + 6))
        await pilot.pause()

    assert snap_compare(host(FakeWorker()), terminal_size=size, run_before=run_before)


async def test_a_status_word_we_do_not_know_is_shown_in_the_servers_words_and_followed():
    worker = FakeWorker()
    app = host(worker)
    page = rf.run_page("get_call_run-preparing-live")
    odd = page.model_copy(update={"status": "on_hold", "status_text": "ON_HOLD"})
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(page_update(odd))
        worker.emit(countdown("on_hold", at=app.clock() + 5))
        await pilot.pause()
        status = text_of(app.screen, "#monitor-status")
        assert "? On hold" in status and "Next check in 5 s" in status and "Finished" not in status


async def test_a_run_ended_by_report_result_while_still_preparing_says_what_the_activity_showed():
    worker = FakeWorker()
    app = host(worker)
    live = rf.run_page("get_call_run-preparing-live")
    ended = rf.run_page("get_call_run-completed", asked=RUN)
    still_preparing = ended.model_copy(update={"status": "preparing", "status_text": "PREPARING"})
    async with app.run_test(size=(100, 30)) as pilot:
        worker.emit(page_update(live))
        worker.emit(RunFinished(run_id=RUN, status="preparing", status_text="PREPARING", result=still_preparing))
        await pilot.pause()
        status = text_of(app.screen, "#monitor-status")
        assert "Preparing" in status and "call ended" in status and "Finished" in status
        assert "Task completed: yes" in text_of(app.screen, "#monitor-outcome-text")
