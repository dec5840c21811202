"""The sandbox's brokered sign-in over real HTTP: the CLI's protocol, statuses, expiry, secrets, approval."""

from __future__ import annotations

import httpx2
import pytest

from calle_tui.sandbox.broker import API, SECRET_HEADER, SESSION_LIFETIME
from calle_tui.sandbox.harness import sdk_client


def create(box, **body):
    payload = {"server_url": box.mcp_url, "auth_base_url": box.base_url, "channel": "openagent_oauth",
               "scope": "calls", "client_name": "test", **body}  # fmt: skip
    reply = httpx2.post(box.base_url + API, json=payload, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()


def status(box, session, secret=None):
    return httpx2.get(f"{box.base_url}{API}/{session['session_id']}",
                      headers={SECRET_HEADER: secret or session["session_secret"]}, timeout=10)  # fmt: skip


def exchange(box, session, secret=None):
    return httpx2.post(f"{box.base_url}{API}/{session['session_id']}/exchange",
                       headers={SECRET_HEADER: secret or session["session_secret"]}, timeout=10)  # fmt: skip


def decide(session, decision):
    return httpx2.post(session["login_url"], data={"decision": decision}, timeout=10)


@pytest.fixture
def manual(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock.now, auto_approve=False)


async def test_pending_approved_exchanged_once_and_the_token_opens_the_mcp_endpoint(manual):
    session = create(manual)
    assert session["status"] == "PENDING" and session["poll_after_ms"] >= 500
    assert session["login_url"].startswith(manual.base_url) and session["session_secret"] not in session["login_url"]
    assert status(manual, session).json()["status"] == "PENDING"
    assert exchange(manual, session).status_code == 409  # not approved yet

    page = httpx2.get(session["login_url"], timeout=10)
    assert page.status_code == 200 and "Approve" in page.text and "Deny" in page.text
    assert decide(session, "approve").status_code == 200
    assert status(manual, session).json()["status"] == "AUTHORIZED"

    reply = exchange(manual, session)
    assert reply.status_code == 200
    document = reply.json()
    assert document["token"]["access_token"] and document["expires_at"].endswith("Z")
    assert status(manual, session).json()["status"] == "EXCHANGED"
    second = exchange(manual, session)
    assert second.status_code == 409 and second.json()["status"] == "EXCHANGED"

    # A real sandbox access token: the MCP endpoint accepts it.
    async with sdk_client(manual.mcp_url, provider=_StaticBearer(document["token"]["access_token"])) as session_:
        tools = await session_.list_tools()
    assert {t.name for t in tools.tools} >= {"plan_call", "run_call", "get_call_run"}


class _StaticBearer(httpx2.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def test_denied_session_is_failed_and_cannot_be_exchanged(manual):
    session = create(manual)
    assert "denied" in decide(session, "deny").text
    body = status(manual, session).json()
    assert body["status"] == "FAILED" and body["error_message"]
    assert exchange(manual, session).status_code == 409
    assert decide(session, "approve").status_code == 410  # one decision per session


def test_session_expires_on_the_sandbox_clock_with_410(manual, fake_clock):
    session = create(manual)
    fake_clock.advance(SESSION_LIFETIME - 1)
    assert status(manual, session).json()["status"] == "PENDING"
    fake_clock.advance(2)
    gone = status(manual, session)
    assert gone.status_code == 410 and gone.json()["status"] == "EXPIRED"
    assert exchange(manual, session).status_code == 410
    assert httpx2.get(session["login_url"], timeout=10).status_code == 410


def test_wrong_secret_gets_403_and_learns_nothing(manual):
    session = create(manual)
    reply = status(manual, session, secret="not-the-secret")
    assert reply.status_code == 403 and "status" not in reply.json()
    assert exchange(manual, session, secret="not-the-secret").status_code == 403
    assert httpx2.get(f"{manual.base_url}{API}/nope", headers={SECRET_HEADER: "x"}, timeout=10).status_code == 404


def test_auto_approve_authorizes_at_once(sandbox):
    session = create(sandbox)
    assert session["status"] == "AUTHORIZED"
    assert exchange(sandbox, session).status_code == 200


def test_a_session_for_another_server_is_refused(manual):
    reply = httpx2.post(manual.base_url + API, json={"server_url": "https://elsewhere.example/mcp"}, timeout=10)
    assert reply.status_code == 400


def test_the_brokered_refresh_token_cannot_be_used(sandbox):
    """As production: the broker registers no client for the caller, so its refresh token is refused."""
    document = exchange(sandbox, create(sandbox)).json()
    refresh = document["token"].get("refresh_token")
    assert refresh
    reply = httpx2.post(sandbox.base_url + "/token", data={"grant_type": "refresh_token", "refresh_token": refresh,
                                                           "client_id": "openagent-broker"}, timeout=10)  # fmt: skip
    assert reply.status_code in (400, 401)


def test_sessions_survive_a_sandbox_restart(manual):
    session = create(manual)
    manual.restart()
    assert status(manual, session).json()["status"] == "PENDING"
