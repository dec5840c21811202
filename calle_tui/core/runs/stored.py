"""What the journal knows of runs, for the screens: the history, a run's view and its stored activity.

The journal is opened on first use (or is the one the caller gave, then the caller closes it). Reads keep
working after the worker closed: the history is on disk, so a closed worker opens it briefly for each read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from calle_tui.core.events import ErrorEvent, RunOutcomeUnknown, WorkerEvent
from calle_tui.core.runs.runview import RunView, from_journal
from calle_tui.core.store.journal import Journal, JournalError
from calle_tui.core.wire.contract import ActivityEntry
from calle_tui.core.worker_api import RunRecord, WorkerError

log = logging.getLogger("calle_tui.worker")
_T = TypeVar("_T")


class StoredRuns:
    def __init__(self, state_root: Path, server_url: str, *, journal: Journal | None, closed: Callable[[], bool]) -> None:
        self._state_root = state_root
        self._server_url = server_url
        self._journal = journal
        self._own = journal is None  # opened here, so closed here
        self._closed = closed

    @property
    def journal(self) -> Journal:
        if self._closed() and self._journal is None:
            raise WorkerError("calle-tui is shutting down; try again after a restart.", kind="closed")
        if self._journal is None:
            try:
                self._journal = Journal.in_state_dir(self._state_root)
            except JournalError as exc:
                raise WorkerError(str(exc), kind="journal") from None
        return self._journal

    def close(self) -> None:
        if self._own and self._journal is not None:
            self._journal.close()
            self._journal = None

    def recover(self, *, emit: Callable[[WorkerEvent], None], follow: Callable[[str], None], unknown_outcome: str) -> None:
        """At start, what the journal says must happen before anything new: a damaged file that was moved aside
        is said once (with where it went); attempts a crash left unanswered become "outcome unknown"; runs
        that had not finished are followed again."""
        damaged = self.journal.damaged
        if damaged is not None:
            emit(ErrorEvent(damaged.message, damaged.action, kind="journal"))
        for attempt in self.journal.settle_crashed_attempts(self._server_url):
            emit(RunOutcomeUnknown(plan_id=attempt.plan_id, message=unknown_outcome))
        for run in self.journal.unfinished_runs(self._server_url):
            follow(run.run_id)

    def history(self, search: str = "") -> list[RunRecord]:
        return self._read(lambda journal: journal.history(search, server_url=self._server_url))

    def view(self, run_id: str) -> RunView | None:
        """What the journal knows of a run, folded by the one reducer (runview.py): enough to redraw a past or
        live run at once (its whole activity, last status, summary, transcript), or None."""

        def build(journal: Journal) -> RunView | None:
            state = journal.run(run_id)
            if state is None:
                return None
            return from_journal(
                run_id,
                status=state.status,
                terminal=state.terminal,
                entries=journal.entries(run_id),
                last=state.last,
                transcript=state.transcript,
                last_checked_at=state.last_poll_at,
            )

        return self._read(build)

    def entries(self, run_id: str) -> list[ActivityEntry]:
        """Every activity entry stored for a run, in order (to redraw a past run)."""
        return self._read(lambda journal: journal.entries(run_id))

    def _read(self, query: Callable[[Journal], _T]) -> _T:
        if not (self._closed() and self._own):
            return query(self.journal)
        try:
            journal = Journal.in_state_dir(self._state_root)
        except Exception as exc:  # a sentence, not a traceback; the details go to the log
            log.warning("the call history could not be opened", exc_info=exc)
            raise WorkerError("The call history could not be opened.", kind="journal") from None
        try:
            return query(journal)
        finally:
            journal.close()
