"""What the run screens read from the app: the injected clock, display zone, cursor-blink switch, the store of
run views and the batch being sent.

CalleApp provides `clock` and `display_tz` (the determinism contract); any other host app falls back to
the wall clock and the local zone, so the screens also work in a bare `App` (tests, benchmarks).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from textual.widget import Widget

from calle_tui.ui.runs.store import RunStore

if TYPE_CHECKING:
    from calle_tui.core.batch.session import BatchSession


def clock_of(app: Any) -> Callable[[], float]:
    return getattr(app, "clock", None) or time.time


def tz_of(app: Any) -> tzinfo | None:
    return getattr(app, "display_tz", None)


def runs_of(app: Any) -> RunStore | None:
    """The app's store of run views (CalleApp.runs); None in a host app that keeps none (a screen then keeps
    one of its own)."""
    store = getattr(app, "runs", None)
    return store if isinstance(store, RunStore) else None


def runs_for(screen: Any) -> RunStore:
    """The app's store of runs, or, in a host app without one (tests, benchmarks), a store of the screen's own
    that folds its worker's events while the screen is there."""
    store = runs_of(screen.app)
    if store is None:
        store = RunStore(screen, lives_with_owner=True)
        store.attach(screen.worker)
    return store


def batch_session_of(app: Any) -> BatchSession | None:
    """The batch the app opened last (CalleApp.open_batch), for the board's progress line; None elsewhere."""
    return getattr(app, "batch_session", None)


def settle_blink(widget: Widget) -> Widget:
    """Turn the cursor blink off when the app asks for it (snapshots): `app.cursor_blink = False`."""
    if getattr(widget.app, "cursor_blink", True) is False and hasattr(widget, "cursor_blink"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    return widget
