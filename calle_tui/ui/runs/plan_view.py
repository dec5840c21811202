"""How a plan reads on screen: shared by the composer's plan card and the confirmation modal."""

from __future__ import annotations

import json
from datetime import tzinfo

from rich.text import Text

from calle_tui.core.contract import PlanCallResult, parse_time
from calle_tui.ui.runs.format import format_datetime, format_phone, format_when


def plan_rows(plan: PlanCallResult, tz: tzinfo | None) -> list[tuple[str, str]]:
    details = plan.plan
    rows: list[tuple[str, str]] = []
    phones = details.to_phones if details else []
    rows.append(("To", "\n".join(format_phone(p) for p in phones) if phones else "(no number in the plan)"))
    rows.append(("Why", (details.goal if details else None) or "(no goal in the plan)"))
    if details and details.language:
        rows.append(("Language", details.language))
    if details and details.region:
        rows.append(("Region", details.region))
    rows.append(("When", format_when(details.scheduled_at if details else None, tz)))
    extras = dict(details.extra_fields) if details else {}
    extras.update(plan.extra_fields)
    for key, value in extras.items():  # what a real server adds is shown, not hidden
        rows.append((key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return rows


def plan_text(plan: PlanCallResult, tz: tzinfo | None, *, label_width: int = 9) -> Text:
    text = Text()
    for label, value in plan_rows(plan, tz):
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
