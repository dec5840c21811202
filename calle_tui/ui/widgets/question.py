"""A yes/no question as a modal that returns its answer (posting's pattern): `await push_screen_wait(...)`."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class YesNoModal(ModalScreen[bool]):
    DEFAULT_CSS = """
    YesNoModal { align: center middle; }
    YesNoModal > Vertical {
        width: 60; max-width: 100%; height: auto;
        border: thick $warning; background: $surface; padding: 1 2;
    }
    YesNoModal #question-text { width: 1fr; margin-bottom: 1; }
    YesNoModal Horizontal { height: auto; align-horizontal: right; }
    YesNoModal Button { margin-left: 2; }
    """

    # Yes is ctrl+y, the app's one key for a deliberate "do it" (as placing a call): a question that can
    # sign a person out must not be answered by the "y" of a word typed a moment too late.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "No", id="question.no"),
        Binding("ctrl+y", "answer(True)", "Yes", id="question.yes"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No", *, title: str = "Are you sure?") -> None:
        super().__init__()
        self.question = question
        self.yes_label = yes
        self.no_label = no
        self.title = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question-text", markup=False)
            with Horizontal():
                # "No" is focused first: Enter on an unread question must not do the risky thing.
                yield Button(self.no_label, id="question-no", variant="default")
                yield Button(f"{self.yes_label} (ctrl+y)", id="question-yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#question-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "question-yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)
