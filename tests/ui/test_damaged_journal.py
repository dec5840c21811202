"""A damaged journal at start: the app starts, and a notice says what happened and where the old file went
(issue 22, item 7). Before: "The background worker could not start. Press ctrl+q and try again."."""

from __future__ import annotations

import random
from datetime import UTC

from fakes_shell import until
from toasts import toast_texts

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.settings import Settings
from calle_tui.core.store.drafts import DraftStore
from calle_tui.core.support.clock import ManualClock
from calle_tui.core.worker import CalleWorker
from calle_tui.ui.app import CalleApp


async def test_the_app_starts_on_a_damaged_journal_and_says_where_it_went(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "journal.sqlite3").write_bytes(b"garbage over the header " * 100)
    clock = ManualClock()
    settings = Settings(url="http://127.0.0.1:1/mcp", state_path=state, login="auto-follow")
    worker = CalleWorker(settings, secret_store=MemoryStore(), clock=clock, rng=random.Random(1), login_flow="auto-follow")
    app = CalleApp(settings, worker, drafts=DraftStore(tmp_path / "draft.json"), clock=clock.now, display_tz=UTC)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: toast_texts(app), rounds=3000)  # the start has said what it had to say
        [moved] = [p for p in state.iterdir() if ".damaged-" in p.name]
        [notice] = [text for text in toast_texts(app) if "damaged" in text]
        flat = " ".join(notice.split())
        assert str(state / "journal.sqlite3") in flat and str(moved) in flat and "file is not a database" in flat
        assert not any("could not start" in text for text in toast_texts(app))
        await app.close_worker()
