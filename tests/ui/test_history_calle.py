"""History with production's judgement: "Completed" says the call ended, the server's outcome says whether
its task was done, so the detail of a finished row leads with it (read once from the journal's view)."""

from __future__ import annotations

import reply_fixtures as rf
from fake_worker import FakeWorker
from fakes_shell import make_shell_app, sample_records, until
from test_shell_history_help import open_history
from textual.widgets import Static

from calle_tui.core.runs.runview import RunView, fold_page


class JudgingWorker(FakeWorker):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.views_read: list[str] = []

    def run_view(self, run_id: str) -> RunView | None:
        self.views_read.append(run_id)
        if run_id != "run-0002":
            return None
        return fold_page(RunView(run_id=run_id), rf.run_page("get_call_run-voicemail", asked=run_id))


async def test_a_finished_row_leads_with_the_servers_judgement(tmp_path):
    worker = JudgingWorker(signed_in=True, records=sample_records())
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_history(pilot, worker)
        detail = lambda: str(screen.query_one("#history-detail", Static).render())  # noqa: E731
        await pilot.press("down", "down")  # run-0002, completed
        await until(pilot, lambda: "Task completed" in detail())
        assert detail().startswith("Task completed: no (confidence high 0.9). Booked a table")
        await pilot.press("down", "up", "up", "down")  # moving about reads the journal once per run
        await until(pilot, lambda: "Task completed" in detail())
        assert worker.views_read.count("run-0002") == 1
        assert "run-0004" not in worker.views_read  # an unfinished run has no judgement yet
        await app.close_worker()
