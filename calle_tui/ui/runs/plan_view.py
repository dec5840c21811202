"""How a plan reads on screen: shared by the composer's plan card and the confirmation modal."""

from __future__ import annotations

import json
from datetime import tzinfo

from rich.text import Text

from calle_tui.core.contract import PlanCallResult, parse_time
from calle_tui.ui.runs.format import format_datetime, format_phone, format_when


def who_is_called(plan: PlanCallResult, requested: tuple[str, ...] = ()) -> tuple[tuple[str, ...], bool]:
    """(numbers, from_request): the plan's numbers when the server echoes them, else the ones the user gave
    (in a field, or written with a + country code in the request). Production may not echo the plan."""
    echoed = tuple(plan.plan.to_phones) if plan.plan and plan.plan.to_phones else ()
    if echoed:
        return echoed, False
    return tuple(requested), bool(requested)


def plan_rows(
    plan: PlanCallResult, tz: tzinfo | None, requested: tuple[str, ...] = (), *, with_message: bool = True
) -> list[tuple[str, str]]:
    details = plan.plan
    rows: list[tuple[str, str]] = []
    phones, from_request = who_is_called(plan, requested)
    if phones:
        shown = "\n".join(format_phone(p) for p in phones)
        rows.append(("To", shown + ("\n(from your request: the server did not repeat it)" if from_request else "")))
    else:
        rows.append(("To", "(no number in the plan or in your request)"))
    if plan.confirm_summary:
        rows.append(("CALL-E", plan.confirm_summary))  # the server's own sentence, verbatim
    goal = details.goal if details else None
    if goal or not plan.display_goal:
        rows.append(("Why", goal or "(no goal in the plan)"))
    if plan.display_goal:
        rows.append(("Script", plan.display_goal))
    if details and details.language:
        rows.append(("Language", details.language))
    if details and details.region:
        rows.append(("Region", details.region))
    rows.append(("When", format_when(details.scheduled_at if details else None, tz)))
    if with_message and plan.message and plan.message != plan.confirm_summary:
        rows.append(("Message", plan.message))
    if plan.notes:
        rows.append(("Unread", "; ".join(plan.notes)))
    extras = dict(details.extra_fields) if details else {}
    extras.update(plan.extra_fields)
    for key, value in extras.items():  # what a real server adds is shown, not hidden (secrets never reach here)
        rows.append((key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return rows


def plan_text(
    plan: PlanCallResult,
    tz: tzinfo | None,
    *,
    requested: tuple[str, ...] = (),
    with_message: bool = True,
    label_width: int = 9,
) -> Text:
    text = Text()
    for label, value in plan_rows(plan, tz, requested, with_message=with_message):
        lines = value.split("\n")
        text.append(f"{label:>{label_width}}  ", style="bold")
        text.append(lines[0] + "\n")
        for more in lines[1:]:
            text.append(" " * (label_width + 2) + more + "\n")
    expires = parse_time(plan.expires_at)
    if expires is not None:
        text.append(f"{'Expires':>{label_width}}  ", style="bold")
        text.append(format_datetime(expires, tz) + "\n", style="dim")
    text.rstrip()
    return text


def plan_expired(plan: PlanCallResult, now: float) -> bool:
    expires = parse_time(plan.expires_at)
    return expires is not None and expires.timestamp() <= now
