"""Behaviour of the live run monitor (fake worker emitting canned events)."""

from __future__ import annotations

import json

from fake_worker import FakeWorker
from fakes_runs import RUN_ID, RunsHostApp, activity, finished, record, speech, update
from textual.widgets import Log, Static

from calle_tui.core.events import ErrorEvent
from calle_tui.core.wire.contract import ActivityEntry
from calle_tui.ui.runs.transcript import TranscriptLog
from calle_tui.ui.screens.monitor import MonitorScreen

SIZE = (80, 24)


class ClipboardHost(RunsHostApp):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.copied: list[str] = []

    def copy_to_clipboard(self, text: str) -> None:
        self.copied.append(text)


def host(worker, rec=None) -> ClipboardHost:
    return ClipboardHost(lambda: MonitorScreen(worker, RUN_ID, rec))


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_follows_the_run_and_shows_live_status_activity_and_transcript():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert worker.followed == [RUN_ID]
        assert "First check" in text_of(app.screen, "#monitor-status") or "Waiting" in text_of(
            app.screen, "#monitor-status"
        )
        worker.emit(update("waiting_first_ignored", "waiting_first", next_poll_in=42, clock=app.clock))
        worker.emit(update("ringing", "waiting", entries=activity(3) + speech(2), next_poll_in=7, clock=app.clock))
        await pilot.pause()
        status = text_of(app.screen, "#monitor-status")
        assert "◑ Ringing" in status and "Next check in 7 s" in status
        log = app.screen.query_one("#monitor-activity", Log)
        assert log.line_count == 3 and log.lines[1].endswith("Dialing +1 415-555-0123")
        transcript = app.screen.query_one(TranscriptLog)
        assert transcript.turns == [
            ("agent", "Hello, I'm calling to book a table for two tonight at seven."),
            ("callee", "Sure, let me check. Yes, we have a table by the window."),
        ]
        # a repeated page does not duplicate entries
        worker.emit(update("in_progress", "polling", entries=activity(3) + speech(3), clock=app.clock))
        await pilot.pause()
        assert log.line_count == 3 and transcript.turn_count == 3
        assert "Checking now" in text_of(app.screen, "#monitor-status")


async def test_countdown_follows_the_clock():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        worker.emit(update("queued", "waiting_first", next_poll_in=60, clock=app.clock))
        await pilot.pause()
        assert "First check in 60 s" in text_of(app.screen, "#monitor-status")
        app.clock.advance(18)
        app.screen._render_status()  # what the 1 s interval does
        status = text_of(app.screen, "#monitor-status")
        assert "First check in 42 s" in status and "elapsed 0:18" in status


async def test_finished_run_shows_outcome_final_transcript_and_unknown_fields():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        worker.emit(update("in_progress", "waiting", entries=speech(1), next_poll_in=5, clock=app.clock))
        app.clock.advance(75)
        worker.emit(finished("completed", billing_ref="B-77"))
        await pilot.pause()
        status = text_of(app.screen, "#monitor-status")
        assert "✓ Completed" in status and "Finished" in status and "elapsed 1:15" in status
        outcome = text_of(app.screen, "#monitor-outcome-text")
        assert "Booked a table for two" in outcome
        assert "Duration: 0:42" in outcome and "billing_ref: B-77" in outcome
        assert "Nothing more to do." in outcome
        assert app.screen.query_one(TranscriptLog).turn_count == 4  # the server's final transcript
        # a late update cannot undo the end
        worker.emit(update("in_progress", "waiting", clock=app.clock))
        await pilot.pause()
        assert "✓ Completed" in text_of(app.screen, "#monitor-status")


async def test_refresh_now_and_the_floor():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        worker.emit(update("ringing", "waiting", next_poll_in=6, clock=app.clock))
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert worker.refresh_calls == [RUN_ID]
        assert text_of(app.screen, "#monitor-note") == "Checked just now."
        worker.refresh_result = False
        await pilot.press("r")
        await pilot.pause()
        note = text_of(app.screen, "#monitor-note")
        assert "not again yet" in note and "next check is in 6 s" in note


async def test_errors_for_this_run_are_shown_as_sentences():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        worker.emit(ErrorEvent("Connection lost.", "We keep retrying.", "network", run_id="other-run"))
        worker.emit(ErrorEvent("The server is busy.", "We will retry in 8 s.", "rate_limited", run_id=RUN_ID))
        await pilot.pause()
        assert text_of(app.screen, "#monitor-note") == "The server is busy. We will retry in 8 s."


async def test_copy_puts_the_transcript_on_the_clipboard():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        assert app.copied == []
        worker.emit(update("in_progress", "waiting", entries=speech(2), clock=app.clock))
        await pilot.pause()
        await pilot.press("c")
        (copied,) = app.copied
        assert "**agent** (2026-06-05T09:31:30+00:00): Hello, I'm calling" in copied
        assert "**callee**" in copied


async def test_export_writes_markdown_and_json_with_the_transcript(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        worker.emit(finished("completed"))
        await pilot.pause()
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        md_path, json_path = app.screen.last_export
        assert md_path.parent == tmp_path / "data" / "calle-tui" / "exports"
        assert str(md_path.parent) in text_of(app.screen, "#monitor-note")
        markdown = md_path.read_text()
        assert "# Call run-7f3a" in markdown and "- Status: completed" in markdown
        assert "**callee** (2026-06-05T09:31:31+00:00): Sure, let me check." in markdown
        data = json.loads(json_path.read_text())
        assert data["run_id"] == RUN_ID and data["status"] == "completed"
        assert [t["speaker"] for t in data["transcript"]] == ["agent", "callee", "agent", "callee"]
        assert data["summary"].startswith("Booked a table")


async def test_export_failure_is_a_sentence(tmp_path, monkeypatch):
    blocker = tmp_path / "data"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert text_of(app.screen, "#monitor-note").startswith("Could not save the transcript")


async def test_a_ten_thousand_line_transcript_appends_in_batches():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        batch = tuple(
            ActivityEntry(id=f"x{i}", type="speech", speaker="agent" if i % 2 else "callee", text=f"line {i}")
            for i in range(10_000)
        )
        worker.emit(update("in_progress", "waiting", entries=batch, clock=app.clock))
        await pilot.pause()
        transcript = app.screen.query_one(TranscriptLog)
        assert transcript.turn_count == 10_000 and transcript.line_count == 10_000
        assert transcript.is_vertical_scroll_end  # follows the end as lines arrive
        assert transcript.render_line(transcript.size.height - 1).text.rstrip().endswith("line 9999")


async def test_back_leaves_the_monitor():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MonitorScreen)


async def test_a_status_only_update_never_swallows_the_activity_queued_before_it():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        # Both are queued before the screen handles either: they may merge, but no entry may be lost.
        worker.emit(update("ringing", "waiting", entries=activity(3) + speech(1), next_poll_in=5, clock=app.clock))
        worker.emit(update("ringing", "reconnecting", next_poll_in=8, clock=app.clock, message="Connection lost"))
        worker.emit(update("ringing", "reconnecting", next_poll_in=7, clock=app.clock, message="Connection lost"))
        await pilot.pause()
        assert app.screen.query_one("#monitor-activity", Log).line_count == 3
        assert app.screen.query_one(TranscriptLog).turn_count == 1
        assert "Reconnecting: Connection lost (retry in 7 s)" in text_of(app.screen, "#monitor-status")


async def test_long_turns_wrap_under_the_speaker_and_control_characters_are_neutralised():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        long_text = " ".join(f"word{i}" for i in range(60))
        worker.emit(
            update(
                "in_progress",
                "waiting",
                clock=app.clock,
                entries=(
                    ActivityEntry(id="w1", type="speech", speaker="agent", text=long_text),
                    ActivityEntry(id="w2", type="speech", speaker="call\x1bee", text="bell\x07 and \x1b[31mred"),
                ),
            )
        )
        await pilot.pause()
        transcript = app.screen.query_one(TranscriptLog)
        assert transcript.turn_count == 2 and transcript.line_count > 3
        width = transcript.scrollable_content_region.width
        rendered = [transcript.render_line(y).text for y in range(transcript.size.height)]
        body = [line for line in rendered if "word" in line]
        assert len(body) == transcript.line_count - 1 and all(len(line) <= width for line in rendered)
        assert body[0].startswith("agent") and body[1].startswith(" " * 9 + " │ ")
        assert " ".join(" ".join(line.split("│", 1)[1].split()) for line in body) == long_text
        last = next(line for line in rendered if "bell" in line)
        assert "\x1b" not in last and "\x07" not in last and last.startswith("call ee")


async def test_the_header_says_which_call_and_how_it_stands():
    from calle_tui.ui.widgets.header import AppHeader

    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=(120, 24)) as pilot:
        await app.screen.mount(AppHeader(), before=0)
        await pilot.pause()
        header = app.screen.query_one(AppHeader)
        assert app.screen.title == "Call +1 415-555-0123" and app.screen.sub_title == "queued"
        worker.emit(update("in_progress", "waiting", next_poll_in=7, clock=app.clock))
        await pilot.pause()
        assert "calle-tui › Call +1 415-555-0123 · in progress" in str(header.render())
        worker.emit(finished("completed"))
        await pilot.pause()
        assert "Call +1 415-555-0123 · completed" in str(header.render())
        status = text_of(app.screen, "#monitor-status")
        assert "✓ Completed   elapsed" in status  # the badge (with its padding) and the time stay apart


async def test_a_server_that_answers_in_words_is_shown_what_it_said():
    worker = FakeWorker()
    app = host(worker, record())
    async with app.run_test(size=SIZE) as pilot:
        said = "Your call is being connected, please check back shortly."
        worker.emit(update("in_progress", "waiting", next_poll_in=7, message=said))
        await pilot.pause()
        assert text_of(app.screen, "#monitor-note") == f"The server said: {said}"
