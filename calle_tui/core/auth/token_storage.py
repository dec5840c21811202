"""Per-server token storage for the SDK's OAuthClientProvider, persisted as one JSON blob in a SecretStore.

Why more than the SDK's TokenStorage asks for: after a restart the SDK restores tokens but not their expiry
nor the discovered metadata, so an expired token leads to a 401 and a full browser login instead of a
refresh. We keep an ABSOLUTE `expires_at` and the metadata (protected-resource metadata, authorization
server metadata, auth server URL) next to the tokens; the provider restores them before the first request.

The key is the canonical server URL, so a token for server A is never offered to server B.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from calle_tui.core.auth.secret_store import SecretStore
from calle_tui.core.logs import register_secret

if TYPE_CHECKING:  # the SDK is imported when first used: start-up stays quick
    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

log = logging.getLogger("calle_tui.auth.storage")

BLOB_VERSION = 1
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_server_url(url: str) -> str:
    """scheme://host[:port]/path[?query]: lower-case scheme and host, no default port, no fragment, no
    userinfo, no trailing slash. Raises ValueError with a plain sentence for anything that is not http(s)."""
    text = (url or "").strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"Not an http(s) URL: {text[:80]!r}")
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"The URL has an invalid port: {text[:80]!r}") from None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{path}{query}"


def storage_key(server_url: str) -> str:
    return "oauth:" + canonical_server_url(server_url)


class ServerTokenStorage:
    """mcp.client.auth.TokenStorage for ONE server, plus expiry and metadata (see the module docstring).

    The blob is cached in memory: if the store fails to write (a keyring that locked meanwhile), this
    session keeps working and the failure is logged without the secret."""

    def __init__(self, store: SecretStore, server_url: str, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.server_url = canonical_server_url(server_url)
        self.key = "oauth:" + self.server_url
        self._clock = clock
        self._lock = threading.Lock()
        self._blob: dict[str, Any] | None = None

    # --- blob ------------------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        with self._lock:
            if self._blob is not None:
                return self._blob
            blob: dict[str, Any] = {}
            try:
                raw = self.store.get(self.key)
            except Exception as exc:  # noqa: BLE001 - an unreadable store means "nothing stored"
                log.warning("cannot read stored sign-in (%s)", type(exc).__name__)
                raw = None
            if raw:
                try:
                    data = json.loads(raw)
                    if isinstance(data, dict) and data.get("server_url") == self.server_url:
                        blob = data
                    else:
                        log.warning("stored sign-in belongs to another server; ignoring it")
                except ValueError:
                    log.warning("stored sign-in is not valid JSON; ignoring it")
            self._blob = blob
            _register_blob_secrets(blob)
            return blob

    def _save(self, blob: dict[str, Any]) -> None:
        blob["version"] = BLOB_VERSION
        blob["server_url"] = self.server_url
        blob["saved_at"] = self._clock()
        with self._lock:
            self._blob = blob
        _register_blob_secrets(blob)
        try:
            self.store.set(self.key, json.dumps(blob))
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot save sign-in to the %s store (%s); kept in memory", self.store.kind, type(exc).__name__)

    def _update(self, **fields: Any) -> None:
        blob = dict(self._load())
        for name, value in fields.items():
            if value is None:
                blob.pop(name, None)
            else:
                blob[name] = value
        self._save(blob)

    # --- mcp TokenStorage ------------------------------------------------------------------------------

    async def get_tokens(self) -> OAuthToken | None:
        from mcp.shared.auth import OAuthToken

        data = self._load().get("tokens")
        if not data:
            return None
        try:
            return OAuthToken.model_validate(data)
        except Exception:  # noqa: BLE001 - a damaged record is a signed-out state, not a crash
            log.warning("stored tokens are damaged; ignoring them")
            return None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        expires_at = self._clock() + int(tokens.expires_in) if tokens.expires_in is not None else None
        self._update(tokens=tokens.model_dump(mode="json", exclude_none=True), expires_at=expires_at)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        from mcp.shared.auth import OAuthClientInformationFull

        data = self._load().get("client_info")
        if not data:
            return None
        try:
            return OAuthClientInformationFull.model_validate(data)
        except Exception:  # noqa: BLE001
            log.warning("stored client registration is damaged; ignoring it")
            return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self._update(client_info=client_info.model_dump(mode="json", exclude_none=True))

    # --- what the SDK does not persist -----------------------------------------------------------------

    def get_metadata(self) -> dict[str, Any]:
        """{"protected_resource_metadata": dict|None, "oauth_metadata": dict|None, "auth_server_url": str|None}"""
        blob = self._load()
        return {name: blob.get(name) for name in ("protected_resource_metadata", "oauth_metadata", "auth_server_url")}

    def set_metadata(self, *, protected_resource_metadata: Any, oauth_metadata: Any, auth_server_url: str | None) -> None:
        def dump(model: Any) -> Any:
            return model.model_dump(mode="json", exclude_none=True) if model is not None else None

        self._update(
            protected_resource_metadata=dump(protected_resource_metadata),
            oauth_metadata=dump(oauth_metadata),
            auth_server_url=auth_server_url,
        )

    def forget_client(self) -> None:
        """Drop the client registration (the server forgot it) but keep the rest."""
        self._update(client_info=None)

    def clear_tokens(self) -> None:
        """Drop the tokens (refresh rejected) but keep the registration and metadata."""
        self._update(tokens=None, expires_at=None)

    # --- for the worker ----------------------------------------------------------------------------------

    @property
    def expires_at(self) -> float | None:
        value = self._load().get("expires_at")
        return float(value) if isinstance(value, int | float) else None

    def has_tokens(self) -> bool:
        tokens = self._load().get("tokens")
        return bool(isinstance(tokens, dict) and tokens.get("access_token"))

    def clear(self) -> None:
        """Forget everything stored for this server (sign-out)."""
        with self._lock:
            self._blob = {}
        try:
            self.store.delete(self.key)
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot delete stored sign-in (%s)", type(exc).__name__)


def _register_blob_secrets(blob: dict[str, Any]) -> None:
    tokens = blob.get("tokens") or {}
    client = blob.get("client_info") or {}
    for value in (tokens.get("access_token"), tokens.get("refresh_token"), client.get("client_secret")):
        register_secret(value)
