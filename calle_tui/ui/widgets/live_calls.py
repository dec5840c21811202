"""The calls calle-tui is still following, in words: the line the composer shows when the app starts while a
call is live (it goes on at CALL-E whether calle-tui runs or not), and the note left in the terminal on quit.

The app keeps the list (`CalleApp.live_runs`, from the worker's history); this module only words it.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.reactive import Reactive
from textual.widgets import Static

from calle_tui.core.worker_api import RunRecord
from calle_tui.ui.runs.format import short_phone, status_look

OPEN_KEY = "ctrl+o"


def live_runs(records: Sequence[RunRecord]) -> tuple[RunRecord, ...]:
    """Calls started and not known to have ended, newest first (an outcome-unknown attempt has no run)."""
    live = [r for r in records if r.run_id and not r.terminal]
    return tuple(sorted(live, key=lambda r: r.created_at, reverse=True))


def _who(record: RunRecord) -> str:
    phone = short_phone(record.to_phones[0]) if record.to_phones else "a number not recorded"
    _glyph, _colour, label = status_look(record.status)
    return f"{phone} ({label.lower()})"


def live_line(runs: Sequence[RunRecord]) -> str:
    if not runs:
        return ""
    if len(runs) == 1:
        return f"● A call is still live: {_who(runs[0])}. Press {OPEN_KEY} to open it."
    return f"● {len(runs)} calls are still live, the latest {_who(runs[0])}. Press {OPEN_KEY} to open it."


def quit_note(runs: Sequence[RunRecord], *, resumes: bool = True) -> str:
    """What the terminal says after ctrl+q while calls are live."""
    if not runs:
        return ""
    calls = "The call to " + _who(runs[0]) if len(runs) == 1 else f"{len(runs)} live calls"
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
        if isinstance(getattr(type(self.app), "live_runs", None), Reactive):  # a host app may not keep one
            self.watch(self.app, "live_runs", self._show)
        else:
            self.display = False

    def _show(self, runs: tuple[RunRecord, ...]) -> None:
        text = live_line(runs)
        self.update(text)
        self.display = bool(text)
