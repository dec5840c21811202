"""The runs board's rows, worded from what is known of each run: its journal row (who, when) and its view in
the app's store of runs (status, last activity, the follower's next check), as every screen words them.

No Textual here: the screen (ui/screens/board.py) only lays these strings out, so the wording and the order
are tested without a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache

import phonenumbers

from calle_tui.core.batch.send import SendLine, summary
from calle_tui.core.runs.runview import RunView
from calle_tui.core.worker_api import RunRecord
from calle_tui.ui.runs.format import format_duration, short_phone, status_look

NO_CHECK = "-"


@dataclass(frozen=True)
class BoardRow:
    run_id: str
    live: bool
    glyph: str
    colour: str  # Rich style of the status cell
    status: str  # the status word (the server's when it sent one)
    to: str  # first destination, formatted with its country; "+N" when there are more
    goal: str
    started: str
    elapsed: str
    last: str  # the last activity line
    next_check: str

    def matches(self, needle: str) -> bool:
        """The `/` filter: every word must appear somewhere in the row (status, number, goal, activity)."""
        haystack = " ".join((self.status, self.to, self.goal, self.last, self.run_id)).casefold()
        return all(word in haystack for word in needle.casefold().split())


def ordered(records: Iterable[RunRecord]) -> list[RunRecord]:
    """Followed runs (those with a run id), live ones first; newest first within each group."""
    runs = [r for r in records if r.run_id]
    return sorted(runs, key=lambda r: (r.terminal, -r.created_at))


def destination(phones: Sequence[str]) -> str:
    """'+14155550100' -> '+1 415-555-0100 US': the number and its country in a board's narrow column (the
    monitor names the country in full). A number without a country code says so: its country is never guessed."""
    return _destination(tuple(phones))


@lru_cache(maxsize=1024)
def _destination(phones: tuple[str, ...]) -> str:
    # Cached: the board words every live row again each second, and parsing a number is most of a row's cost.
    if not phones:
        return "-"
    first = phones[0].strip()
    try:
        number = phonenumbers.parse(first, None)
    except phonenumbers.NumberParseException:
        shown = f"{first} (no country code)"
    else:
        region = phonenumbers.region_code_for_number(number) or ""
        shown = f"{short_phone(first)} {region}".rstrip()
    return shown + (f" +{len(phones) - 1}" if len(phones) > 1 else "")


def next_check(view: RunView | None, now: float, *, live: bool) -> str:
    if not live:
        return NO_CHECK
    if view is None or (view.poll_state == "waiting_first" and view.next_poll_at is None):
        return "soon"  # the follower has not said yet
    if view.poll_state == "polling":
        return "now"
    if view.poll_state == "reconnecting":
        return "offline"
    if view.poll_state in {"finished", "unknown"}:
        return NO_CHECK
    if view.next_poll_at is None:
        return NO_CHECK
    left = view.next_poll_at - now
    return "now" if left <= 0.5 else f"in {format_duration(left)}"


def board_row(record: RunRecord, *, view: RunView | None, now: float, tz: tzinfo | None) -> BoardRow:
    """A run's row: from its view when the store has one (read from the journal, then folded live), else from
    its journal row alone (a finished run far down the list: no last activity line)."""
    live = not (view.terminal if view is not None else record.terminal)
    status, server_word = (view.status, view.status_text) if view is not None else (record.status, record.status_text)
    last_line = view.entries[-1].text if view is not None and view.entries else ""
    if view is not None and view.problem:
        last_line = view.problem  # a retry in progress matters more than the last thing said
    glyph, colour, label = status_look(status, server_word)
    started = datetime.fromtimestamp(record.created_at, tz)
    return BoardRow(
        run_id=record.run_id or "",
        live=live,
        glyph=glyph,
        colour=colour,
        status=label,
        to=destination(record.to_phones),
        goal=" ".join((record.goal or "(no goal)").split()),  # whole, for the filter; the cell ends it with …
        started=f"{started:%d %b %H:%M}",
        elapsed=format_duration(max(0.0, now - record.created_at)) if live else "ended",
        last=" ".join(last_line.split()),
        next_check=next_check(view, now, live=live),
    )


def live_count_title(rows: Sequence[BoardRow]) -> str:
    live = sum(1 for r in rows if r.live)
    return f"Calls · {live} live" if live else "Calls"


def batch_progress(name: str, lines: Sequence[SendLine]) -> str:
    """The board's batch line: `Batch calls.jsonl: done 3 · live 1 · failed 0 · waiting 6`."""
    counts = summary(lines)
    return (
        f"Batch {name}: done {counts['done']} · live {counts['live']} · failed {counts['failed']}"
        f" · waiting {counts['waiting']}"
    )
