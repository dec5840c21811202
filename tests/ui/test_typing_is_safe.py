"""Issue 9, keys and focus: ordinary typing never navigates, signs out or plans, whatever has the focus.

The real app (CalleApp with the real composer) and the one fake worker: sentences are typed with focus on
each focusable composer widget, in each state the report found (fresh, after ctrl+n, back from Account and
History, a plan just ready), and nothing but text may change."""

from __future__ import annotations

import pytest
from fake_worker import FakeWorker
from fakes_runs import ready_plan
from fakes_shell import make_app, until
from textual.widgets import Input, TextArea

from calle_tui.ui.screens.composer import ComposerScreen
from calle_tui.ui.screens.history import HistoryScreen
from calle_tui.ui.screens.login import LoginScreen

pytestmark = pytest.mark.slow  # the whole app typed into key by key, in every state


SENTENCES = (
    "Call Roxy, a table? yes x y a h",  # a, x, y: Account, Sign out?, Sign out (the reported sequence)
    "ring +1 415 (say hi!)",
)


def composer_of(app) -> ComposerScreen:
    assert isinstance(app.screen, ComposerScreen), f"typing left the composer for {type(app.screen).__name__}"
    return app.screen


async def started(pilot, worker):
    app = pilot.app
    await until(pilot, lambda: worker.started.is_set() and isinstance(app.screen, ComposerScreen))
    await until(pilot, lambda: app.screen.is_mounted)
    return composer_of(app)


async def plan_is_ready(pilot, worker) -> ComposerScreen:
    screen = await started(pilot, worker)
    screen.query_one("#composer-request", TextArea).insert("Call +14155550123 in English to book a table.")
    await pilot.press("ctrl+s")
    await until(pilot, lambda: screen.plan is not None and not screen.planning)
    return screen


def focusable(screen: ComposerScreen) -> list:
    return [w for w in screen.focus_chain if w.focusable]


def nothing_happened(app, worker, before: tuple) -> None:
    composer_of(app)
    assert (worker.sign_out_calls, len(worker.plan_requests), len(worker.run_calls)) == before
    assert not app.screen_stack[-1].is_modal


async def type_everywhere(pilot, app, worker) -> None:
    screen = composer_of(app)
    before = (worker.sign_out_calls, len(worker.plan_requests), len(worker.run_calls))
    widgets = focusable(screen)
    assert len(widgets) >= 2  # the request box, the details' title, and what the plan adds (buttons, answers)
    for widget in widgets:
        if not widget.display or widget.disabled:
            continue
        widget.focus()
        await pilot.pause()
        for sentence in SENTENCES:
            await pilot.press(*[ch if ch != " " else "space" for ch in sentence])
            await pilot.pause()
            nothing_happened(app, worker, before)
        if not isinstance(widget, Input | TextArea):
            # Typing with focus on a button goes where a person meant it: into the request box.
            box = screen.query_one("#composer-request", TextArea)
            assert SENTENCES[-1] in box.text and box.has_focus


async def test_typing_on_every_composer_widget_changes_nothing_but_text(tmp_path):
    worker = FakeWorker(signed_in=True)
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, worker)
        await type_everywhere(pilot, app, worker)
        await app.close_worker()


async def test_typing_right_after_a_plan_is_ready_or_ctrl_n_stays_in_the_composer(tmp_path):
    worker = FakeWorker([ready_plan(), ready_plan(plan_id="plan-2")], signed_in=True)
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await plan_is_ready(pilot, worker)
        await type_everywhere(pilot, app, worker)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.query_one("#composer-request", TextArea).has_focus  # "your text is still here: edit it"
        await type_everywhere(pilot, app, worker)
        await app.close_worker()


@pytest.mark.parametrize("away", ["account", "history"])
async def test_back_from_another_screen_the_focus_is_in_the_request_box(tmp_path, away):
    worker = FakeWorker(signed_in=True)
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot, worker)
        await pilot.press("f2" if away == "history" else "escape")
        if away == "account":
            await pilot.press("a")  # after Esc left the text box, letters are shortcuts again
        kind = HistoryScreen if away == "history" else LoginScreen
        await until(pilot, lambda: isinstance(app.screen, kind) and app.screen.is_mounted)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ComposerScreen))
        await pilot.pause()
        assert screen.query_one("#composer-request", TextArea).has_focus
        await type_everywhere(pilot, app, worker)
        await app.close_worker()


async def test_esc_leaves_the_text_box_and_then_letters_are_shortcuts(tmp_path):
    worker = FakeWorker(signed_in=True)
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot, worker)
        box = screen.query_one("#composer-request", TextArea)
        assert box.has_focus
        await pilot.press(*"hi", "escape")
        assert box.text == "hi" and not box.has_focus  # Esc leaves, and keeps the text
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await app.close_worker()


async def test_signing_out_needs_a_deliberate_key_not_a_letter(tmp_path):
    worker = FakeWorker(signed_in=True)
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await started(pilot, worker)
        await app.run_action("account")
        await until(pilot, lambda: isinstance(app.screen, LoginScreen) and app.screen.is_mounted)
        await pilot.press("x")  # the sign-out question
        await until(pilot, lambda: app.screen_stack[-1].is_modal)
        await pilot.press(*"yes y Y")
        await pilot.pause()
        assert worker.sign_out_calls == 0 and app.screen_stack[-1].is_modal
        await pilot.press("ctrl+y")
        await until(pilot, lambda: worker.sign_out_calls == 1)
        await app.close_worker()


async def test_the_palette_lists_the_apps_own_commands_before_the_text_cursors(tmp_path):
    from calle_tui.ui.widgets.commands import ScreenActionsProvider

    worker = FakeWorker(signed_in=True)
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await started(pilot, worker)
        assert screen.query_one("#composer-request", TextArea).has_focus  # a text box: dozens of cursor keys
        commands = ScreenActionsProvider(screen)._commands()
        names = [name for name, _help, _node, _action in commands]
        own = ["Plan", "New plan", "History", "Account", "Help", "Quit", "Calls"]
        cursor = [i for i, (_n, _h, node, _a) in enumerate(commands) if isinstance(node, TextArea)]
        assert cursor, "the text box's own commands are still offered"
        assert all(names.index(name) < cursor[0] for name in own), names[:12]
        await app.close_worker()


def footer_keys(screen) -> set[str]:
    return {binding.key for _node, binding, enabled, _tip in screen.active_bindings.values() if enabled}


async def test_the_footer_offers_only_keys_that_work_where_the_focus_is(tmp_path):
    worker = FakeWorker([ready_plan()], signed_in=True)
    app = make_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await plan_is_ready(pilot, worker)
        assert screen.query_one("#composer-review").has_focus
        # Letters typed on the button go into the request box, so h, a and ? must not be offered here.
        keys = footer_keys(screen)
        assert {"h", "a", "question_mark"}.isdisjoint(keys)
        assert {"f1", "f2"} <= keys
        await pilot.press("escape")  # leaves the button too: now letters are the shortcuts the footer shows
        screen.set_focus(None)
        await pilot.pause()
        assert {"h", "question_mark"} <= footer_keys(screen)
        await app.close_worker()
