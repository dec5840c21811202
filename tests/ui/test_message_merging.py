"""Queued worker events merge the same way for screens (bridge) and for the app (AppWorkerEvent)."""

from __future__ import annotations

import pytest

from calle_tui.core.events import ConnectionChanged, RunUpdate
from calle_tui.ui.bridge import WorkerEventMessage
from calle_tui.ui.messages import AppWorkerEvent

ACTIVITY = (object(),)  # only its presence matters here


def update(run_id: str = "r1", activity: tuple = ()) -> RunUpdate:
    return RunUpdate(run_id=run_id, status="ringing", poll_state="polling", new_activity=activity)  # type: ignore[arg-type]


@pytest.mark.parametrize("message_class", [WorkerEventMessage, AppWorkerEvent])
def test_status_only_update_gives_way_to_a_newer_one_for_the_same_run(message_class) -> None:
    # Textual asks the OLDER queued message whether the NEWER one may replace it.
    assert message_class(update()).can_replace(message_class(update(activity=ACTIVITY)))
    assert message_class(update()).can_replace(message_class(update()))


@pytest.mark.parametrize("message_class", [WorkerEventMessage, AppWorkerEvent])
def test_an_update_with_a_page_is_never_merged_away_by_a_countdown(message_class) -> None:
    # The follower emits a page (no new entries, but a summary and next_step) and then a countdown without a
    # page: dropping the page would leave the outcome panel stale.
    page = RunUpdate(run_id="r1", status="in_progress", poll_state="polling", result=object())  # type: ignore[arg-type]
    countdown = RunUpdate(run_id="r1", status="in_progress", poll_state="waiting", next_poll_at=5.0)
    assert not message_class(page).can_replace(message_class(countdown))
    assert message_class(countdown).can_replace(message_class(page))


@pytest.mark.parametrize("message_class", [WorkerEventMessage, AppWorkerEvent])
def test_an_update_with_activity_or_for_another_run_is_kept(message_class) -> None:
    assert not message_class(update(activity=ACTIVITY)).can_replace(message_class(update()))
    assert not message_class(update("r1")).can_replace(message_class(update("r2")))
    connection = ConnectionChanged(state="connected", server_url="http://127.0.0.1:1/mcp")
    assert not message_class(update()).can_replace(message_class(connection))
    assert not message_class(connection).can_replace(message_class(update()))
