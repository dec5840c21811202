"""The app's one home for run state: a RunView per run, folded by core's reducer (core/runs/runview.apply)
from the worker's events, which the screens watch instead of keeping copies of their own, and the journal's
rows of the runs (`remember`: who was called, when) that say which calls are still live.

The store subscribes to the worker itself, so a view is up to date the moment the worker reports, whichever
screen is showing. A run first heard of, or first asked for, starts from what the journal holds (the worker's
`run_view`, the same reducer over the stored pages), so a run resumed after a restart keeps its history.
Every change is published on `changed` (a Textual signal: a watching screen's callback runs after the
messages it already has) as a `RunChanged`: the run, its new view, the event that changed it (None when the
journal's rows were read again), and whether this change is the one that ended the run (the bell rings for
that one only, once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.signal import Signal

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from calle_tui.core.events import WorkerEvent
    from calle_tui.core.runs.runview import RunView
    from calle_tui.core.worker_api import RunRecord, WorkerAPI

log = logging.getLogger("calle_tui.ui")


@dataclass(frozen=True)
class RunChanged:
    """One change of the store: `view` is the run's view after `event` (None for an attempt without a run:
    RunOutcomeUnknown, whose `run_id` is None too; all three None when the journal's rows were read again)."""

    run_id: str | None
    view: RunView | None
    event: WorkerEvent | None
    ended: bool = False  # the run was live in the store and this change ended it


class RunStore:
    def __init__(self, owner: DOMNode, *, lives_with_owner: bool = False) -> None:
        self.changed: Signal[RunChanged] = Signal(owner, "runs-changed")
        self._lives_with_owner = lives_with_owner  # a screen's own store: it stops folding once the screen is gone
        self._views: dict[str, RunView] = {}
        self._records: dict[str, RunRecord] = {}
        self._worker: WorkerAPI | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- wiring -------------------------------------------------------------------------------------------

    def attach(self, worker: WorkerAPI) -> None:
        """Fold this worker's events from now on."""
        self.detach()
        self._worker = worker
        self._unsubscribe = worker.subscribe(self.on_event)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def watch(self, node: DOMNode, callback: Callable[[RunChanged], Any]) -> None:
        """Call `callback` with every change while `node` is mounted (it need not unsubscribe)."""
        self.changed.subscribe(node, callback)

    # --- reading ------------------------------------------------------------------------------------------

    def get(self, run_id: str) -> RunView | None:
        """The run's view: folded so far, or, asked first, what the journal holds (kept from then on); None
        when neither knows the run."""
        view = self._views.get(run_id)
        if view is None:
            view = self._stored(run_id)
            if view is not None:
                self._views[run_id] = view
        return view

    def known(self, run_id: str) -> RunView | None:
        """The run's view only if the store holds one already (no journal read): a row of many."""
        return self._views.get(run_id)

    @property
    def views(self) -> Mapping[str, RunView]:
        return self._views

    def remember(self, records: Iterable[RunRecord]) -> None:
        """The journal's rows of the runs (worker.history()), in place of those read before."""
        self._records = {r.run_id: r for r in records if r.run_id}
        self.changed.publish(RunChanged(None, None, None))

    def status_of(self, record: RunRecord) -> tuple[str, str]:
        """(canonical status, the server's word) as every screen shows it: the run's view when the store has one,
        else its journal row's."""
        view = self._views.get(record.run_id or "")
        return (view.status, view.status_text) if view is not None else (record.status, record.status_text)

    def ended(self, record: RunRecord) -> bool:
        """Whether the run has ended: its view says so when the store has one, else its journal row."""
        view = self._views.get(record.run_id or "")
        return view.terminal if view is not None else record.terminal

    def live(self) -> tuple[RunRecord, ...]:
        """The remembered runs started and not known to have ended, newest first (an attempt whose outcome
        is unknown has no run)."""
        live = [r for r in self._records.values() if not self.ended(r)]
        return tuple(sorted(live, key=lambda r: r.created_at, reverse=True))

    def _stored(self, run_id: str) -> RunView | None:
        if self._worker is None:
            return None
        try:
            return self._worker.run_view(run_id)
        except Exception as exc:  # the journal cannot say (logged): the run starts from its events alone
            log.warning("the journal's view of a run could not be read", exc_info=exc)
            return None

    # --- folding ------------------------------------------------------------------------------------------

    def on_event(self, event: WorkerEvent) -> None:
        # Here, not at the top: the reducer loads the contract's models, which the first paint does not need.
        from calle_tui.core.events import ErrorEvent, RunFinished, RunOutcomeUnknown, RunStarted, RunUpdate
        from calle_tui.core.runs.runview import RunView, apply

        owner = self.changed.owner
        if self._lives_with_owner and (owner is None or not owner.is_attached):
            self.detach()
            return
        if isinstance(event, RunStarted):
            run_id: str | None = event.result.run_id
        elif isinstance(event, RunUpdate | RunFinished | ErrorEvent):
            run_id = event.run_id
        elif isinstance(event, RunOutcomeUnknown):
            self.changed.publish(RunChanged(None, None, event))  # a new row in History, no run to fold
            return
        else:
            return
        if not run_id:
            return
        before = self._views.get(run_id)
        start = before if before is not None else (self._stored(run_id) or RunView(run_id=run_id))
        view = apply(start, event)
        if view is before:
            return
        self._views[run_id] = view
        reported = isinstance(event, RunUpdate | RunFinished)
        ended = reported and view.terminal and not (before is not None and before.terminal)
        self.changed.publish(RunChanged(run_id, view, event, ended))
