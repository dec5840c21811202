"""The SDK's OAuthClientProvider with the fixes this app needs (ARCHITECTURE.md, "known SDK gaps").

The SDK does the protocol (discovery, registration, PKCE, resource indicators, refresh); we only add:
1. Restore the absolute expiry and the discovered metadata before the first request, so an expired token
   after a restart is refreshed instead of sending the user to the browser.
2. After a 401 on a token we thought valid, refresh once before any browser login.
3. Re-register once when the authorization server forgot our client (refresh answered invalid_client,
   /authorize answered "client not found"), or when the stored registration is for another redirect URI
   (the loopback port changes from one sign-in to the next).
4. Login timeout and cancel live in the login flow objects (login_flows.py); here they surface as
   LoginTimedOut / LoginCanceled.
5. With interactive=False (background reconnects) a 401 raises LoginRequired instead of opening a browser.
6. SignInProgress events (discovering, registering, exchanging, done, failed, canceled).
7. Step-up (a 403 with error="insufficient_scope"): the SDK re-authorises with the union of the scopes held
   and the scopes the challenge names, then retries the request once. A background session has no login
   flow of its own, so it borrows one from `step_up` (the worker's, with its events) for that one
   re-authorisation; the request the person asked for is what needs the extra permission. A second 403 on
   the same request goes back to that request as it is (a sentence, ScopeStillInsufficient, in
   connection.classify), never another trip to the sign-in page. The client is not registered again for
   the wider scope: servers bind MCP sessions to the client_id, so a new registration would end the
   session the retried request belongs to.
8. A 401 from a server with no OAuth metadata and no sign-in endpoints of its own is SignInNotOffered, not a
   registration "refusal" or a browser sent to a page that does not exist.
9. Two calle-tui windows share one sign-in: a refresh runs under a lock shared between processes, from the
   tokens stored now, so a refresh token another window already spent is never sent again.
One file, although long: each fix overrides a hook of the one SDK class and they act on the same request in
the order `_auth_flow` runs them, which split across modules could no longer be read in one place.
Exceptions leaving the provider carry safe sentences (errors.py); the SDK's own error texts (which can echo
response bodies and state values) go only to the redacted log.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError, OAuthRegistrationError, OAuthTokenError
from mcp.client.auth.utils import extract_field_from_www_auth
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthMetadata,
    OAuthToken,
    ProtectedResourceMetadata,
)
from pydantic import AnyUrl

from calle_tui.core.auth.errors import (
    AuthError,
    ClientRejected,
    LoginCanceled,
    LoginDenied,
    LoginFailed,
    LoginRequired,
    LoginTimedOut,
    RegistrationRefused,
    SignInNotOffered,
    SignInServerUnavailable,
)
from calle_tui.core.auth.login_flows import PASTE_REDIRECT_URI, client_rejected
from calle_tui.core.auth.token_storage import ServerTokenStorage
from calle_tui.core.events import LoginFlowName, SignInProgress
from calle_tui.core.support.secrets import register_secret

if TYPE_CHECKING:  # pragma: no cover
    from calle_tui.core.events import SignInStep

__all__ = [
    "AuthError",
    "CalleOAuthProvider",
    "LoginCanceled",
    "LoginDenied",
    "LoginFailed",
    "LoginRequired",
    "LoginTimedOut",
    "build_oauth_provider",
    "revoke_and_forget",
]

log = logging.getLogger("calle_tui.auth.provider")

EXPIRY_SKEW_SECONDS = 30.0  # refresh a little early: a token that expires in flight costs a 401 round trip


def _insufficient_scope(response: httpx2.Response) -> bool:
    return response.status_code == 403 and extract_field_from_www_auth(response, "error") == "insufficient_scope"


class _AdoptedStoredSignIn(Exception):
    """Raised in place of a refresh that another window already did: the flow runs again with its token."""


def _needs_login(response: httpx2.Response) -> bool:
    return response.status_code == 401 or _insufficient_scope(response)


# Opens a started login flow (BrowserLogin/AutoFollowLogin) for one step-up and closes it afterwards.
StepUpLogin = Callable[[], AbstractAsyncContextManager[Any]]


class CalleOAuthProvider(OAuthClientProvider):
    def __init__(
        self,
        server_url: str,
        client_metadata: OAuthClientMetadata,
        storage: ServerTokenStorage,
        login: Any,
        emit: Callable[[SignInProgress], None],
        *,
        interactive: bool,
        preregistered: OAuthClientInformationFull | None = None,
        probe_authorize: bool = True,
        step_up: StepUpLogin | None = None,
    ) -> None:
        super().__init__(
            server_url,
            client_metadata,
            storage,
            redirect_handler=self._redirect_handler,
            callback_handler=self._callback_handler,
        )
        self._storage = storage
        self._login = login
        self._emit_cb = emit
        self._interactive = interactive and login is not None
        self._preregistered = preregistered
        self._probe_authorize = probe_authorize
        self._flow_name: LoginFlowName = getattr(login, "flow_name", "loopback")
        self._emitted: set[str] = set()
        self._registered_in_flow = False  # a client registered moments ago needs no "still known?" probe
        self.registrations = 0  # dynamic registrations made by this provider (for tests and the doctor)
        self._step_up = step_up
        self.step_ups = 0  # re-authorisations for more scopes (for tests and the doctor)

    # --- events -------------------------------------------------------------------------------------------

    def _emit(self, step: SignInStep, message: str = "", *, once: bool = True) -> None:
        if not self._interactive or (once and step in self._emitted):
            return
        self._emitted.add(step)
        try:
            self._emit_cb(SignInProgress(step=step, flow=self._flow_name, message=message))
        except Exception:  # a broken subscriber must not break sign-in
            log.exception("sign-in progress subscriber failed")

    def _note_outgoing(self, outgoing: httpx2.Request, original: httpx2.Request) -> None:
        if outgoing is original or not self._interactive:
            return
        path = outgoing.url.path
        if "/.well-known/" in path:
            self._emit("discovering")
        elif outgoing.method == "POST" and self._is_registration(outgoing):
            self.registrations += 1
            self._registered_in_flow = True
            self._emit("registering")
        elif outgoing.method == "POST" and b"grant_type=authorization_code" in (outgoing.content or b""):
            self._emit("exchanging")

    def _is_registration(self, request: httpx2.Request) -> bool:
        meta = self.context.oauth_metadata
        if meta is not None and meta.registration_endpoint is not None:
            return str(request.url) == str(meta.registration_endpoint)
        return request.url.path.rstrip("/").endswith("/register")

    # --- fix 1: restore expiry and metadata -----------------------------------------------------------------

    async def _initialize(self) -> None:
        await super()._initialize()
        if self._preregistered is not None:
            self.context.client_info = self._preregistered
        if self.context.current_tokens is not None:
            expires_at = self._storage.expires_at
            if expires_at is not None:
                self.context.token_expiry_time = expires_at - EXPIRY_SKEW_SECONDS
        meta = self._storage.get_metadata()
        try:
            if meta.get("protected_resource_metadata") and self.context.protected_resource_metadata is None:
                self.context.protected_resource_metadata = ProtectedResourceMetadata.model_validate(
                    meta["protected_resource_metadata"]
                )
            if meta.get("oauth_metadata") and self.context.oauth_metadata is None:
                self.context.oauth_metadata = OAuthMetadata.model_validate(meta["oauth_metadata"])
            if meta.get("auth_server_url") and self.context.auth_server_url is None:
                self.context.auth_server_url = meta["auth_server_url"]
        except Exception:  # noqa: BLE001 - stale metadata is rediscovered on the next 401
            log.info("stored OAuth metadata is unreadable; it will be discovered again")
        self._fit_preregistered_auth_method()

    def _fit_preregistered_auth_method(self) -> None:
        """A pre-registered client with a secret authenticates at the token endpoint the way the server's
        metadata says it accepts: client_secret_post when listed, else client_secret_basic (also RFC 8414's
        default when the list is absent). A dynamic registration already carries what the server chose."""
        info = self.context.client_info
        if self._preregistered is None or info is None or not info.client_secret:
            return
        meta = self.context.oauth_metadata
        if meta is None:
            return  # nothing known yet: keep what was configured
        supported = meta.token_endpoint_auth_methods_supported or []
        method = "client_secret_post" if "client_secret_post" in supported else "client_secret_basic"
        info.token_endpoint_auth_method = method

    async def _persist_metadata(self) -> None:
        await self._storage.set_metadata(
            protected_resource_metadata=self.context.protected_resource_metadata,
            oauth_metadata=self.context.oauth_metadata,
            auth_server_url=self.context.auth_server_url,
        )

    async def _handle_token_response(self, response: httpx2.Response) -> None:
        try:
            await super()._handle_token_response(response)
        except OAuthTokenError:
            body = await response.aread()
            if client_rejected(response.status_code, body):
                raise ClientRejected() from None
            raise
        await self._persist_metadata()
        self._emit("done", "Signed in.")

    # --- fix 3: the server forgot our client ------------------------------------------------------------------

    async def _handle_refresh_response(self, response: httpx2.Response) -> bool:
        try:
            return await self._read_refresh_response(response)
        finally:
            self._storage.refresh_lock().release()  # what it wrote is in the store: another window may go

    async def _read_refresh_response(self, response: httpx2.Response) -> bool:
        if response.status_code == 200:
            try:
                OAuthToken.model_validate_json(await response.aread())
            except ValueError:
                # The SDK would drop the tokens and send the person to the browser; whether the server
                # rotated the refresh token cannot be known from an unreadable answer, so keep it and retry.
                log.info("token refresh answered 200 with a body that is not a token reply; keeping the sign-in")
                raise SignInServerUnavailable(200, unreadable=True) from None
        if response.status_code != 200:
            body = await response.aread()
            if not refresh_refused(response.status_code, body):
                # An outage (5xx, 429, a proxy's page): the refresh token is still good. The SDK would drop
                # it and send the person to the browser; we keep it and let the worker retry with backoff.
                log.info("token refresh met HTTP %s; keeping the sign-in", response.status_code)
                raise SignInServerUnavailable(response.status_code, response.headers.get("retry-after"))
            if client_rejected(response.status_code, body) and self._preregistered is None:
                log.info("the authorization server no longer knows our client; it will be registered again")
                self.context.client_info = None
                await self._storage.forget_client()
            await self._storage.clear_tokens()  # a rejected refresh token must not be retried after a restart
        ok = await super()._handle_refresh_response(response)
        if ok:
            await self._persist_metadata()
        return ok

    async def _forget_client(self) -> None:
        self.context.client_info = None
        await self._storage.forget_client()

    # --- fix 9: two windows share one sign-in ---------------------------------------------------------------

    async def _adopt_stored_sign_in(self) -> bool:
        """Read the store again: another calle-tui window may have refreshed (rotating the refresh token we
        hold) or signed in since. Its tokens replace ours; True when they did."""
        await self._storage.reload()
        stored = await self._storage.get_tokens()
        current = self.context.current_tokens
        if stored is None:
            return False  # nothing better stored (or signed out elsewhere: our own next 401 will say so)
        if current is not None and (stored.access_token, stored.refresh_token) == (
            current.access_token,
            current.refresh_token,
        ):
            return False
        self.context.current_tokens = stored
        expires_at = self._storage.expires_at
        self.context.token_expiry_time = expires_at - EXPIRY_SKEW_SECONDS if expires_at is not None else None
        if self.context.client_info is None:
            self.context.client_info = await self._storage.get_client_info()
        log.info("using the sign-in another calle-tui window stored")
        return True

    async def _refresh_token(self) -> httpx2.Request:
        # Under the lock, from what is stored now: a refresh token another window already spent must never
        # be sent (the server would revoke the whole sign-in, for both windows).
        lock = self._storage.refresh_lock()
        await lock.acquire()
        try:
            if await self._adopt_stored_sign_in() and self.context.is_token_valid():
                raise _AdoptedStoredSignIn()
            return await super()._refresh_token()
        except BaseException:
            lock.release()
            raise

    def _registered_for_other_redirect(self) -> bool:
        info = self.context.client_info
        if info is None or self._preregistered is not None:
            return False
        ours = self.context.client_metadata.redirect_uris or []
        if not ours:
            return False
        wanted = str(ours[0])
        return wanted not in {str(uri) for uri in info.redirect_uris or []}

    # --- the flow wrapper --------------------------------------------------------------------------------------

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        rejected_once = False
        adopted = 0
        refreshed_after_401 = False
        stepped_up = False  # at most one step-up per request, however often the flow below is re-run
        borrowed: AbstractAsyncContextManager[Any] | None = None
        restore = (self._login, self._interactive, self._flow_name)
        try:
            while True:
                if self._initialized and not self.context.is_token_valid():
                    # Expired here, perhaps refreshed by another window already: use that, refresh nothing.
                    await self._adopt_stored_sign_in()
                inner = super()._auth_flow(request)
                try:
                    outgoing = await inner.__anext__()
                    while True:
                        self._note_outgoing(outgoing, request)
                        response = yield outgoing
                        if (
                            outgoing is request
                            and response.status_code == 401
                            and not refreshed_after_401
                            and "authorization" in request.headers
                            and self.context.can_refresh_token()
                        ):
                            # The server dropped a token we thought valid (revoked, expired early, server
                            # restarted): a refresh is enough. The SDK would go straight to a browser login.
                            refreshed_after_401 = True
                            refresh_response = yield await self._refresh_token()
                            if await self._handle_refresh_response(refresh_response):
                                self._add_auth_header(request)
                                response = yield request
                        if outgoing is not request and response.status_code >= 400 and self._sign_in_not_offered(outgoing):
                            raise SignInNotOffered()
                        if outgoing is request and _insufficient_scope(response):
                            if stepped_up:
                                # Still refused after the one step-up: the 403 goes back to this request
                                # alone (connection.classify makes it the ScopeStillInsufficient sentence);
                                # raising here would tear down the whole session, other calls included.
                                log.info("still insufficient scope after one step-up; not signing in again")
                                outgoing = await inner.asend(response)
                                continue
                            stepped_up = True
                            self.step_ups += 1
                            if borrowed is None and not self._ready_for_another_login():
                                borrowed = await self._borrow_login()
                        if outgoing is request and _needs_login(response):
                            if not self._interactive:
                                raise LoginRequired()
                            if self._registered_for_other_redirect():
                                await self._forget_client()  # register afresh for this sign-in's redirect URI
                        outgoing = await inner.asend(response)
                except StopAsyncIteration:
                    return
                except _AdoptedStoredSignIn:
                    adopted += 1
                    if adopted > 3:  # windows taking turns without end: let the next refresh go out
                        raise LoginFailed("The sign-in keeps changing in another calle-tui window. Try again.") from None
                    continue  # run the flow again with the stored, still valid token
                except ClientRejected:
                    rearm = getattr(self._login, "rearm", None)
                    if rejected_once or self._preregistered is not None or (rearm is not None and not rearm()):
                        failure = RegistrationRefused("The sign-in server does not accept this app's registration.")
                        self._emit("failed", failure.message, once=False)
                        raise failure from None
                    rejected_once = True
                    stepped_up = False  # the step-up, if one was under way, did not finish: it may run again
                    self._registered_in_flow = False
                    await self._forget_client()
                    self._emitted.discard("registering")
                    continue  # run the flow again: the SDK registers anew
                except LoginRequired:
                    raise
                except LoginCanceled as exc:
                    self._emit("canceled", exc.message, once=False)
                    raise
                except AuthError as exc:
                    self._emit("failed", exc.message, once=False)
                    raise
                except OAuthFlowError as exc:
                    flow_failure = _safe_oauth_failure(exc)
                    log.info("OAuth flow failed: %s: %s", type(exc).__name__, exc)
                    self._emit("failed", flow_failure.message, once=False)
                    raise flow_failure from None
                finally:
                    await inner.aclose()
        finally:
            self._storage.refresh_lock().release()  # a refresh cut short (network error) holds it no longer
            if borrowed is not None:
                self._login, self._interactive, self._flow_name = restore
                await borrowed.__aexit__(None, None, None)

    # --- fix 7: step-up borrows a login flow -----------------------------------------------------------------

    def _ready_for_another_login(self) -> bool:
        """Can this provider's own login flow take a second authorization round? A background session has
        none; a loopback listener closes after its one callback."""
        if not self._interactive:
            return False
        rearm = getattr(self._login, "rearm", None)
        return rearm is None or bool(rearm())

    async def _borrow_login(self) -> AbstractAsyncContextManager[Any] | None:
        if self._step_up is None:
            return None  # then the 403 is handled like a 401 here: LoginRequired when not interactive
        borrowed = self._step_up()
        login = await borrowed.__aenter__()
        self._login = login
        self._interactive = True
        self._flow_name = getattr(login, "flow_name", "loopback")
        self._emitted.clear()  # this re-authorisation reports its own steps
        redirect_uri = getattr(login, "redirect_uri", None)
        if redirect_uri:
            # The client must be registered for this flow's redirect URI; _registered_for_other_redirect
            # below re-registers when the stored registration is for another one.
            self.context.client_metadata.redirect_uris = [AnyUrl(redirect_uri)]
        log.info("the server asked for more permissions: signing in again with the union of scopes, once")
        return borrowed

    # --- fix 8: a 401 without any sign-in we can use -------------------------------------------------------

    def _sign_in_not_offered(self, outgoing: httpx2.Request) -> bool:
        """No protected resource metadata, no authorization server metadata, and the SDK's last resort (the
        2025-03-26 fallback endpoints at the server's origin) failed too: registration is refused or absent."""
        if self.context.protected_resource_metadata is not None or self.context.oauth_metadata is not None:
            return False
        return outgoing.method == "POST" and self._is_registration(outgoing)

    # --- the browser step --------------------------------------------------------------------------------------

    async def _redirect_handler(self, authorize_url: str) -> None:
        if self._login is None or not self._interactive:
            raise LoginRequired()
        if await self._no_authorize_endpoint(authorize_url):
            raise SignInNotOffered()
        self._fit_preregistered_auth_method()
        if self._registered_for_other_redirect():
            raise ClientRejected()
        if self._probe_authorize and not self._registered_in_flow and self._is_browser_flow():
            await self._probe(authorize_url)
        await self._login.redirect_handler(authorize_url)

    def _is_browser_flow(self) -> bool:
        return self._flow_name in ("loopback", "paste")

    async def _no_authorize_endpoint(self, authorize_url: str) -> bool:
        """Without any metadata the SDK guesses <origin>/authorize (the 2025-03-26 fallback; a pre-registered
        client skips the /register that would have told us). One GET, never followed: an answer that says
        there is no sign-in page there means no browser is sent to one."""
        if self.context.protected_resource_metadata is not None or self.context.oauth_metadata is not None:
            return False
        try:
            async with httpx2.AsyncClient(follow_redirects=False, timeout=10.0) as http:
                response = await http.get(authorize_url)
        except Exception as exc:  # noqa: BLE001 - a failed look says nothing: go ahead as before
            log.debug("authorize check skipped (%s)", type(exc).__name__)
            return False
        if response.is_redirect:
            location = response.headers.get("location", "")
            register_secret(dict(parse_qsl(urlsplit(location).query)).get("code"))
        return response.status_code in (401, 403, 404, 405, 501)

    async def _probe(self, authorize_url: str) -> None:
        """Before sending a person to the browser, check the server still knows our client: otherwise they
        would meet an error page and we would wait for a callback that never comes. Only a GET, never
        followed; any problem here just means "go ahead"."""
        try:
            async with httpx2.AsyncClient(follow_redirects=False, timeout=10.0) as http:
                response = await http.get(authorize_url)
        except Exception as exc:  # noqa: BLE001
            log.debug("authorize probe skipped (%s)", type(exc).__name__)
            return
        if response.is_redirect:
            # An auto-approving server may answer with a code already: never log or keep it.
            location = response.headers.get("location", "")
            register_secret(dict(parse_qsl(urlsplit(location).query)).get("code"))
            return
        if client_rejected(response.status_code, response.content):
            raise ClientRejected()

    async def _callback_handler(self) -> AuthorizationCodeResult:
        login = self._login
        result_fn = getattr(login, "callback_result", None)
        if result_fn is not None:
            result: AuthorizationCodeResult = await result_fn()
            return result

        code, state = await login.callback_handler()
        return AuthorizationCodeResult(code=code, state=state)


def refresh_refused(status: int, body: bytes) -> bool:
    """Does this token-endpoint answer end the sign-in? Only when the server says the grant or the client
    is no good (RFC 6749 5.2: invalid_grant, invalid_client, unauthorized_client); anything else is an outage."""
    if status not in (400, 401):
        return False
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return False
    error = data.get("error") if isinstance(data, dict) else None
    return error in ("invalid_grant", "invalid_client", "unauthorized_client") or client_rejected(status, body)


def _safe_oauth_failure(exc: OAuthFlowError) -> LoginFailed:
    if isinstance(exc, OAuthRegistrationError):
        return RegistrationRefused()
    if isinstance(exc, OAuthTokenError):
        return LoginFailed("Sign-in failed: the sign-in server did not accept the sign-in code.")
    text = str(exc).lower()
    if "state parameter mismatch" in text:
        return LoginFailed("Sign-in failed: the answer did not belong to this sign-in attempt.")
    if "metadata" in text or "protected resource" in text:
        return LoginFailed("Sign-in failed: the server's sign-in settings could not be read.")
    if "issuer" in text:
        return LoginFailed("Sign-in failed: the sign-in server did not identify itself correctly.")
    return LoginFailed("Sign-in failed.")


def build_oauth_provider(
    server_url: str,
    storage: ServerTokenStorage,
    login: Any,
    emit: Callable[[SignInProgress], None],
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    client_name: str = "calle-tui",
    interactive: bool = True,
    probe_authorize: bool = True,
    step_up: StepUpLogin | None = None,
) -> CalleOAuthProvider:
    """The provider for one server. `login` is a BrowserLogin/AutoFollowLogin after `await login.start()`
    (its redirect_uri is registered), or None for a background connection (then a 401 -> LoginRequired).
    `step_up` opens a login flow for a 403 insufficient_scope when the provider's own cannot be used."""
    redirect_uri = getattr(login, "redirect_uri", None) or PASTE_REDIRECT_URI
    metadata = OAuthClientMetadata(
        client_name=client_name,
        redirect_uris=[AnyUrl(redirect_uri)],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )
    preregistered = None
    if client_id:
        register_secret(client_secret)
        preregistered = OAuthClientInformationFull(
            client_id=client_id,
            client_secret=client_secret or None,
            redirect_uris=[AnyUrl(redirect_uri)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="client_secret_post" if client_secret else "none",
        )
    return CalleOAuthProvider(
        server_url,
        metadata,
        storage,
        login,
        emit,
        interactive=interactive,
        preregistered=preregistered,
        probe_authorize=probe_authorize,
        step_up=step_up,
    )


async def revoke_and_forget(storage: ServerTokenStorage, http: httpx2.AsyncClient) -> None:
    """Sign out: revoke the tokens where the server supports it (RFC 7009), then forget everything stored
    for this server - even when revocation fails."""
    try:
        oauth_metadata = storage.get_metadata().get("oauth_metadata") or {}
        endpoint = oauth_metadata.get("revocation_endpoint")
        tokens = await storage.get_tokens()
        client = await storage.get_client_info()
        if endpoint and tokens is not None and client is not None:
            for token, hint in ((tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")):
                if not token:
                    continue
                data = {"token": token, "token_type_hint": hint, "client_id": client.client_id}
                headers: dict[str, str] = {}
                if client.client_secret and client.token_endpoint_auth_method == "client_secret_basic":
                    pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
                    headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
                elif client.client_secret:
                    data["client_secret"] = client.client_secret
                try:
                    response = await http.post(endpoint, data=data, headers=headers)
                    log.info("token revocation (%s): HTTP %s", hint, response.status_code)
                except httpx2.HTTPError as exc:
                    log.info("token revocation failed (%s)", type(exc).__name__)
    finally:
        await storage.clear()
