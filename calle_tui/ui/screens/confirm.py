"""The last gate before a REAL phone call: says plainly who is called, when and why, and asks for proof.

`TypedConfirmModal` is the gate itself, shared with the batch's confirmation (screens/batch.py): True at most
once, and only after the person has typed what the modal asks for. `ConfirmCallModal` is one call's gate.

Cancel has the focus and Enter alone never places a call: the user types the last 4 digits of the (first)
destination number (the plan's, else the one the user gave), then presses the Place call button or ctrl+y;
only when no number is known at all is the word CALL typed instead. Before that it says that a started call
cannot be cancelled through calle-tui (CALL-E offers no cancel tool). The footer lists the modal's keys. The modal only returns True; the composer
sends run_call. Once confirmed, every control is disabled before the modal closes, so a double press can
never confirm twice. An expired plan, or one whose scheduled time has passed, cannot be confirmed: the user
is sent back to plan again.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from calle_tui.core.wire.contract import PlanCallResult
from calle_tui.ui.paths import styles_path
from calle_tui.ui.runs.app_context import clock_of, settle_blink, tz_of
from calle_tui.ui.runs.format import format_phone, last_digits, short_phone
from calle_tui.ui.runs.plan_view import TIME_PASSED, PlanCard, plan_expired, plan_sheet, schedule_passed, who_is_called

CONFIRM_WORD = "CALL"  # typed instead of digits when a plan shows no number at all
NO_CANCEL = (
    "⚠ A started call cannot be cancelled through calle-tui: CALL-E offers no way to stop it. "
    "Confirm only if it may run to the end."
)


class TypedConfirmModal(ModalScreen[bool]):
    """The gate before placing real calls. It returns True at most once, and only after the person typed
    what it asks for (`_matches`) into its input and then pressed ctrl+y or the place button; Enter alone never
    confirms. Once confirmed, the input and the place button are disabled before the modal closes, so a double
    press cannot confirm twice, and Cancel no longer answers. A subclass names its widgets (the ids below),
    composes them, and says what the typing means (`_typed_changed`, `_enter_pressed`, `_refuse`)."""

    GATE_ID: ClassVar[str]  # the Input the person types into
    PLACE_ID: ClassVar[str]  # the button that confirms (ctrl+y does the same)
    CANCEL_ID: ClassVar[str]
    MESSAGE_ID: ClassVar[str]  # a Static that says one sentence at a time

    def __init__(self) -> None:
        super().__init__()
        self._confirmed = False

    @property
    def blocked(self) -> bool:
        """Whether nothing may be confirmed any more (e.g. the plan expired while the modal was open)."""
        return False

    def _gate(self) -> Input:
        return self.query_one(f"#{self.GATE_ID}", Input)

    def _matches(self) -> bool:
        raise NotImplementedError

    def _typed_changed(self, value: str, matches: bool) -> None:
        """Say what the typing means so far."""

    def _enter_pressed(self, matches: bool) -> None:
        """Say why Enter did not confirm, and what does."""

    def _refuse(self, typed: str) -> None:
        """Say why ctrl+y did not confirm: what was typed does not match (yet)."""

    def _still_valid(self) -> bool:
        """The last look before confirming: False refuses (and says why)."""
        return True

    def _confirming(self) -> None:
        """Confirmed: say so before the modal closes."""

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != self.GATE_ID:
            return
        matches = self._matches()
        self.query_one(f"#{self.PLACE_ID}", Button).disabled = not matches or self.blocked or self._confirmed
        self._typed_changed(event.value, matches)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == self.GATE_ID:
            event.stop()  # Enter never confirms
            self._enter_pressed(self._matches())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == self.PLACE_ID:
            event.stop()
            self.action_confirm()
        elif event.button.id == self.CANCEL_ID:
            event.stop()
            self.action_cancel()

    def action_confirm(self) -> None:
        if self._confirmed or self.blocked:
            return  # a second ctrl+y: the first one counts, once
        if not self._matches():
            self._refuse(self._gate().value)
            return
        if not self._still_valid():
            return
        # Disable everything before anything is sent: a second press finds nothing to press.
        self._confirmed = True
        for widget in self.query(f"#{self.PLACE_ID}, #{self.GATE_ID}"):
            widget.disabled = True
        self._confirming()
        self.dismiss(True)

    def action_cancel(self) -> None:
        if not self._confirmed:
            self.dismiss(False)

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one(f"#{self.MESSAGE_ID}", Static)
        message.update(text)
        message.set_class(error, "-error")


class ConfirmCallModal(TypedConfirmModal):
    CSS_PATH = str(styles_path("runs.tcss"))
    GATE_ID, PLACE_ID, CANCEL_ID, MESSAGE_ID = "confirm-digits", "confirm-place", "confirm-cancel", "confirm-message"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel", tooltip="Close without calling"),
        Binding(
            "ctrl+y",
            "confirm",
            "Place the call",
            id="confirm.place",
            tooltip="Places the call once the last 4 digits are typed",
        ),
    ]

    def __init__(
        self, plan: PlanCallResult, requested: tuple[str, ...] = (), extensions: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__()
        self.plan = plan
        self.requested = requested  # numbers the user gave, for a server that does not echo the plan's
        self.extensions = extensions  # (number, extension) the user wrote: shown when the dialled number drops it
        phones, self._source = who_is_called(plan, requested)
        self._phones = phones
        self._target = phones[0] if phones else ""
        self._expected = last_digits(self._target) if self._target else ""
        if not self._expected:
            self._expected = CONFIRM_WORD
        self.expired = False  # read by the composer when the modal returns False
        self.time_passed = False  # the plan's scheduled time went by while the modal was open
        self.title = f"Confirm call to {short_phone(self._target)}" if self._target else "Confirm call"

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(  # --demo's own sandbox rings no phone: the gate below stays the same
                "⚠  Sandbox: a simulated call, no phone rings"
                if getattr(self.app, "demo", False)
                else "⚠  This places a REAL phone call",
                id="confirm-title",
            )
            with VerticalScroll(id="confirm-details-box"):  # focusable: a long plan scrolls by keyboard too
                yield PlanCard(id="confirm-details")
            yield Static(NO_CANCEL, id="confirm-no-cancel")
            yield Label(self._prompt(), id="confirm-prompt")
            digits_only = self._expected != CONFIRM_WORD
            yield settle_blink(
                Input(
                    id="confirm-digits",
                    max_length=len(self._expected),
                    restrict=r"[0-9]*" if digits_only else None,
                    placeholder="last 4 digits" if digits_only else CONFIRM_WORD,
                    compact=True,
                    select_on_focus=False,  # the first digit, typed from Cancel, must not be selected away
                )
            )
            yield Static(id="confirm-message")
            with Horizontal(id="confirm-buttons"):
                # Compact (one row): at 80x24 a three-row button bar was cut off under the plan.
                yield Button("Place call (ctrl+y)", id="confirm-place", variant="error", disabled=True, compact=True)
                yield Button("Cancel (esc)", id="confirm-cancel", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self._show_sheet()
        self.query_one("#confirm-cancel", Button).focus()
        if not self._check_expiry():
            # A plan may expire, or its scheduled time pass, while the user reads: check as time goes on.
            self.set_interval(1.0, self._check_expiry)

    def _show_sheet(self) -> None:
        sheet = plan_sheet(
            self.plan,
            tz_of(self.app),
            requested=self.requested,
            now=clock_of(self.app)(),
            extensions=self.extensions,
        )
        self.query_one("#confirm-details", PlanCard).show(sheet)

    def _prompt(self) -> str:
        if self._expected == CONFIRM_WORD:
            return f"No number shows in the plan, your request or CALL-E's words. To confirm, type {CONFIRM_WORD}:"
        which = "the first number" if len(self._phones) > 1 else "the number"
        if self._source == "words":
            which += " CALL-E names"
        return f"To confirm, type the last {len(self._expected)} digits of {which}, {format_phone(self._target)}:"

    # --- typing the digits ---------------------------------------------------------------------------

    def on_key(self, event: Key) -> None:
        # Typing a digit anywhere goes into the digits box, so Cancel can keep the focus safely.
        digits = self.query_one("#confirm-digits", Input)
        if event.character and event.character.isalnum() and not digits.has_focus and not digits.disabled:
            event.stop()
            event.prevent_default()
            digits.focus()
            digits.insert_text_at_cursor(event.character)

    def _typed_changed(self, value: str, matches: bool) -> None:
        if matches and not self.expired:
            self._say("Digits match. Press ctrl+y or the Place call button to place the call.")
        elif len(value) >= len(self._expected):
            self._say("Those are not the last digits of the number. Check the number above.", error=True)
        else:
            self._say("")

    def _enter_pressed(self, matches: bool) -> None:
        # Enter alone never places a call: it only explains the next step.
        if matches and not self.expired:
            self._say("Digits match. Now press ctrl+y or the Place call button; Enter alone does not call.")
        elif not self.expired:
            self._say(f"Type the last {len(self._expected)} digits first, then press ctrl+y.", error=True)

    def _matches(self) -> bool:
        return self._gate().value.strip().upper() == self._expected.upper()

    # --- confirming ---------------------------------------------------------------------------------

    @property
    def blocked(self) -> bool:
        return self.expired

    def _refuse(self, typed: str) -> None:
        if len(typed) >= len(self._expected):
            self._say("Those are not the last digits of the number. Check the number above.", error=True)
        else:
            self._say(f"Type the last {len(self._expected)} digits of the number first.", error=True)

    def _still_valid(self) -> bool:
        return not self._check_expiry()

    def _confirming(self) -> None:
        self._say("Confirmed. Placing the call…")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm" and self.expired:
            return False  # nothing to place: the footer must not offer it
        return True

    def _check_expiry(self) -> bool:
        """True (and the modal refuses to confirm) once the plan has expired or its time has passed."""
        if self.expired or self._confirmed:
            return self.expired
        now = clock_of(self.app)()
        if plan_expired(self.plan, now):
            why = "This plan has expired, so it cannot be called. Press esc and plan again."
        elif schedule_passed(self.plan, now):
            self.time_passed = True
            self._show_sheet()
            why = f"{TIME_PASSED[0].upper()}{TIME_PASSED[1:]}, not when you planned. Press esc and plan again."
        else:
            return False
        self.expired = True
        self.refresh_bindings()  # the footer no longer offers ctrl+y
        self.query_one("#confirm-place", Button).disabled = True
        self.query_one("#confirm-digits", Input).disabled = True
        self._say(why, error=True)
        return True
