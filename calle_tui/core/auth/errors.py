"""Sign-in exceptions whose text is a plain sentence, safe to show (never a token, code or state).

Why distinct classes: an OAuth failure tears the whole MCP session down and arrives inside an
ExceptionGroup next to transport errors. The worker finds these leaves (isinstance AuthError, or by class
name) and can tell "sign in again" / "sign-in failed / canceled / timed out" apart from a network failure.
`kind` is a short machine word for the worker; `message` is the sentence.

LoginFailed also subclasses the SDK's OAuthFlowError, so code that only knows the SDK still files these
under "auth".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from mcp.client.auth.exceptions import OAuthFlowError

if TYPE_CHECKING:
    from calle_tui.core.error_kinds import SignInFailure


class AuthError(Exception):
    kind: ClassVar[SignInFailure | Literal["auth"]] = "auth"
    default_message = "Sign-in failed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class LoginRequired(AuthError):
    """No usable tokens and the provider may not open a browser (background reconnect)."""

    kind = "login_required"
    default_message = "You need to sign in."


class LoginFailed(AuthError, OAuthFlowError):
    kind: ClassVar[SignInFailure] = "login_failed"
    default_message = "Sign-in failed."


class LoginCanceled(LoginFailed):
    kind = "canceled"
    default_message = "Sign-in was canceled."


class LoginTimedOut(LoginFailed):
    kind = "login_timeout"
    default_message = "Sign-in took too long and was stopped."


class LoginDenied(LoginFailed):
    kind = "denied"
    default_message = "Access was denied on the sign-in page."


class ClientRejected(LoginFailed):
    """The authorization server does not know our registered client (or its redirect URI)."""

    kind = "client_rejected"
    default_message = "The sign-in server no longer knows this app's registration."


class RegistrationRefused(LoginFailed):
    """The sign-in server would not register this app (dynamic registration off): only a pre-registered
    client_id in the settings can help, not another sign-in."""

    kind = "registration_failed"
    default_message = "Sign-in failed: the sign-in server did not register this app."


class SignInNotOffered(LoginFailed):
    """The server asks for sign-in (401) but publishes no OAuth metadata and has no sign-in endpoints of its
    own: no sign-in attempt can work, so none is made to look like one might."""

    kind = "sign_in_not_offered"
    default_message = "This server does not offer sign-in that calle-tui understands."


class ScopeStillInsufficient(LoginFailed):
    """After one re-authorisation with the extra permissions a 403 asked for, the server still refused: we
    stop there (one step-up per request) instead of sending the person to the sign-in page in a loop. The
    provider lets that 403 through to its request; connection.classify gives it this sentence and kind."""

    kind = "insufficient_scope"
    default_message = "The server still refuses this action after signing in again with the extra permissions it asked for."


class SignInServerUnavailable(Exception):
    """A refresh met an outage of the sign-in server (5xx, 429, an unexpected answer): the stored refresh
    token is kept and the worker retries with backoff. Deliberately not an AuthError: it must never be filed
    under "sign in again"."""

    def __init__(self, status: int | None, retry_after: str | None = None, *, unreadable: bool = False) -> None:
        what = f" (HTTP {status})" if status else ""
        if unreadable:  # a 200 whose body is not a token answer: a proxy's page, a half-sent reply
            self.message = "The sign-in server sent an answer calle-tui cannot read; you are still signed in."
        else:
            self.message = f"The sign-in server is not answering{what}; you are still signed in."
        self.status = status
        self.retry_after = retry_after
        super().__init__(self.message)
