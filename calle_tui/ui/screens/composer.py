"""Plan a call: the request box, optional structured fields, missing-detail questions and the plan card.

The whole chain lives here: plan (plan_call, never a call) -> review in ConfirmCallModal -> worker.run once
-> MonitorScreen. The request goes verbatim as user_input; structured fields are sent only when the user
typed them. The draft is saved (debounced) on every change and restored on start; it is cleared only once a
run has started, so a failed submit, a re-login or a restart never loses what was typed.

One concern although it is long: the way from typed text to a started call, whose steps (draft, plan, a plan
the boxes no longer match, confirmation, run) read and change the same few fields of this one screen. What
needs no screen is already elsewhere: fields and answers (ui/runs/fields.py, answers.py), the plan card
(plan_view.py), numbers in text (core/support/phones.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Collapsible, Footer, Input, Label, Static, TextArea

from calle_tui.core.events import RunOutcomeUnknown, RunStarted, ToolsListed
from calle_tui.core.store.drafts import DraftStore
from calle_tui.core.support.phones import extensions_in_text, numbers_in_text
from calle_tui.core.wire.contract import MissingField, PlanCallResult
from calle_tui.core.worker_api import PlanRequest, RunRecord, WorkerAPI, WorkerError
from calle_tui.ui.bridge import WorkerEventMessage, WorkerEventsMixin
from calle_tui.ui.paths import styles_path
from calle_tui.ui.runs.answers import answer_values, answered_request, question_widgets, questions_of
from calle_tui.ui.runs.app_context import clock_of, settle_blink, tz_of
from calle_tui.ui.runs.fields import FieldSpec, FieldValueError, field_specs, parse_field
from calle_tui.ui.runs.plan_view import PlanCard, plan_expired, plan_sheet, schedule_passed, who_is_called
from calle_tui.ui.screens.confirm import ConfirmCallModal
from calle_tui.ui.screens.monitor import MonitorScreen
from calle_tui.ui.widgets.live_calls import LiveCallsLine

if TYPE_CHECKING:
    from calle_tui.core.config.timezone import UserZone
    from calle_tui.core.error_kinds import ErrorKind

DRAFT_SAVE_DELAY = 0.5  # seconds of quiet typing before the draft is written
# What run() raises when the plan can no longer be run as it is: the user must plan again.
REPLAN_KINDS: frozenset[ErrorKind] = frozenset({"safety", "tool"})


ZONE_SOURCES = {"config": "from your settings", "system": "system", "default": "no system time zone found"}
PLAN_TITLES = {
    "ready": "Ready to call",
    "changed": "⚠ Out of date: you changed the request after this plan was made",
    "time_passed": "⚠ This plan's time has passed: the call would start now",
}
STAGES = {"ready": "plan ready", "changed": "plan out of date", "time_passed": "plan's time passed"}
REFUSALS = {
    "changed": "You changed the request after this plan was made, so it may not call what the box now says. "
    "Press ctrl+s to plan again (that never places a call), or undo the change.",
    "time_passed": "This plan's time has passed: confirming would start the call now, not when you planned. "
    "Press ctrl+s to plan again with a new time.",
}


def zone_text(zone: UserZone | None) -> str:
    """'Times in Europe/Berlin (system)', plus the note when a configured zone could not be used. Without a
    zone (none is sent with plan_call) nothing rather than a guess."""
    if zone is None or not zone.name:
        return ""
    source = zone.source
    line = f"Times in {zone.name} ({ZONE_SOURCES.get(source, source)})" if source else f"Times in {zone.name}"
    return f"{line}. {zone.note}" if zone.note else line


class ComposerScreen(WorkerEventsMixin, Screen):
    TITLE = "New call"  # the shared header shows it; sub_title says how far the plan has got
    CSS_PATH = str(styles_path("runs.tcss"))
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Plan", id="composer.plan", tooltip="Send to plan_call (never places a call)"),
        Binding("ctrl+j,alt+enter", "submit", "Plan", show=False, id="composer.plan_alt"),
        Binding("ctrl+r", "review", "Review & call", id="composer.review", tooltip="Review the plan, then confirm"),
        Binding("ctrl+n", "new_plan", "New plan", id="composer.new", tooltip="Drop the current plan, keep the text"),
        Binding("escape", "stop_planning", "Stop waiting", id="composer.stop", tooltip="Stop waiting for the plan"),
    ]

    def __init__(self, worker: WorkerAPI, drafts: DraftStore | None = None) -> None:
        super().__init__()
        self.worker = worker
        self.drafts = drafts
        self.specs: list[FieldSpec] = field_specs(worker.plan_call_schema)
        self.plan: PlanCallResult | None = None  # the latest plan (ready or not)
        self.questions: list[MissingField] = []
        self.planning = False
        self.running = False  # from opening the confirmation until run_call has answered
        self._save_timer: Timer | None = None
        self._pending_draft: dict | None = None
        self._closing = False
        self._shown_state = ""  # the plan state the card shows now
        self._question_round = 0
        self._requested: tuple[str, ...] = ()  # numbers the user gave (field or request text), see _new_request
        self._extensions: tuple[tuple[str, str], ...] = ()  # (number, extension) the user wrote
        # What the boxes said when the request behind the current plan was sent: a plan is only what was
        # asked for, so once the boxes say something else the plan is out of date (see _plan_state).
        self._planned_from: dict | None = None
        # The attempt whose answer was lost, and what the boxes said for it: once History finds that it
        # did start, that request is done and must not wait here as a draft to be sent again.
        self._unknown: tuple[str, dict | None] | None = None
        self._planning_since = 0.0
        self._planning_ticker: Timer | None = None

    # --- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The body scrolls to whatever has the focus, so it never takes the focus itself: Tab goes from the
        # last answer straight on to the next control instead of to an invisible scroll container.
        with VerticalScroll(id="composer-body", can_focus=False):
            yield Label(
                "Describe the call. It is sent as written; nothing is called until you confirm.", id="composer-intro"
            )
            yield settle_blink(
                TextArea(
                    id="composer-request",
                    soft_wrap=True,
                    tab_behavior="focus",
                    placeholder="e.g. Call +14155550100 in English and book a table for two at 7 pm today.",
                )
            )
            zone_line = zone_text(self.worker.zone)
            if zone_line:  # the zone goes with every plan_call, so "tomorrow at 9" is the user's 9
                yield Static(zone_line, id="composer-zone")
            with Collapsible(title="Details (optional): only what you fill in is sent", id="composer-details"):
                for spec in self.specs:
                    with Horizontal(classes="field-row", id=f"row-{spec.name}"):
                        yield Label(spec.label, classes="field-label")
                        yield settle_blink(Input(placeholder=spec.placeholder, id=f"field-{spec.name}", compact=True))
                    yield Static(spec.hint, classes="field-hint", id=f"hint-{spec.name}")
            yield Vertical(id="composer-questions")
            with Vertical(id="composer-plan"):
                yield Static("Ready to call", id="composer-plan-title")
                yield PlanCard(id="composer-plan-card")
                yield Button("Review and call (ctrl+r)", id="composer-review", variant="warning")
        yield LiveCallsLine(id="composer-live")  # a call still live from before says so, with its key
        yield Static(id="composer-message")  # outside the scroll: errors stay in sight wherever the focus is
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#composer-plan").display = False
        self.query_one("#composer-questions").display = False
        self._restore_draft()
        self.query_one("#composer-request", TextArea).focus()
        self.set_interval(1.0, self._show_plan_state)  # a scheduled time passes while the plan waits

    def on_unmount(self) -> None:
        self._closing = True
        self._flush_draft()

    # --- typing is never a shortcut ---------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        # Back from Account, History, Help or a call: the focus goes into the request box ("your text is
        # still here: edit it"), never onto a button where letters would be shortcuts.
        if not isinstance(self.focused, Input | TextArea):
            self.query_one("#composer-request", TextArea).focus()

    def on_key(self, event: events.Key) -> None:
        """Typing is typing: a character typed while a button (or any widget that takes no text) has the
        focus goes into the request box instead of reaching a one-letter shortcut (a = Account, ...) or
        pressing the button. Esc in a text box leaves it: only then, with nothing focused, are letters
        shortcuts, because the person chose to stop typing."""
        focused = self.focused
        if isinstance(focused, Input | TextArea):
            if event.key == "escape" and not self.planning:
                event.stop()
                event.prevent_default()
                self.set_focus(None)
                self._say("Left the text box: letters are shortcuts now (? for help). Tab goes back to typing.")
            return
        if focused is None or not event.is_printable or not event.character:
            return
        event.stop()
        event.prevent_default()
        box = self.query_one("#composer-request", TextArea)
        box.focus()
        box.insert(event.character)

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # The footer and the keys panel must tell the truth: while something has the focus, on_key sends
        # every printable character to the request box, so one-letter app keys (h, a, ?) are not on offer
        # then and the footer shows their function-key forms (f1, f2) instead.
        return self.focused is not None and character is not None and character.isprintable()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_planning":
            return self.planning  # otherwise Esc goes on to whatever else it does
        if action == "review":
            return True if self._ready_plan() is not None and not self.running else None
        return True

    # --- draft --------------------------------------------------------------------------------------

    def draft(self) -> dict:
        fields = {spec.name: self.query_one(f"#field-{spec.name}", Input).value for spec in self.specs}
        draft: dict = {
            "request": self.query_one("#composer-request", TextArea).text,
            "fields": {name: value for name, value in fields.items() if value},
        }
        if self._unknown is not None:
            # Kept with the text so that a later session still knows which attempt this text was for: once
            # that attempt is found started, the text is done (a plan_id is opaque, not a secret).
            draft["unknown_attempt"] = {"plan_id": self._unknown[0], "said": self._unknown[1]}
        return draft

    def _restore_draft(self) -> None:
        if self.drafts is None:
            return
        saved = self.drafts.load() or {}
        request = saved.get("request")
        if isinstance(request, str) and request:
            self.query_one("#composer-request", TextArea).load_text(request)
        fields = saved.get("fields") if isinstance(saved.get("fields"), dict) else {}
        for spec in self.specs:
            value = fields.get(spec.name)
            if isinstance(value, str) and value:
                self.query_one(f"#field-{spec.name}", Input).value = value
                self.query_one("#composer-details", Collapsible).collapsed = False
        attempt = saved.get("unknown_attempt")
        if isinstance(attempt, dict) and isinstance(attempt.get("plan_id"), str) and attempt["plan_id"]:
            said = attempt.get("said")
            self._unknown = (attempt["plan_id"], said if isinstance(said, dict) else None)
            self._settle_unknown_from_history()

    def _settle_unknown_from_history(self) -> None:
        """The attempt this draft waits on may have been found started since (History's check, another
        window): then the draft is done, as when the check happens while this screen is open."""
        assert self._unknown is not None
        plan_id = self._unknown[0]
        try:
            started = any(r.plan_id == plan_id and r.run_id for r in self.worker.history())
        except Exception:  # the journal is unreadable: keep the draft, History will say why
            logging.getLogger("calle_tui.ui").warning("could not read the history for a restored draft", exc_info=True)
            return
        if started:
            self._found_started()

    def _found_started(self) -> None:
        assert self._unknown is not None
        _plan_id, planned_from = self._unknown
        self._unknown = None
        if planned_from is not None and self._said() == planned_from and not self.planning and not self.running:
            # The request the user was unsure about did start: it is done. Anything typed since stays.
            self._reset_after_run()
            self._say("The call request you checked had started, so its text is cleared from here.")
        else:
            self._pending_draft = self.draft()  # the text stays, without the attempt it no longer waits on
            self._flush_draft()

    @on(TextArea.Changed, "#composer-request")
    @on(Input.Changed, ".field-row Input")
    def _schedule_save(self) -> None:
        if self.drafts is None:
            return
        # Snapshot now, write later: at unmount the widgets may already be gone, the text must not be.
        self._pending_draft = self.draft()
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(DRAFT_SAVE_DELAY, self._flush_draft)

    def _flush_draft(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        draft, self._pending_draft = self._pending_draft, None
        if self.drafts is None or draft is None:
            return
        try:
            if draft["request"] or draft["fields"]:
                self.drafts.save(draft)
            else:
                self.drafts.clear()
        except OSError as exc:
            if self.is_attached and not self._closing:
                self._say(f"Could not save your draft ({exc.strerror or 'disk error'}). Keep this window open.", error=True)

    # --- planning -----------------------------------------------------------------------------------

    def action_submit(self) -> None:
        if self.planning:
            self._say("Still planning: the answer is on its way.")
            return
        if self.running:
            return
        refining = bool(self.questions)
        request = self._refine_request() if refining else self._new_request()
        if request is None:
            return
        if not refining or self._planned_from is None:
            # Answers refine the plan of the request sent before: that request is still what it stands on.
            self._planned_from = self._said()
        self._flush_draft()
        self.planning = True
        self.sub_title = "planning"
        self._planning_since = clock_of(self.app)()
        self._planning_ticker = self.set_interval(1.0, self._show_planning)
        self._show_planning()
        self.refresh_bindings()
        self.run_worker(self._send_plan(request), group="plan", exclusive=True, exit_on_error=False)

    def _show_planning(self) -> None:
        """CALL-E may take minutes to plan: say how long it has been, and that Esc stops waiting."""
        if not self.planning:
            return
        waited = max(0, round(clock_of(self.app)() - self._planning_since))
        elapsed = f" {waited} s." if waited else ""
        self._say(
            f"Planning…{elapsed} This never places a call; it can take a minute or two. "
            "Esc stops waiting (your request stays)."
        )

    def _planning_done(self) -> None:
        self.planning = False
        if self._planning_ticker is not None:
            self._planning_ticker.stop()
            self._planning_ticker = None
        self.sub_title = self._stage()
        self.refresh_bindings()

    def action_stop_planning(self) -> None:
        """Stop waiting for plan_call. The request may still complete at CALL-E, but a plan is only a
        plan: its late answer is dropped, and planning again starts a fresh one. Nothing is lost here."""
        if not self.planning:
            return
        self.workers.cancel_group(self, "plan")
        self._planning_done()
        self._say(
            "Stopped waiting for the plan. CALL-E may still finish it; that plan is ignored and never "
            "called. Your request is still here: press ctrl+s to plan again."
        )

    def _new_request(self) -> PlanRequest | None:
        text = self.query_one("#composer-request", TextArea).text
        if not text.strip():
            self._say("Write what the call is about first: who to call, why, and in which language.", error=True)
            self.query_one("#composer-request", TextArea).focus()
            return None
        values: dict = {}
        for spec in self.specs:
            box = self.query_one(f"#field-{spec.name}", Input)
            if not box.value.strip():
                continue
            try:
                values[spec.name] = parse_field(spec.name, box.value)
            except FieldValueError as exc:
                self.query_one("#composer-details", Collapsible).collapsed = False
                self._say(f"{spec.label}: {exc}", error=True)
                box.focus()
                return None
        request = PlanRequest(user_input=text, **values)
        # Who the user asked to call, in their own words: shown when the server does not repeat the plan's
        # numbers, and the digits they confirm with. Never sent as a field they did not fill in.
        self._requested = tuple(request.to_phones or ()) or numbers_in_text(text)
        self._extensions = extensions_in_text(text)
        return request

    def _refine_request(self) -> PlanRequest | None:
        answers: list[tuple[MissingField, str]] = []
        for index, question in enumerate(self.questions):
            value = self.query_one(f"#answer-{self._question_round}-{index}", Input).value
            if value.strip():
                answers.append((question, value))
        if not answers:
            self._say("Type an answer to at least one question above, or press ctrl+n to start a new plan.", error=True)
            return None
        plan_id = self.plan.plan_id if self.plan else None
        base = None
        if plan_id is None:
            # Nothing to refine (the server's answer carried no plan id, e.g. prose only): plan afresh with
            # the request and then the answers, both as typed, so nothing the user said is lost.
            base = self._new_request()
            if base is None:
                return None
        request = answered_request(answers, plan_id=plan_id, base=base, known={spec.name for spec in self.specs})
        typed = "\n".join(value for _, value in answers)
        known = {spec.name for spec in self.specs}
        named = tuple(answer_values(answers, known).get("to_phones") or ()) or numbers_in_text(typed)
        if named:
            self._requested = named  # an answer that names the number is the latest word on it
            self._extensions = extensions_in_text(typed)
        return request

    async def _send_plan(self, request: PlanRequest) -> None:
        try:
            result = await self.worker.plan(request)
        except WorkerError as exc:
            self._say(self._sentence(exc, "Your request is kept: press ctrl+s to try again."), error=True)
            return
        except Exception as exc:  # never a traceback on screen; the details go to the log
            logging.getLogger("calle_tui.ui").error("planning failed", exc_info=exc)
            self._say("Planning failed unexpectedly. Your request is kept: press ctrl+s to try again.", error=True)
            return
        finally:
            self._planning_done()
        await self._show_plan(result)

    async def _show_plan(self, result: PlanCallResult) -> None:
        self.plan = result
        ready = result.ready_to_run and bool(result.plan_id) and bool(result.confirm_token)
        # Not ready and no question: CALL-E's own words are the prompt, which the user can still answer.
        self.questions, asked = questions_of(result)
        await self._render_questions(asked=asked, notes=() if ready else tuple(result.notes))
        self.sub_title = self._stage()
        card = self.query_one("#composer-plan")
        card.display = ready
        if ready:
            # The server's message is the line under the card already; the modal repeats it.
            self._show_plan_state(force=True)
            if self._plan_state() == "ready":
                self._say(result.message or "The plan is ready. Review it, then confirm to place the call.")
            review = self.query_one("#composer-review", Button)
            review.focus()
            # The card is the last thing in the body: show it whole, once the layout has made room for it
            # (and for the message line that has just appeared under the body).
            self.call_after_refresh(self.query_one("#composer-body", VerticalScroll).scroll_end, animate=False)
        elif asked:
            self._say(result.message or "Answer CALL-E's questions above (any you can), then press ctrl+s.")
        else:
            self._say("The plan is not ready. Answer above in your own words, then press ctrl+s.")
        self.refresh_bindings()

    async def _render_questions(self, *, asked: bool = True, notes: tuple[str, ...] = ()) -> None:
        box = self.query_one("#composer-questions", Vertical)
        box.border_title = "CALL-E asks" if asked else "CALL-E needs more"
        await box.remove_children()
        box.display = bool(self.questions)
        if not self.questions:
            return
        self._question_round += 1  # fresh ids: the old inputs may still be leaving the DOM
        widgets = question_widgets(self.questions, self._question_round, notes=notes)
        await box.mount_all(widgets)
        first = box.query(Input).first()
        first.focus()
        first.scroll_visible(animate=False)

    @on(Input.Submitted, ".answer")
    def _answer_submitted(self, event: Input.Submitted) -> None:
        answers = list(self.query(".answer").results(Input))
        index = answers.index(event.input) if event.input in answers else len(answers) - 1
        if index < len(answers) - 1:
            answers[index + 1].focus()
        else:
            self.action_submit()

    @on(Button.Pressed, ".answers-send")
    def _answers_send_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_submit()

    # --- a plan that no longer matches ---------------------------------------------------------------

    def _said(self) -> dict:
        """The boxes' words, as compared for staleness: whitespace alone changes nothing."""
        draft = self.draft()
        return {
            "request": " ".join(draft["request"].split()),
            "fields": {name: " ".join(value.split()) for name, value in draft["fields"].items() if value.strip()},
        }

    def _plan_state(self) -> str:
        """'ready', 'changed' (the boxes no longer say what was planned), 'time_passed', or '' (no plan)."""
        plan = self._ready_plan()
        if plan is None:
            return ""
        if self._planned_from is not None and self._said() != self._planned_from:
            return "changed"
        if schedule_passed(plan, clock_of(self.app)()):
            return "time_passed"
        return "ready"

    def _show_plan_state(self, force: bool = False) -> None:
        plan = self._ready_plan()
        if plan is None or not self.query_one("#composer-plan").display:
            return
        state = self._plan_state()
        if state == self._shown_state and not force:
            return
        self._shown_state = state
        title = self.query_one("#composer-plan-title", Static)
        title.update(PLAN_TITLES[state])
        title.set_class(state != "ready", "-stale")
        self.query_one("#composer-plan", Vertical).set_class(state != "ready", "-stale")
        sheet = plan_sheet(
            plan,
            tz_of(self.app),
            requested=self._requested,
            with_message=False,
            now=clock_of(self.app)(),
            extensions=self._extensions,
        )
        self.query_one("#composer-plan-card", PlanCard).show(sheet)
        self.sub_title = self._stage()
        if state != "ready":
            self._say(REFUSALS[state], error=True)
        elif not force:
            self._say("The boxes say what was planned again: the plan is ready to review.")

    @on(TextArea.Changed, "#composer-request")
    @on(Input.Changed, ".field-row Input")
    def _boxes_changed(self) -> None:
        self._show_plan_state()

    def action_new_plan(self) -> None:
        if self.running:
            return
        if self.planning:  # a plan still on its way would arrive over the new one: stop waiting for it
            self.workers.cancel_group(self, "plan")
            self._planning_done()
        self.plan = None
        self.questions = []
        self.query_one("#composer-questions").remove_children()
        self.query_one("#composer-questions").display = False
        self.query_one("#composer-plan").display = False
        self.sub_title = self._stage()
        self._say("Plan dropped. Your text is still here: edit it and press ctrl+s.")
        self.query_one("#composer-request", TextArea).focus()
        self.refresh_bindings()

    # --- review and run -----------------------------------------------------------------------------

    def _ready_plan(self) -> PlanCallResult | None:
        plan = self.plan
        if plan and plan.ready_to_run and plan.plan_id and plan.confirm_token and not self.questions:
            return plan
        return None

    @on(Button.Pressed, "#composer-review")
    def _review_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_review()

    def action_review(self) -> None:
        plan = self._ready_plan()
        if plan is None or self.running or self.planning:
            return
        if plan_expired(plan, clock_of(self.app)()):
            self._plan_gone("This plan has expired.")
            return
        state = self._plan_state()
        if state != "ready":  # never confirm a plan for what the boxes no longer say, or for a time gone by
            self._show_plan_state(force=True)  # which says why, and what to do
            return
        self.running = True  # no second confirmation can open while this one is pending
        self.sub_title = "confirming"
        self.refresh_bindings()
        modal = ConfirmCallModal(plan, requested=self._requested, extensions=self._extensions)
        self.app.push_screen(modal, callback=lambda confirmed: self._confirmed(plan, modal, confirmed))

    def _confirmed(self, plan: PlanCallResult, modal: ConfirmCallModal, confirmed: bool | None) -> None:
        if not confirmed:
            self.running = False
            self.sub_title = self._stage()
            if modal.time_passed:
                self._show_plan_state(force=True)
            elif modal.expired:
                self._plan_gone("This plan expired before it was confirmed.")
            else:
                self._say("Not called. The plan is still here: press ctrl+r when you are ready.")
            self.refresh_bindings()
            return
        if plan is not self.plan:
            self.running = False
            self._plan_gone("The plan changed while you were confirming.")
            return
        # The confirmation is spent: this plan can never open another confirmation from here.
        self.plan = None
        self.query_one("#composer-plan").display = False
        self.sub_title = "placing the call"
        self._say("Placing the call…")
        self.run_worker(self._start_run(plan), group="run", exit_on_error=False)

    async def _start_run(self, plan: PlanCallResult) -> None:
        assert plan.plan_id and plan.confirm_token
        try:
            result = await self.worker.run(plan.plan_id, plan.confirm_token)
        except WorkerError as exc:
            self.running = False
            self.sub_title = self._stage()
            self.refresh_bindings()
            if exc.kind in REPLAN_KINDS:
                self._plan_gone(exc.message)
            else:
                if exc.kind == "outcome_unknown":
                    self._remember_unknown(plan.plan_id)
                self._say(self._sentence(exc, "Check the call history before planning it again."), error=True)
            return
        except Exception as exc:
            self.running = False
            self.sub_title = self._stage()
            self.refresh_bindings()
            logging.getLogger("calle_tui.ui").error("the call request failed", exc_info=exc)
            self._remember_unknown(plan.plan_id)
            self._say(
                "The call request failed unexpectedly. It may or may not have "
                "been placed: check the call history before planning it again.",
                error=True,
            )
            return
        self.running = False
        self._reset_after_run()
        details = plan.plan
        record = RunRecord(
            run_id=result.run_id,
            plan_id=plan.plan_id,
            server_url=self.worker.server_url,
            created_at=clock_of(self.app)(),
            to_phones=who_is_called(plan, self._requested)[0],
            goal=(details.goal if details else None) or plan.display_goal,
            status=result.status,
            terminal=False,
            scheduled_at=result.scheduled_at or (details.scheduled_at if details else None),
        )
        self.app.push_screen(MonitorScreen(self.worker, result.run_id, record))

    def _remember_unknown(self, plan_id: str) -> None:
        self._unknown = (plan_id, self._planned_from)
        self._pending_draft = self.draft()  # written now: the app may be closed before anything is typed
        self._flush_draft()

    def _reset_after_run(self) -> None:
        # The run started: only now may the draft go, and no earlier lost attempt waits on this text.
        self._unknown = None
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
        self._pending_draft = None
        if self.drafts is not None:
            try:
                self.drafts.clear()
            except OSError:
                pass
        self.query_one("#composer-request", TextArea).load_text("")
        for spec in self.specs:
            self.query_one(f"#field-{spec.name}", Input).value = ""
        self.questions = []
        self.sub_title = self._stage()
        self.query_one("#composer-request", TextArea).focus()
        self._say("The call has started. Write a new request here when you are ready.")
        self.refresh_bindings()

    def _plan_gone(self, why: str) -> None:
        self.plan = None
        self.query_one("#composer-plan").display = False
        self.sub_title = self._stage()
        self._say(f"{why} Press ctrl+s to plan again: your request is still here.", error=True)
        self.query_one("#composer-request", TextArea).focus()  # the hidden card must not keep the focus
        self.refresh_bindings()

    # --- worker events ------------------------------------------------------------------------------

    @on(WorkerEventMessage)
    def _on_worker_event(self, message: WorkerEventMessage) -> None:
        event = message.event
        if isinstance(event, ToolsListed) and event.plan_call_schema:
            self._apply_schema(event.plan_call_schema)
        elif isinstance(event, RunOutcomeUnknown):
            self._say(event.message, error=True)
        elif isinstance(event, RunStarted) and self._unknown and event.plan_id == self._unknown[0]:
            self._found_started()

    def _apply_schema(self, schema: dict) -> None:
        offered = {spec.name: spec for spec in field_specs(schema)}
        for spec in self.specs:
            row = self.query_one(f"#row-{spec.name}")
            hint = self.query_one(f"#hint-{spec.name}", Static)
            if spec.name in offered:
                row.display = hint.display = True
                hint.update(offered[spec.name].hint)
            elif not self.query_one(f"#field-{spec.name}", Input).value:
                row.display = hint.display = False  # the server does not take it; never hide typed text

    # --- helpers ------------------------------------------------------------------------------------

    def _stage(self) -> str:
        """Where the plan stands, for the header: empty while the user is still writing."""
        state = self._plan_state()
        if state:
            return STAGES[state]
        if self.questions:
            return "details needed"
        return ""

    def _sentence(self, exc: WorkerError, fallback_action: str) -> str:
        return f"{exc.message} {exc.action or fallback_action}".strip()

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#composer-message", Static)
        message.update(text)
        message.set_class(error, "-error")
        message.display = bool(text)
