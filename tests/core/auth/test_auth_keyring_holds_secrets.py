"""Issue 11: the keyring holds only secrets (and stays under Windows Credential Manager's 2,560 bytes), the
rest lives in a 0600 file in the state folder, a failed or stuck keyring is said truthfully ("memory only"),
and keyring calls never run on the event loop."""

from __future__ import annotations

import asyncio
import json
import stat
import threading

from auth_fake_backends import GoodKeyring, HangingKeyring, LockedKeyring
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata, OAuthToken

from calle_tui.core.auth.secret_store import SECRET_LIMIT_BYTES, KeyringStore
from calle_tui.core.auth.token_storage import ServerTokenStorage

URL = "https://calle.example/mcp"
ACCESS = "acc-" + "A" * 3000  # a long JWT-sized token: over 2,560 bytes as UTF-16
REFRESH = "ref-CANARY-7f3a"
SECRET = "client-secret-CANARY-91b2"


class WindowsLikeKeyring(GoodKeyring):
    """Credential Manager refuses a blob over 2,560 bytes (python-keyring passes the value through)."""

    def set_password(self, service, username, password):
        if len(password.encode("utf-16-le")) > SECRET_LIMIT_BYTES:
            raise OSError("The stub received bad data")
        super().set_password(service, username, password)


async def signed_in(storage: ServerTokenStorage) -> None:
    await storage.set_client_info(
        OAuthClientInformationFull(client_id="cid-1", client_secret=SECRET, redirect_uris=["http://127.0.0.1:5/cb"])
    )
    await storage.set_tokens(OAuthToken(access_token=ACCESS, refresh_token=REFRESH, expires_in=3600, scope="calls"))
    await storage.set_metadata(
        protected_resource_metadata=None,
        oauth_metadata=OAuthMetadata(
            issuer="https://auth.calle.example/",
            authorization_endpoint="https://auth.calle.example/authorize",
            token_endpoint="https://auth.calle.example/token",
        ),
        auth_server_url="https://auth.calle.example/",
    )


async def test_the_keyring_holds_only_secrets_and_the_details_are_a_private_file(tmp_path):
    backend = WindowsLikeKeyring()
    storage = ServerTokenStorage(KeyringStore(backend), URL, meta_dir=tmp_path / "state" / "auth")
    await signed_in(storage)
    assert storage.persisted_kind == "keyring" and storage.notice == ""

    values = list(backend.data.values())
    assert all(len(v.encode("utf-16-le")) <= SECRET_LIMIT_BYTES for v in values)  # every entry fits
    assert not any("auth.calle.example" in v or "cid-1" in v for v in values)  # no metadata in the keyring
    details = storage.meta_path.read_text()
    for secret in (ACCESS, REFRESH, SECRET):
        assert secret not in details
    assert "auth.calle.example" in details and "cid-1" in details
    assert stat.S_IMODE(storage.meta_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(storage.meta_path.parent.stat().st_mode) == 0o700

    again = ServerTokenStorage(KeyringStore(backend), URL, meta_dir=tmp_path / "state" / "auth")  # a restart
    await again.load()
    tokens = await again.get_tokens()
    assert (tokens.access_token, tokens.refresh_token, tokens.scope) == (ACCESS, REFRESH, "calls")
    assert (await again.get_client_info()).client_secret == SECRET
    assert again.get_metadata()["auth_server_url"] == "https://auth.calle.example/"

    await again.clear()
    assert backend.data == {} and not again.meta_path.exists()


async def test_a_sign_in_from_an_earlier_version_in_one_keyring_entry_is_read_and_then_split(tmp_path):
    backend = GoodKeyring()
    old = ServerTokenStorage(KeyringStore(backend), URL)  # the one-blob layout of earlier versions
    await signed_in(old)
    storage = ServerTokenStorage(KeyringStore(backend), URL, meta_dir=tmp_path / "auth")
    await storage.load()
    assert (await storage.get_tokens()).refresh_token == REFRESH
    await storage.set_tokens(OAuthToken(access_token="acc-2", refresh_token="ref-2", expires_in=60))
    entry = json.loads(KeyringStore(backend).get(storage.key))
    assert set(entry) == {"v", "access_token", "refresh_token", "client_secret"}
    assert (await storage.get_client_info()).client_id == "cid-1"


async def test_a_keyring_that_refuses_the_write_is_reported_as_memory_only(tmp_path):
    storage = ServerTokenStorage(KeyringStore(LockedKeyring()), URL, meta_dir=tmp_path / "auth")
    await signed_in(storage)
    assert storage.has_tokens()  # this session goes on
    assert storage.persisted_kind == "memory"
    assert "memory only" in storage.notice and "sign in again" in storage.notice
    for secret in (ACCESS, REFRESH, SECRET):
        assert secret not in storage.notice


async def test_a_keyring_that_hangs_never_freezes_the_event_loop(tmp_path):
    hanging = HangingKeyring()
    storage = ServerTokenStorage(KeyringStore(hanging), URL, meta_dir=tmp_path / "auth", io_timeout=0.3)
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:  # stands in for the UI: it must keep running while the keyring hangs
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await storage.set_tokens(OAuthToken(access_token="acc-1", refresh_token="ref-1", expires_in=60))
        waited = loop.time() - started
    finally:
        stop.set()
        hanging.release.set()
        await task
    assert waited < 5  # bounded by io_timeout, not by the keyring
    assert ticks >= 5  # the loop kept turning meanwhile
    assert storage.persisted_kind == "memory" and "did not answer" in storage.notice
    assert storage.has_tokens()


async def test_a_keyring_read_that_hangs_at_start_is_bounded(tmp_path):
    release = threading.Event()

    class SlowReads(GoodKeyring):
        def get_password(self, service, username):
            release.wait(30)
            return None

    storage = ServerTokenStorage(KeyringStore(SlowReads()), URL, meta_dir=tmp_path / "auth", io_timeout=0.3)
    try:
        await asyncio.wait_for(storage.load(), timeout=5)
    finally:
        release.set()
    assert not storage.has_tokens() and "did not answer" in storage.notice
