"""The one-line bar at the top of every screen: where you are, which server, whether it answers, where tokens live.

The state lives on the app (`CalleApp.shell_status`, a reactive) so every screen's header shows the same line
and updates together. Each status carries a glyph as well as a colour: over SSH colours are often reduced.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from calle_tui.core.support.secrets import shown_url

_CONNECTION_LOOK: dict[str, tuple[str, str, str]] = {
    "disconnected": ("○", "$text-muted", "offline"),
    "connecting": ("◌", "$warning", "connecting"),
    "connected": ("●", "$success", "connected"),
    "reconnecting": ("◌", "$warning", "reconnecting"),
    "failed": ("✗", "$error", "not connected"),
}

_STORAGE_LOOK: dict[str, tuple[str, str]] = {
    "keyring": ("tokens: keyring", ""),
    "memory": ("tokens: memory", "$warning"),
    "file": ("tokens: file ⚠", "$warning"),
}


@dataclass(frozen=True)
class ShellStatus:
    server_url: str = ""
    connection: str = "disconnected"
    signed_in: bool = False
    storage: str = ""
    storage_notice: str = ""
    message: str = ""  # the last connection problem, as a sentence
    demo: bool = False  # the server is the demo's own sandbox (calle-tui --demo started it)


PRODUCTION_LABEL = "production: real calls"


def server_label(url: str, *, demo: bool = False) -> str:
    """Which server, in the words that matter: CALL-E production places real calls, so it is named as such;
    "sandbox" only for the demo's own (it is known to ring nothing); any other server on this machine is a
    "local server", which could be anything. Never the URL's user name and password: an address that cannot
    be read (shown before it is checked) is shown without them."""
    from calle_tui import PRODUCTION_URL

    try:
        parts = urlsplit(url)
        production = urlsplit(PRODUCTION_URL).hostname
        port = parts.port
    except ValueError:
        return shown_url(url)
    host = parts.hostname or shown_url(url)
    if host == production:
        return PRODUCTION_LABEL
    label = f"{host}:{port}" if port else host
    if host in {"127.0.0.1", "localhost", "::1"}:
        return f"{'sandbox' if demo else 'local server'} {label}"
    return label


# Blanks between parts are runs of their own ("not bold" keeps them from merging with plain neighbours): SVG
# renderers such as rsvg drop a run's leading blanks, which turned "connected · sandbox" into "connected· sandbox".
_GAP_STYLE = "not bold"


def gap(width: int = 1) -> tuple[str, str]:
    return (" " * width, _GAP_STYLE)


def _separator() -> list[tuple[str, str]]:
    return [gap(), ("·", ""), gap()]


def status_content(status: ShellStatus) -> Content:
    glyph, colour, word = _CONNECTION_LOOK.get(status.connection, ("?", "$text-muted", status.connection))
    if status.connection == "disconnected" and not status.signed_in:
        glyph, colour, word = "○", "$warning", "signed out"
    server = server_label(status.server_url, demo=status.demo)
    parts: list[Content | tuple[str, str] | str] = [
        (f"{glyph} {word}", colour),
        *_separator(),
        (server, "bold $warning") if server == PRODUCTION_LABEL else server,
    ]
    if status.storage:
        text, style = _STORAGE_LOOK.get(status.storage, (f"tokens: {status.storage}", ""))
        warn = style and not status.demo  # the demo's tokens are for its own sandbox: nothing to warn about
        parts += [*_separator(), (text, style) if warn else text]
    return Content.assemble(*parts)


class AppHeader(Widget):
    """`calle-tui › <screen title> · <sub title>` on the left, the shared status on the right."""

    DEFAULT_CSS = """
    AppHeader {
        dock: top;
        height: 1;
        width: 1fr;
        background: $panel;
        color: $foreground;
        layout: horizontal;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "shell_status", lambda _status: self.refresh(), init=False)
        self.watch(self.screen, "title", lambda _title: self.refresh(), init=False)
        self.watch(self.screen, "sub_title", lambda _sub_title: self.refresh(), init=False)

    def render(self) -> RenderResult:
        title = self.screen.title or ""
        if self.screen.sub_title:  # the screen's state: "plan ready", "completed"...
            title = f"{title} · {self.screen.sub_title}" if title else self.screen.sub_title
        status = getattr(self.app, "shell_status", None)
        right = status_content(status) if isinstance(status, ShellStatus) else Content("")
        width = self.size.width
        left = Content.assemble(("calle-tui", "bold"), *([gap(), ("› " + title, "")] if title else []))
        if left.cell_length + right.cell_length + 3 > width:
            left = Content.styled(title, "bold")  # narrow: the screen's name matters more than the app's
        if left.cell_length + right.cell_length + 3 > width:
            right = right.truncate(max(0, width - left.cell_length - 3), ellipsis=True)
        middle = max(1, width - left.cell_length - right.cell_length - 2)
        return Content.assemble(gap(), left, gap(middle), right, gap())
