"""Everything the worker writes is private: folders 0700, files 0600 (journal, its -wal/-shm, log, draft),
under a umask that would make them world-readable; and a confirm token is kept only while it may be needed."""

from __future__ import annotations

import os
import stat

import pytest
import reply_fixtures as rf
from calle_fakes import drive
from tolerant_servers import ScriptedCalle

from calle_tui.core.events import RunFinished, ToolsListed
from calle_tui.core.store.drafts import DraftStore
from calle_tui.core.worker_api import PlanRequest


@pytest.fixture
def open_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root):
    for folder, _dirs, files in os.walk(root):
        yield folder, stat.S_IMODE(os.stat(folder).st_mode)
        for name in files:
            yield os.path.join(folder, name), stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode)


async def test_every_file_the_worker_writes_is_private(make_worker, manual_clock, tmp_path, open_umask):
    state = tmp_path / "deep" / "state"
    fake = ScriptedCalle(
        manual_clock,
        plan_answers=[rf.raw("calle", "plan_call-ready")["structuredContent"]],
        run_answers=[rf.raw("calle", "run_call-started")["structuredContent"]],
        poll_answers=[rf.raw("calle", "get_call_run-completed")["structuredContent"]],
    )
    with fake.server() as server:
        worker, log = make_worker(server.url, state=state)
        await worker.start()
        await log.wait_kind(ToolsListed)
        plan = await worker.plan(PlanRequest(user_input="Call +1 415 555 0142 about order 1182"))
        await worker.run(plan.plan_id, plan.confirm_token)
        await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    DraftStore(state / "draft.json").save({"request": "Call +1 415 555 0142"})
    seen = dict(modes(tmp_path / "deep"))
    assert any(p.endswith("journal.sqlite3") for p in seen) and any(p.endswith(".log") for p in seen)
    for path, mode in seen.items():
        expected = 0o700 if os.path.isdir(path) else 0o600
        assert mode == expected, f"{path} is {oct(mode)}"
    # The run_id is known: the journal no longer holds the confirm token.
    assert worker.journal.attempt(plan.plan_id).confirm_token == ""
    assert worker.journal.plan_confirmation(plan.plan_id)[1] is None
