"""A virtualised transcript view that stays smooth at tens of thousands of lines.

Built on Textual's line API (like `Log`): turns are wrapped once, when they arrive, into a flat list of
display lines, and only the lines on screen are rendered. Appending a batch wraps just the new turns and
refreshes once, so a long call never re-renders what is already there. A width change re-wraps everything
once. Speakers get a name column and a colour (plus the name itself, for terminals without colour).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from calle_tui.ui.runs.follow_end import FollowsEnd

NAME_WIDTH = 9
_SEPARATOR = " │ "
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_PALETTE = ("bold cyan", "bold magenta", "bold yellow", "bold green", "bold blue")
_SPEAKER_STYLES = {"agent": _PALETTE[0], "callee": _PALETTE[1]}  # the reader's speaker words


class TranscriptLog(FollowsEnd, ScrollView, can_focus=True):
    DEFAULT_CSS = """
    TranscriptLog {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;  /* the wrap width never changes when the scrollbar appears */
        height: 1fr;
    }
    """

    def __init__(
        self,
        *,
        placeholder: str = "",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.placeholder = placeholder  # shown, dimmed, while there is nothing to show
        self._turns: list[tuple[str, str]] = []
        self._lines: list[tuple[str | None, str]] = []  # (speaker on a turn's first line, else None; text)
        self._starts: list[int] = []  # each turn's first line in _lines (once wrapped)
        self._wrap_width = 0
        self._styles: dict[str, Style] = {}

    # --- public API ---------------------------------------------------------------------------------

    @property
    def turn_count(self) -> int:
        return len(self._turns)

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def turns(self) -> list[tuple[str, str]]:
        return list(self._turns)

    def append_turns(self, turns: Iterable[tuple[str, str]]) -> None:
        """Add (speaker, text) turns at the end; one refresh for the whole batch. The view follows the end
        unless the reader scrolled up (follow_end.py)."""
        start = len(self._turns)
        shown = len(self._lines)
        self._turns.extend((_CONTROL.sub(" ", speaker or "") or "?", text or "") for speaker, text in turns)
        if self._wrap_width:
            for speaker, text in self._turns[start:]:
                self._starts.append(len(self._lines))
                self._wrap_into(speaker, text, self._wrap_width, self._lines)
            self.virtual_size = Size(self._wrap_width, len(self._lines))
        self.lines_added(len(self._lines) - shown)
        self.refresh()

    def replace_from(self, index: int, turns: Iterable[tuple[str, str]]) -> None:
        """The turns from `index` on replaced by `turns` (a line corrected after it was shown), re-wrapping only
        those; the view follows the end as when turns are appended."""
        if index < len(self._turns):
            del self._turns[index:]
            if self._wrap_width:
                del self._lines[self._starts[index] :]
                del self._starts[index:]
        self.append_turns(turns)

    def replace_turns(self, turns: Iterable[tuple[str, str]]) -> None:
        """The final transcript in place of what was heard live: read from its end, like a new log."""
        self._turns.clear()
        self._lines.clear()
        self._starts.clear()
        self.virtual_size = Size(self._wrap_width, 0)
        self.append_turns(turns)
        self.follow_again()

    def as_text(self) -> str:
        return "\n".join(f"{speaker}: {text}" for speaker, text in self._turns)

    # --- Textual hooks ------------------------------------------------------------------------------

    def on_resize(self) -> None:
        # A width change re-wraps everything once; FollowsEnd.on_resize (called after this) keeps the end in
        # view for a log that follows it.
        width = max(NAME_WIDTH + len(_SEPARATOR) + 10, self.scrollable_content_region.width)
        if width != self._wrap_width:
            self._wrap_width = width
            lines: list[tuple[str | None, str]] = []
            starts: list[int] = []
            for speaker, text in self._turns:
                starts.append(len(lines))
                self._wrap_into(speaker, text, width, lines)
            self._lines, self._starts = lines, starts
            self.virtual_size = Size(width, len(lines))
            self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_y = self.scroll_offset.y
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = scroll_y + y
        if not self._lines and index == 0 and self.placeholder:
            return Strip([Segment(self.placeholder, base + Style(dim=True, italic=True))]).crop_extend(0, width, base)
        if index >= len(self._lines):
            return Strip.blank(width, base)
        speaker, text = self._lines[index]
        if speaker is None:
            name = Segment(" " * NAME_WIDTH, base)
        else:
            name = Segment(speaker[:NAME_WIDTH].ljust(NAME_WIDTH), base + self._style_for(speaker))
        strip = Strip([name, Segment(_SEPARATOR, base + Style(dim=True)), Segment(text, base)])
        return strip.crop_extend(0, width, base).apply_offsets(0, index)

    # --- internals ----------------------------------------------------------------------------------

    def _style_for(self, speaker: str) -> Style:
        key = speaker.casefold()
        if key not in self._styles:
            # The agent and the person called keep their colours whoever speaks first; others take the next.
            others = sum(1 for name in self._styles if name not in _SPEAKER_STYLES)
            self._styles[key] = Style.parse(_SPEAKER_STYLES.get(key) or _PALETTE[2 + others % (len(_PALETTE) - 2)])
        return self._styles[key]

    @staticmethod
    def _wrap_into(speaker: str, text: str, width: int, out: list[tuple[str | None, str]]) -> None:
        body = width - NAME_WIDTH - len(_SEPARATOR)
        text = _CONTROL.sub(" ", text)  # a server's control characters must never reach the terminal
        if cell_len(text) <= body:
            out.append((speaker, text))  # the common case: one short line, no wrapping work
            return
        pieces = wrap_cells(text, body) or [""]
        out.append((speaker, pieces[0]))
        out.extend((None, piece) for piece in pieces[1:])


def wrap_cells(text: str, width: int) -> list[str]:
    """Wrap at spaces to lines of at most `width` terminal cells; a word wider than that (a URL, or a
    sentence in Chinese or Japanese, which has no spaces) is folded by character. Wide characters count two
    cells, so a CJK line is wrapped, never cut off at the edge."""
    width = max(2, width)
    lines: list[str] = []
    line, used = "", 0
    for word in text.split():
        size = cell_len(word)
        if line and used + 1 + size <= width:
            line, used = f"{line} {word}", used + 1 + size
            continue
        if line:
            lines.append(line)
            line, used = "", 0
        if size <= width:
            line, used = word, size
            continue
        for char in word:  # fold a word wider than the line
            char_size = cell_len(char)
            if used + char_size > width:
                lines.append(line)
                line, used = "", 0
            line, used = line + char, used + char_size
    if line:
        lines.append(line)
    return lines
