"""Step-up over real HTTP: a server that needs one more scope for run_call answers 403 insufficient_scope;
the worker signs in again once, asking for the union of the scopes it holds and the one the challenge names,
and the call goes through - placed once. A server that keeps refusing gets a sentence, not a loop."""

from __future__ import annotations

from typing import Any

import pytest
from interop_servers import ThirdPartyCalle

from calle_tui.core.events import SignInNeeded, SignInProgress, ToolsListed
from calle_tui.core.worker_api import PlanRequest, WorkerError


def counting_tools(runs: list[str]) -> dict[str, tuple[Any, bool | None]]:
    def plan_call(user_input: str, to_phones: list[str] | None = None, language: str | None = None,
                  goal: str | None = None, plan_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        return {"plan_id": "pl-s", "ready_to_run": True, "confirm_token": "ct-s", "plan": {"to_phones": to_phones}}

    def run_call(plan_id: str, confirm_token: str) -> dict[str, Any]:
        runs.append(plan_id)
        return {"run_id": "run-s", "status": "queued"}

    def get_call_run(run_id: str, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
        return {"run_id": run_id, "status": "queued", "activity": []}

    return {"plan_call": (plan_call, None), "run_call": (run_call, None), "get_call_run": (get_call_run, None)}


READY = PlanRequest(user_input="Call +14155550123 to book a table", to_phones=("+14155550123",),
                    goal="Book a table for two", language="English")  # fmt: skip


async def signed_in(make_worker, url: str):
    worker, log = make_worker(url)
    await worker.start()
    first = await log.wait_for(lambda e: isinstance(e, ToolsListed | SignInNeeded))
    assert isinstance(first, SignInNeeded), first
    await worker.sign_in("auto-follow")
    await log.wait_kind(ToolsListed)
    return worker, log


async def test_run_needing_more_scope_signs_in_again_once_with_the_union_and_places_one_call(make_worker):
    runs: list[str] = []
    with ThirdPartyCalle(
        counting_tools(runs), required_scopes=["calls.plan"], step_up={"run_call": ["calls.run"]}
    ) as server:
        worker, log = await signed_in(make_worker, server.url)
        assert server.auth.asked_scopes == [["calls.plan"]]
        plan = await worker.plan(READY)  # plan_call needs nothing extra: no second sign-in yet
        assert len(server.auth.asked_scopes) == 1

        run = await worker.run(plan.plan_id, plan.confirm_token)

        assert run.run_id == "run-s"
        # One re-authorisation, asking for what was held plus what the 403 named; the retried request ran.
        assert server.auth.asked_scopes == [["calls.plan"], ["calls.plan", "calls.run"]]
        assert server.guard is not None and server.guard.refused == ["run_call"]
        assert runs == ["pl-s"]  # the refused attempt never reached the tool; the retry placed exactly one
        steps = [e.step for e in log.of(SignInProgress)]
        assert steps.count("done") == 2  # the step-up was reported like a sign-in (the screen can show it)
        await worker.close()


async def test_a_server_that_still_refuses_after_one_step_up_gets_a_sentence_not_a_loop(make_worker):
    runs: list[str] = []
    with ThirdPartyCalle(counting_tools(runs), required_scopes=["calls.plan"], step_up={"run_call": ["calls.run"]},
                         step_up_always=True) as server:  # fmt: skip
        worker, _log = await signed_in(make_worker, server.url)
        plan = await worker.plan(READY)

        with pytest.raises(WorkerError) as info:
            await worker.run(plan.plan_id, plan.confirm_token)

        assert "still refuses this action" in info.value.message
        assert "Error" not in info.value.message and "403" not in info.value.message
        assert len(server.auth.asked_scopes) == 2  # the first sign-in and one step-up, never a third
        assert server.guard is not None and server.guard.refused == ["run_call", "run_call"]
        assert runs == []
        assert (await worker.plan(READY)).ready_to_run  # only that request failed: the session lives on
        await worker.close()
