"""CalleWorker against CALL-E look-alikes that are not our sandbox (see interop_servers.py): the authorization
server on another origin with a path in its issuer, scopes the resource server requires, the MCP endpoint on
another path, and answers that differ from our contract. The worker must sign in, plan, run and follow,
keep unknown fields, survive missing optional ones, and show text-only answers as text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from interop_servers import SCOPES, LegacyCalle, ThirdPartyCalle

from calle_tui.core.events import PlanResult, RunFinished, SignInNeeded, ToolsListed
from calle_tui.core.worker_api import PlanRequest, WorkerError

pytestmark = pytest.mark.slow  # whole calls through the worker against look-alike servers over HTTP


async def signed_in(make_worker, url: str, **settings: Any):
    worker, log = make_worker(url, **settings)
    await worker.start()
    first = await log.wait_for(lambda e: isinstance(e, ToolsListed | SignInNeeded))
    assert isinstance(first, SignInNeeded), first
    await worker.sign_in("auto-follow")
    await log.wait_kind(ToolsListed)
    return worker, log


def ready_request() -> PlanRequest:
    return PlanRequest(user_input="Call +14155550123 to book a table", to_phones=("+14155550123",),
                       goal="Book a table for two", language="English")  # fmt: skip


# --- answers with extra fields and without optional ones -------------------------------------------------


def vendor_tools() -> dict[str, tuple[Any, bool | None]]:
    def plan_call(user_input: str, to_phones: list[str] | None = None, region: str | None = None,
                  language: str | None = None, goal: str | None = None, scheduled_at: str | None = None,
                  plan_id: str | None = None, ttl_seconds: int | None = None) -> dict[str, Any]:  # fmt: skip
        if not to_phones:  # no message, no plan, no next_step; unknown fields at every level
            return {"plan_id": "pl-1", "ready_to_run": False, "vendor_trace": "t-77",
                    "missing": [{"field": "to_phones", "question": "Who should I call?", "hint": "E.164"}]}  # fmt: skip
        return {"plan_id": "pl-2", "ready_to_run": True, "confirm_token": "ct-2", "cost_estimate": {"usd": 0.12},
                "plan": {"to_phones": to_phones, "voice": "alloy"}}  # fmt: skip

    def run_call(plan_id: str, confirm_token: str, ttl_seconds: int | None = None) -> dict[str, Any]:
        assert (plan_id, confirm_token) == ("pl-2", "ct-2")
        return {"run_id": "run-9", "status": "dialing", "eta_seconds": 3}  # no next_step

    def get_call_run(run_id: str, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
        # No `terminal`, no next_cursor, no transcript; an entry with only the required id.
        return {"run_id": run_id, "status": "completed", "summary": "Booked for 7 pm.", "recording_url": "https://x/r",
                "activity": [{"id": "a1", "text": "Dialing", "channel": "pstn"}, {"id": "a2"}]}  # fmt: skip

    return {"plan_call": (plan_call, None), "run_call": (run_call, None), "get_call_run": (get_call_run, None)}


async def test_sign_in_across_origins_with_required_scopes_then_plan_run_follow(make_worker, manual_clock):
    with ThirdPartyCalle(vendor_tools()) as server:
        worker, log = await signed_in(make_worker, server.url)
        # The SDK's sign-in found the other origin's issuer (path and all) and asked for the required scopes.
        assert server.auth.asked_scopes[-1] == SCOPES
        assert server.auth.asked_resources[-1] == server.url
        assert worker.tools.server_name == "third-party-calle"

        asked = await worker.plan(PlanRequest(user_input="call the restaurant"))
        assert not asked.ready_to_run and asked.missing[0].question == "Who should I call?"
        assert asked.extra_fields["vendor_trace"] == "t-77" and asked.missing[0].extra_fields["hint"] == "E.164"
        assert asked.plan is None and asked.next_step is None and asked.message == ""

        plan = await worker.plan(ready_request())
        assert plan.ready_to_run and plan.extra_fields["cost_estimate"] == {"usd": 0.12}
        run = await worker.run(plan.plan_id, plan.confirm_token)
        assert run.run_id == "run-9" and run.extra_fields["eta_seconds"] == 3
        manual_clock.advance(120)  # past the first-poll wait (no next_step: the seed's ~60 s)
        finished = await log.wait_kind(RunFinished)
        assert finished.status == "completed" and finished.result.summary == "Booked for 7 pm."
        assert finished.result.extra_fields["recording_url"] == "https://x/r"
        assert [e.id for e in worker.run_entries("run-9")] == ["a1", "a2"]
        await worker.close()  # before the server stops: no open stream to wait out


# --- text-only answers ---------------------------------------------------------------------------------

QUESTION = "Which number should I call, and what should I say?"


def prose_tools(structured: bool | None) -> dict[str, tuple[Any, bool | None]]:
    """structured=False: text content only, no outputSchema, no structuredContent.
    structured=None: a `-> str` tool, which the SDK answers as {"result": "<text>"} under a wrapper schema."""

    def plan_call(user_input: str, to_phones: list[str] | None = None, language: str | None = None,
                  goal: str | None = None, plan_id: str | None = None) -> str:  # fmt: skip
        if not to_phones:
            return QUESTION
        return json.dumps({"plan_id": "pl-t", "ready_to_run": True, "confirm_token": "ct-t", "message": "Ready."})

    def run_call(plan_id: str, confirm_token: str) -> str:
        return json.dumps({"run_id": "run-t", "status": "queued"})

    def get_call_run(run_id: str, cursor: str | None = None, limit: int | None = None) -> str:
        return json.dumps({"run_id": run_id, "status": "busy", "terminal": True, "activity": []})

    return {"plan_call": (plan_call, structured), "run_call": (run_call, structured),
            "get_call_run": (get_call_run, structured)}  # fmt: skip


@pytest.mark.parametrize("structured", [False, None], ids=["text-only", "result-wrapper"])
async def test_text_answers_are_shown_as_text_and_json_text_is_read(make_worker, manual_clock, structured):
    with ThirdPartyCalle(prose_tools(structured)) as server:
        worker, log = await signed_in(make_worker, server.url)
        asked = await worker.plan(PlanRequest(user_input="call them"))
        assert not asked.ready_to_run and asked.message == QUESTION
        assert log.of(PlanResult)[-1].result.message == QUESTION

        plan = await worker.plan(ready_request())  # JSON in the text: read as the contract's fields
        assert plan.ready_to_run and plan.confirm_token == "ct-t" and plan.message == "Ready."
        run = await worker.run(plan.plan_id, plan.confirm_token)
        assert run.run_id == "run-t"
        manual_clock.advance(120)
        finished = await log.wait_kind(RunFinished)
        assert finished.status == "busy"
        await worker.close()  # before the server stops: no open stream to wait out


async def test_a_prose_run_call_answer_is_outcome_unknown_not_a_crash(make_worker):
    tools = prose_tools(False)

    def run_call(plan_id: str, confirm_token: str) -> str:
        return "Your call is on its way!"

    tools["run_call"] = (run_call, False)
    with ThirdPartyCalle(tools) as server:
        worker, _ = await signed_in(make_worker, server.url)
        plan = await worker.plan(ready_request())
        with pytest.raises(WorkerError) as caught:
            await worker.run(plan.plan_id, plan.confirm_token)
        # We cannot read a run_id: the call may have started, so never resend; say so.
        assert caught.value.kind == "outcome_unknown"
        with pytest.raises(WorkerError, match="already"):
            await worker.run(plan.plan_id, plan.confirm_token)
        await worker.close()  # before the server stops: no open stream to wait out


# --- other shapes, and a server configured the pre-RFC 9728 way -------------------------------------------


def shaped_tools() -> dict[str, tuple[Any, bool | None]]:
    def plan_call(user_input: str, to_phones: list[str] | None = None, language: str | None = None,
                  goal: str | None = None, plan_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        if not to_phones:  # names instead of questions, and next_step as a bare word
            return {"plan_id": "pl-s", "ready_to_run": False, "missing": ["to_phones", "goal"], "next_step": "ask_user"}
        return {"plan_id": "pl-s", "ready_to_run": True, "confirm_token": "ct-s", "plan": {"to_phones": to_phones[0]}}

    def run_call(plan_id: str, confirm_token: str) -> dict[str, Any]:
        return {"run_id": "run-s", "status": "queued", "next_step": "poll"}

    def get_call_run(run_id: str, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
        return {"run_id": run_id, "status": "no_answer", "activity": [], "next_step": "done"}

    return {"plan_call": (plan_call, None), "run_call": (run_call, None), "get_call_run": (get_call_run, None)}


async def test_legacy_server_without_resource_metadata_and_other_shapes(make_worker, manual_clock):
    with LegacyCalle(shaped_tools()) as server:
        worker, log = await signed_in(make_worker, server.url)
        assert server.auth.tokens  # signed in through the origin's own authorization server metadata
        asked = await worker.plan(PlanRequest(user_input="call them"))
        assert [(m.field, m.question) for m in asked.missing] == [("to_phones", "Missing: phone number."),
                                                                   ("goal", "Missing: goal.")]  # fmt: skip
        assert asked.next_step.action == "ask_user"
        plan = await worker.plan(ready_request())
        assert plan.ready_to_run and plan.plan.to_phones == ["+14155550123"]
        run = await worker.run(plan.plan_id, plan.confirm_token)
        manual_clock.advance(120)
        finished = await log.wait_kind(RunFinished)
        assert run.run_id == "run-s" and finished.status == "no_answer"
        await worker.close()  # before the server stops: no open stream to wait out


@pytest.mark.parametrize(
    "variant", [{"json_response": True}, {"stateless_http": True}, {"oidc": True}], ids=["json", "stateless", "oidc"]
)
async def test_json_responses_stateless_servers_and_oidc_discovery(make_worker, manual_clock, variant):
    with ThirdPartyCalle(vendor_tools(), **variant) as server:
        worker, log = await signed_in(make_worker, server.url)
        plan = await worker.plan(ready_request())
        run = await worker.run(plan.plan_id, plan.confirm_token)
        manual_clock.advance(120)
        assert run.run_id == "run-9" and (await log.wait_kind(RunFinished)).status == "completed"
        await worker.close()  # before the server stops: no open stream to wait out


async def test_no_dynamic_registration_needs_a_preregistered_client(make_worker):
    from mcp.shared.auth import OAuthClientInformationFull

    with ThirdPartyCalle(vendor_tools(), registration=False) as server:
        # Without a client id there is no way in: a clear sentence, not a traceback.
        worker, _ = make_worker(server.url)
        await worker.start()
        with pytest.raises(WorkerError) as caught:
            await worker.sign_in("auto-follow")
        assert "did not register this app" in str(caught.value)
        await worker.close()

        server.auth.clients["calle-tui-prereg"] = OAuthClientInformationFull(
            client_id="calle-tui-prereg", redirect_uris=["http://127.0.0.1:8976/callback"],
            token_endpoint_auth_method="none", grant_types=["authorization_code", "refresh_token"],
            response_types=["code"], scope=" ".join(SCOPES),
        )  # fmt: skip
        worker, _log = await signed_in(make_worker, server.url, client_id="calle-tui-prereg")
        assert (await worker.plan(PlanRequest(user_input="call the restaurant"))).missing
        await worker.close()  # before the server stops: no open stream to wait out
