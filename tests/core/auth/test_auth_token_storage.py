"""Per-server token storage: canonical keys, absolute expiry, metadata, clearing."""

from __future__ import annotations

import json

import pytest
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata, OAuthToken, ProtectedResourceMetadata

from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.auth.token_storage import ServerTokenStorage, canonical_server_url
from calle_tui.core.store.logs import redact


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://Example.COM/mcp/openagent_oauth", "https://example.com/mcp/openagent_oauth"),
        ("HTTPS://example.com:443/mcp/openagent_oauth/", "https://example.com/mcp/openagent_oauth"),
        ("https://example.com/mcp#frag", "https://example.com/mcp"),
        ("https://user:pw@example.com/mcp", "https://example.com/mcp"),
        ("http://127.0.0.1:8765/mcp", "http://127.0.0.1:8765/mcp"),
        ("http://127.0.0.1:80/mcp", "http://127.0.0.1/mcp"),
        ("https://example.com:8443/mcp?tenant=a", "https://example.com:8443/mcp?tenant=a"),
        ("  https://example.com  ", "https://example.com"),
        ("http://[::1]:9000/mcp", "http://[::1]:9000/mcp"),
    ],
)
def test_canonical_server_url(url, canonical):
    assert canonical_server_url(url) == canonical


@pytest.mark.parametrize("bad", ["", "example.com/mcp", "ftp://example.com/x", "https://", "http://host:notaport/"])
def test_canonical_server_url_rejects_non_http(bad):
    with pytest.raises(ValueError):
        canonical_server_url(bad)


def _token(access="access-AAAA-1111", refresh="refresh-RRRR-2222", expires_in=3600):
    return OAuthToken(access_token=access, refresh_token=refresh, expires_in=expires_in)


async def test_a_token_for_server_a_is_never_offered_to_server_b():
    store = MemoryStore()
    a = ServerTokenStorage(store, "https://a.example/mcp")
    await a.set_tokens(_token())
    for other in ("https://b.example/mcp", "https://a.example/other", "https://a.example:8443/mcp", "http://a.example/mcp"):
        b = ServerTokenStorage(store, other)
        assert await b.get_tokens() is None
        assert not b.has_tokens()
    same = ServerTokenStorage(store, "HTTPS://A.example:443/mcp/")
    assert (await same.get_tokens()).access_token == "access-AAAA-1111"


async def test_a_blob_stored_under_the_wrong_key_is_ignored():
    store = MemoryStore()
    a = ServerTokenStorage(store, "https://a.example/mcp")
    await a.set_tokens(_token())
    store.set("oauth:https://b.example/mcp", store.get(a.key))  # a copied blob still names server A
    assert await ServerTokenStorage(store, "https://b.example/mcp").get_tokens() is None


async def test_expiry_is_absolute_and_survives_a_restart():
    store = MemoryStore()
    now = [1_000_000.0]
    first = ServerTokenStorage(store, "https://a.example/mcp", clock=lambda: now[0])
    await first.set_tokens(_token(expires_in=600))
    assert first.expires_at == 1_000_600.0
    now[0] += 5000  # much later, a new process
    second = ServerTokenStorage(store, "https://a.example/mcp", clock=lambda: now[0])
    assert second.expires_at == 1_000_600.0
    assert second.has_tokens()


async def test_client_info_and_metadata_round_trip_and_clear():
    store = MemoryStore()
    storage = ServerTokenStorage(store, "http://127.0.0.1:9/mcp")
    client = OAuthClientInformationFull(
        client_id="cid", client_secret="client-secret-SSSS", redirect_uris=["http://127.0.0.1:5/callback"]
    )
    await storage.set_client_info(client)
    await storage.set_tokens(_token())
    prm = ProtectedResourceMetadata(resource="http://127.0.0.1:9/mcp", authorization_servers=["http://127.0.0.1:9/"])
    asm = OAuthMetadata(
        issuer="http://127.0.0.1:9/",
        authorization_endpoint="http://127.0.0.1:9/authorize",
        token_endpoint="http://127.0.0.1:9/token",
        revocation_endpoint="http://127.0.0.1:9/revoke",
    )
    await storage.set_metadata(protected_resource_metadata=prm, oauth_metadata=asm, auth_server_url="http://127.0.0.1:9/")

    reloaded = ServerTokenStorage(store, "http://127.0.0.1:9/mcp")
    assert (await reloaded.get_client_info()).client_secret == "client-secret-SSSS"
    meta = reloaded.get_metadata()
    assert OAuthMetadata.model_validate(meta["oauth_metadata"]).token_endpoint == asm.token_endpoint
    assert ProtectedResourceMetadata.model_validate(meta["protected_resource_metadata"]).resource == prm.resource
    assert meta["auth_server_url"] == "http://127.0.0.1:9/"

    await reloaded.forget_client()
    assert await reloaded.get_client_info() is None and reloaded.has_tokens()
    await reloaded.clear_tokens()
    assert not reloaded.has_tokens() and reloaded.expires_at is None
    await reloaded.clear()
    assert store.get(reloaded.key) is None
    assert await ServerTokenStorage(store, "http://127.0.0.1:9/mcp").get_tokens() is None


async def test_stored_secrets_are_registered_for_redaction():
    store = MemoryStore()
    await ServerTokenStorage(store, "https://a.example/mcp").set_tokens(_token("acc-REDACTME-1234", "ref-REDACTME-5678"))
    text = redact("oops acc-REDACTME-1234 and ref-REDACTME-5678")
    assert "REDACTME" not in text
    # also when loaded by a fresh process from the store alone
    blob = json.loads(store.get("oauth:https://a.example/mcp"))
    blob["tokens"]["access_token"] = "acc-LOADED-ONLY-9999"
    store.set("oauth:https://a.example/mcp", json.dumps(blob))
    assert ServerTokenStorage(store, "https://a.example/mcp").has_tokens()
    assert "LOADED-ONLY" not in redact("acc-LOADED-ONLY-9999")


async def test_damaged_blob_and_failing_store_do_not_crash():
    store = MemoryStore()
    store.set("oauth:https://a.example/mcp", "{not json")
    storage = ServerTokenStorage(store, "https://a.example/mcp")
    assert await storage.get_tokens() is None and not storage.has_tokens()

    class Broken(MemoryStore):
        def set(self, key, value):
            raise RuntimeError("keyring locked")

    broken = ServerTokenStorage(Broken(), "https://a.example/mcp")
    await broken.set_tokens(_token())
    assert broken.has_tokens()  # kept in memory for this session
