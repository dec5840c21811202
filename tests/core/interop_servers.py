"""Third-party-ish CALL-E servers for interop tests, built from the mcp SDK's own pieces, configured unlike
our sandbox: the authorization server on another origin with a path in its issuer, scopes the resource server
requires, the MCP endpoint on another path, and tools whose answers differ from our contract (text only, extra
fields, missing optional fields, the SDK's {"result": ...} wrapper).

Real HTTP on 127.0.0.1, port 0. The authorization server approves at once (like the sandbox's auto-approve),
so the worker's auto-follow sign-in can finish without a browser.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from calle_fakes import ServerThread
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_metadata, cors_middleware, create_auth_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

SCOPES = ["calls.plan", "calls.run"]


class MemoryAuthServer:
    """A minimal OAuth 2.1 authorization server policy (the SDK's provider protocol, in memory): approves
    at once, grants exactly the scopes asked for, binds tokens to the requested resource."""

    def __init__(self, *, widen_registrations: list[str] | None = None) -> None:
        # widen_registrations: every registered client may ask for these scopes too, whatever it registered
        # with (an AS whose client policy is "any scope we support"; what a scope step-up needs).
        self.widen_registrations = widen_registrations
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.refresh: dict[str, RefreshToken] = {}
        self.asked_scopes: list[list[str] | None] = []
        self.asked_resources: list[str | None] = []

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        if self.widen_registrations:
            client_info = client_info.model_copy(update={"scope": " ".join(self.widen_registrations)})
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        self.asked_scopes.append(params.scopes)
        self.asked_resources.append(params.resource)
        code = secrets.token_urlsafe(16)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(self, client: Any, authorization_code: str) -> AuthorizationCode | None:
        return self.codes.pop(authorization_code, None)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.tokens[access] = AccessToken(token=access, client_id=client_id, scopes=scopes,
                                          expires_at=int(time.time()) + 3600, resource=resource)  # fmt: skip
        self.refresh[refresh] = RefreshToken(token=refresh, client_id=client_id, scopes=scopes)
        return OAuthToken(access_token=access, token_type="Bearer", expires_in=3600, refresh_token=refresh,
                          scope=" ".join(scopes) or None)  # fmt: skip

    async def exchange_authorization_code(self, client: Any, authorization_code: AuthorizationCode) -> OAuthToken:
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(self, client: Any, refresh_token: str) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(self, client: Any, refresh_token: RefreshToken, scopes: list[str]) -> OAuthToken:
        self.refresh.pop(refresh_token.token, None)
        return self._issue(client.client_id, scopes or refresh_token.scopes, None)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.tokens.get(token)

    async def revoke_token(self, token: Any) -> None:
        self.tokens.pop(token.token, None)
        self.refresh.pop(token.token, None)

    async def verify_token(self, token: str) -> AccessToken | None:  # the resource server's TokenVerifier
        return self.tokens.get(token)


class StepUpGuard:
    """ASGI middleware in front of a resource server: a tools/call of a guarded tool whose bearer token lacks
    the tool's extra scopes gets 403 with `error="insufficient_scope"` and a `scope` naming only the missing
    ones (RFC 6750 §3.1), before the tool runs. `always` refuses whatever the token holds (a server that
    keeps refusing). Unknown tokens pass through, so the server's own 401 still answers them."""

    def __init__(self, app: Any, auth: MemoryAuthServer, needs: dict[str, list[str]], metadata_url: str,
                 *, always: bool = False) -> None:  # fmt: skip
        self.app, self.auth, self.needs, self.metadata_url, self.always = app, auth, needs, metadata_url, always
        self.refused: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            rpc = json.loads(body)
        except ValueError:
            rpc = None
        name = None
        if isinstance(rpc, dict) and rpc.get("method") == "tools/call":
            name = (rpc.get("params") or {}).get("name")
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        token = headers.get("authorization", "").removeprefix("Bearer ")
        held = self.auth.tokens.get(token)
        if name in self.needs and held is not None:
            wanted = self.needs[name]
            if self.always or not set(wanted) <= set(held.scopes):
                self.refused.append(name)
                challenge = (f'Bearer error="insufficient_scope", scope="{" ".join(wanted)}", '
                             f'resource_metadata="{self.metadata_url}"')  # fmt: skip
                reply = JSONResponse({"error": "insufficient_scope"}, 403, headers={"WWW-Authenticate": challenge})
                await reply(scope, receive, send)
                return
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ThirdPartyCalle:
    """Two origins: an authorization server at <as>/tenant-a (issuer with a path: metadata at
    /.well-known/oauth-authorization-server/tenant-a, endpoints under /tenant-a/) and an MCPServer at
    <rs>/v2/calle requiring SCOPES. `tools` are registered with MCPServer's own decorator."""

    def __init__(
        self,
        tools: dict[str, tuple[Callable[..., Any], bool | None]],
        *,
        registration: bool = True,
        oidc: bool = False,  # metadata only where an OpenID provider (Keycloak-style) puts it
        required_scopes: list[str] = SCOPES,  # what the resource server asks for every request
        step_up: dict[str, list[str]] | None = None,  # tool -> extra scopes its calls need (StepUpGuard)
        step_up_always: bool = False,
        token_auth_methods: list[str] | None = None,  # what the metadata lists for the token endpoint
        **http: Any,  # streamable_http_app options: json_response, stateless_http
    ) -> None:
        self.auth = MemoryAuthServer(widen_registrations=SCOPES if step_up else None)
        self._as = ServerThread()
        self._rs = ServerThread()
        self.issuer = self._as.origin + "/tenant-a"
        self.url = self._rs.origin + "/v2/calle"
        issuer = AnyHttpUrl(self.issuer)
        registration_options = ClientRegistrationOptions(enabled=registration, valid_scopes=SCOPES,
                                                         default_scopes=SCOPES)  # fmt: skip
        revocation = RevocationOptions(enabled=True)
        endpoints = [r for r in create_auth_routes(self.auth, issuer, None, registration_options, revocation)
                     if not r.path.startswith("/.well-known/")]  # fmt: skip
        metadata = build_metadata(issuer, None, registration_options, revocation)
        if token_auth_methods is not None:
            metadata.token_endpoint_auth_methods_supported = token_auth_methods
        where = "/.well-known/oauth-authorization-server/tenant-a"
        if oidc:
            where = "/tenant-a/.well-known/openid-configuration"
        as_app = Starlette(
            routes=[
                Route(
                    where,
                    endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
                    methods=["GET", "OPTIONS"],
                ),
                Mount("/tenant-a", routes=endpoints),
            ]
        )
        server = MCPServer(
            "third-party-calle",
            version="9.9.9",
            token_verifier=self.auth,
            auth=AuthSettings(
                issuer_url=issuer,
                resource_server_url=AnyHttpUrl(self.url),
                required_scopes=required_scopes,
                validate_token_resource=True,
            ),
        )
        for name, (fn, structured) in tools.items():
            server.tool(name=name, structured_output=structured)(fn)
        self._rs_app = server.streamable_http_app(streamable_http_path="/v2/calle", **http)
        self.guard: StepUpGuard | None = None
        if step_up:
            prm = self._rs.origin + "/.well-known/oauth-protected-resource/v2/calle"
            self.guard = StepUpGuard(self._rs_app, self.auth, step_up, prm, always=step_up_always)
            self._rs_app = self.guard
        self._as_app = as_app

    def __enter__(self) -> ThirdPartyCalle:
        self._as.serve(self._as_app)
        self._rs.serve(self._rs_app)
        return self

    def __exit__(self, *exc: object) -> None:
        self._rs.stop()
        self._as.stop()


class LegacyCalle:
    """One origin that is both authorization and resource server, configured the pre-RFC 9728 way: no
    protected-resource metadata, a 401 without `resource_metadata`, no scopes. The client must fall back to
    the origin's /.well-known/oauth-authorization-server."""

    def __init__(self, tools: dict[str, tuple[Callable[..., Any], bool | None]]) -> None:
        self.auth = MemoryAuthServer()
        self._rs = ServerThread()
        self.url = self._rs.origin + "/mcp"
        server = MCPServer(
            "legacy-calle",
            auth_server_provider=self.auth,
            auth=AuthSettings(
                issuer_url=AnyHttpUrl(self._rs.origin),
                resource_server_url=None,
                client_registration_options=ClientRegistrationOptions(enabled=True),
                revocation_options=RevocationOptions(enabled=True),
            ),
        )
        for name, (fn, structured) in tools.items():
            server.tool(name=name, structured_output=structured)(fn)
        self._app = server.streamable_http_app()

    def __enter__(self) -> LegacyCalle:
        self._rs.serve(self._app)
        return self

    def __exit__(self, *exc: object) -> None:
        self._rs.stop()
