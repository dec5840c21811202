"""The runs board (issue 10): every followed call, live ones first, updated cell by cell as followers report."""

from __future__ import annotations

import json

import pytest
from fake_worker import SERVER_URL, FakeWorker
from fakes_runs import ready_plan
from fakes_shell import FIXED_NOW, make_shell_app, sample_records, until
from textual.widgets import DataTable, Input, Static

from calle_tui.core.batch.send import SendLine
from calle_tui.core.events import RunUpdate
from calle_tui.core.runs.runview import RunView, apply
from calle_tui.core.wire.contract import ActivityEntry
from calle_tui.core.worker_api import RunRecord
from calle_tui.ui.runs.board_rows import batch_progress, board_row, destination, ordered
from calle_tui.ui.screens.board import RunsBoardScreen
from calle_tui.ui.screens.monitor import MonitorScreen

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def many_records() -> list[RunRecord]:
    """Two live calls among finished ones, as after a batch: what a restart must list at once."""
    live = [
        RunRecord(
            f"run-l{i}",
            f"plan-l{i}",
            SERVER_URL,
            FIXED_NOW - 90 - i * 30,
            (f"+1415555010{i}",),
            f"Ask whether the shop {i} has the blue kettle in stock",
            "in_progress" if i else "ringing",
            False,
        )
        for i in range(2)
    ]
    return [*live, *sample_records()]


async def open_board(pilot, worker) -> RunsBoardScreen:
    app = pilot.app
    await until(pilot, lambda: worker.started.is_set() and app.shell_status.connection == "connected")
    await pilot.press("f3")
    await until(pilot, lambda: isinstance(app.screen, RunsBoardScreen) and app.screen.is_mounted)
    return app.screen


def row_order(screen: RunsBoardScreen) -> list[str]:
    """The runs in the table, top to bottom."""
    return [row.key.value for row in screen.query_one(DataTable).ordered_rows]


def highlighted(screen: RunsBoardScreen) -> str | None:
    """The run under the table's cursor."""
    table = screen.query_one(DataTable)
    return table.ordered_rows[table.cursor_row].key.value if table.row_count else None


def cells(screen: RunsBoardScreen, column: str) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_cell(key, column)) for key in row_order(screen)]


def test_rows_put_live_calls_first_and_name_the_country():
    records = ordered(many_records())
    assert [r.run_id for r in records][:3] == ["run-0004", "run-l0", "run-l1"]  # live, newest first
    assert all(not r.terminal for r in records[:3]) and all(r.terminal for r in records[3:])
    assert None not in [r.run_id for r in records]  # an unknown outcome is not a followed run (History has it)
    assert destination(["+442071838750"]) == "+44 20 7183 8750 GB"
    assert destination(["+14155550102", "+14155550112"]) == "+1 415-555-0102 US +1"
    assert destination(["5550100"]) == "5550100 (no country code)"  # never guessed
    update = RunUpdate("run-l0", "in_progress", "waiting", next_poll_at=FIXED_NOW + 7, problem="The server is busy.",
                       new_activity=(ActivityEntry(id="a1", text="Agent: hello"),))  # fmt: skip
    row = board_row(records[1], view=apply(RunView(run_id="run-l0"), update), now=FIXED_NOW, tz=None)
    assert (row.elapsed, row.next_check, row.last) == ("1:30", "in 0:07", "The server is busy.")


async def test_the_board_lists_updates_filters_and_opens(tmp_path):
    worker = FakeWorker(signed_in=True, records=many_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot, worker)
        assert screen.title == "Calls · 3 live"
        assert cells(screen, "status")[:3] == ["● In progress", "◑ Ringing", "● In progress"]
        assert len(row_order(screen)) == 5
        # A follower's report changes that row in place: status, last activity, next check.
        table = screen.query_one(DataTable)
        worker.emit(
            RunUpdate(
                "run-l0",
                "in_progress",
                "waiting",
                new_activity=(ActivityEntry(id="a1", text="Shop: yes, two left", type="speech"),),
                next_poll_at=FIXED_NOW + 8,
            )
        )
        await until(pilot, lambda: "Shop: yes" in cells(screen, "last")[1])
        assert cells(screen, "status")[1] == "● In progress" and cells(screen, "next")[1] == "in 0:08"
        assert table.row_count == 5
        # `/` filters on any words of the row; Esc clears the filter first.
        await pilot.press("slash")
        assert screen.query_one("#board-filter", Input).has_focus
        await pilot.press(*"kettle")
        await until(pilot, lambda: len(row_order(screen)) == 2)
        await pilot.press("escape")
        await until(pilot, lambda: len(row_order(screen)) == 5)
        # A run that finishes moves to the finished group.
        worker.finish("run-l0", "completed", "They have two.")
        await until(pilot, lambda: screen.title == "Calls · 2 live")
        assert row_order(screen).index("run-l0") >= 2
        # Enter opens the highlighted run's monitor; a live one keeps being followed.
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen))
        assert worker.followed[-1] == "run-0004"
        await app.close_worker()


async def test_a_call_followed_before_the_board_opened_shows_its_next_check_at_once(tmp_path):
    worker = FakeWorker(signed_in=True, records=many_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: worker.started.is_set())
        worker.follow("run-l0")
        worker.emit(RunUpdate("run-l0", "in_progress", "waiting", next_poll_at=FIXED_NOW + 9))
        screen = await open_board(pilot, worker)
        await until(pilot, lambda: cells(screen, "next")[1] == "in 0:09")
        assert {"run-0004", "run-l1"} <= set(worker.followed)  # live calls are followed (resumed) from the board
        await app.close_worker()


async def test_typing_in_the_filter_opens_nothing(tmp_path):
    worker = FakeWorker(signed_in=True, records=many_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot, worker)
        await pilot.press("slash", *"a history of calls", "enter")
        assert app.screen is screen and worker.sign_out_calls == 0
        await app.close_worker()


async def test_a_burst_of_reports_is_applied_once_and_keeps_the_cursor_and_the_filter(tmp_path):
    worker = FakeWorker(signed_in=True, records=many_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_board(pilot, worker)
        table = screen.query_one(DataTable)
        await pilot.press("slash", *"kettle", "enter")
        await until(pilot, lambda: row_order(screen) == ["run-l0", "run-l1"] and table.has_focus)
        await pilot.press("down")
        assert highlighted(screen) == "run-l1"
        passes = []
        refresh_rows = screen._refresh_rows
        screen._refresh_rows = lambda run_ids: (passes.append(set(run_ids)), refresh_rows(run_ids))[1]
        for i in range(5):
            worker.emit(RunUpdate("run-l0", "in_progress", "waiting", next_poll_at=FIXED_NOW + i + 1))
            worker.emit(RunUpdate("run-l1", "in_progress", "polling"))
        await until(pilot, lambda: cells(screen, "next") == ["in 0:05", "now"])
        # Ten reports, one pass (the one-second tick's passes, over every live run, aside).
        assert [run_ids for run_ids in passes if "run-0004" not in run_ids] == [{"run-l0", "run-l1"}]
        assert highlighted(screen) == "run-l1" and row_order(screen) == ["run-l0", "run-l1"]
        # A new run joins the board while filtered: the rows that match stay, the cursor stays on its run.
        worker.records.insert(0, RunRecord("run-l9", "plan-l9", SERVER_URL, FIXED_NOW, ("+14155550109",),
                                           "Ask about the red kettle", "queued", False))  # fmt: skip
        worker.emit(RunUpdate("run-l9", "queued", "waiting_first"))
        await until(pilot, lambda: row_order(screen) == ["run-l9", "run-l0", "run-l1"])
        assert highlighted(screen) == "run-l1" and table.row_count == 3
        await pilot.press("escape")
        await until(pilot, lambda: len(row_order(screen)) == 6)
        assert highlighted(screen) == "run-l1"
        await app.close_worker()


def test_the_batch_line_counts_done_live_failed_and_waiting():
    lines = [SendLine(n, f"plan-{n}", "token", state=state) for n, state in enumerate(
        ["finished", "finished", "started", "sending", "refused", "unknown", "queued", "waiting_for_line", "not_sent"]
    )]  # fmt: skip
    assert batch_progress("tonight.jsonl", lines) == "Batch tonight.jsonl: done 2 · live 2 · failed 2 · waiting 2"


@pytest.fixture
def _private_dirs(tmp_path, monkeypatch):
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


@pytest.mark.usefixtures("_private_dirs")
async def test_the_board_shows_the_progress_of_the_batch_being_sent(tmp_path):
    goals = ["Ask whether the shop is open today", "Ask for a table for two at 7 pm"]
    path = tmp_path / "tonight.jsonl"
    path.write_text("".join(json.dumps({"to_phones": [phone], "language": "English", "goal": goal}) + "\n"
                            for phone, goal in zip(["+14155550100", "+4930901820"], goals, strict=True)))  # fmt: skip
    worker = FakeWorker(
        [ready_plan("plan-1", ("+14155550100",), goals[0]), ready_plan("plan-2", ("+4930901820",), goals[1])]
    )
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_board(pilot, worker)
        line = screen.query_one("#board-batch", Static)
        assert not line.display  # no batch opened
        await pilot.press("escape")
        app.open_batch(str(path))
        await until(pilot, lambda: getattr(app.screen, "stage", "") == "planned")
        batch = app.screen
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.screen is not batch)  # the confirmation
        await pilot.press(*"2", "ctrl+y")
        await until(pilot, lambda: len(worker.run_calls) == 1)  # one call at a time: line 2 waits for line 1
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, RunsBoardScreen) and app.screen.is_mounted)
        screen = app.screen
        line = screen.query_one("#board-batch", Static)
        shown = lambda: str(line.render()) if line.display else ""  # noqa: E731
        await until(pilot, lambda: shown() == "Batch tonight.jsonl: done 0 · live 1 · failed 0 · waiting 1")
        assert row_order(screen)[0] == "run-1"
        worker.finish("run-1", "completed", "Open until 6 pm.")
        await until(pilot, lambda: shown() == "Batch tonight.jsonl: done 1 · live 1 · failed 0 · waiting 0")
        worker.finish("run-2", "completed")
        await until(pilot, lambda: shown() == "Batch tonight.jsonl: done 2 · live 0 · failed 0 · waiting 0")
        await app.close_worker()


@pytest.mark.parametrize("size", SIZES)
def test_runs_board(snap_compare, tmp_path, size):
    worker = FakeWorker(signed_in=True, records=many_records())
    app = make_shell_app(worker, tmp_path)

    async def run_before(pilot) -> None:
        await open_board(pilot, worker)
        await pilot.pause()
        app.clear_notifications()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
