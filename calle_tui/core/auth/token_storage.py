"""Per-server token storage for the SDK's OAuthClientProvider.

Why more than the SDK's TokenStorage asks for: after a restart the SDK restores tokens but not their expiry
nor the discovered metadata, so an expired token leads to a 401 and a full browser login instead of a
refresh. We keep an ABSOLUTE `expires_at` and the metadata (protected-resource metadata, authorization
server metadata, auth server URL) next to the tokens; the provider restores them before the first request.

Where it lives: only the secrets (access token, refresh token, client secret) go to the SecretStore (the
keyring when proven). Everything else (expiry, scope, the client registration without its secret, the
discovered metadata) goes to a 0600 file in the state folder (`meta_dir`): a keyring is for secrets, and
Windows Credential Manager takes at most 2,560 bytes per secret (secret_store.KeyringStore splits what
is longer). Without `meta_dir` (tests, a one-off store) everything is one blob in the SecretStore.

Two calle-tui processes share one sign-in: every write re-reads what is stored and changes only its own
fields (so a window never writes back tokens another one rotated away), and the provider re-reads the
store under `refresh_lock()` before it refreshes.

Keyring calls can block (a locked keyring waits on a prompt or on D-Bus): the async methods run them in a
thread, bounded by `io_timeout`. A write that fails or does not finish is said truthfully
(`persisted_kind` "memory", `notice`), never shown as kept in the keyring.

The key is the canonical server URL, so a token for server A is never offered to server B.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from calle_tui.core.auth.refresh_lock import RefreshLock, file_lock
from calle_tui.core.auth.secret_store import SecretStore, StoreKind
from calle_tui.core.store.private import private_dir, write_private_text
from calle_tui.core.support.secrets import register_secret

if TYPE_CHECKING:  # the SDK loads when the first token is read or written: see auth/__init__.py
    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

log = logging.getLogger("calle_tui.auth.storage")

BLOB_VERSION = 1
SECRETS_VERSION = 2  # the SecretStore entry holds only secrets; the rest is in the meta file
IO_TIMEOUT = 5.0  # seconds a keyring call may take before we stop waiting for it
_DEFAULT_PORTS = {"http": 80, "https": 443}
_STORE_WORDS = {"keyring": "the system keyring", "file": "the token file", "memory": "memory"}


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


class ServerTokenStorage:
    """mcp.client.auth.TokenStorage for ONE server, plus expiry and metadata (see the module docstring).

    What is stored is cached in memory: if the store fails to write (a keyring that locked meanwhile), this
    session keeps working, the failure is logged without the secret and `persisted_kind` says "memory"."""

    def __init__(
        self,
        store: SecretStore,
        server_url: str,
        *,
        meta_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
        io_timeout: float = IO_TIMEOUT,
    ) -> None:
        self.store = store
        self.server_url = canonical_server_url(server_url)
        self.key = "oauth:" + self.server_url
        self._clock = clock
        self.io_timeout = io_timeout
        self._lock = threading.Lock()
        self._blob: dict[str, Any] | None = None
        digest = hashlib.sha256(self.server_url.encode()).hexdigest()[:24]
        self.meta_path = Path(meta_dir) / f"{digest}.json" if meta_dir is not None else None
        self._write_lock_path = Path(meta_dir) / f"{digest}.write.lock" if meta_dir is not None else None
        self._refresh_lock = RefreshLock(Path(meta_dir) / f"{digest}.refresh.lock" if meta_dir is not None else None)
        self.write_problem = ""  # why the last write did not reach the store ("" when it did)

    # --- what the store holds (blocking: the async methods call these in a thread) ---------------------------

    def _read_persisted(self, *, strict: bool = False) -> dict[str, Any]:
        """What is stored now. An unreadable store reads as "nothing stored", or raises when `strict`."""
        try:
            raw = self.store.get(self.key)
        except Exception as exc:
            if strict:
                raise
            log.warning("cannot read stored sign-in (%s)", type(exc).__name__)
            raw = None
        return self._join(_json_object(raw, "stored sign-in"), self._read_meta())

    def _read_meta(self) -> dict[str, Any] | None:
        if self.meta_path is None:
            return None
        try:
            text = self.meta_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read the sign-in details file (%s)", exc.strerror or type(exc).__name__)
            return None
        return _json_object(text, "sign-in details file")

    def _join(self, stored: dict[str, Any] | None, meta: dict[str, Any] | None) -> dict[str, Any]:
        if stored is not None and stored.get("v") != SECRETS_VERSION:
            # One blob with everything (no meta file, or written by an earlier version): used as it is; the
            # next write splits it.
            if stored.get("server_url") == self.server_url:
                return stored
            log.warning("stored sign-in belongs to another server; ignoring it")
            return {}
        secrets = stored or {}
        if meta is None or meta.get("server_url") != self.server_url:
            return {}
        blob = copy.deepcopy(meta)
        tokens = blob.get("tokens")
        if isinstance(tokens, dict) and isinstance(secrets.get("access_token"), str):
            tokens["access_token"] = secrets["access_token"]
            if isinstance(secrets.get("refresh_token"), str):
                tokens["refresh_token"] = secrets["refresh_token"]
        else:  # the secrets are gone (memory only last time, a keyring entry removed): no sign-in
            blob.pop("tokens", None)
            blob.pop("expires_at", None)
        if blob.pop("client_secret_kept", False):
            if isinstance(secrets.get("client_secret"), str) and isinstance(blob.get("client_info"), dict):
                blob["client_info"]["client_secret"] = secrets["client_secret"]
            else:
                blob.pop("client_info", None)  # a confidential client without its secret cannot be used
        return blob

    def _split(self, blob: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        secrets: dict[str, Any] = {"v": SECRETS_VERSION}
        meta = copy.deepcopy(blob)
        tokens = meta.get("tokens")
        if isinstance(tokens, dict):
            for name in ("access_token", "refresh_token"):
                if tokens.get(name):
                    secrets[name] = tokens.pop(name)
        client = meta.get("client_info")
        if isinstance(client, dict) and client.get("client_secret"):
            secrets["client_secret"] = client.pop("client_secret")
            meta["client_secret_kept"] = True
        return secrets, meta

    def _write_persisted(self, blob: dict[str, Any]) -> None:
        if self.meta_path is None:
            self.store.set(self.key, json.dumps(blob))
            return
        secrets, meta = self._split(blob)
        if len(secrets) > 1:
            self.store.set(self.key, json.dumps(secrets, separators=(",", ":")))
        else:
            self.store.delete(self.key)
        # It names the server and the client registration: private, and never read half-written.
        write_private_text(self.meta_path, json.dumps(meta), prefix=".signin-")

    def _persist_fields(self, fields: dict[str, Any], fallback: dict[str, Any]) -> None:
        """Re-read what is stored (another window may have written since), change only `fields`, write."""
        with self._write_locked():
            try:
                fresh = self._read_persisted(strict=True)
            except Exception:  # noqa: BLE001 - cannot re-read: write what this window holds
                fresh = dict(fallback)
            _apply(fresh, fields)
            self._stamp(fresh)
            self._write_persisted(fresh)

    @contextlib.contextmanager
    def _write_locked(self) -> Iterator[None]:
        if self._write_lock_path is None:
            yield
            return
        private_dir(self._write_lock_path.parent)
        with file_lock(self._write_lock_path):
            yield

    def _stamp(self, blob: dict[str, Any]) -> None:
        blob["version"] = BLOB_VERSION
        blob["server_url"] = self.server_url
        blob["saved_at"] = self._clock()

    # --- memory -------------------------------------------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        """The cached blob; read (blocking) on first use by a caller that did not `await load()` first."""
        with self._lock:
            if self._blob is not None:
                return self._blob
        blob = self._read_persisted()
        self._remember(blob)
        return blob

    def _remember(self, blob: dict[str, Any]) -> None:
        with self._lock:
            self._blob = blob
        _register_blob_secrets(blob)

    async def _io(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), self.io_timeout)

    async def load(self) -> None:
        """The first read, off the event loop and bounded: a locked keyring must not freeze the app."""
        try:
            blob = await self._io(self._read_persisted)
        except TimeoutError:
            log.warning("the %s did not answer within %.0f s; starting signed out", self.store.kind, self.io_timeout)
            self.write_problem = f"{_STORE_WORDS.get(self.store.kind, self.store.kind)} did not answer"
            blob = {}
        self._remember(blob)

    async def reload(self) -> dict[str, Any]:
        """Read again what is stored (another window may have refreshed); keep what we hold if it fails."""
        try:
            blob: dict[str, Any] = await self._io(self._read_persisted)
        except TimeoutError:
            log.warning("the %s did not answer within %.0f s", self.store.kind, self.io_timeout)
            return self._load()
        self._remember(blob)
        return blob

    async def _update(self, **fields: Any) -> None:
        blob = dict(self._load())
        _apply(blob, fields)
        self._stamp(blob)
        self._remember(blob)
        where = _STORE_WORDS.get(self.store.kind, self.store.kind)
        try:
            await self._io(self._persist_fields, fields, blob)
        except TimeoutError:
            self.write_problem = f"{where} did not answer"
        except Exception as exc:  # noqa: BLE001 - the session goes on with what it holds in memory
            self.write_problem = f"{where} refused it"
            log.warning("cannot save sign-in to the %s store (%s)", self.store.kind, type(exc).__name__)
        else:
            if "tokens" in fields:  # only a write of the tokens themselves proves they are stored now
                self.write_problem = ""
            return
        log.warning("sign-in not saved (%s); kept in memory only", self.write_problem)

    @property
    def persisted_kind(self) -> StoreKind:
        """Where the sign-in really is: the store's kind, or "memory" when the last write did not get there."""
        return "memory" if self.write_problem else self.store.kind

    @property
    def notice(self) -> str:
        if self.write_problem:
            return (
                f"Your sign-in could not be saved ({self.write_problem}): it is kept in memory only, "
                "so you will need to sign in again next time."
            )
        return getattr(self.store, "notice", "") or ""

    def refresh_lock(self) -> RefreshLock:
        """One refresh at a time for this server, across calle-tui processes (see refresh_lock.py)."""
        return self._refresh_lock

    # --- mcp TokenStorage ------------------------------------------------------------------------------

    async def get_tokens(self) -> OAuthToken | None:
        from mcp.shared.auth import OAuthToken  # only the SDK's provider asks for it: see auth/__init__.py

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
        await self._update(tokens=tokens.model_dump(mode="json", exclude_none=True), expires_at=expires_at)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        from mcp.shared.auth import OAuthClientInformationFull  # as get_tokens

        data = self._load().get("client_info")
        if not data:
            return None
        try:
            return OAuthClientInformationFull.model_validate(data)
        except Exception:  # noqa: BLE001
            log.warning("stored client registration is damaged; ignoring it")
            return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        await self._update(client_info=client_info.model_dump(mode="json", exclude_none=True))

    # --- what the SDK does not persist -----------------------------------------------------------------

    def get_metadata(self) -> dict[str, Any]:
        """{"protected_resource_metadata": dict|None, "oauth_metadata": dict|None, "auth_server_url": str|None}"""
        blob = self._load()
        return {name: blob.get(name) for name in ("protected_resource_metadata", "oauth_metadata", "auth_server_url")}

    async def set_metadata(
        self, *, protected_resource_metadata: Any, oauth_metadata: Any, auth_server_url: str | None
    ) -> None:
        def dump(model: Any) -> Any:
            return model.model_dump(mode="json", exclude_none=True) if model is not None else None

        await self._update(
            protected_resource_metadata=dump(protected_resource_metadata),
            oauth_metadata=dump(oauth_metadata),
            auth_server_url=auth_server_url,
        )

    async def forget_client(self) -> None:
        """Drop the client registration (the server forgot it) but keep the rest."""
        await self._update(client_info=None)

    async def clear_tokens(self) -> None:
        """Drop the tokens (refresh rejected) but keep the registration and metadata."""
        await self._update(tokens=None, expires_at=None)

    # --- for the worker ----------------------------------------------------------------------------------

    @property
    def expires_at(self) -> float | None:
        value = self._load().get("expires_at")
        return float(value) if isinstance(value, int | float) else None

    def can_refresh(self) -> bool:
        """A refresh token and the client registration it was issued to are both kept (a brokered sign-in
        brings no registration, so it cannot renew itself)."""
        blob = self._load()
        tokens = blob.get("tokens")
        client = blob.get("client_info")
        return bool(isinstance(tokens, dict) and tokens.get("refresh_token") and isinstance(client, dict)
                    and client.get("client_id"))  # fmt: skip

    def has_tokens(self) -> bool:
        tokens = self._load().get("tokens")
        return bool(isinstance(tokens, dict) and tokens.get("access_token"))

    async def clear(self) -> None:
        """Forget everything stored for this server (sign-out)."""
        self._remember({})
        try:
            await self._io(self._forget_persisted)
        except Exception as exc:  # noqa: BLE001 - TimeoutError included: the session is signed out anyway
            log.warning("cannot delete stored sign-in (%s)", type(exc).__name__)

    def _forget_persisted(self) -> None:
        with self._write_locked():
            self.store.delete(self.key)
            if self.meta_path is not None:
                self.meta_path.unlink(missing_ok=True)


def _apply(blob: dict[str, Any], fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if value is None:
            blob.pop(name, None)
        else:
            blob[name] = value


def _json_object(text: str | None, what: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        log.warning("%s is not valid JSON; ignoring it", what)
        return None
    return data if isinstance(data, dict) else None


def _register_blob_secrets(blob: dict[str, Any]) -> None:
    tokens = blob.get("tokens") or {}
    client = blob.get("client_info") or {}
    for value in (tokens.get("access_token"), tokens.get("refresh_token"), client.get("client_secret")):
        register_secret(value)
