"""What the screen says, end to end through the real worker: a server's own words are shown as written (a
`code` field holding words is not turned into [redacted]), and the canary secrets of a whole journey on the
sandbox (tokens, sign-in codes, client secret, confirm token) never appear on any screen."""

from __future__ import annotations

import html
import random
import re
from datetime import UTC

from fakes_shell import until
from textual.widgets import Input, TextArea
from toasts import toast_texts
from tolerant_servers import ScriptedCalle, structured

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.store.drafts import DraftStore
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker import CalleWorker
from calle_tui.ui.app import CalleApp

PHONE = "+14155550120"  # last digit 0: the sandbox completes the call
ANSWERS = {"goal": "Book a table for two at 7 pm today", "language": "English", "to_phones": PHONE}


def screen_text(app) -> str:
    """Everything drawn on the screen, as text (the SVG screenshot without its markup)."""
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


def screen_named(app, name: str) -> bool:
    return type(app.screen).__name__ == name and app.screen.is_mounted


def make_app(url: str, tmp_path, clock: ManualClock) -> CalleApp:
    settings = Settings(url=url, state_path=tmp_path / "state", login="auto-follow")
    worker = CalleWorker(settings, secret_store=MemoryStore(), clock=clock, rng=random.Random(1),
                         login_flow="auto-follow")  # fmt: skip
    app = CalleApp(settings, worker, drafts=DraftStore(tmp_path / "draft.json"), clock=clock.now, display_tz=UTC)
    app.cursor_blink = False
    return app


async def test_a_refusal_whose_code_field_holds_words_is_shown_as_the_server_wrote_it(tmp_path):
    clock = ManualClock()
    words = "calls to this region are not offered"
    refusal = structured({"code": words})
    refusal.is_error = True
    fake = ScriptedCalle(clock, run_answers=[{}], poll_answers=[{}], plan_answers=[refusal])
    with fake.server() as server:
        app = make_app(server.url, tmp_path, clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: screen_named(app, "ComposerScreen"), rounds=3000)
            app.screen.query_one("#composer-request", TextArea).load_text(f"Please call {PHONE} to book a table")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: words in screen_text(app), rounds=3000)
            assert "[redacted]" not in screen_text(app)
            await app.close_worker()


async def test_no_canary_secret_reaches_any_screen_of_a_whole_journey(sandbox_factory, tmp_path):
    clock = ManualClock()
    sim = sandbox_factory(clock=clock.now, auto_approve=True, secret_prefix="CANARY", dialect="calle")
    app = make_app(sim.mcp_url, tmp_path, clock)
    seen: list[str] = []

    def look() -> None:
        seen.append(screen_text(app))
        seen.extend(toast_texts(app))

    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: screen_named(app, "LoginScreen") and app.screen.heard_back, rounds=3000)
        look()
        await pilot.press("s")
        await until(pilot, lambda: screen_named(app, "ComposerScreen"), rounds=3000)
        composer = app.screen
        look()
        composer.query_one("#composer-request", TextArea).load_text(f"Please call {PHONE}")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: bool(composer.questions) and not composer.planning, rounds=3000)
        look()
        boxes = list(composer.query(".answer").results(Input))  # one answer box per question, in order
        for question, answer in zip(composer.questions, boxes, strict=True):
            answer.value = ANSWERS.get(question.field, ANSWERS["goal"] + ", in English")
        await pilot.press("ctrl+s")
        plan_card = composer.query_one("#composer-plan")  # shown once a plan is ready to review
        await until(pilot, lambda: plan_card.display and not composer.planning, rounds=3000)
        look()
        token = composer.plan.confirm_token
        await pilot.press("ctrl+r")
        await until(pilot, lambda: screen_named(app, "ConfirmCallModal"))
        await pilot.press(*PHONE[-4:])
        look()
        await pilot.press("ctrl+y")
        await until(pilot, lambda: screen_named(app, "MonitorScreen"), rounds=3000)
        monitor = app.screen
        for rounds in range(3000):  # simulated time: jump to each wake-up of the worker until the call ends
            if monitor.view.terminal:
                break
            wake = clock.next_wakeup()
            if wake is not None:
                clock.set(wake)
            await pilot.pause()
            if rounds % 20 == 0:  # a look costs a screenshot: a sample of the live monitor is enough
                look()
        assert monitor.view.terminal
        look()
        await app.run_action("history")
        await until(pilot, lambda: screen_named(app, "HistoryScreen"))
        look()
        await app.close_worker()

    assert sim.stats.run_call_sent == 1 and len(token) >= 8
    assert any(PHONE[-4:] in text for text in seen)  # the screens did show the journey
    for index, text in enumerate(seen):
        assert "CANARY" not in text, f"a canary secret is on screen (view {index})"
        assert token not in text, f"the confirm token is on screen (view {index})"
