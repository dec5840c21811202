"""CALL-E's brokered sign-in (CALLE-DIALECT.md, "Sign-in"), as CALL-E's own CLI does it: the person opens one
link on any device and the terminal finishes by itself, so it works over SSH and on headless machines.

    offered()   does the server's origin (or the `broker_url` setting) offer the broker?
    start()     resume the pending session kept on disk, or create one (and keep it, 0600 in a 0700 folder)
    wait()      poll at the server's poll_after_ms, clamped to 0.5-10 s, until AUTHORIZED -> exchange
    sign_in()   all of it, then the tokens go to the token store with their expiry

Every way it can end other than success is a BrokerError whose `kind` says which (failed, expired, gone,
exchanged, forbidden, timeout, canceled, unreachable, bad_reply) and whose text is one sentence for a
person. The session secret is registered with the log redactor as soon as it is known and never appears in
a sentence, a repr or a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from calle_tui.core.store.logs import redact
from calle_tui.core.store.private import private_dir
from calle_tui.core.support.clock import Clock, SystemClock
from calle_tui.core.support.secrets import register_secret

if TYPE_CHECKING:
    from calle_tui.core.error_kinds import BrokerFailure

log = logging.getLogger("calle_tui.auth.broker")

SESSIONS_API = "/api/v1/openagent-auth/sessions"
SECRET_HEADER = "x-openagent-session-secret"
CHANNEL = "openagent_oauth"
CLIENT_NAME = "calle-tui"
SCOPE = "openid email profile"  # what production's challenge names and CALL-E's CLI asks for
MIN_TTL_SECONDS = 300  # a token with less than 5 minutes left counts as expired (as the CLI does)
POLL_MIN, POLL_MAX, POLL_DEFAULT = 0.5, 10.0, 2.0  # seconds


class BrokerError(Exception):
    """How a brokered sign-in ended without tokens: `kind` for code, the text for a person."""

    def __init__(self, kind: BrokerFailure, sentence: str) -> None:
        super().__init__(sentence)
        self.kind: BrokerFailure = kind
        self.sentence = sentence


SENTENCES: dict[BrokerFailure, str] = {
    "failed": "The sign-in was not approved on CALL-E's page. Start again for a new link.",
    "expired": "The sign-in link expired before it was approved. Start again for a new link.",
    "gone": "CALL-E no longer knows this sign-in (it has expired). Start again for a new link.",
    "exchanged": "This sign-in was already used once. Start again for a new link.",
    "forbidden": "CALL-E refused this sign-in session. Start again for a new link.",
    "timeout": "No approval arrived in time. Start again for a new link.",
    "canceled": "Sign-in canceled.",
    "unreachable": "CALL-E's sign-in service could not be reached. Check the connection and start again.",
    "bad_reply": "CALL-E's sign-in service sent a reply calle-tui cannot read. Start again, or sign in with the browser.",
    "not_offered": "This server does not offer the one-link sign-in. Sign in with the browser instead.",
}


def _error(kind: BrokerFailure, detail: str | None = None) -> BrokerError:
    sentence = SENTENCES[kind]
    if kind == "failed" and detail:
        sentence = f"The sign-in was not approved: {redact(detail[:200]).rstrip('.')}. Start again for a new link."
    return BrokerError(kind, sentence)


def parse_time(value: Any) -> float | None:
    """An ISO 8601 time (the broker's and the CLI's expires_at) or epoch seconds, as epoch seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a time without an offset could be anyone's: not used for an expiry
    return parsed.timestamp()


def poll_delay(poll_after_ms: Any) -> float:
    """The server's poll_after_ms in seconds, clamped to 0.5-10 s (2 s when it names none)."""
    try:
        ms = float(poll_after_ms)
    except (TypeError, ValueError):
        return POLL_DEFAULT
    if ms != ms or ms <= 0:  # NaN or nothing useful
        return POLL_DEFAULT
    return max(POLL_MIN, min(ms / 1000.0, POLL_MAX))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class PendingSession:
    session_id: str
    session_secret: str = field(repr=False)
    login_url: str
    status: str = "PENDING"
    expires_at: float | None = None  # epoch seconds
    poll_after_ms: float | None = None
    server_url: str = ""

    def __post_init__(self) -> None:
        register_secret(self.session_secret)


def _pending_from_reply(body: Any, server_url: str) -> PendingSession:
    if not isinstance(body, dict):
        raise _error("bad_reply")
    secret, session_id, login_url = body.get("session_secret"), body.get("session_id"), body.get("login_url")
    if isinstance(secret, str):
        register_secret(secret)  # before anything else could log the reply
    if not (isinstance(session_id, str) and session_id and isinstance(secret, str) and secret):
        raise _error("bad_reply")
    parts = urlsplit(login_url) if isinstance(login_url, str) else None
    loopback = parts is not None and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if (
        not isinstance(login_url, str)
        or parts is None
        or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))
    ):
        raise _error("bad_reply")  # a link we would show a person must be https (or the local sandbox)
    return PendingSession(
        session_id=session_id,
        session_secret=secret,
        login_url=login_url,
        status=str(body.get("status") or "PENDING").upper(),
        expires_at=parse_time(body.get("expires_at")),
        poll_after_ms=body.get("poll_after_ms") if isinstance(body.get("poll_after_ms"), int | float) else None,
        server_url=server_url,
    )


class PendingFile:
    """The pending session for one server, kept privately so a restart resumes it (0600 in a 0700 folder)."""

    def __init__(self, folder: Path, server_url: str) -> None:
        self.folder = Path(folder)
        self.path = self.folder / (hashlib.sha256(server_url.encode()).hexdigest()[:24] + ".json")
        self.server_url = server_url

    def load(self) -> PendingSession | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("server_url") != self.server_url:
                return None
            return PendingSession(**{k: data[k] for k in PendingSession.__dataclass_fields__ if k in data})
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.warning("saved sign-in session unreadable (%s); starting a new one", type(exc).__name__)
            return None

    def save(self, pending: PendingSession) -> None:
        private_dir(self.folder)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".pending-")  # mkstemp makes it 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(asdict(pending), out)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot keep the sign-in session for a restart (%s)", type(exc).__name__)
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def clear(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove the saved sign-in session (%s)", type(exc).__name__)


class BrokerClient:
    def __init__(
        self,
        server_url: str,
        state_folder: Path,
        *,
        broker_url: str | None = None,
        scope: str = SCOPE,
        clock: Clock | None = None,
        request_timeout: float = 15.0,
    ) -> None:
        self.server_url = server_url
        self.broker_url = (broker_url or origin_of(server_url)).rstrip("/")
        self.overridden = bool(broker_url)
        self.scope = scope
        self.clock = clock or SystemClock()
        self.request_timeout = request_timeout
        self.pending_file = PendingFile(Path(state_folder) / "broker", server_url)
        self._cancelled = asyncio.Event()

    # --- HTTP ------------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, secret: str | None = None, body: Any = None) -> tuple[int, Any]:
        import httpx2  # on the first request, not with the module: see the package docstring

        headers = {SECRET_HEADER: secret} if secret else {}
        try:
            async with httpx2.AsyncClient(timeout=self.request_timeout, follow_redirects=False) as http:
                reply = await http.request(method, self.broker_url + path, headers=headers, json=body)
        except httpx2.HTTPError as exc:
            log.info("broker %s %s unreachable (%s)", method, path.split("/")[-1], type(exc).__name__)
            raise _error("unreachable") from None
        try:
            data = reply.json()
        except ValueError:
            data = None
        return reply.status_code, data

    async def offered(self) -> bool:
        """Whether the broker is there: its sessions API answers a GET on the collection with anything but
        404 or 401 (405 where only POST is routed). Nothing is created. An override is trusted."""
        if self.overridden:
            return True
        try:
            code, _ = await self._request("GET", SESSIONS_API)
        except BrokerError:
            return False
        # 401 too: the broker's API is public (a session secret, not a bearer token, guards each session), so a
        # bearer challenge there means the whole origin is behind one - no broker to offer.
        return code not in (401, 404) and code < 500

    # --- the session -----------------------------------------------------------------------------

    async def create(self) -> PendingSession:
        code, body = await self._request(
            "POST",
            SESSIONS_API,
            body={
                "server_url": self.server_url,
                "auth_base_url": origin_of(self.server_url),
                "channel": CHANNEL,
                "scope": self.scope,
                "client_name": CLIENT_NAME,
            },
        )
        if code == 404:
            raise _error("not_offered")
        if code >= 400:
            raise _error("bad_reply")
        pending = _pending_from_reply(body, self.server_url)
        self.pending_file.save(pending)
        return pending

    async def status(self, pending: PendingSession) -> PendingSession:
        """The session's status now, kept on disk; BrokerError for 403 / 410 / an unreadable reply."""
        code, body = await self._request("GET", f"{SESSIONS_API}/{pending.session_id}", secret=pending.session_secret)
        if code == 410:
            raise _error("gone")
        if code in (401, 403, 404):
            raise _error("forbidden")
        if code >= 400 or not isinstance(body, dict):
            raise _error("bad_reply")
        pending.status = str(body.get("status") or pending.status).upper()
        pending.expires_at = parse_time(body.get("expires_at")) or pending.expires_at
        if isinstance(body.get("poll_after_ms"), int | float):
            pending.poll_after_ms = body["poll_after_ms"]
        if pending.status == "FAILED":
            message = body.get("error_message")
            raise _error("failed", message if isinstance(message, str) else None)
        if pending.status == "EXPIRED":
            raise _error("expired")
        if pending.status == "EXCHANGED":
            raise _error("exchanged")
        if not self._cancelled.is_set():  # a cancelled sign-in stays forgotten
            self.pending_file.save(pending)
        return pending

    async def start(self, *, force: bool = False) -> PendingSession:
        """The saved pending session when it is still alive (checked with the broker), else a new one."""
        self._cancelled.clear()  # a new sign-in; a cancel from now on ends it, even before wait() begins
        saved = None if force else self.pending_file.load()
        if saved is not None and not (saved.expires_at is not None and saved.expires_at <= self.clock.now()):
            try:
                return await self.status(saved)
            except BrokerError as exc:
                if exc.kind in {"unreachable"}:
                    raise
                log.info("saved sign-in session ended (%s); creating a new one", exc.kind)
        self.pending_file.clear()
        return await self.create()

    async def wait(self, pending: PendingSession, *, timeout: float = 300.0) -> PendingSession:
        """Poll until AUTHORIZED. Ends with BrokerError on FAILED, EXPIRED, 410, timeout or cancel()."""
        deadline = self.clock.now() + timeout
        if pending.expires_at is not None:
            deadline = min(deadline, pending.expires_at + POLL_MAX)  # the broker's own expiry answers first
        while True:
            if self._cancelled.is_set():
                raise _error("canceled")
            delay = poll_delay(pending.poll_after_ms)
            try:
                pending = await self.status(pending)
            except BrokerError as exc:
                if exc.kind == "unreachable" and self.clock.now() + delay <= deadline:
                    await self._sleep(delay)  # a network blip: the session is still there, ask again
                    continue
                if exc.kind != "unreachable":
                    self.pending_file.clear()  # a session that ended is never resumed
                raise
            if pending.status == "AUTHORIZED":
                return pending
            delay = poll_delay(pending.poll_after_ms)
            if self.clock.now() + delay > deadline:
                raise _error("timeout")
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        cancelled = asyncio.ensure_future(self._cancelled.wait())
        try:
            await asyncio.wait({sleeper, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, cancelled):
                task.cancel()
        if self._cancelled.is_set():
            raise _error("canceled")

    def cancel(self) -> None:
        """Stop waiting and forget the session (a cancelled sign-in is not resumed)."""
        self._cancelled.set()
        self.pending_file.clear()

    async def exchange(self, pending: PendingSession) -> Any:
        """The tokens for an AUTHORIZED session, as the SDK's OAuthToken (expires_in from expires_at)."""
        from mcp.shared.auth import OAuthToken  # the SDK loads on the first sign-in: see the package docstring

        code, body = await self._request(
            "POST", f"{SESSIONS_API}/{pending.session_id}/exchange", secret=pending.session_secret
        )
        self.pending_file.clear()  # an exchange is final whatever it answers
        if code == 410:
            raise _error("gone")
        if code in (401, 403, 404):
            raise _error("forbidden")
        if code == 409:
            raise _error("exchanged")
        token = body.get("token") if isinstance(body, dict) else None
        if code >= 400 or not isinstance(token, dict) or not isinstance(token.get("access_token"), str):
            raise _error("bad_reply")
        register_secret(token.get("access_token"))
        register_secret(token.get("refresh_token") if isinstance(token.get("refresh_token"), str) else None)
        expires_at = parse_time(body.get("expires_at"))
        expires_in = token.get("expires_in")
        if expires_at is not None:
            expires_in = max(0, int(expires_at - self.clock.now()))
        return OAuthToken(
            access_token=token["access_token"],
            token_type="Bearer",
            expires_in=int(expires_in) if isinstance(expires_in, int | float) else None,
            refresh_token=token.get("refresh_token") if isinstance(token.get("refresh_token"), str) else None,
            scope=token.get("scope") if isinstance(token.get("scope"), str) else None,
        )

    async def sign_in(self, storage: Any, on_pending: Any = None, *, timeout: float = 300.0) -> Any:
        """start -> on_pending(pending) -> wait -> exchange -> storage.set_tokens; returns the token."""
        pending = await self.start()
        if on_pending is not None:
            on_pending(pending)
        pending = await self.wait(pending, timeout=timeout)
        token = await self.exchange(pending)
        await storage.set_tokens(token)
        return token


def token_usable(expires_at: float | None, now: float) -> bool:
    """A stored token is usable with at least 5 minutes left (none named: usable until the server says no)."""
    return expires_at is None or expires_at - now >= MIN_TTL_SECONDS
