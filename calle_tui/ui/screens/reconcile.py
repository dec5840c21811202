"""The deliberate gate before checking an "outcome unknown" call request.

Checking replays the SAME plan_id + confirm_token to run_call: if the first request never reached CALL-E,
this replay can place the call now. So it is the confirm modal again (type the last digits, Cancel has the
focus, Enter alone does nothing), with that risk said plainly. Never opened automatically.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Button, Static

from calle_tui.core.wire.contract import PlanCallResult, PlanDetails
from calle_tui.ui.screens.confirm import ConfirmCallModal

RECONCILE_WARNING = (
    "We sent this request but never heard back. Checking sends the SAME request again. This server declares "
    "that a repeat is safe: if CALL-E got it, you see what happened and no second call is made; if not, this "
    "places the call NOW."
)


class ReconcileModal(ConfirmCallModal):
    """ConfirmCallModal worded for a replay; returns True only after the digits are typed."""

    def __init__(self, plan_id: str, to_phones: tuple[str, ...], goal: str | None) -> None:
        # No expiry is shown or enforced here: the server decides whether the old token is still good.
        plan = PlanCallResult(plan_id=plan_id, ready_to_run=True, plan=PlanDetails(to_phones=list(to_phones), goal=goal))
        super().__init__(plan)

    def on_mount(self) -> None:
        # Textual also runs ConfirmCallModal.on_mount (after this one): reword once it has filled the dialog.
        self.call_later(self._reword)

    def _reword(self) -> None:
        # The warning goes in a line of its own under the title; the plan card below it is the confirm
        # modal's own (who, why, when), whatever widget draws it.
        self.query_one("#confirm-title", Static).update("⚠  Check a call request: this may place a REAL call")
        if not self.query("#reconcile-warning"):
            warning = Static(Text(RECONCILE_WARNING, style="bold"), id="reconcile-warning")
            self.query_one("#confirm-dialog").mount(warning, after=self.query_one("#confirm-title"))
        self.query_one("#confirm-place", Button).label = "Check / place (ctrl+y)"
