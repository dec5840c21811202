"""The sandbox's OAuth 2.1 authorization server: the mcp SDK's provider protocol backed by SQLite.

The SDK's handlers do the HTTP work (metadata, /authorize, /token, /register, /revoke, PKCE S256 checks);
this provider decides policy:
- authorization codes are single use (consumed when loaded; a replayed code revokes what it produced) and
  expire after `code_lifetime` seconds of the sandbox clock;
- every token is bound to the MCP resource (RFC 8707); a request for another resource gets invalid_target;
- refresh tokens rotate; presenting a used one revokes its whole family (the tokens that descend from the
  same sign-in);
- revoking any token revokes its family.
Time comes from the configured clock. The SDK's handlers compare expiries with the wall clock, so the
objects handed to them carry wall-clock expiries derived from the sandbox clock's remaining time.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp.shared.auth_utils import check_resource_allowed

from calle_tui.sandbox.config import SandboxConfig, SandboxStats
from calle_tui.sandbox.store import Store, digest

log = logging.getLogger("calle_tui.sandbox.oauth")

CONSENT_PATH = "/consent"
CONSENT_LIFETIME = 600  # seconds a consent page stays usable


class SandboxOAuthProvider:
    def __init__(
        self,
        store: Store,
        config: SandboxConfig,
        stats: SandboxStats,
        base_url: str,
        resource: str,
        aliases: tuple[str, ...] = (),
    ):
        self.store = store
        self.config = config
        self.stats = stats
        self.base_url = base_url
        self.resource = resource  # the default resource (/mcp), for requests that name none
        # Every URL the MCP endpoint is served at: a token is bound to the one the client asked for.
        self.resources = (resource, *aliases)

    # --- helpers -----------------------------------------------------------------------------------

    def now(self) -> float:
        return float(self.config.clock())

    def _secret(self, kind: str) -> str:
        return f"{self.config.secret_prefix}{kind}_{secrets.token_urlsafe(32)}"

    def _wall(self, expires_at: float) -> float:
        """A sandbox-clock expiry as a wall-clock time, for the SDK's own `< time.time()` checks."""
        return time.time() + (expires_at - self.now())

    def bound_resource(self, requested: str | None) -> str:
        """The resource a token will be bound to: the endpoint URL the client named (RFC 8707; strict clients
        name the URL they connect to, e.g. /mcp/openagent_oauth), else the most specific of ours that covers
        the request, never another server's."""
        if not requested:
            return self.resource
        covering = [r for r in self.resources if check_resource_allowed(requested_resource=requested,
                                                                         configured_resource=r)]  # fmt: skip
        if covering:
            return max(covering, key=len)  # /mcp/openagent_oauth over /mcp for a request at the alias
        raise AuthorizeError("invalid_target", f"This server only issues tokens for {self.resource}, not for {requested}.")

    # --- clients -----------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        row = self.store.one("SELECT info FROM clients WHERE client_id = ?", client_id)
        return OAuthClientInformationFull.model_validate_json(row["info"]) if row else None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        if client_info.client_secret is not None:
            # Our own secret format, so tests can search logs and screens for the prefix.
            client_info.client_secret = self._secret("cs")
        self.store.run(
            "INSERT INTO clients (client_id, info, created_at) VALUES (?, ?, ?)",
            client_info.client_id,
            client_info.model_dump_json(),
            self.now(),
        )
        self.stats.bump("registrations")
        log.info("registered client %s (%s)", client_info.client_id, client_info.client_name or "unnamed")

    # --- authorization -----------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        resource = self.bound_resource(params.resource)
        if self.config.auto_approve:
            return self.issue_code(client.client_id, params, resource)
        request_id = secrets.token_urlsafe(24)
        data = params.model_dump(mode="json")
        data["resource"] = resource
        self.store.run(
            "INSERT INTO auth_requests (id, client_id, params, created_at) VALUES (?, ?, ?, ?)",
            request_id,
            client.client_id,
            json.dumps(data),
            self.now(),
        )
        return f"{self.base_url}{CONSENT_PATH}?{urlencode({'request': request_id})}"

    def issue_code(self, client_id: str, params: AuthorizationParams, resource: str) -> str:
        code = self._secret("code")
        data = {
            "scopes": params.scopes or [],
            "code_challenge": params.code_challenge,
            "redirect_uri": str(params.redirect_uri),
            "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
            "resource": resource,
        }
        self.store.run(
            "INSERT INTO codes (code_hash, client_id, data, expires_at, family) VALUES (?, ?, ?, ?, ?)",
            digest(code),
            client_id,
            json.dumps(data),
            self.now() + self.config.code_lifetime,
            secrets.token_hex(8),
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    def pending_request(self, request_id: str) -> tuple[OAuthClientInformationFull, AuthorizationParams] | None:
        row = self.store.one("SELECT client_id, params, created_at FROM auth_requests WHERE id = ?", request_id)
        if row is None or row["created_at"] + CONSENT_LIFETIME < self.now():
            return None
        client_row = self.store.one("SELECT info FROM clients WHERE client_id = ?", row["client_id"])
        if client_row is None:
            return None
        client = OAuthClientInformationFull.model_validate_json(client_row["info"])
        return client, AuthorizationParams.model_validate(json.loads(row["params"]))

    def decide(self, request_id: str, approve: bool) -> str | None:
        """Finish a consent page: the redirect back to the client (code, or error=access_denied)."""
        pending = self.pending_request(request_id)
        self.store.run("DELETE FROM auth_requests WHERE id = ?", request_id)  # one decision per page
        if pending is None:
            return None
        client, params = pending
        if approve:
            return self.issue_code(client.client_id, params, params.resource or self.resource)
        return construct_redirect_uri(
            str(params.redirect_uri),
            error="access_denied",
            error_description="The request was denied on the consent page.",
            state=params.state,
        )

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        key = digest(authorization_code)
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM codes WHERE code_hash = ?", (key,)).fetchone()
            if row is None:
                return None
            if row["used"]:
                # A replayed code: whatever it produced may be in the wrong hands (RFC 6749 §4.1.2).
                self._revoke_family(db, row["family"])
                log.warning("authorization code replayed: its tokens were revoked")
                return None
            db.execute("UPDATE codes SET used = 1 WHERE code_hash = ?", (key,))
        if row["expires_at"] <= self.now():
            return None
        data = json.loads(row["data"])
        return SandboxCode(
            code=authorization_code,
            scopes=data["scopes"],
            expires_at=self._wall(row["expires_at"]),
            client_id=row["client_id"],
            code_challenge=data["code_challenge"],
            redirect_uri=data["redirect_uri"],
            redirect_uri_provided_explicitly=data["redirect_uri_provided_explicitly"],
            resource=data["resource"],
            family=row["family"],
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        family = getattr(authorization_code, "family", None) or secrets.token_hex(8)
        with self.store.transaction() as db:
            token = self._issue(db, client.client_id, authorization_code.scopes, authorization_code.resource, family)
        self.stats.count("token_grants", "authorization_code")
        return token

    # --- tokens ------------------------------------------------------------------------------------

    def _issue(self, db: Any, client_id: str, scopes: list[str], resource: str | None, family: str) -> OAuthToken:
        lifetime = int(self.config.faults.token_lifetime)
        access = self._secret("at")
        refresh = self._secret("rt")
        now = self.now()
        db.execute(
            "INSERT INTO access_tokens (token_hash, client_id, scopes, resource, expires_at, family) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (digest(access), client_id, " ".join(scopes), resource, now + lifetime, family),
        )
        if getattr(self.config, "no_refresh", False):
            # As production advertises: no refresh grant, so the client must sign in again when this expires.
            return OAuthToken(access_token=access, token_type="Bearer", expires_in=lifetime, scope=" ".join(scopes) or None)
        db.execute(
            "INSERT INTO refresh_tokens (token_hash, client_id, scopes, resource, expires_at, family) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (digest(refresh), client_id, " ".join(scopes), resource, now + self.config.refresh_lifetime, family),
        )
        return OAuthToken(
            access_token=access,
            token_type="Bearer",
            expires_in=lifetime,
            refresh_token=refresh,
            scope=" ".join(scopes) or None,
        )

    @staticmethod
    def _revoke_family(db: Any, family: str) -> None:
        db.execute("UPDATE access_tokens SET revoked = 1 WHERE family = ?", (family,))
        db.execute("UPDATE refresh_tokens SET revoked = 1 WHERE family = ?", (family,))

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        key = digest(refresh_token)
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM refresh_tokens WHERE token_hash = ?", (key,)).fetchone()
            if row is None or row["revoked"] or row["client_id"] != client.client_id:
                return None
            if row["used"]:
                # Reuse of a rotated refresh token: someone else may hold it. Revoke the whole family.
                self._revoke_family(db, row["family"])
                log.warning("refresh token reused: its family was revoked")
                return None
        if row["expires_at"] <= self.now():
            return None
        return SandboxRefreshToken(
            token=refresh_token,
            client_id=row["client_id"],
            scopes=row["scopes"].split(),
            expires_at=None,  # checked above against the sandbox clock
            resource=row["resource"],
            family=row["family"],
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        key = digest(refresh_token.token)
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM refresh_tokens WHERE token_hash = ?", (key,)).fetchone()
            if row is None or row["revoked"]:
                raise TokenError("invalid_grant", "The refresh token is no longer valid. Sign in again.")
            if row["used"]:  # lost a race with a concurrent refresh: treat as reuse
                self._revoke_family(db, row["family"])
                raise TokenError("invalid_grant", "The refresh token was already used. Sign in again.")
            db.execute("UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?", (key,))
            token = self._issue(db, client.client_id, scopes, row["resource"], row["family"])
        self.stats.count("token_grants", "refresh_token")
        return token

    async def load_access_token(self, token: str) -> AccessToken | None:
        row = self.store.one("SELECT * FROM access_tokens WHERE token_hash = ?", digest(token))
        if row is None or row["revoked"] or row["expires_at"] <= self.now():
            return None
        return AccessToken(
            token=token,
            client_id=row["client_id"],
            scopes=row["scopes"].split(),
            expires_at=None,  # checked above against the sandbox clock
            resource=row["resource"],
        )

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        key = digest(token.token)
        with self.store.transaction() as db:
            row = db.execute("SELECT family FROM access_tokens WHERE token_hash = ?", (key,)).fetchone()
            if row is None:
                row = db.execute("SELECT family FROM refresh_tokens WHERE token_hash = ?", (key,)).fetchone()
            if row is not None:
                self._revoke_family(db, row["family"])

    async def exchange_identity_assertion(self, client: Any, params: Any) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "This sandbox does not support the JWT bearer grant.")

    # --- test and admin hooks ----------------------------------------------------------------------

    def forget_clients(self) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM clients")
            db.execute("DELETE FROM auth_requests")

    def revoke_all_refresh_tokens(self) -> None:
        self.store.run("UPDATE refresh_tokens SET revoked = 1")

    def expire_access_tokens(self) -> None:
        self.store.run("UPDATE access_tokens SET expires_at = ?", self.now() - 1)


class SandboxCode(AuthorizationCode):
    family: str


class SandboxRefreshToken(RefreshToken):
    family: str
