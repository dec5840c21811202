"""History (search, open, unknown outcomes), help (live bindings), the bell and the command palette."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_shell import FIXED_NOW, make_shell_app, sample_records, until
from textual.command import CommandPalette
from textual.content import Content
from textual.widgets import DataTable, Input, Static
from toasts import toast_texts

from calle_tui.core.events import RunUpdate
from calle_tui.ui.screens.help import HelpScreen, collect_keys
from calle_tui.ui.screens.history import HistoryScreen
from calle_tui.ui.screens.login import LoginScreen
from calle_tui.ui.screens.monitor import MonitorScreen
from calle_tui.ui.widgets.commands import ScreenActionsProvider

pytestmark = pytest.mark.slow  # journeys through the whole app: History, the monitor, help and the palette


def mounted(app, kind) -> bool:
    return isinstance(app.screen, kind) and app.screen.is_mounted


async def open_history(pilot, worker) -> HistoryScreen:
    app = pilot.app
    await until(pilot, lambda: worker.started.is_set() and app.shell_status.connection == "connected")
    await app.run_action("history")
    await until(pilot, lambda: mounted(app, HistoryScreen))
    return app.screen


def rows(screen: HistoryScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(i)[2]) + " | " + str(table.get_row_at(i)[3]) for i in range(table.row_count)]


async def test_history_lists_runs_with_outcome_glyphs(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        listed = rows(screen)
        assert len(listed) == 4
        assert listed[0].startswith("● In progress")
        assert listed[1].startswith("? Outcome unknown")
        assert listed[2].startswith("✓ Completed")
        assert listed[3].startswith("∅ No answer")
        await app.close_worker()


async def test_history_search_filters_and_open_pushes_monitor(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        await pilot.press("slash")
        assert screen.query_one("#history-search", Input).has_focus
        await pilot.press(*"table")
        await until(pilot, lambda: len(rows(screen)) == 1)
        assert worker.history_searches[-1] == "table"
        await pilot.press("enter")  # from the search field to the list
        assert screen.query_one(DataTable).has_focus
        await pilot.press("enter")  # open it
        await until(pilot, lambda: getattr(app.screen, "run_id", None) == "run-0002")
        assert app.screen.record.goal == "Book a table for two at 7 pm"
        assert worker.followed == []  # a finished run is not followed again
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")  # first Esc clears the filter
        await until(pilot, lambda: len(rows(screen)) == 4)
        await pilot.press("escape")  # the next one leaves
        await until(pilot, lambda: not isinstance(app.screen, HistoryScreen))
        await app.close_worker()


async def test_esc_in_the_empty_search_box_goes_back_to_the_list_before_leaving(tmp_path):
    """As on the calls board (both are run tables, ui/screens/run_table.py)."""
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        await pilot.press("slash")
        assert screen.query_one("#history-search", Input).has_focus
        await pilot.press("escape")
        assert screen.query_one(DataTable).has_focus and app.screen is screen
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HistoryScreen))
        await app.close_worker()


async def test_opening_an_unfinished_run_follows_it(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_history(pilot, worker)
        await pilot.press("enter")
        await until(pilot, lambda: mounted(app, MonitorScreen) and app.screen.run_id == "run-0004")
        assert set(worker.followed) == {"run-0004"}  # following is idempotent: history and monitor both ask
        # The real monitor: what the follower says next is on it.
        worker.emit(RunUpdate(run_id="run-0004", status="in_progress", poll_state="waiting", next_poll_at=FIXED_NOW + 7))
        await until(pilot, lambda: "Next check in 7 s" in str(app.screen.query_one("#monitor-status").render()))
        await pilot.press("escape")
        await until(pilot, lambda: mounted(app, HistoryScreen))
        await app.close_worker()


async def test_unknown_outcome_is_explained_not_opened(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        await pilot.press("down")
        detail = lambda: str(screen.query_one("#history-detail", Static).render())  # noqa: E731
        await until(pilot, lambda: "Outcome unknown" in detail())
        assert "nothing is resent by itself" in detail()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # nothing to open, nothing re-sent
        await app.close_worker()


async def test_history_updates_when_a_run_finishes_and_the_bell_rings(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = await open_history(pilot, worker)
        worker.finish("run-0004", "completed", "They are open until 6 pm on Sunday.")
        await until(pilot, lambda: rows(screen)[0].startswith("✓ Completed"))
        await until(pilot, lambda: bells == [1])
        await until(pilot, lambda: any("The call ended" in note for note in toast_texts(app)))
        assert any("✓ The call ended: Completed." in note and "6 pm" in note for note in toast_texts(app))
        await app.close_worker()


async def test_empty_history_says_so(tmp_path):
    worker = FakeWorker(signed_in=True)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        assert "No calls yet" in str(screen.query_one("#history-detail", Static).render())
        await app.close_worker()


async def test_help_lists_the_keys_of_the_screen_underneath(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_history(pilot, worker)
        await pilot.press("f1")
        await until(pilot, lambda: mounted(app, HelpScreen))
        listed = {(row.keys, row.description) for row in app.screen.rows}
        assert ("/", "Search") in listed and ("r", "Reload") in listed
        assert any(d == "Quit" for _k, d in listed)
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(app.screen.rows)
        await pilot.press("escape")
        await until(pilot, lambda: mounted(app, HistoryScreen))
        await app.close_worker()


async def test_help_follows_the_login_screens_bindings(tmp_path):
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: mounted(app, LoginScreen) and worker.started.is_set())
        descriptions = {row.description for row in collect_keys(app.screen)}
        assert {"Sign in", "Paste address", "Quit", "Help"} <= descriptions
        assert "Copy link" not in descriptions  # no link yet: the key does nothing, so it is not listed
        await pilot.press("question_mark")
        await until(pilot, lambda: mounted(app, HelpScreen))
        await app.close_worker()


async def test_palette_offers_every_screen_action(tmp_path):
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        provider = ScreenActionsProvider(screen)
        names = {str(hit.display) async for hit in provider.discover()}
        assert {"Search", "Reload", "Back", "Quit", "Help", "Account"} <= names
        hits = [hit async for hit in provider.search("reload")]
        assert hits
        await hits[0].command()
        await app.close_worker()


async def test_the_palette_opens_on_a_screen_whose_keys_include_a_slash(tmp_path):
    # History's search key is "/": the palette once wrote it as "[/]" in markup and the app stopped.
    worker = FakeWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        helps = [Content.from_markup(hit.help).plain async for hit in ScreenActionsProvider(screen).discover()]
        assert any(text.endswith("[/]") or text.endswith("Key: /") for text in helps), helps
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"search")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, CommandPalette)
        await app.close_worker()
