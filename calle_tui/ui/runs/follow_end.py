"""Keep a live log at its last line while lines arrive, until the reader scrolls up to read back.

Whether to follow is state, set by the reader's scrolling, never re-derived from the scroll position when
lines arrive: before a layout (or when a panel appears under the log in the same update) the position does
not yet say where the end is, and a log that once missed the end would otherwise stay on line 1 for the
whole call. Scrolled up, the log stays put and counts what arrived below it (`FollowChanged` tells the
screen); scrolled back to the end, it follows again.
"""

from __future__ import annotations

from textual.message import Message
from textual.scroll_view import ScrollView
from textual.widgets import Log


class FollowChanged(Message):
    """A log stopped or resumed following, or more lines arrived below a log the reader scrolled up."""

    def __init__(self, log: ScrollView, following: bool, unseen: int) -> None:
        super().__init__()
        self.log = log
        self.following = following
        self.unseen = unseen  # lines that arrived below the reader since they scrolled up


class FollowsEnd:
    """Mixin for a ScrollView that follows its end: `class X(FollowsEnd, ScrollView)`; X calls
    `lines_added(n)` after growing `virtual_size`. A plain mixin, not a widget: Textual takes default CSS
    only from a widget's first widget base, so ActivityLog keeps Log's look."""

    _following = True
    _unseen = 0

    @property
    def following(self) -> bool:
        return self._following

    @property
    def unseen(self) -> int:
        return self._unseen

    def lines_added(self, count: int) -> None:
        if self._following:
            self.stick_to_end()
        elif count:
            self._unseen += count
            self.post_message(FollowChanged(self, False, self._unseen))

    def follow_again(self) -> None:
        """Follow the end from now on (new content replaced the old)."""
        if not self._following or self._unseen:
            self._following, self._unseen = True, 0
            self.post_message(FollowChanged(self, True, 0))
        self.stick_to_end()

    def stick_to_end(self) -> None:
        """To the end now, with the height of the last layout, and again once the new size is laid out."""
        self._to_end()
        self.call_after_refresh(self._to_end)

    def _to_end(self) -> None:
        # force: before the first layout shows the scrollbar, Textual would otherwise ignore the scroll.
        if self._following:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True, immediate=True)

    def on_resize(self) -> None:  # called by Textual for each class in the MRO that defines it
        if self._following:  # a panel appearing below makes the log shorter: the end stays in view
            self.stick_to_end()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)  # type: ignore[misc]
        # Only the reader moves the log away from its end (our own scrolls go to it); reaching the end again,
        # by scrolling or End, resumes following.
        at_end = new_value >= self.max_scroll_y
        if at_end != self._following:
            self._following = at_end
            if at_end:
                self._unseen = 0
            self.post_message(FollowChanged(self, at_end, self._unseen))


class ActivityLog(FollowsEnd, Log):  # type: ignore[misc]
    """The monitor's activity lines: a Log that follows its end the same way as the transcript."""

    def __init__(self, **kwargs) -> None:
        super().__init__(auto_scroll=False, **kwargs)  # following is FollowsEnd's

    def write_lines(self, lines, scroll_end: bool | None = None):  # type: ignore[override]
        lines = list(lines)
        before = self.line_count
        super().write_lines(lines, scroll_end=False)
        self.lines_added(self.line_count - before)
        return self
