"""Starting while a followed call is still live says so on the composer and offers to open it, with its status
as the monitor shows it (the app's store of runs); quitting during a live call says the call goes on at
CALL-E and will be followed again."""

from __future__ import annotations

from fake_worker import FakeWorker
from fakes_shell import make_app, sample_records, until
from textual.widgets import Static

from calle_tui.core.events import RunUpdate
from calle_tui.ui.screens.monitor import MonitorScreen


async def test_a_call_still_live_at_start_up_is_said_on_the_composer_and_ctrl_o_opens_it(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "ComposerScreen" and bool(app.live_runs))
        await pilot.pause()
        line = app.screen.query_one("#composer-live", Static)
        assert line.display
        assert str(line.render()) == "● A call is still live: +1 415-555-0100 (in progress). Press ctrl+o to open it."
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert app.screen.run_id == "run-0004"
        # Once it ends, the composer no longer offers it.
        worker.finish("run-0004", "completed", "Open until 6 pm.")
        await until(pilot, lambda: not app.live_runs)
        app.pop_screen()
        await pilot.pause()
        assert not app.screen.query_one("#composer-live", Static).display


async def test_the_line_says_the_status_the_worker_reports_in_the_servers_word(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "ComposerScreen" and bool(app.live_runs))
        line = app.screen.query_one("#composer-live", Static)
        worker.emit(RunUpdate(run_id="run-0004", status="preparing", poll_state="waiting", status_text="PREPARING"))
        await until(pilot, lambda: "(preparing)" in str(line.render()))
        assert str(line.render()) == "● A call is still live: +1 415-555-0100 (preparing). Press ctrl+o to open it."


async def test_no_line_without_a_live_call(tmp_path):
    records = [r for r in sample_records() if r.terminal or r.run_id is None]
    app = make_app(FakeWorker(signed_in=True, records=records), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "ComposerScreen")
        await pilot.pause()
        assert not app.screen.query_one("#composer-live", Static).display
        await pilot.press("ctrl+q")
    assert app.quit_note == ""


async def test_ctrl_q_during_a_live_call_says_the_call_goes_on_and_will_be_resumed(tmp_path):
    app = make_app(FakeWorker(signed_in=True, records=sample_records()), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "ComposerScreen")
        await pilot.press("ctrl+q")
    assert app.quit_note.startswith("calle-tui: The call to +1 415-555-0100 (in progress) goes on at CALL-E")
    assert "followed again" in app.quit_note and "next time you start calle-tui" in app.quit_note


async def test_in_the_demo_quitting_says_its_call_ends_with_the_sandbox(tmp_path):
    app = make_app(FakeWorker(signed_in=True, records=sample_records()), tmp_path)
    app.resumes_live_calls = False
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "ComposerScreen")
        await pilot.press("ctrl+q")
    assert "ended with the demo's sandbox" in app.quit_note and "followed again" not in app.quit_note
