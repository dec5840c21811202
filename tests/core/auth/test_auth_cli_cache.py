"""Reusing CALL-E CLI's sign-in from fixture caches laid out as the CLI writes them."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime

import pytest

from calle_tui.core.auth.cli_cache import adopt_cli_sign_in, peek_cli_sign_in
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.auth.token_storage import ServerTokenStorage

URL = "https://seleven-mcp-sg.airudder.com/mcp/openagent_oauth"
NOW = 1_900_000_000.0


def write_cache(root, server_url, document):
    folder = root / hashlib.md5(server_url.encode()).hexdigest()
    folder.mkdir(parents=True, mode=0o700)
    path = folder / "token.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    os.chmod(path, 0o600)
    return path


def iso(t):
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


async def test_a_usable_cli_sign_in_is_offered_then_adopted_only_when_asked(tmp_path):
    path = write_cache(tmp_path, URL, {"token": {"access_token": "cli-access-token-123"}, "expires_at": iso(NOW + 3600)})
    before = path.read_bytes(), path.stat().st_mtime_ns
    seen = peek_cli_sign_in(URL, NOW, tmp_path)
    assert seen.state == "usable" and seen.expires_at == NOW + 3600
    assert "cli-access-token-123" not in repr(seen) and "signed in to this server" in seen.sentence
    storage = ServerTokenStorage(MemoryStore(), URL, clock=lambda: NOW)
    assert not storage.has_tokens()  # peeking stored nothing
    await adopt_cli_sign_in(URL, storage, NOW, tmp_path)
    assert (await storage.get_tokens()).access_token == "cli-access-token-123"
    assert storage.expires_at == pytest.approx(NOW + 3600)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before  # never written


async def test_near_expiry_is_not_usable_and_is_not_adopted(tmp_path):
    write_cache(tmp_path, URL, {"token": {"access_token": "cli-access-token-123"}, "expires_at": iso(NOW + 299)})
    assert peek_cli_sign_in(URL, NOW, tmp_path).state == "near_expiry"
    storage = ServerTokenStorage(MemoryStore(), URL, clock=lambda: NOW)
    assert (await adopt_cli_sign_in(URL, storage, NOW, tmp_path)).state == "near_expiry"
    assert not storage.has_tokens()


def test_a_sign_in_for_another_server_is_said_as_such(tmp_path):
    write_cache(tmp_path, "https://other.example/mcp", {"token": {"access_token": "x" * 20}})
    seen = peek_cli_sign_in(URL, NOW, tmp_path)
    assert seen.state == "other_server" and "another server" in seen.sentence
    assert peek_cli_sign_in(URL, NOW, tmp_path / "nothing").state == "none"


@pytest.mark.parametrize(
    "document",
    ["{not json", json.dumps({"token": {}}), json.dumps({"token": {"access_token": "a" * 20}, "expires_at": "soon"})],
)
def test_an_unreadable_cache_is_said_as_such(tmp_path, document):
    write_cache(tmp_path, URL, document)
    assert peek_cli_sign_in(URL, NOW, tmp_path).state == "unreadable"


def test_a_cache_without_expiry_is_usable_as_the_cli_says(tmp_path):
    write_cache(tmp_path, URL, {"token": {"access_token": "cli-access-token-123"}})
    assert peek_cli_sign_in(URL, NOW, tmp_path).state == "usable"
