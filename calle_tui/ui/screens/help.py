"""The keys of the screen you are on, read from its live bindings so the list can never go stale."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


@dataclass(frozen=True)
class KeyRow:
    keys: str  # display form, e.g. "? / f1"
    description: str
    scope: str  # "This screen" | "Everywhere" | "Where the cursor is"
    note: str = ""  # e.g. "not while typing"


def _scope(node: DOMNode, screen: Screen) -> str:
    if isinstance(node, App):
        return "Everywhere"
    if node is screen:
        return "This screen"
    return "Where the cursor is"


def collect_keys(screen: Screen) -> list[KeyRow]:
    """Every described binding of `screen`: the ones active now (focused widget, screen, app), then the
    screen's and app's bindings that a focused text field currently takes for typing."""
    app = screen.app
    grouped: dict[tuple[int, str], tuple[DOMNode, Binding, list[str]]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.system:
            continue
        group = (id(active.node), binding.action)
        _node, _b, keys = grouped.setdefault(group, (active.node, binding, []))
        keys.append(app.get_key_display(binding.with_key(key)))
    rows = [KeyRow(" / ".join(dict.fromkeys(keys)), b.description, _scope(n, screen)) for n, b, keys in grouped.values()]

    seen = {(id(n), b.action) for n, b, _k in grouped.values()}
    idle: dict[tuple[int, str], tuple[DOMNode, Binding, list[str]]] = {}
    owners: list[DOMNode] = [screen] if screen.is_modal else [screen, app]
    for owner in owners:
        for key, binding in owner._bindings:
            group = (id(owner), binding.action)
            if not binding.description or binding.system or group in seen:
                continue
            if app._check_action_state(binding.action, owner) is False:
                continue  # does nothing here right now: listing it would mislead
            idle.setdefault(group, (owner, binding, []))[2].append(app.get_key_display(binding.with_key(key)))
    rows += [
        KeyRow(" / ".join(dict.fromkeys(keys)), b.description, _scope(n, screen), "not while typing")
        for n, b, keys in idle.values()
    ]
    order = {"This screen": 0, "Everywhere": 1, "Where the cursor is": 2}
    return sorted(rows, key=lambda r: order.get(r.scope, 3))


class HelpScreen(ModalScreen[None]):
    """Built from the screen underneath it at the moment help was asked for."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,f1,question_mark", "close", "Close help", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90%; max-width: 100; height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    HelpScreen #help-intro { height: auto; margin-bottom: 1; color: $text-muted; }
    HelpScreen DataTable { height: 1fr; }
    """

    def __init__(self, rows: list[KeyRow], screen_title: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.screen_title = screen_title or "this screen"
        self.title = "Help"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                f"Keys for {self.screen_title}. ctrl+p opens the command palette with every action. Esc closes this help.",
                id="help-intro",
                markup=False,
            )
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Does", "Where")
        for row in self.rows:
            where = f"{row.scope} ({row.note})" if row.note else row.scope
            table.add_row(row.keys, row.description, where)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
