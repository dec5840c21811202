"""How a plan reads on screen: shared by the composer's plan card and the confirmation modal.

Who is called comes first, always: the plan's numbers when the server echoes them, else the numbers the
user gave (a field, or written with a + country code in the request), marked as such, beside CALL-E's own
sentence verbatim. When the server's own words name a number the user did not give, the card says so.
"""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from typing import NamedTuple

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.app import RenderResult as WidgetRenderResult
from textual.widgets import Static

from calle_tui.core.support.phones import number_extension, numbers_in_text
from calle_tui.core.wire.contract import PlanCallResult, parse_time
from calle_tui.ui.runs.format import format_datetime, format_phone, format_when, short_phone

FROM_REQUEST = "(from your request: the server did not repeat it)"
FROM_WORDS = "(named in CALL-E's sentence below; not in the plan)"


class Callee(NamedTuple):
    numbers: tuple[str, ...]
    source: str  # "plan" (the server echoed them), "request" (the user gave them), "words" (CALL-E's sentence), ""


def _servers_words(plan: PlanCallResult) -> str:
    return " ".join(t for t in (plan.confirm_summary, plan.message) if t)


def who_is_called(plan: PlanCallResult, requested: tuple[str, ...] = ()) -> Callee:
    """The plan's numbers when the server echoes them, else the ones the user gave (in a field, or written
    with a + country code in the request), else the numbers CALL-E's own sentence names (confirm_summary or
    message, written with a + country code). Production may not echo the plan. Nothing is ever guessed."""
    echoed = tuple(plan.plan.to_phones) if plan.plan and plan.plan.to_phones else ()
    if echoed:
        return Callee(echoed, "plan")
    if requested:
        return Callee(tuple(requested), "request")
    named = numbers_in_text(_servers_words(plan))
    return Callee(named, "words" if named else "")


def numbers_the_server_named(plan: PlanCallResult, known: tuple[str, ...]) -> tuple[str, ...]:
    """Numbers (written with a + country code) in CALL-E's own sentences that are not among `known`: a
    mismatch the user must see before confirming. Compared in E.164 form, never completed or guessed."""
    mine = set(numbers_in_text(" ".join(known))) | set(known)
    said = " ".join(t for t in (_servers_words(plan), plan.display_goal) if t)
    return tuple(n for n in numbers_in_text(said) if n not in mine)


def plan_rows(
    plan: PlanCallResult,
    tz: tzinfo | None,
    requested: tuple[str, ...] = (),
    *,
    with_message: bool = True,
    now: float | None = None,
    extensions: tuple[tuple[str, str], ...] = (),
) -> list[tuple[str, str]]:
    details = plan.plan
    rows: list[tuple[str, str]] = []
    phones, source = who_is_called(plan, requested)
    if phones:
        shown = "\n".join(format_phone(p) for p in phones)
        rows.append(("To", shown + {"request": f"\n{FROM_REQUEST}", "words": f"\n{FROM_WORDS}"}.get(source, "")))
    else:
        rows.append(("To", "(no number in the plan, in your request or in CALL-E's words)"))
    for number, ext in extensions:  # E.164 has no extension: say what the dialled number leaves out
        if number in phones and not any(number_extension(p) == ext for p in phones):
            rows.append(
                (
                    "Extension",
                    f"⚠ Your request says ext {ext} for {short_phone(number)}; the number dialled has none (CALL-E dials the number only). Your words go to CALL-E as you wrote them.",
                )
            )
    other = numbers_the_server_named(plan, phones)
    if other:
        names = ", ".join(format_phone(n) for n in other)
        rows.append(("Check", f"⚠ CALL-E's words name {names}, which is not the number above."))
    unplanned = tuple(n for n in requested if n not in phones) if source == "plan" else ()
    if unplanned:
        names = ", ".join(format_phone(n) for n in unplanned)
        rows.append(("Check", f"⚠ Your request named {names}, which the plan does not call."))
    if plan.confirm_summary:
        rows.append(("CALL-E", plan.confirm_summary))  # the server's own sentence, verbatim
    goal = details.goal if details else None
    if goal or not plan.display_goal:
        rows.append(("Why", goal or "(no goal in the plan)"))
    if plan.display_goal:
        rows.append(("Call script", plan.display_goal))  # the call script after CALL-E's planner rewrote it
    if details and details.language:
        rows.append(("Language", details.language))
    if details and details.region:
        rows.append(("Region", details.region))
    when = plan_when(plan, tz)
    if now is not None and schedule_passed(plan, now):
        when = f"{when}\n⚠ {TIME_PASSED[0].upper()}{TIME_PASSED[1:]}. Plan again with a new time."
    rows.append(("When", when))
    if with_message and plan.message and plan.message != plan.confirm_summary:
        rows.append(("Message", plan.message))
    if plan.notes:
        rows.append(("Unread", "\n".join(plan.notes)))
    extras = dict(details.extra_fields) if details else {}
    extras.update(plan.extra_fields)
    for key, value in extras.items():  # what a real server adds is shown, not hidden (secrets never reach here)
        rows.append((key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return rows


def plan_when(plan: PlanCallResult, tz: tzinfo | None) -> str:
    """The plan's time. Absent from an echoed plan it means as soon as confirmed; but a server that echoes no
    fields at all (production may not) or sent a time we cannot read has not said that, so neither do we."""
    if any(note.startswith("scheduled_at:") for note in plan.notes):
        return "(CALL-E sent a time calle-tui cannot read: see Unread below)"
    if plan.plan is None:
        return "(not in the plan's fields: see CALL-E's words)"
    return format_when(plan.plan.scheduled_at, tz)


def _all_rows(
    plan: PlanCallResult,
    tz: tzinfo | None,
    requested: tuple[str, ...],
    with_message: bool,
    now: float | None = None,
    extensions: tuple[tuple[str, str], ...] = (),
) -> list[tuple[str, Text]]:
    rows = [
        (label, Text(value, style="bold" if label == "Check" or "⚠" in value else ""))
        for label, value in plan_rows(plan, tz, requested, with_message=with_message, now=now, extensions=extensions)
    ]
    expires = plan_expiry(plan)
    if expires is not None:
        rows.append(("Expires", Text(format_datetime(expires, tz), style="dim")))
    return rows


class PlanSheet:
    """The plan as a two-column sheet: labels on the left, values wrapping under themselves (a Rich
    renderable). str() is the same sheet as plain text, for tests and anything that wants the words."""

    def __init__(self, rows: list[tuple[str, Text]], label_width: int = 11) -> None:
        self.rows = rows
        self.label_width = label_width

    def _table(self) -> Table:
        grid = Table.grid(padding=(0, 2, 0, 0))
        grid.add_column(justify="left", style="bold", width=self.label_width, no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        for label, value in self.rows:
            grid.add_row(label, value)
        return grid

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._table()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.label_width + 3, options.max_width)

    def __str__(self) -> str:
        lines = []
        for label, value in self.rows:
            first, *more = value.plain.split("\n")
            lines.append(f"{label:<{self.label_width}}  {first}")
            lines.extend(" " * (self.label_width + 2) + line for line in more)
        return "\n".join(lines)


class PlanCard(Static):
    """A Static that shows a PlanSheet; render() hands the sheet itself back, so str(render()) is its words."""

    _sheet: PlanSheet | None = None

    def show(self, sheet: PlanSheet) -> None:
        self._sheet = sheet
        self.refresh(layout=True)

    def render(self) -> WidgetRenderResult:
        return self._sheet if self._sheet is not None else super().render()


def plan_sheet(
    plan: PlanCallResult,
    tz: tzinfo | None,
    *,
    requested: tuple[str, ...] = (),
    with_message: bool = True,
    now: float | None = None,
    extensions: tuple[tuple[str, str], ...] = (),
) -> PlanSheet:
    """`now` (when given) marks a scheduled time that has passed; `extensions` are the (number, extension)
    pairs the user wrote, shown when the dialled number leaves them out."""
    return PlanSheet(_all_rows(plan, tz, requested, with_message, now, extensions))


def plan_expiry(plan: PlanCallResult) -> datetime | None:
    """When the plan can no longer be confirmed: the earlier of the plan's expiry and its confirmation's
    (production sends both, about 24 h apart at most); None when the server said neither readably."""
    times = [t for t in (parse_time(plan.expires_at), parse_time(plan.confirm_expires_at)) if t is not None]
    return min(times) if times else None


def plan_expired(plan: PlanCallResult, now: float) -> bool:
    expires = plan_expiry(plan)
    return expires is not None and expires.timestamp() <= now


TIME_PASSED = "this time has passed: the call would start now"


def schedule_passed(plan: PlanCallResult, now: float) -> bool:
    """True when the plan was for a time that is now behind us. Confirming it would start the call at once,
    which is not what the user planned: they must plan again (the new time is theirs to say, never ours)."""
    moment = parse_time(plan.plan.scheduled_at) if plan.plan and plan.plan.scheduled_at else None
    return moment is not None and moment.timestamp() <= now
