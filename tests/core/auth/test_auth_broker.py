"""The core broker client against the sandbox's broker over real HTTP, on one fake clock (no real sleeps)."""

from __future__ import annotations

import asyncio
import logging
import stat

import httpx2
import pytest

from calle_tui.core.auth.broker import BrokerClient, BrokerError, poll_delay, token_usable
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.auth.token_storage import ServerTokenStorage
from calle_tui.core.store.logs import redact, setup_logging


@pytest.fixture
def box(sandbox_factory, fake_clock):
    return sandbox_factory(clock=fake_clock.now, auto_approve=False, dialect="calle")


def client(box, tmp_path, fake_clock, **kw):
    return BrokerClient(box.mcp_url, tmp_path / "state", scope="calls", clock=fake_clock, **kw)


def decide(pending, decision):
    assert httpx2.post(pending.login_url, data={"decision": decision}, timeout=10).status_code == 200


async def wait_in_background(broker, pending, fake_clock, **kw):
    task = asyncio.create_task(broker.wait(pending, **kw))
    await fake_clock.wait_for_sleepers(1)  # the first poll said PENDING and it sleeps
    return task


async def test_offered_at_the_servers_origin_and_not_elsewhere(box, tmp_path, fake_clock, sandbox_factory):
    assert await client(box, tmp_path, fake_clock).offered()
    # A server without the broker: the sessions path is not there.
    other = BrokerClient("http://127.0.0.1:9/mcp", tmp_path, clock=fake_clock)  # nothing listens on port 9
    assert not await other.offered()
    assert await BrokerClient("http://127.0.0.1:9/mcp", tmp_path, broker_url=box.base_url, clock=fake_clock).offered()


async def test_a_server_without_the_broker_is_not_offered(fake_calle, tmp_path, fake_clock):
    _, url = fake_calle  # a real MCP server over HTTP that has no sessions API (404)
    assert not await BrokerClient(url, tmp_path, clock=fake_clock).offered()


def test_a_bad_broker_url_setting_is_one_sentence(tmp_path, monkeypatch):
    from calle_tui.core.config.settings import SettingsError, load_settings

    monkeypatch.setenv("CALLE_TUI_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(SettingsError) as bad:
        load_settings(broker_url="not a url")
    assert "broker_url" in str(bad.value) and "command line" in str(bad.value)


async def test_signed_in_end_to_end_pending_authorized_exchanged(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    storage = ServerTokenStorage(MemoryStore(), box.mcp_url, clock=fake_clock.now)
    seen = []
    task = asyncio.create_task(broker.sign_in(storage, seen.append))
    await fake_clock.wait_for_sleepers(1)
    assert seen[0].status == "PENDING" and seen[0].login_url.startswith(box.base_url)
    assert fake_clock.sleepers[0] - fake_clock.now() == pytest.approx(2.0)  # the server's poll_after_ms
    decide(seen[0], "approve")
    await fake_clock.advance_to_next()
    token = await task
    assert storage.has_tokens() and (await storage.get_tokens()).access_token == token.access_token
    assert storage.expires_at == pytest.approx(fake_clock.now() + 3600, abs=2)
    assert not broker.pending_file.path.exists()  # nothing left to resume
    # The token is a real sandbox token: the MCP endpoint answers with it.
    reply = httpx2.post(box.mcp_url, headers={"Authorization": f"Bearer {token.access_token}",
                                              "Accept": "application/json, text/event-stream"},
                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=10)  # fmt: skip
    assert reply.status_code != 401
    # Exchanged once: the same session cannot give tokens again.
    with pytest.raises(BrokerError) as again:
        await broker.exchange(seen[0])
    assert again.value.kind == "exchanged"


async def test_denied_is_failed_with_a_sentence(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    task = await wait_in_background(broker, pending, fake_clock)
    decide(pending, "deny")
    await fake_clock.advance_to_next()
    with pytest.raises(BrokerError) as ended:
        await task
    assert ended.value.kind == "failed" and "not approved" in str(ended.value)
    assert not broker.pending_file.path.exists()


async def test_an_expired_session_is_410_gone_and_the_next_start_makes_a_new_one(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    task = await wait_in_background(broker, pending, fake_clock, timeout=3600)
    fake_clock.advance(601)
    with pytest.raises(BrokerError) as ended:
        await task
    assert ended.value.kind == "gone" and "expired" in str(ended.value)
    fresh = await broker.start()
    assert fresh.session_id != pending.session_id and fresh.status == "PENDING"


async def test_no_approval_in_time_is_a_timeout(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    task = await wait_in_background(broker, pending, fake_clock, timeout=5)
    await fake_clock.advance_to_next()
    await fake_clock.advance_to_next()
    with pytest.raises(BrokerError) as ended:
        await task
    assert ended.value.kind == "timeout"


async def test_a_wrong_secret_is_forbidden(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    pending.session_secret = "ss_not-the-right-secret-at-all"
    with pytest.raises(BrokerError) as ended:
        await broker.status(pending)
    assert ended.value.kind == "forbidden"


async def test_cancel_stops_waiting_and_forgets_the_session(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    task = await wait_in_background(broker, pending, fake_clock)
    broker.cancel()
    with pytest.raises(BrokerError) as ended:
        await task
    assert ended.value.kind == "canceled" and not broker.pending_file.path.exists()


async def test_a_pending_session_is_kept_privately_and_resumed_after_a_restart(box, tmp_path, fake_clock):
    first = await client(box, tmp_path, fake_clock).start()
    again = client(box, tmp_path, fake_clock)  # a new app: a new client object reading the saved session
    path = again.pending_file.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    resumed = await again.start()
    assert resumed.session_id == first.session_id and resumed.login_url == first.login_url
    decide(resumed, "approve")
    assert (await again.wait(resumed)).status == "AUTHORIZED"
    assert (await again.exchange(resumed)).access_token


async def test_a_token_with_less_than_five_minutes_left_counts_as_expired(box, tmp_path, fake_clock):
    httpx2.post(box.base_url + "/_sandbox/faults", json={"token_lifetime": 200}, timeout=10)
    broker = client(box, tmp_path, fake_clock)
    storage = ServerTokenStorage(MemoryStore(), box.mcp_url, clock=fake_clock.now)
    pending = await broker.start()
    decide(pending, "approve")
    await broker.sign_in(storage)
    assert storage.has_tokens() and not token_usable(storage.expires_at, fake_clock.now())
    assert token_usable(fake_clock.now() + 301, fake_clock.now())


def test_poll_delay_is_clamped():
    assert poll_delay(100) == 0.5 and poll_delay(60_000) == 10.0 and poll_delay(1500) == 1.5
    assert poll_delay(None) == 2.0 and poll_delay("x") == 2.0 and poll_delay(-5) == 2.0


async def test_the_session_secret_never_reaches_logs_reprs_or_sentences(box, tmp_path, fake_clock, caplog):
    log_path = setup_logging(tmp_path / "logs")
    caplog.set_level(logging.DEBUG)
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    secret = pending.session_secret
    pending.session_secret = "ss_wrong-" + "x" * 20
    try:
        await broker.status(pending)
    except BrokerError as exc:
        assert secret not in str(exc)
    pending.session_secret = secret
    assert secret not in repr(pending)
    logging.getLogger("test").info("header x-openagent-session-secret=%s and %s", secret, {"session_secret": secret})
    assert secret not in redact(f"got {secret}") and secret not in redact('{"session_secret": "abc12345678"}' + secret)
    assert secret not in caplog.text
    text = log_path.read_text()
    assert "session-secret=[redacted]" in text and secret not in text


async def test_a_network_blip_while_waiting_does_not_end_the_sign_in(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    task = await wait_in_background(broker, pending, fake_clock)
    box.stop()
    await fake_clock.advance_to_next()  # this poll cannot reach the broker
    await fake_clock.wait_for_sleepers(1)  # ... and it waits to ask again instead of giving up
    assert not task.done()
    box.restart()
    decide(pending, "approve")
    await fake_clock.advance_to_next()
    assert (await task).status == "AUTHORIZED"


async def test_cancel_before_waiting_begins_still_cancels(box, tmp_path, fake_clock):
    broker = client(box, tmp_path, fake_clock)
    pending = await broker.start()
    broker.cancel()
    with pytest.raises(BrokerError) as ended:
        await broker.wait(pending)
    assert ended.value.kind == "canceled" and not broker.pending_file.path.exists()
