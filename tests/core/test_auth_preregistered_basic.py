"""A pre-registered client with a secret, at a server whose metadata lists only client_secret_basic for the
token endpoint (the conformance suite's auth/pre-registration): the token request authenticates with HTTP
Basic, so the sign-in works - over real HTTP, with the SDK's own token endpoint checking it."""

from __future__ import annotations

import time
from typing import Any

from interop_servers import SCOPES, ThirdPartyCalle
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import AnyUrl

from calle_tui.core.events import SignInNeeded, ToolsListed


def plan_call(user_input: str) -> dict[str, Any]:
    return {"plan_id": "p", "ready_to_run": False}


def run_call(plan_id: str, confirm_token: str) -> dict[str, Any]:
    return {"run_id": "r", "status": "queued"}


def get_call_run(run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "status": "queued"}


TOOLS = {"plan_call": (plan_call, True), "run_call": (run_call, True), "get_call_run": (get_call_run, True)}


async def test_a_preregistered_client_uses_basic_auth_when_the_server_lists_only_that(make_worker):
    with ThirdPartyCalle(TOOLS, registration=False, token_auth_methods=["client_secret_basic"]) as server:
        server.auth.clients["pre-registered"] = OAuthClientInformationFull(
            client_id="pre-registered",
            client_secret="pre-registered-secret",
            client_id_issued_at=int(time.time()),
            redirect_uris=[AnyUrl("http://127.0.0.1:8976/callback")],
            token_endpoint_auth_method="client_secret_basic",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope=" ".join(SCOPES),
        )
        worker, log = make_worker(server.url, client_id="pre-registered", client_secret="pre-registered-secret")
        await worker.start()
        assert isinstance(await log.wait_for(lambda e: isinstance(e, ToolsListed | SignInNeeded)), SignInNeeded)

        await worker.sign_in("auto-follow")

        await log.wait_kind(ToolsListed)
        assert not [c for c in server.auth.clients if c != "pre-registered"]  # used as given, none registered
        await worker.close()
