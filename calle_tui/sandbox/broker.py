"""The sandbox's brokered sign-in, as CALL-E's own CLI uses it (CALLE-DIALECT.md, "Sign-in").

    POST /api/v1/openagent-auth/sessions                 -> {session_id, session_secret, login_url, status,
                                                             poll_after_ms, expires_at}
    GET  /api/v1/openagent-auth/sessions/{id}            (x-openagent-session-secret) -> {status, ...}
    POST /api/v1/openagent-auth/sessions/{id}/exchange   (same header) -> {token: {...}, expires_at}
    GET/POST /openagent-auth/sessions/{id}/start          the approval page at login_url (approve / deny)

Statuses: PENDING -> AUTHORIZED (approved) or FAILED (denied) -> EXCHANGED (after the one exchange);
EXPIRED once the session's lifetime on the sandbox clock has passed (HTTP 410). A wrong secret gets 403.
With `auto_approve` a session is AUTHORIZED as soon as it is created.

Tokens are issued at the exchange by the OAuth provider, so they are ordinary sandbox access tokens bound
to the MCP URL the client named. Like production, the broker registers no OAuth client for the caller: the
refresh token it hands out belongs to the broker's own client id, which the token endpoint does not know,
so a brokered sign-in cannot be refreshed and the client must sign in again before the token runs out.
Only a SHA-256 digest of the session secret is stored.
"""

from __future__ import annotations

import html
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from mcp.server.auth.provider import AuthorizeError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from calle_tui.sandbox.oauth import SandboxOAuthProvider
from calle_tui.sandbox.store import digest

API = "/api/v1/openagent-auth/sessions"
START = "/openagent-auth/sessions/{session_id}/start"
SECRET_HEADER = "x-openagent-session-secret"
BROKER_CLIENT_ID = "openagent-broker"  # never registered: its refresh tokens cannot be used at /token
SESSION_LIFETIME = 600  # seconds a session stays usable
POLL_AFTER_MS = 2000
CHANNEL = "openagent_oauth"

APPROVE_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to the CALL-E sandbox</title>
</head><body><h1>Sign in to the CALL-E sandbox</h1>
<p><strong>{client}</strong> asks to use the sandbox's MCP endpoint <code>{server}</code> on your behalf.</p>
<p>Scope: <code>{scope}</code>. Calls are simulated; no phone rings.</p>
<form method="post"><button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></form></body></html>"""
DONE_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in</title></head>
<body><h1>{title}</h1><p>{text}</p></body></html>"""


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Broker:
    def __init__(self, provider: SandboxOAuthProvider) -> None:
        self.provider = provider
        self.store = provider.store
        self.config = provider.config

    def now(self) -> float:
        return self.provider.now()

    # --- state -------------------------------------------------------------------------------------

    def _row(self, session_id: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT data FROM broker_sessions WHERE session_id = ?", session_id)
        return json.loads(row["data"]) if row else None

    def _save(self, db: Any, session: dict[str, Any]) -> None:
        db.execute(
            "INSERT OR REPLACE INTO broker_sessions (session_id, data) VALUES (?, ?)",
            (session["session_id"], json.dumps(session)),
        )

    def _current_status(self, session: dict[str, Any]) -> str:
        if session["status"] in {"PENDING", "AUTHORIZED"} and session["expires_at"] <= self.now():
            return "EXPIRED"
        return session["status"]

    def create(self, body: dict[str, Any], base_url: str) -> dict[str, Any]:
        server_url = str(body.get("server_url") or self.provider.resource)
        resource = self.provider.bound_resource(server_url)  # AuthorizeError for another server's URL
        session_id = secrets.token_urlsafe(12)
        secret = f"{self.config.secret_prefix}ss_{secrets.token_urlsafe(32)}"
        now = self.now()
        session = {
            "session_id": session_id,
            "secret_hash": digest(secret),
            "resource": resource,
            "scope": str(body.get("scope") or ""),
            "client_name": str(body.get("client_name") or "an application")[:80],
            "status": "AUTHORIZED" if self.config.auto_approve else "PENDING",
            "created_at": now,
            "expires_at": now + SESSION_LIFETIME,
        }
        with self.store.transaction() as db:
            self._save(db, session)
        return {
            "session_id": session_id,
            "session_secret": secret,
            "login_url": base_url + START.format(session_id=session_id),
            "status": session["status"],
            "poll_after_ms": POLL_AFTER_MS,
            "expires_at": iso(session["expires_at"]),
        }

    def check(self, session_id: str, secret: str) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, session) for a request that presents `secret`."""
        session = self._row(session_id)
        if session is None:
            return 404, None
        if not secrets.compare_digest(session["secret_hash"], digest(secret or "")):
            return 403, None
        if self._current_status(session) == "EXPIRED":
            return 410, session
        return 200, session

    def public(self, session: dict[str, Any]) -> dict[str, Any]:
        status = self._current_status(session)
        out: dict[str, Any] = {
            "session_id": session["session_id"],
            "status": status,
            "poll_after_ms": POLL_AFTER_MS,
            "expires_at": iso(session["expires_at"]),
        }
        if status == "FAILED":
            out["error_message"] = "The sign-in was denied on the approval page."
        return out

    def decide(self, session_id: str, approve: bool) -> str | None:
        """Answer the approval page; the session's status after it, or None when it cannot be answered."""
        with self.store.transaction() as db:
            row = db.execute("SELECT data FROM broker_sessions WHERE session_id = ?", (session_id,)).fetchone()
            if row is None:
                return None
            session = json.loads(row["data"])
            if self._current_status(session) != "PENDING":
                return None
            session["status"] = "AUTHORIZED" if approve else "FAILED"
            self._save(db, session)
        return session["status"]

    def exchange(self, session_id: str, secret: str) -> tuple[int, dict[str, Any]]:
        with self.store.transaction() as db:
            row = db.execute("SELECT data FROM broker_sessions WHERE session_id = ?", (session_id,)).fetchone()
            if row is None:
                return 404, {"error": "unknown session"}
            session = json.loads(row["data"])
            if not secrets.compare_digest(session["secret_hash"], digest(secret or "")):
                return 403, {"error": "wrong session secret"}
            status = self._current_status(session)
            if status == "EXPIRED":
                return 410, {"status": "EXPIRED", "error": "the session has expired"}
            if status != "AUTHORIZED":
                return 409, {"status": status, "error": f"the session is {status}, not AUTHORIZED"}
            scopes = session["scope"].split()
            token = self.provider._issue(db, BROKER_CLIENT_ID, scopes, session["resource"], secrets.token_hex(8))
            session["status"] = "EXCHANGED"
            self._save(db, session)
        self.provider.stats.count("token_grants", "broker")
        document = token.model_dump(mode="json", exclude_none=True)
        return 200, {"token": document, "expires_at": iso(self.now() + int(token.expires_in or 0))}


def broker_routes(provider: SandboxOAuthProvider, base_url: str) -> list[Route]:
    broker = Broker(provider)

    async def sessions(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "The body must be a JSON object."}, 400)
        if body.get("channel") not in (None, CHANNEL):
            return JSONResponse({"error": f"Unknown channel; this broker serves '{CHANNEL}'."}, 400)
        try:
            return JSONResponse(broker.create(body, base_url), headers={"Cache-Control": "no-store"})
        except AuthorizeError as exc:
            return JSONResponse({"error": exc.error_description}, 400)

    async def session(request: Request) -> Response:
        code, found = broker.check(request.path_params["session_id"], request.headers.get(SECRET_HEADER, ""))
        if found is None:
            return JSONResponse({"error": "unknown session" if code == 404 else "wrong session secret"}, code)
        return JSONResponse(broker.public(found), code, headers={"Cache-Control": "no-store"})

    async def exchange(request: Request) -> Response:
        code, body = broker.exchange(request.path_params["session_id"], request.headers.get(SECRET_HEADER, ""))
        return JSONResponse(body, code, headers={"Cache-Control": "no-store"})

    async def start(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        found = broker._row(session_id)
        headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}
        if request.method == "POST":
            decision = str((await request.form()).get("decision") or "")
            status = broker.decide(session_id, approve=decision == "approve") if decision in {"approve", "deny"} else None
            if status == "AUTHORIZED":
                return HTMLResponse(
                    DONE_HTML.format(
                        title="Signed in", text="You can close this page: the application finishes by itself."
                    ),
                    headers=headers,
                )
            if status == "FAILED":
                return HTMLResponse(DONE_HTML.format(title="Sign-in denied", text="Nothing was shared."), headers=headers)
        elif found is not None and broker._current_status(found) == "PENDING":
            page = APPROVE_HTML.format(
                client=html.escape(found["client_name"]),
                server=html.escape(found["resource"]),
                scope=html.escape(found["scope"] or "(none)"),
            )
            return HTMLResponse(page, headers=headers)
        return HTMLResponse(
            DONE_HTML.format(title="This sign-in has expired or was already answered.",
                             text="Start the sign-in again from your application."),
            status_code=410 if found is not None else 404, headers=headers,
        )  # fmt: skip

    return [
        Route(API, endpoint=sessions, methods=["POST"]),
        Route(API + "/{session_id}", endpoint=session, methods=["GET"]),
        Route(API + "/{session_id}/exchange", endpoint=exchange, methods=["POST"]),
        Route(START, endpoint=start, methods=["GET", "POST"]),
    ]
