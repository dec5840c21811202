"""App-level messages.

`AppWorkerEvent` is the app's own copy of a worker event. Screens receive the bridge's `WorkerEventMessage`s,
which bubble up to the app; a distinct class means the app handles each event exactly once (from its own
subscription), never again as a screen's bubbled copy. It does not import the bridge or the event types at
module level so that the first paint does not wait on them.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class AppWorkerEvent(Message, bubble=False):
    """A worker event delivered to the app itself (handled by `on_app_worker_event`)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # As the bridge's message: a flood of status-only updates for one run collapses into the newest.
        from calle_tui.core.events import RunUpdate

        old, new = getattr(message, "event", None), self.event
        return (
            isinstance(old, RunUpdate)
            and isinstance(new, RunUpdate)
            and old.run_id == new.run_id
            and not old.new_activity
        )
