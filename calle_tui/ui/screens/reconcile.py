"""The deliberate gate before checking an "outcome unknown" call request.

Checking replays the SAME plan_id + confirm_token to run_call: if the first request never reached CALL-E,
this replay can place the call now. So it is the confirm modal again (type the last digits, Cancel has the
focus, Enter alone does nothing), with that risk said plainly. Never opened automatically.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Button, Static

from calle_tui.core.contract import PlanCallResult, PlanDetails
from calle_tui.ui.runs.app_context import tz_of
from calle_tui.ui.runs.plan_view import plan_text
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
        self.query_one("#confirm-title", Static).update("⚠  Check a call request: this may place a REAL call")
        text = Text(RECONCILE_WARNING + "\n\n", style="bold")
        text.append_text(plan_text(self.plan, tz_of(self.app)))
        self.query_one("#confirm-details", Static).update(text)
        self.query_one("#confirm-place", Button).label = "Check / place (ctrl+y)"
