"""CALL-E's missing-detail questions and the answers typed to them: shared by the composer and the batch
screen, so a question is asked, and its answer sent, the same way wherever it appears.

What a plan asks: its `missing` questions; a plan that is not ready and asks nothing gets CALL-E's own
words (its message, else its next_step prose) as the one prompt, and a generic line only when it said
nothing at all. What an answer sends: the answers verbatim in `user_input`, with the plan id to refine;
an answer also fills the matching structured field only when it has that field's form (it was typed into
that question's box), never by guessing. Without a plan id the original request is planned afresh with the
answers after it, so nothing the user said is lost.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Any

from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from calle_tui.core.wire.contract import MissingField, PlanCallResult
from calle_tui.core.wire.wording import field_words
from calle_tui.core.worker_api import PlanRequest
from calle_tui.ui.runs.app_context import settle_blink
from calle_tui.ui.runs.fields import FIELD_ORDER, FieldValueError, parse_field

GENERIC_PROMPT = "The plan is not ready. Add more detail."  # only when CALL-E said nothing at all


def questions_of(result: PlanCallResult) -> tuple[list[MissingField], bool]:
    """(the questions to show, whether CALL-E asked them itself). Empty when the plan is ready."""
    ready = result.ready_to_run and bool(result.plan_id) and bool(result.confirm_token)
    if ready:
        return [], False
    questions = list(result.missing)
    if questions:
        return questions, True
    said = result.message or (result.next_step.message if result.next_step else None) or ""
    return [MissingField(field="", question=said or GENERIC_PROMPT)], False


def question_widgets(
    questions: Sequence[MissingField], round_: int, *, notes: Sequence[str] = (), send_label: str = "Send answers (ctrl+s)"
) -> list[Widget]:
    """A label and an answer box per question (ids `answer-{round_}-{i}`), then a real stop to send them."""
    widgets: list[Widget] = [Static("Unread: " + "; ".join(notes), classes="question-notes")] if notes else []
    for index, question in enumerate(questions):
        widgets.append(Label(question.question, classes="question"))
        hint = f"your answer ({field_words(question.field)})" if question.field else "your answer"
        widgets.append(settle_blink(Input(placeholder=hint, id=f"answer-{round_}-{index}", classes="answer", compact=True)))
    # A real stop after the answers: Tab moves on in reading order, and mouse users can send them too.
    widgets.append(Button(send_label, id=f"answers-send-{round_}", classes="answers-send", variant="primary", compact=True))
    return widgets


def answer_values(answers: Sequence[tuple[MissingField, str]], known: Collection[str] = FIELD_ORDER) -> dict[str, Any]:
    """The structured fields the answers fill: only an answer typed into that field's question, in its form."""
    values: dict[str, Any] = {}
    for question, value in answers:
        # The answer fills the matching field only because the user typed it into that question's box;
        # if it does not fit the field's form it still goes, verbatim, in user_input for the server.
        if question.field in known:
            try:
                values[question.field] = parse_field(question.field, value)
            except FieldValueError:
                pass
    return values


def answered_request(
    answers: Sequence[tuple[MissingField, str]],
    *,
    plan_id: str | None,
    base: PlanRequest | None,
    known: Collection[str] = FIELD_ORDER,
    carry: dict[str, Any] | None = None,
) -> PlanRequest:
    """The plan_call request that sends these answers (each non-empty, as typed).

    `base` is the request planned before: used whole (answers appended) when there is no plan id to refine.
    `carry` holds what must travel with every plan_call of this request, e.g. a batch line's metadata.
    """
    values = answer_values(answers, known)
    user_input = "\n".join(value for _, value in answers)
    extra = dict(carry or {})
    if plan_id is None and base is not None:
        return replace(base, user_input=f"{base.user_input}\n{user_input}", **values, **extra)
    return PlanRequest(user_input=user_input, plan_id=plan_id, **values, **extra)
