"""The bridge from the core worker's events to Textual messages.

A screen that wants worker events mixes in `WorkerEventsMixin`: it subscribes on mount, unsubscribes on
unmount, and receives each event as a `WorkerEventMessage` (handle it with `on_worker_event_message`).
The worker runs in the app's event loop, so posting a message from its callback is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message

from calle_tui.ui.messages import superseded

if TYPE_CHECKING:
    from textual.message_pump import MessagePump

    from calle_tui.core.events import WorkerEvent
    from calle_tui.core.worker_api import WorkerAPI


class WorkerEventMessage(Message):
    def __init__(self, event: WorkerEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return superseded(self.event, getattr(message, "event", None))


class WorkerEventsMixin:
    """For Screens/Widgets that have `self.worker: WorkerAPI`. Textual dispatches `on_mount`/`on_unmount` to
    every class in the MRO, so a screen's own `on_mount` does not need to call this one."""

    worker: WorkerAPI
    _unsubscribe: Callable[[], None] | None = None

    def on_mount(self) -> None:
        pump: MessagePump = self  # type: ignore[assignment]
        self._unsubscribe = self.worker.subscribe(lambda e: pump.post_message(WorkerEventMessage(e)))

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
