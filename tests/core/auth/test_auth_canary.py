"""CANARY: the sandbox issues recognisable secrets; after sign-in (three flows), refresh, failures and a
forced exception, none of them may appear - raw, URL-encoded or base64 - in the log file, on
stdout/stderr, in the events the screens draw, or in the text of any exception our code raised. (The screens
themselves: tests/ui/test_screen_words.py.)"""

from __future__ import annotations

import base64
import json
import logging
import time
import traceback
from urllib.parse import quote

import httpx2
import pytest
from auth_helpers import BrowserPlayer, leaves, list_tools
from calle_fakes import EventLog

from calle_tui.core.auth.login_flows import AutoFollowLogin, BrowserLogin
from calle_tui.core.auth.provider import build_oauth_provider
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.auth.token_storage import ServerTokenStorage
from calle_tui.core.store.logs import setup_logging
from calle_tui.core.worker_api import WorkerError


def encodings(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {
        secret,
        quote(secret, safe=""),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    for k in (1, 2):  # inside a longer base64 text: the characters that depend on the secret alone
        enc = base64.b64encode(b"\0" * k + raw).decode()
        forms.add(enc[-(-8 * k // 6) : (8 * (k + len(raw))) // 6])
    return forms


def text_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + "".join(f"{leaf!s} {leaf!r}" for leaf in leaves(exc))


@pytest.fixture
def debug_logging():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)  # the SDK's chattiest level: the worst case
    yield
    root.setLevel(level)


async def test_canary_secrets_never_leak(sandbox_factory, tmp_path, capfd, debug_logging):
    log_path = setup_logging(tmp_path / "logs")
    sandbox = sandbox_factory(secret_prefix="CANARY")
    store = MemoryStore()
    url = sandbox.mcp_url
    seen_secrets: set[str] = set()
    exception_texts: list[str] = []

    async def remember(storage: ServerTokenStorage) -> None:
        tokens, client = await storage.get_tokens(), await storage.get_client_info()
        if tokens:
            seen_secrets.update(t for t in (tokens.access_token, tokens.refresh_token) if t)
        if client and client.client_secret:
            seen_secrets.add(client.client_secret)

    # 1. first sign-in by auto-follow
    events = EventLog()
    storage = ServerTokenStorage(store, url)
    login = AutoFollowLogin(events, timeout=20)
    await login.start()
    assert await list_tools(url, build_oauth_provider(url, storage, login, events))
    await remember(storage)

    # 2. loopback sign-in (the code travels through our listener), on production's path alias
    alias = sandbox.base_url + "/mcp/openagent_oauth"

    async def to_listener(location: str) -> None:
        seen_secrets.add(dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"])
        async with httpx2.AsyncClient() as http:
            await http.get(location)

    player = BrowserPlayer(to_listener)
    players = [player]
    loop_login = BrowserLogin(player, open_browser=False, listen=True, environ={})
    await loop_login.start()
    alias_storage = ServerTokenStorage(store, alias)
    assert await list_tools(alias, build_oauth_provider(alias, alias_storage, loop_login, player))
    await loop_login.close()
    await remember(alias_storage)

    # 3. paste: first a wrong state, then a tampered code (token exchange fails), with their exception texts
    def paste(location: str) -> None:
        code = location.split("code=", 1)[1].split("&", 1)[0]
        seen_secrets.add(code)
        try:
            paste_login.submit(location.replace("state=", "state=zz"))
        except WorkerError as exc:
            exception_texts.append(f"{exc} {exc.action} {exc!r}")
        paste_login.submit(location.replace(code, code + "tampered"))

    player = BrowserPlayer(paste)
    players.append(player)
    paste_login = BrowserLogin(player, open_browser=False, listen=False, environ={})
    await paste_login.start()
    try:
        await list_tools(url, build_oauth_provider(url, ServerTokenStorage(MemoryStore(), url), paste_login, player))
    except BaseException as exc:
        exception_texts.append(text_of(exc))
    else:
        raise AssertionError("a tampered code must not sign in")

    # 4. refresh after a restart with an expired token
    sandbox.expire_access_tokens()
    blob = json.loads(store.get(storage.key))
    blob["expires_at"] = time.time() - 60
    store.set(storage.key, json.dumps(blob))
    refreshed = ServerTokenStorage(store, url)
    assert await list_tools(url, build_oauth_provider(url, refreshed, None, EventLog(), interactive=False))
    await remember(refreshed)

    # 5. errors: refresh tokens revoked -> login required
    sandbox.revoke_all_refresh_tokens()
    sandbox.expire_access_tokens()
    blob = json.loads(store.get(storage.key))
    blob["expires_at"] = time.time() - 60
    store.set(storage.key, json.dumps(blob))
    try:
        await list_tools(
            url, build_oauth_provider(url, ServerTokenStorage(store, url), None, EventLog(), interactive=False)
        )
    except BaseException as exc:
        exception_texts.append(text_of(exc))

    # 6. a forced exception carrying every secret, logged the usual way
    try:
        raise RuntimeError("forced: " + " ".join(sorted(seen_secrets)) + " " + quote(next(iter(seen_secrets)), safe=""))
    except RuntimeError:
        logging.getLogger("calle_tui.test").exception("forced failure")

    for handler in logging.getLogger().handlers:
        handler.flush()
    out, err = capfd.readouterr()
    log_text = log_path.read_text()
    assert "forced failure" in log_text and "OAuth" in log_text  # the log did record the story

    assert len(seen_secrets) >= 5, seen_secrets
    assert all(s.startswith("CANARY") for s in seen_secrets)
    places = {"log file": log_text, "stdout": out, "stderr": err}
    places.update({f"exception {i}": text for i, text in enumerate(exception_texts)})
    # What the screens draw comes from the events (sign-in progress, its messages and authorize URL).
    places["events shown on screen"] = repr(events.events) + "".join(repr(p.events.events) for p in players)
    assert len(exception_texts) >= 3
    for where, text in places.items():
        assert "CANARY" not in text, f"CANARY found in {where}"
        for secret in seen_secrets:
            for form in encodings(secret):
                assert form not in text, f"a secret ({len(secret)} chars) leaked into {where} as {form[:6]}..."
