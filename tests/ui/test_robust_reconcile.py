"""Checking an "outcome unknown" request from history: only after typing the digits, never by itself."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_shell import make_shell_app, sample_records, until
from textual.widgets import DataTable, Static

from calle_tui.core.wire.contract import RunCallResult
from calle_tui.core.worker_api import WorkerError
from calle_tui.ui.screens.history import HistoryScreen
from calle_tui.ui.screens.reconcile import ReconcileModal

pytestmark = pytest.mark.slow  # journeys through the app: History, the check, the confirmation


def reconciling_worker(idempotent: bool = True) -> FakeWorker:
    """The history's four runs; checking the unknown attempt (plan-0003) finds its run in progress."""
    worker = FakeWorker(signed_in=True, records=sample_records())
    worker.idempotent = idempotent
    worker.reconcile_answers["plan-0003"] = RunCallResult(run_id="run-0003", status="in_progress")
    return worker


async def open_unknown(pilot, worker) -> HistoryScreen:
    app = pilot.app
    await until(pilot, lambda: worker.started.is_set() and app.shell_status.connection == "connected")
    await app.run_action("history")
    await until(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.is_mounted)
    screen = app.screen
    await pilot.press("down")  # the second row is the unknown attempt (plan-0003, +44 20 7183 8750)
    assert screen.check_action("check_unknown", ()) is True
    return screen


def detail(screen) -> str:
    return str(screen.query_one("#history-detail", Static).render())


async def test_check_needs_the_digits_then_reconciles_once(tmp_path):
    worker = reconciling_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_unknown(pilot, worker)
        assert "Press k" in detail(screen)
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ReconcileModal))
        modal = app.screen
        await until(pilot, lambda: bool(modal.query("#reconcile-warning")))
        warning = str(modal.query_one("#reconcile-warning", Static).render())
        assert "places the call NOW" in warning and "no second call is made" in warning
        assert "+44 20 7183 8750" in str(modal.query_one("#confirm-details").render())  # who would be called
        await pilot.press("enter", "ctrl+y")  # Enter on Cancel closes; nothing is sent without the digits
        await until(pilot, lambda: app.screen is screen)
        assert worker.reconciled == []
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ReconcileModal))
        await pilot.press(*"1234", "ctrl+y")  # wrong digits
        assert isinstance(app.screen, ReconcileModal) and worker.reconciled == []
        await pilot.press(*["backspace"] * 4, *"8750", "ctrl+y")
        await until(pilot, lambda: worker.reconciled == ["plan-0003"] and "in_progress" in detail(screen))
        table = screen.query_one(DataTable)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "run:run-0003"
        assert screen.check_action("check_unknown", ()) is False  # no longer unknown: nothing to check
        await app.close_worker()


async def test_a_failed_check_is_a_sentence(tmp_path):
    worker = reconciling_worker()
    worker.reconcile_answers["plan-0003"] = WorkerError(
        "Could not check the request: Cannot reach the server.", action="Try again.", kind="network"
    )
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_unknown(pilot, worker)
        screen = app.screen
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, ReconcileModal))
        await pilot.press(*"8750", "ctrl+y")
        await until(pilot, lambda: "Cannot reach the server" in detail(screen))
        assert worker.reconciled == ["plan-0003"]
        await app.close_worker()


async def test_only_unknown_rows_offer_a_check(tmp_path):
    worker = reconciling_worker()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_unknown(pilot, worker)
        await pilot.press("down")  # a completed run
        assert screen.check_action("check_unknown", ()) is False
        await pilot.press("k")
        assert not isinstance(app.screen, ReconcileModal) and worker.reconciled == []
        await app.close_worker()


async def test_without_an_idempotent_run_call_the_check_explains_and_sends_nothing(tmp_path):
    worker = reconciling_worker(idempotent=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_unknown(pilot, worker)
        # Before k too: no promise of a check that cannot be made, only where to look.
        await until(pilot, lambda: "Outcome unknown" in detail(screen))
        assert "Press k" not in detail(screen) and "check in CALL-E" in detail(screen)
        await pilot.press("k")
        await until(pilot, lambda: "cannot check" in detail(screen))
        assert not isinstance(app.screen, ReconcileModal) and worker.reconciled == []
        assert "Check in CALL-E" in detail(screen) and "no second call is made" not in detail(screen)
        await app.close_worker()
