"""Assembles the sandbox: one Starlette app that is both the OAuth authorization server and the MCP
resource server, from the mcp SDK's own pieces (auth routes, bearer middleware, Streamable HTTP manager).

Our additions around them: metadata that also advertises public clients ("none"), a consent page, the MCP
endpoint on two paths (/mcp and production's /mcp/openagent_oauth), CORS on /mcp for browser clients,
metadata and challenges that follow the URL the client used (path and loopback host name, see origins.py),
tool annotations, fault injection, counters, and a request log that never shows a query string.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.auth.json_response import PydanticJSONResponse
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import ProviderTokenVerifier
from mcp.server.auth.routes import build_metadata, cors_middleware, create_auth_routes
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.auth import ProtectedResourceMetadata
from mcp.shared.auth_utils import check_resource_allowed
from pydantic import AnyHttpUrl, ConfigDict, TypeAdapter
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calle_tui import __version__
from calle_tui.core.wire.contract import (
    GetCallRunInput,
    GetCallRunResult,
    PlanCallInput,
    PlanCallResult,
    RunCallInput,
    RunCallResult,
)
from calle_tui.sandbox.broker import broker_routes
from calle_tui.sandbox.calle_dialect import CALLE_INPUTS, CalleTools, prose_for
from calle_tui.sandbox.config import MCP_ALIAS_PATHS, MCP_PATH, SCOPE, SandboxConfig, SandboxStats
from calle_tui.sandbox.oauth import CONSENT_PATH, SandboxOAuthProvider
from calle_tui.sandbox.origins import Origins
from calle_tui.sandbox.store import Store
from calle_tui.sandbox.tools import ToolFailure, Tools

log = logging.getLogger("calle_tui.sandbox.http")
# Keep "http://127.0.0.1:PORT" without a trailing slash: issuers are compared as exact strings (RFC 8414).
_URL = TypeAdapter(AnyHttpUrl, config=ConfigDict(url_preserve_empty_path=True))
tool_log = logging.getLogger("calle_tui.sandbox.tools")

TOOL_DESCRIPTIONS = {
    "plan_call": (
        "Prepare or refine a phone call plan. Never places a call. Pass the user's latest message verbatim in "
        "user_input, and structured fields only when the user stated them. If ready_to_run is false, ask the "
        "user the questions in `missing` and call plan_call again with the plan_id and their answer. When "
        "ready, show the plan to the user and keep plan_id and confirm_token exactly."
    ),
    "run_call": (
        "Place (or schedule) the call of a ready plan. This can contact a real person: call it only after the "
        "user clearly confirmed the plan, with the exact plan_id and confirm_token from the latest plan_call. "
        "A plan places at most one call; never use run_call to test a connection."
    ),
    "get_call_run": (
        "Read a call's progress and results (read-only). Returns status, activity entries (live transcript "
        "turns have type 'speech'), and on a finished call a summary, details and the full transcript. Page "
        "with next_cursor; next_step says when to check again. Wait about 60 s after run_call before the first "
        "check, then every 5-10 s."
    ),
}
# The calle dialect's wording of the same tools, after production's (which names its own fields).
CALLE_DESCRIPTIONS = {
    "plan_call": (
        "Create or refine a call plan. Never places a call. If ready_to_run is false, ask the user the "
        "clarifying_questions and call plan_call again with the same plan_id. When ready, show confirm_summary "
        "and keep plan_id and confirm_token exactly."
    ),
    "run_call": (
        "Start the call of a ready plan, only after the user clearly confirmed it. Do not call it more than once "
        "per plan_id; follow next_step."
    ),
    "get_call_run": (
        "Read a call run's status, activity and result (read-only). The whole activity history comes back on "
        "every call; follow next_step (poll_get_call_run, report_result, ...)."
    ),
}
# Hints for clients that decide from them when to ask the person first (MCP tool annotations): only
# get_call_run is read-only; run_call reaches the outside world and cannot be undone, and a replay of the same
# plan and token is answered with the same run (idempotent by contract).
TOOL_HINTS = {
    "plan_call": types.ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                                       open_world_hint=False),
    "run_call": types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                      open_world_hint=True),
    "get_call_run": types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                          open_world_hint=False),
}  # fmt: skip
TOOL_MODELS = {
    "plan_call": (PlanCallInput, PlanCallResult),
    "run_call": (RunCallInput, RunCallResult),
    "get_call_run": (GetCallRunInput, GetCallRunResult),
}


def tool_definitions(calle: bool = False) -> list[types.Tool]:
    """The tools as listed. The reference dialect declares its output schemas; the calle dialect answers in
    production's shapes, which no schema of ours describes, and also lists production's telemetry tool."""
    descriptions = {**TOOL_DESCRIPTIONS, **(CALLE_DESCRIPTIONS if calle else {})}
    tools = [
        types.Tool(
            name=name,
            title=name.replace("_", " ").capitalize(),
            description=descriptions[name],
            input_schema=(CALLE_INPUTS[name] if calle else inp).model_json_schema(),
            output_schema=None if calle else out.model_json_schema(),
            annotations=TOOL_HINTS[name],
        )
        for name, (inp, out) in TOOL_MODELS.items()
    ]
    if calle:
        tools.append(
            types.Tool(
                name="track_ui_events",
                description="Widget telemetry sink (production offers it; clients may ignore it).",
                input_schema={"type": "object", "properties": {}, "additionalProperties": True},
                annotations=types.ToolAnnotations(
                    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
                ),
            )
        )
    return tools


def build_mcp_server(tools: Tools, stats: SandboxStats, config: SandboxConfig | None = None) -> Server:
    calle = config is not None and config.dialect == "calle"
    definitions = tool_definitions(calle)
    schemas = {t.name: t.input_schema for t in definitions}

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=definitions)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        name = params.name
        stats.count("tool_calls", name)
        if name == "plan_call":
            stats.saw_plan_meta(dict(params.meta) if params.meta else None)
        handler = {"plan_call": tools.plan_call, "run_call": tools.run_call, "get_call_run": tools.get_call_run}
        if calle and name == "track_ui_events":
            return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])  # telemetry sink
        if name not in handler:
            return _error(f"There is no tool named '{name}'. The tools are plan_call, run_call and get_call_run.")
        arguments = params.arguments or {}
        try:
            if calle and name == "plan_call":
                # Production's planner reads the caller's time zone from the request's _meta.
                result = tools.plan_call(dict(arguments), meta=dict(params.meta or {}))  # type: ignore[call-arg]
            else:
                result = handler[name](dict(arguments))
        except ToolFailure as exc:
            tool_log.info("%s refused: %s", name, exc)
            return _error(json.dumps(exc.data) if exc.data is not None else str(exc))
        except Exception:  # noqa: BLE001 - a bug of ours: say so plainly, keep the details in the log
            tool_log.exception("%s failed unexpectedly", name)
            return _error(f"The sandbox hit an internal problem running {name}; nothing was changed. Try again.")
        if config is not None and config.content_only:
            # Some servers send no structured content: prose first, the JSON object in a later text block.
            return types.CallToolResult(
                content=[
                    types.TextContent(type="text", text=prose_for(result)),
                    types.TextContent(type="text", text=json.dumps(result)),
                ]
            )
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result))],
            structured_content=result,
        )

    return Server(
        "calle-sandbox",
        version=__version__,
        title="CALL-E sandbox",
        instructions="A local CALL-E look-alike: plan_call -> run_call -> get_call_run. Calls are simulated.",
        get_tool_input_schema=lambda name: schemas.get(name),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _error(sentence: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=sentence)], is_error=True)


# --- middleware ------------------------------------------------------------------------------------


class FaultsAndCounts:
    """Around /mcp: injected 429s / 503s / latency (seeded), and counting 401s."""

    def __init__(self, app: ASGIApp, config: SandboxConfig, stats: SandboxStats, rng: random.Random) -> None:
        self.app = app
        self.config = config
        self.stats = stats
        self.rng = rng

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        faults = self.config.faults
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        roll = self.rng.random()
        if roll < faults.rate_429:
            self.stats.count("faults_injected", "429")
            retry = max(0, math.ceil(faults.retry_after))
            body = {"error": "rate_limited", "error_description": f"Too many requests. Retry in {retry} s."}
            await JSONResponse(body, status_code=429, headers={"Retry-After": str(retry)})(scope, receive, send)
            return
        if roll < faults.rate_429 + faults.rate_5xx:
            self.stats.count("faults_injected", "503")
            body = {"error": "unavailable", "error_description": "The sandbox is simulating an outage."}
            await JSONResponse(body, status_code=503)(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.stats.bump("unauthorized_401")
            await send(message)

        await self.app(scope, receive, counting_send)


class TokenOutage:
    """Around the whole app: while `faults.token_outage` > 0, a POST to a token endpoint is answered with
    `faults.token_outage_status` (and the count goes down), as an authorization server's brief outage."""

    def __init__(self, app: ASGIApp, config: SandboxConfig, stats: SandboxStats) -> None:
        self.app = app
        self.config = config
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.config.faults
        if (
            scope["type"] == "http"
            and scope.get("method") == "POST"
            and str(scope.get("path", "")).rstrip("/").endswith("/token")
            and faults.token_outage > 0
        ):
            faults.token_outage -= 1
            status = int(faults.token_outage_status)
            self.stats.count("faults_injected", f"token_{status}")
            body = {"error": "temporarily_unavailable", "error_description": "The sandbox is simulating an outage."}
            headers = {"Retry-After": "1"} if status == 429 else {}
            await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RequestLog:
    """Counts every request and logs method, path (never the query string) and status."""

    def __init__(self, app: ASGIApp, stats: SandboxStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.stats.bump("http_requests")
        if scope["path"] == "/authorize":
            self.stats.bump("authorize_requests")
        started = time.perf_counter()
        status = 0

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            took = (time.perf_counter() - started) * 1000
            log.info("%s %s %s %.1fms", scope.get("method"), scope["path"], status, took)


class ScopedChallenge(RequireAuthMiddleware):
    """The SDK's 401/403, with a WWW-Authenticate that points at the metadata on the origin the client used
    (see origins.py) and also names the scope to ask for (RFC 6750 §3): MCP clients take their scope from
    the challenge first, and only then from the resource metadata."""

    def __init__(self, app: ASGIApp, origins: Origins, path: str, scope: str) -> None:
        self.metadata_path = f"/.well-known/oauth-protected-resource{path}"
        super().__init__(app, [], AnyHttpUrl(origins.base_url + self.metadata_path))
        self.origins = origins
        self.scope = scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        canonical = f'resource_metadata="{self.origins.base_url}{self.metadata_path}"'.encode()
        wanted = f'resource_metadata="{self.origins.of(scope)}{self.metadata_path}"'.encode()

        async def challenge(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (401, 403):
                headers = []
                for name, value in message["headers"]:
                    if name.lower() == b"www-authenticate":
                        value = value.replace(canonical, wanted) + f', scope="{self.scope}"'.encode()
                    headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, challenge)


class AudienceBearerBackend(BearerAuthBackend):
    """The SDK's bearer check, with the audience compared hierarchically (as the SDK's own
    check_resource_allowed does): a token for /mcp also serves /mcp/openagent_oauth, one for the alias does
    not serve /mcp, and one for another server serves neither. Our origin's spellings (127.0.0.1,
    localhost) are one server."""

    def __init__(self, verifier: ProviderTokenVerifier, url: str, origins: Origins) -> None:
        super().__init__(verifier, resource_server_url=AnyHttpUrl(url))
        self.url = url
        self.origins = origins

    def _issued_for_this_resource(self, resource: str | None) -> bool:
        if not resource:
            return False
        return check_resource_allowed(requested_resource=self.url, configured_resource=self.origins.canonical(resource))


def metadata_endpoint(build: Callable[[str], Any], origins: Origins) -> ASGIApp:
    """GET metadata built for the origin the request came in on (cached per origin), with CORS."""
    cache: dict[str, Any] = {}

    async def handle(request: Request) -> Response:
        origin = origins.of(request.scope)
        if origin not in cache:
            cache[origin] = build(origin)
        return PydanticJSONResponse(content=cache[origin], headers={"Cache-Control": "public, max-age=3600"})

    return cors_middleware(handle, ["GET", "OPTIONS"])


# --- consent page ----------------------------------------------------------------------------------

CONSENT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CALL-E sandbox: allow access?</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em}}
button{{font-size:1.1em;padding:.4em 1.2em;margin-right:1em}}code{{background:#eee;padding:0 .2em}}</style>
</head><body>
<h1>Allow {client} to use the CALL-E sandbox?</h1>
<p>It will be able to plan calls, start simulated calls you confirm, and read their results.</p>
<ul><li>Application: <b>{client}</b></li><li>Returns to: <code>{redirect}</code></li>
<li>Access: <code>{scopes}</code> on <code>{resource}</code></li></ul>
<form method="post" action="{action}">
<input type="hidden" name="request" value="{request_id}">
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form><p><small>This is a local sandbox: no real phone calls are placed.</small></p>
</body></html>"""

GONE_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in expired</title></head>
<body><h1>This sign-in request has expired or was already answered.</h1>
<p>Start the sign-in again from your application.</p></body></html>"""


def consent_endpoint(provider: SandboxOAuthProvider):
    async def consent(request: Request) -> Response:
        if request.method == "GET":
            request_id = request.query_params.get("request", "")
            pending = provider.pending_request(request_id) if request_id else None
            if pending is None:
                return HTMLResponse(GONE_HTML, status_code=400)
            client, params = pending
            page = CONSENT_HTML.format(
                client=html.escape(client.client_name or client.client_id),
                redirect=html.escape(str(params.redirect_uri).split("?")[0]),
                scopes=html.escape(" ".join(params.scopes or []) or SCOPE),
                resource=html.escape(params.resource or provider.resource),
                action=CONSENT_PATH,
                request_id=html.escape(request_id),
            )
            return HTMLResponse(page, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
        form = await request.form()
        request_id = str(form.get("request") or "")
        decision = str(form.get("decision") or "")
        if decision not in {"approve", "deny"}:
            return HTMLResponse(GONE_HTML.replace("has expired or was already answered", "had no decision"), 400)
        target = provider.decide(request_id, approve=decision == "approve") if request_id else None
        if target is None:
            return HTMLResponse(GONE_HTML, status_code=400)
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})

    return consent


def index_endpoint(base_url: str):
    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "name": "CALL-E sandbox",
                "mcp_url": base_url + MCP_PATH,
                "also_served_at": [base_url + p for p in MCP_ALIAS_PATHS],
                "authorization_server": base_url,
                "broker": base_url + "/api/v1/openagent-auth/sessions",
                "docs": "README.md (The sandbox) in the calle-tui repository",
                "note": "Calls are simulated; no real phone calls are placed.",
            }
        )

    return index


def admin_endpoints(config: SandboxConfig, stats: SandboxStats):
    """/_sandbox/faults (GET, POST a JSON object of Faults fields, `{"reset": true}` or DELETE to clear them) and /_sandbox/stats (GET): so tests and
    benchmarks that run the sandbox as a separate process can bend it and read its counters."""
    limits = {"rate_429": (0.0, 1.0), "rate_5xx": (0.0, 1.0), "retry_after": (0.0, 3600.0),
              "latency": (0.0, 60.0), "token_lifetime": (1, 86400 * 30),
              "token_outage": (0, 1000), "token_outage_status": (200, 599)}  # fmt: skip
    whole = {"token_lifetime", "token_outage", "token_outage_status"}

    def clear() -> None:
        for item in dataclasses.fields(config.faults):
            setattr(config.faults, item.name, item.default)

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            clear()
        if request.method == "POST":
            try:
                changes = json.loads(await request.body())
            except ValueError:
                return JSONResponse({"error": "The body must be a JSON object of fault settings."}, 400)
            if not isinstance(changes, dict):
                return JSONResponse({"error": "The body must be a JSON object of fault settings."}, 400)
            reset = changes.pop("reset", False)
            if not isinstance(reset, bool):
                return JSONResponse({"error": "'reset' must be true or false."}, 400)
            for name, value in changes.items():
                if name not in limits:
                    return JSONResponse({"error": f"Unknown fault setting '{name}'; known: {sorted(limits)}."}, 400)
                low, high = limits[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                    return JSONResponse({"error": f"'{name}' must be a number from {low} to {high}."}, 400)
            if reset:  # every fault back to off (and token_lifetime to its default), then the changes
                clear()
            for name, value in changes.items():
                setattr(config.faults, name, int(value) if name in whole else float(value))
        return JSONResponse(dataclasses.asdict(config.faults))

    async def counters(request: Request) -> Response:
        return JSONResponse(stats.snapshot())

    return [
        Route("/_sandbox/faults", endpoint=faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/stats", endpoint=counters, methods=["GET"]),
    ]


# --- assembly --------------------------------------------------------------------------------------


@dataclass
class SandboxApp:
    app: ASGIApp
    provider: SandboxOAuthProvider
    tools: Tools
    session_manager: StreamableHTTPSessionManager


def build_app(config: SandboxConfig, store: Store, stats: SandboxStats, base_url: str) -> SandboxApp:
    origins = Origins(base_url, config.host)
    paths = (MCP_PATH, *MCP_ALIAS_PATHS)
    resource = base_url + MCP_PATH
    # Tokens can be bound to any spelling of any of our endpoint URLs (the one the client names).
    aliases = tuple(origin + path for origin in origins.all() for path in paths if origin + path != resource)
    provider = SandboxOAuthProvider(store, config, stats, base_url, resource, aliases)
    calle = config.dialect == "calle"
    tools = (CalleTools if calle else Tools)(store, config, stats)
    server = build_mcp_server(tools, stats, config)
    # Production's authorization server lives under a path (https://dashboard.heycall-e.com/mcp-auth):
    # with `auth_path` the OAuth endpoints and the issuer move under it, and its RFC 8414 metadata is found
    # at /.well-known/oauth-authorization-server<auth_path>.
    auth_path = "/" + config.auth_path.strip("/") if config.auth_path.strip("/") else ""
    issuer = _URL.validate_python(base_url + auth_path)

    hosts = {"127.0.0.1", "localhost", "[::1]", config.host}
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{h}:*" for h in hosts],
        allowed_origins=[f"http://{h}:*" for h in hosts],
    )
    # Production answers POSTs with plain JSON (no SSE), issues no Mcp-Session-Id and refuses an Accept
    # header without application/json (406): the calle dialect does the same on the wire.
    manager = StreamableHTTPSessionManager(app=server, security_settings=security, json_response=calle, stateless=calle)
    streamable = StreamableHTTPASGIApp(manager)
    verifier = ProviderTokenVerifier(provider)

    registration = ClientRegistrationOptions(enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE])
    revocation = RevocationOptions(enabled=True)
    routes: list[Any] = []
    oauth_routes = [
        route
        for route in create_auth_routes(provider, issuer, None, registration, revocation)
        if route.path != "/.well-known/oauth-authorization-server"  # replaced below: per origin, public clients
    ]
    routes.extend([Mount(auth_path, routes=oauth_routes)] if auth_path else oauth_routes)

    def as_metadata(origin: str) -> Any:
        # RFC 8414 §3.3: the issuer must equal the URL the metadata was discovered from, exactly.
        metadata = build_metadata(_URL.validate_python(origin + auth_path), None, registration, revocation)
        metadata.token_endpoint_auth_methods_supported = ["none", "client_secret_post", "client_secret_basic"]
        if config.no_refresh:
            metadata.grant_types_supported = ["authorization_code"]  # as production's metadata says
        metadata.revocation_endpoint_auth_methods_supported = ["none", "client_secret_post", "client_secret_basic"]
        return metadata

    routes.append(
        Route(
            "/.well-known/oauth-authorization-server" + auth_path,
            endpoint=metadata_endpoint(as_metadata, origins),
            methods=["GET", "OPTIONS"],
        )
    )

    def prm_for(path: str) -> Callable[[str], Any]:
        # RFC 9728 §3.3: `resource` must equal the URL the metadata was fetched for; strict clients (the
        # TypeScript SDK, Inspector) compare it with the URL they connect to, alias path and host included.
        return lambda origin: ProtectedResourceMetadata(
            resource=AnyHttpUrl(origin + path),
            authorization_servers=[_URL.validate_python(origin + auth_path)],
            scopes_supported=[SCOPE],
            resource_name="CALL-E sandbox",
        )

    routes.append(
        Route(
            "/.well-known/oauth-protected-resource",
            endpoint=metadata_endpoint(prm_for(MCP_PATH), origins),
            methods=["GET", "OPTIONS"],
        )
    )

    rng = random.Random(config.seed)
    for path in paths:
        well_known = f"/.well-known/oauth-protected-resource{path}"
        routes.append(Route(well_known, endpoint=metadata_endpoint(prm_for(path), origins), methods=["GET", "OPTIONS"]))
        protected: ASGIApp = ScopedChallenge(streamable, origins, path, SCOPE)
        protected = AuthContextMiddleware(protected)
        backend = AudienceBearerBackend(verifier, base_url + path, origins)
        protected = AuthenticationMiddleware(protected, backend=backend)
        protected = FaultsAndCounts(protected, config, stats, rng)
        protected = CORSMiddleware(
            protected,
            allow_origins=["*"],
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["Mcp-Session-Id", "WWW-Authenticate", "Mcp-Protocol-Version", "Retry-After"],
        )
        routes.append(Route(path, endpoint=protected))

    routes.append(Route(CONSENT_PATH, endpoint=consent_endpoint(provider), methods=["GET", "POST"]))
    routes.append(Route("/", endpoint=index_endpoint(base_url), methods=["GET"]))
    routes.extend(broker_routes(provider, base_url))  # CALL-E's brokered sign-in (broker.py)
    routes.extend(admin_endpoints(config, stats))

    app = Starlette(routes=routes, lifespan=lambda _app: manager.run())
    return SandboxApp(RequestLog(TokenOutage(app, config, stats), stats), provider, tools, manager)
