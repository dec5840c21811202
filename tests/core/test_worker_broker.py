"""The worker's brokered sign-in and CALL-E CLI reuse, against the sandbox over real HTTP."""

from __future__ import annotations

import hashlib
import json

import pytest

from calle_tui.core.events import BrokerSignInEnded, BrokerSignInPending, SignedIn, SignInNeeded, ToolsListed
from calle_tui.core.support.clock import SystemClock
from calle_tui.core.worker_api import WorkerError


async def test_brokered_sign_in_connects_and_shows_only_the_link(sandbox_factory, make_worker):
    sandbox = sandbox_factory(auto_approve=True, secret_prefix="CANARY")
    worker, log = make_worker(sandbox.mcp_url, clock=SystemClock())
    await worker.start()
    await log.wait_kind(SignInNeeded)
    assert await worker.broker_offered()
    await worker.sign_in_brokered()
    pending = log.of(BrokerSignInPending)[0]
    assert pending.login_url.startswith(sandbox.base_url) and 0.5 <= pending.poll_seconds <= 10
    assert log.of(SignedIn) and log.of(ToolsListed)
    assert worker.auth_status().signed_in
    assert "CANARY" not in repr(log.events)  # no session secret (nor token) in any event


async def test_a_denied_brokered_sign_in_is_a_sentence(sandbox_factory, make_worker):
    box = sandbox_factory(auto_approve=False)
    worker, log = make_worker(box.mcp_url, clock=SystemClock())
    await worker.start()
    await log.wait_kind(SignInNeeded)
    rows = []

    def deny(event):
        if isinstance(event, BrokerSignInPending):
            import httpx2

            rows.append(httpx2.post(event.login_url, data={"decision": "deny"}, timeout=10).status_code)

    worker.subscribe(deny)
    with pytest.raises(WorkerError) as ended:
        await worker.sign_in_brokered()
    assert ended.value.kind == "failed" and rows == [200]
    assert log.of(BrokerSignInEnded)[0].kind == "failed"


async def test_the_cli_sign_in_is_peeked_then_used_when_asked(sandbox, make_worker, tmp_path, monkeypatch):
    # A token the CLI would hold: get a real one through the broker, as `calle auth login` would.
    import httpx2

    session = httpx2.post(sandbox.base_url + "/api/v1/openagent-auth/sessions",
                          json={"server_url": sandbox.mcp_url}, timeout=10).json()  # fmt: skip
    document = httpx2.post(
        f"{sandbox.base_url}/api/v1/openagent-auth/sessions/{session['session_id']}/exchange",
        headers={"x-openagent-session-secret": session["session_secret"]},
        timeout=10,
    ).json()
    folder = tmp_path / "cli" / hashlib.md5(sandbox.mcp_url.encode()).hexdigest()
    folder.mkdir(parents=True)
    (folder / "token.json").write_text(json.dumps(document))
    monkeypatch.setenv("CALLE_MCP_CACHE_ROOT", str(tmp_path / "cli"))

    worker, log = make_worker(sandbox.mcp_url, clock=SystemClock())
    await worker.start()
    await log.wait_kind(SignInNeeded)
    assert worker.cli_sign_in().state == "usable" and not worker.auth_status().signed_in
    await worker.use_cli_sign_in()
    assert log.of(SignedIn) and worker.auth_status().signed_in


async def test_a_sign_in_that_cannot_renew_itself_asks_for_a_new_one_five_minutes_before_it_ends(
    sandbox_factory, make_worker
):
    from calle_tui.core.events import SignInEnding

    sandbox = sandbox_factory(auto_approve=True)
    sandbox.config.faults.token_lifetime = 302  # the warning is due 2 s after signing in
    worker, log = make_worker(sandbox.mcp_url, clock=SystemClock())
    await worker.start()
    await log.wait_kind(SignInNeeded)
    await worker.sign_in_brokered()  # the broker gives tokens but no client registration: no refresh
    signed = worker.auth_status()
    assert signed.signed_in and signed.expires_at is not None
    ending = await log.wait_kind(SignInEnding)
    assert ending.expires_at == signed.expires_at
    assert "cannot renew itself" in ending.reason and "Sign in again" in ending.reason
    assert worker.auth_status().signed_in  # still signed in meanwhile: nothing was cut off
    assert not [e for e in log.events if isinstance(e, SignInNeeded) and e is not log.of(SignInNeeded)[0]]
