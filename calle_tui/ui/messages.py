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
        return superseded(self.event, getattr(message, "event", None))


def superseded(older: Any, newer: Any) -> bool:
    """Whether a queued worker event may be dropped for a newer one: only a latest-value fact (a status-only
    update: countdown, reconnecting) followed by another update for the same run. An update that carries a
    page (`result`: summary, details, next_step, extras) or activity entries is never dropped, whatever
    follows it: the follower sends a page and then, with no await between, a countdown without one.

    Textual calls `can_replace` on the OLDER queued message with the NEWER one as argument; True drops the older.
    """
    from calle_tui.core.events import RunUpdate  # here: importing this module must stay cheap

    return (
        isinstance(older, RunUpdate)
        and isinstance(newer, RunUpdate)
        and older.run_id == newer.run_id
        and not older.new_activity
        and older.result is None
    )
