"""The calls calle-tui is still following, in words: the line the composer shows when the app starts while a
call is live (it goes on at CALL-E whether calle-tui runs or not), and the note left in the terminal on quit.

Which calls are live, and their status, the app's store of runs says (`CalleApp.runs.live()`, ui/runs/store.py);
this module only words it, each call's status as every screen shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.widgets import Static

from calle_tui.core.worker_api import RunRecord
from calle_tui.ui.runs.app_context import runs_of
from calle_tui.ui.runs.format import short_phone, status_look
from calle_tui.ui.runs.store import RunChanged, RunStore

OPEN_KEY = "ctrl+o"


def _who(record: RunRecord, store: RunStore | None) -> str:
    phone = short_phone(record.to_phones[0]) if record.to_phones else "a number not recorded"
    status, word = store.status_of(record) if store is not None else (record.status, record.status_text)
    _glyph, _colour, label = status_look(status, word)
    return f"{phone} ({label.lower()})"


def live_line(runs: Sequence[RunRecord], store: RunStore | None = None) -> str:
    if not runs:
        return ""
    if len(runs) == 1:
        return f"● A call is still live: {_who(runs[0], store)}. Press {OPEN_KEY} to open it."
    return f"● {len(runs)} calls are still live, the latest {_who(runs[0], store)}. Press {OPEN_KEY} to open it."


def quit_note(runs: Sequence[RunRecord], store: RunStore | None = None, *, resumes: bool = True) -> str:
    """What the terminal says after ctrl+q while calls are live."""
    if not runs:
        return ""
    calls = "The call to " + _who(runs[0], store) if len(runs) == 1 else f"{len(runs)} live calls"
    goes = "goes on" if len(runs) == 1 else "go on"
    if not resumes:  # the demo's sandbox ends with the app, and its call with it
        return f"calle-tui: {calls} ended with the demo's sandbox; nothing real was called."
    return (
        f"calle-tui: {calls} {goes} at CALL-E: quitting does not stop a call. It is followed again, from "
        "where it stopped, the next time you start calle-tui."
    )


class LiveCallsLine(Static):
    """One line on the composer while calls are live; hidden otherwise."""

    DEFAULT_CSS = """
    LiveCallsLine {
        height: auto;
        padding: 0 1;
        color: $warning;
        text-style: bold;
    }
    """

    def on_mount(self) -> None:
        store = runs_of(self.app)
        if store is None:  # a host app without a store of runs
            self.display = False
            return
        store.watch(self, self._show)
        self._show()

    def _show(self, _change: RunChanged | None = None) -> None:
        store = runs_of(self.app)
        text = live_line(store.live(), store) if store is not None else ""
        if text != getattr(self, "_text", None):  # most changes (a countdown) leave the line as it is
            self._text = text
            self.update(text)
            self.display = bool(text)
