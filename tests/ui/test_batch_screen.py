"""The batch screen (issue 10): plan every line of a JSONL file (plan_call only), one confirmation that lists
every destination and wants the number of calls typed, then ctrl+y; exactly one run_call per ready line,
never one for a line that is not ready; Esc stops sending. With the fake worker."""

from __future__ import annotations

import json

import pytest
from fake_worker import FakeWorker
from fakes_runs import missing_plan, ready_plan
from fakes_shell import make_shell_app, until
from textual.widgets import DataTable, Input, Static

from calle_tui.core.wire.contract import PlanCallResult
from calle_tui.ui.screens.batch import BatchConfirmModal, BatchScreen

pytestmark = pytest.mark.slow  # whole batches planned, answered, confirmed and sent through the app


SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
LINES = [
    {"to_phones": ["+14155550100"], "language": "English", "goal": "Ask whether the shop is open today"},
    {"to_phones": ["+442079460000"], "user_input": "Please phone this number"},  # CALL-E asks the language
    {"to_phones": ["4155550100"], "goal": "Ask about opening hours", "language": "English"},  # no country code
    {"to_phones": ["+4930901820"], "language": "German", "goal": "Ask for a table for two at 7 pm"},
]


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path, monkeypatch):
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def batch_file(tmp_path) -> str:
    path = tmp_path / "tonight.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in LINES))
    return str(path)


def worker_for_batch(*later: PlanCallResult) -> FakeWorker:
    # Planned two at a time, answers in the order asked: lines 1, 2 and 4 (line 3 is never planned); then `later`.
    return FakeWorker(
        [
            ready_plan("plan-1", phones=("+14155550100",), goal=LINES[0]["goal"]),
            missing_plan("plan-2", missing=[("language", "Which language should the call be in?")]),
            ready_plan("plan-4", phones=("+4930901820",), goal=LINES[3]["goal"], language="German"),
            *later,
        ]
    )


async def planned(pilot, app, path) -> BatchScreen:
    await until(pilot, lambda: app.screen.title == "New call")
    app.open_batch(path)
    await until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.stage == "planned")
    return app.screen


def states(screen) -> dict[str, str]:
    table = screen.query_one("#batch-table", DataTable)
    return {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[2]) for i in range(table.row_count)}


async def test_every_line_is_planned_and_nothing_is_called(tmp_path):
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await planned(pilot, app, batch_file(tmp_path))
        shown = states(screen)
        assert shown["1"] == "✓ ready" and shown["4"] == "✓ ready"
        assert shown["2"].startswith("asks: Which language")
        assert "no country code" in shown["3"]
        assert len(worker.plan_requests) == 3 and worker.run_calls == []
        assert "2 of 3 calls ready. Nothing was called." in str(screen.query_one("#batch-status", Static).render())


async def test_the_confirmation_wants_the_count_typed_and_enter_never_places(tmp_path):
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await planned(pilot, app, batch_file(tmp_path))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, BatchConfirmModal))
        modal = app.screen
        listed = " ".join(str(w.render()) for w in modal.query("#batch-confirm-list Static"))
        assert "+1 415-555-0100" in listed and "+49" in listed and "+44" not in listed  # only ready lines
        await pilot.press(*"3", "ctrl+y")  # the wrong count
        await pilot.press("enter", "enter", "enter")
        assert isinstance(app.screen, BatchConfirmModal) and worker.run_calls == []
        modal.query_one("#batch-confirm-count", Input).value = ""
        await pilot.press(*"2", "enter", "enter")
        assert isinstance(app.screen, BatchConfirmModal) and worker.run_calls == []
        await pilot.press("ctrl+y", "ctrl+y")  # twice: one confirmation
        await until(pilot, lambda: len(worker.run_calls) == 1)
        assert worker.run_calls[0][0] == "plan-1"  # one at a time: line 4 waits for line 1 to end
        worker.finish("run-1", "completed", "Open until 6 pm.")
        await until(pilot, lambda: len(worker.run_calls) == 2)
        worker.finish("run-2", "completed")
        await until(pilot, lambda: app.screen.stage == "sent")
        assert [plan for plan, _ in worker.run_calls] == ["plan-1", "plan-4"]  # never plan-2, never twice
        results = app.screen.session.results
        records = [json.loads(line) for line in results.results_path.read_text().splitlines()]
        assert [r["line"] for r in records] == [1, 2, 3, 4]
        assert [r["run_id"] for r in records] == ["run-1", None, None, "run-2"]
        assert "token-for" not in results.results_path.read_text() + results.events_path.read_text()


async def test_esc_while_sending_stops_further_calls(tmp_path):
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await planned(pilot, app, batch_file(tmp_path))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, BatchConfirmModal))
        await pilot.press(*"2", "ctrl+y")
        await until(pilot, lambda: len(worker.run_calls) == 1)
        await pilot.press("escape")
        assert "No further call will be placed" in str(app.screen.query_one("#batch-message", Static).render())
        worker.finish("run-1", "completed")
        await until(pilot, lambda: app.screen.stage == "sent")
        assert len(worker.run_calls) == 1  # line 4 was never sent
        assert states(app.screen)["4"] == "not sent (stopped)"


async def test_a_file_that_cannot_be_read_is_one_sentence(tmp_path):
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.title == "New call")
        app.open_batch(str(tmp_path / "missing.jsonl"))
        await until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.stage == "failed")
        assert "There is no file at" in str(app.screen.query_one("#batch-status", Static).render())
        assert worker.plan_requests == []


async def test_a_2_gib_file_is_refused_by_its_size_with_one_sentence(tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GiB of zero bytes that take no disk space
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.title == "New call")
        app.open_batch(str(path))
        await until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.stage == "failed")
        said = str(app.screen.query_one("#batch-status", Static).render())
        assert f"{path} is 2,147,483,648 bytes: a batch file may be at most 4,194,304 bytes" in said
        assert worker.plan_requests == []


@pytest.mark.parametrize("size", SIZES)
def test_batch_plan_table(snap_compare, tmp_path, size):
    worker = worker_for_batch()
    path = batch_file(tmp_path)

    async def run_before(pilot) -> None:
        await planned(pilot, pilot.app, path)

    assert snap_compare(make_shell_app(worker, tmp_path), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_batch_confirmation(snap_compare, tmp_path, size):
    worker = worker_for_batch()
    path = batch_file(tmp_path)

    async def run_before(pilot) -> None:
        await planned(pilot, pilot.app, path)
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(pilot.app.screen, BatchConfirmModal))
        await pilot.press("2")

    assert snap_compare(make_shell_app(worker, tmp_path), terminal_size=size, run_before=run_before)


async def test_the_confirmation_says_when_each_call_would_start(tmp_path):
    from fakes_runs import iso

    worker = FakeWorker(
        [
            ready_plan("plan-1", phones=("+14155550100",)),
            missing_plan("plan-2"),
            ready_plan("plan-4", phones=("+4930901820",), scheduled_at=iso(3600)),
        ]
    )
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await planned(pilot, app, batch_file(tmp_path))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, BatchConfirmModal))
        rows = [str(w.render()) for w in app.screen.query("#batch-confirm-list Static")]
        assert "As soon as you confirm" in rows[0]
        assert "Fri 05 Jun 2026" in rows[1] and "As soon" not in rows[1]  # a scheduled line says its time


def worker_answering_line_2() -> FakeWorker:
    return worker_for_batch(ready_plan("plan-2b", phones=("+442079460000",), goal="Phone this number"))


async def to_line(pilot, screen, number: int) -> None:
    table = screen.query_one("#batch-table", DataTable)
    table.focus()
    row = next(i for i in range(table.row_count) if str(table.get_row_at(i)[0]) == str(number))
    table.move_cursor(row=row)
    await pilot.pause()


async def open_answers(pilot, screen, number: int) -> None:
    from calle_tui.ui.screens.batch import BatchAnswerModal

    await to_line(pilot, screen, number)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, BatchAnswerModal))


async def place_one_by_one(pilot, screen, worker, count: int) -> None:
    """The confirmation typed right, then each call ended once placed: the next waits for it (one at a time)."""
    await pilot.press(*str(count), "ctrl+y")
    for n in range(1, count + 1):
        await until(pilot, lambda n=n: len(worker.run_calls) == n)
        worker.finish(f"run-{n}", "completed")
    await until(pilot, lambda: screen.stage == "sent")


async def test_a_line_with_questions_is_answered_in_place_and_then_confirmed_with_the_others(tmp_path):
    from calle_tui.ui.screens.batch import BatchAnswerModal

    worker = worker_answering_line_2()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await planned(pilot, app, batch_file(tmp_path))
        await open_answers(pilot, screen, 2)
        assert "Which language should the call be in?" in " ".join(str(w.render()) for w in app.screen.query(".question"))
        await pilot.press("ctrl+s")  # nothing typed: nothing is sent
        assert isinstance(app.screen, BatchAnswerModal) and len(worker.plan_requests) == 3
        await pilot.press(*"English", "ctrl+s")
        await until(pilot, lambda: app.screen is screen and states(screen)["2"] == "✓ ready")
        sent = worker.plan_requests[-1]
        assert (sent.plan_id, sent.user_input, sent.language) == ("plan-2", "English", "English")
        assert worker.run_calls == []  # answering plans only
        assert "3 of 3 calls ready. Nothing was called." in str(screen.query_one("#batch-status", Static).render())
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, BatchConfirmModal))
        listed = " ".join(str(w.render()) for w in app.screen.query("#batch-confirm-list Static"))
        assert "+44" in listed  # the answered line is in what is confirmed
        await place_one_by_one(pilot, screen, worker, 3)
        assert [plan for plan, _ in worker.run_calls] == ["plan-1", "plan-2b", "plan-4"]


async def test_esc_in_the_answers_leaves_the_line_as_it_was(tmp_path):
    worker = worker_answering_line_2()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await planned(pilot, app, batch_file(tmp_path))
        await open_answers(pilot, screen, 2)
        await pilot.press(*"Eng", "escape")
        await until(pilot, lambda: app.screen is screen)
        assert len(worker.plan_requests) == 3 and states(screen)["2"].startswith("asks:")


async def test_a_skipped_line_is_never_sent_and_x_again_takes_it_back(tmp_path):
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await planned(pilot, app, batch_file(tmp_path))
        await to_line(pilot, screen, 1)
        await pilot.press("x")
        assert states(screen)["1"].startswith("skipped")
        assert "1 of 3 calls ready, 1 skipped" in str(screen.query_one("#batch-status", Static).render())
        await pilot.press("x", "x")  # back, and skipped again
        assert states(screen)["1"].startswith("skipped")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, BatchConfirmModal))
        assert app.screen.count == 1
        await place_one_by_one(pilot, screen, worker, 1)
        assert [plan for plan, _ in worker.run_calls] == ["plan-4"]
        records = [json.loads(line) for line in screen.session.results.results_path.read_text().splitlines()]
        assert {r["line"]: r["state"] for r in records}[1] == "skipped"


async def test_the_plans_are_saved_privately_without_a_confirm_token(tmp_path):
    import os
    import stat

    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await planned(pilot, app, batch_file(tmp_path))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Plans saved" in str(screen.query_one("#batch-message", Static).render()))
        path = screen.session.folder / "plans.jsonl"
        text = path.read_text()
        assert "token-for" not in text and "confirm_token" not in text
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        records = [json.loads(line) for line in text.splitlines()]
        assert [(r["line"], r["state"]) for r in records] == [(1, "ready"), (2, "questions"), (3, "invalid"), (4, "ready")]
        assert records[0]["plan_id"] == "plan-1" and records[0]["destinations"] == ["+14155550100"]
        assert records[1]["questions"] == ["Which language should the call be in?"]
        assert "country code" in " ".join(records[2]["problems"])
        assert worker.run_calls == []


def test_batch_answer_modal(snap_compare, tmp_path):
    worker = worker_answering_line_2()
    path = batch_file(tmp_path)

    async def run_before(pilot) -> None:
        screen = await planned(pilot, pilot.app, path)
        await open_answers(pilot, screen, 2)
        await pilot.press(*"English")

    assert snap_compare(make_shell_app(worker, tmp_path), terminal_size=(80, 24), run_before=run_before)


def test_a_plan_without_fields_is_confirmed_by_calle_s_own_sentence():
    from datetime import UTC

    from calle_tui.core.wire.contract import PlanCallResult
    from calle_tui.ui.screens.batch import confirm_words

    bare = PlanCallResult(plan_id="p", ready_to_run=True, confirm_token="t",
                          confirm_summary="Call +44 20 7946 0000 in English as soon as you confirm.")  # fmt: skip
    assert confirm_words(bare, UTC) == "CALL-E: Call +44 20 7946 0000 in English as soon as you confirm."
    assert confirm_words(ready_plan("p"), UTC) == "As soon as you confirm"


async def test_where_the_account_allows_more_the_setting_sends_that_many_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLE_TUI_BATCH_MAX_ACTIVE_CALLS", "2")
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await planned(pilot, app, batch_file(tmp_path))
        await pilot.press("ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, BatchConfirmModal))
        assert "Up to 2 at once" in " ".join(str(w.render()) for w in app.screen.query(Static))
        await pilot.press(*"2", "ctrl+y")
        await until(pilot, lambda: len(worker.run_calls) == 2)  # the second did not wait for the first to end
        worker.finish("run-1", "completed")
        worker.finish("run-2", "completed")
        await until(pilot, lambda: screen.stage == "sent")
        assert [plan for plan, _ in worker.run_calls] == ["plan-1", "plan-4"]


async def test_one_stray_esc_does_not_drop_the_answers_and_skips(tmp_path):
    worker = worker_for_batch()
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await planned(pilot, app, batch_file(tmp_path))
        await to_line(pilot, screen, 1)
        await pilot.press("x", "escape")
        assert app.screen is screen and "Esc again leaves" in str(screen.query_one("#batch-message", Static).render())
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Plans saved" in str(screen.query_one("#batch-message", Static).render()))
        await pilot.press("escape")  # saved: nothing is lost by leaving
        await until(pilot, lambda: app.screen is not screen)
