"""A finished call reads the same on the monitor, on the calls board and in History: the same glyph and the same
status word, in the server's own letters ("CANCELLED" is "Cancelled", not our "Canceled" on one screen and the
server's word on another), whether the call ended while the app followed it or is read from the journal after
a restart. All three word it from the run's view in the app's store of runs (ui/runs/store.py), or, for a row
the store does not hold, from the journal's row with the server's word kept beside the status."""

from __future__ import annotations

from fake_worker import SERVER_URL, FakeWorker
from fakes_shell import FIXED_NOW, make_shell_app, sample_records, until
from test_runs_board import cells, open_board
from test_shell_history_help import open_history
from textual.widgets import DataTable, Static

from calle_tui.core.events import RunFinished, RunUpdate
from calle_tui.core.runs.stored import StoredRuns
from calle_tui.core.store.journal import Journal
from calle_tui.core.wire.replies import read_run_page, read_run_start
from calle_tui.ui.screens.monitor import MonitorScreen

RUN = "run-0004"  # live in sample_records()
ENDED = {"run_id": RUN, "status": "CANCELLED", "message": "calling task completed with status=CANCELLED",
         "activity": [{"ts": "2026-06-05T09:31:02.000000Z", "kind": "progress", "message": "Call is ringing."},
                      {"ts": "2026-06-05T09:31:40.000000Z", "kind": "progress", "message": "Canceled by the line."}],
         "next_step": {"action": "report_blocked"}}  # fmt: skip
WORDS = "⊗ Cancelled"


def history_word(screen, run_id: str) -> str:
    return str(screen.query_one(DataTable).get_cell(f"run:{run_id}", "outcome"))


def board_word(screen, run_id: str) -> str:
    table = screen.query_one(DataTable)
    order = [row.key.value for row in table.ordered_rows]
    return cells(screen, "status")[order.index(run_id)]


def monitor_word(screen: MonitorScreen) -> str:
    return str(screen.query_one("#monitor-status", Static).render()).strip().split("  ")[0].strip()


async def words_on_three_screens(pilot, worker, run_id: str) -> tuple[str, str, str]:
    app = pilot.app
    history = await open_history(pilot, worker)
    in_history = history_word(history, run_id)
    await pilot.press("escape")
    board = await open_board(pilot, worker)
    on_board = board_word(board, run_id)
    await pilot.press("escape")
    record = next(r for r in worker.history() if r.run_id == run_id)
    app.push_screen(app.new_monitor(run_id, record))
    await until(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen.is_mounted)
    await pilot.pause()
    return in_history, on_board, monitor_word(app.screen)


async def test_a_call_that_ended_while_followed_reads_the_same_everywhere(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: worker.started.is_set() and app.shell_status.connection == "connected")
        page = read_run_page(ENDED)
        # As the follower reports the end: the last page, then that the run finished.
        worker.emit(RunUpdate(RUN, page.status, "polling", result=page, status_text=page.status_text))
        worker.emit(RunFinished(RUN, page.status, result=page, status_text=page.status_text))
        await pilot.pause()
        assert await words_on_three_screens(pilot, worker, RUN) == (WORDS, WORDS, WORDS)


class JournalWorker(FakeWorker):
    """The fake, with the runs read from a real journal as the worker reads them (after a restart)."""

    def __init__(self, journal: Journal, tmp_path, **kw) -> None:
        super().__init__(**kw)
        self._stored = StoredRuns(tmp_path, SERVER_URL, journal=journal, closed=lambda: False)

    def history(self, search: str = ""):
        return self._stored.history(search)

    def run_view(self, run_id: str):
        return self._stored.view(run_id)


async def test_a_call_read_from_the_journal_reads_the_same_everywhere(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    assert journal.begin_attempt("plan-c", "tok-c", SERVER_URL, FIXED_NOW - 120)
    journal.mark_started("plan-c", read_run_start({"run_id": RUN, "status": "STARTED"}), FIXED_NOW - 120)
    page = read_run_page(ENDED)
    journal.save_page(RUN, page.activity, None, page, FIXED_NOW - 60)
    worker = JournalWorker(journal, tmp_path, signed_in=True)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await words_on_three_screens(pilot, worker, RUN) == (WORDS, WORDS, WORDS)
    journal.close()
