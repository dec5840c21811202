"""A status a server sends and a run_call whose answer was lost are two different things, told apart wherever
a run is shown. A server may say `UNKNOWN` (a word we do not know): that is the run's status, shown in its
words, and the run opens and is followed like any other. A request whose answer was lost has no run yet: its
outcome is unknown, and the person is offered a check, never a re-send. Both records come from a real journal,
written as the worker writes it (replies read by the one reader)."""

from __future__ import annotations

from datetime import UTC

from fake_worker import FakeWorker
from fakes_shell import FIXED_NOW, SERVER_URL, make_shell_app, until
from test_shell_history_help import mounted, open_history, rows
from textual.widgets import Input, Static
from toasts import toast_texts

from calle_tui.core.store.journal import Journal
from calle_tui.core.wire.replies import read_run_page, read_run_start
from calle_tui.ui.runs.board_rows import board_row
from calle_tui.ui.screens.monitor import MonitorScreen


def detail_of(screen) -> str:
    return str(screen.query_one("#history-detail", Static).render())


async def test_a_server_that_says_unknown_is_shown_as_that_status_not_as_a_lost_reply(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    assert journal.begin_attempt("plan-u", "tok-u", SERVER_URL, FIXED_NOW - 120)
    journal.mark_started("plan-u", read_run_start({"run_id": "run-u", "status": "STARTED"}), FIXED_NOW - 120)
    page = read_run_page({"run_id": "run-u", "status": "UNKNOWN", "activity": []})
    journal.save_page("run-u", page.activity, None, page, FIXED_NOW - 60)
    [record] = journal.history()
    journal.close()
    assert (record.run_id, record.status, record.terminal) == ("run-u", "unknown", False)

    # The board: the server's word, with the neutral look of a word we do not know.
    row = board_row(record, view=None, now=FIXED_NOW, tz=UTC)
    assert (row.glyph, row.status, row.live) == ("?", "Unknown", True)

    worker = FakeWorker(signed_in=True, records=[record])
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_history(pilot, worker)
        assert rows(screen)[0].startswith("? Unknown |")
        await until(pilot, lambda: "Enter opens it" in detail_of(screen))
        assert "Outcome unknown" not in detail_of(screen)
        assert not screen.check_action("check_unknown", ())  # a started run: nothing to check, nothing to replay
        await pilot.press("enter")
        await until(pilot, lambda: mounted(app, MonitorScreen) and app.screen.run_id == "run-u")
        assert set(worker.followed) == {"run-u"}  # followed like any run in progress
        badge = str(app.screen.query_one("#monitor-status", Static).render())
        assert badge.startswith(" ? Unknown ") and "outcome" not in badge.casefold()
        # The server ends the run still saying UNKNOWN: the bell says the call ended, in the server's word.
        worker.finish("run-u", "unknown")
        await until(pilot, lambda: any("The call ended" in note for note in toast_texts(app)))
        assert any("\n? The call ended: Unknown." in note for note in toast_texts(app))
        await app.close_worker()


async def test_a_request_whose_answer_was_lost_is_shown_as_outcome_unknown(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    assert journal.begin_attempt("plan-l", "tok-l", SERVER_URL, FIXED_NOW - 120)
    journal.mark_unknown("plan-l", "The request was interrupted.")
    [record] = journal.history()
    journal.close()
    # The attempt's own state says it; no status word stands in for it.
    assert (record.run_id, record.attempt, record.status) == (None, "outcome_unknown", "")

    worker = FakeWorker(signed_in=True, records=[record])
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        assert rows(screen)[0].startswith("? Outcome unknown |")
        await until(pilot, lambda: "Outcome unknown" in detail_of(screen))
        assert screen.check_action("check_unknown", ())  # the person may ask CALL-E, after confirming
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # no run to open, nothing re-sent
        # What the row says is what a search finds.
        screen.query_one("#history-search", Input).value = "outcome unknown"
        await until(pilot, lambda: worker.history_searches[-1] == "outcome unknown")
        assert [r.startswith("? Outcome unknown") for r in rows(screen)] == [True]
        await app.close_worker()
