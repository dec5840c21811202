"""The small, typed set of events the background worker emits.

The worker never touches a widget: it calls every subscriber with one of these frozen dataclasses, in the
event loop it runs in. The UI wraps each in a Textual message; tests collect them in a list. No event ever
carries a secret (tokens, codes, callback URLs with a code, client secrets). An authorize URL carries only
public request parameters (client_id, PKCE challenge, state) and is meant to be shown to the user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # annotations only: screens import these events, and pydantic must not delay the first paint
    from calle_tui.core.error_kinds import BrokerFailure
    from calle_tui.core.wire.contract import ActivityEntry, GetCallRunResult, PlanCallResult, RunCallResult, TranscriptTurn

ConnectionState = Literal["disconnected", "connecting", "connected", "reconnecting", "failed"]
SignInStep = Literal["discovering", "registering", "waiting_for_browser", "exchanging", "done", "failed", "canceled"]
LoginFlowName = Literal["loopback", "paste", "auto-follow"]
LoginFlowChoice = Literal["auto", "loopback", "paste", "auto-follow"]  # what a person may ask for: "auto" picks
TokenStorageKind = Literal["keyring", "memory", "file"]
PollState = Literal["waiting_first", "polling", "waiting", "reconnecting", "scheduled", "finished", "unknown"]


@dataclass(frozen=True)
class ConnectionChanged:
    state: ConnectionState
    server_url: str
    message: str = ""  # a human sentence when state is "failed" or "reconnecting"


@dataclass(frozen=True)
class ToolsListed:
    tool_names: tuple[str, ...]
    plan_call_schema: dict[str, Any]  # plan_call's inputSchema from tools/list: the composer builds its fields from it
    server_name: str = ""


@dataclass(frozen=True)
class SignInNeeded:
    server_url: str
    reason: str = ""  # e.g. "Your session expired. Sign in again."


@dataclass(frozen=True)
class SignInProgress:
    step: SignInStep
    flow: LoginFlowName
    authorize_url: str | None = None  # set from "waiting_for_browser" on
    callback_port: int | None = None  # loopback flow: the port to forward over SSH
    browser_opened: bool = False
    message: str = ""  # human sentence for failed / canceled / hints


@dataclass(frozen=True)
class SignedIn:
    server_url: str
    expires_at: float | None  # epoch seconds of the access token's expiry, when known
    storage: TokenStorageKind
    storage_notice: str = ""  # e.g. "No secure keyring: tokens are kept in memory only."


@dataclass(frozen=True)
class BrokerSignInPending:
    """A brokered sign-in waits for approval: show `login_url` (link, QR code) and count down to `expires_at`.
    The session secret never leaves core/auth/broker.py."""

    server_url: str
    login_url: str
    expires_at: float | None  # epoch seconds (the worker's clock), when the broker says
    poll_seconds: float  # how often the worker asks (poll_after_ms clamped to 0.5-10 s)


@dataclass(frozen=True)
class SignInEnding:
    """The sign-in cannot renew itself (no refresh token or no client registration, as after a brokered
    sign-in) and ends within 5 minutes: ask the person to sign in again now, not after a request fails.
    Still signed in until `expires_at`."""

    server_url: str
    expires_at: float
    reason: str


@dataclass(frozen=True)
class BrokerSignInEnded:
    """A brokered sign-in ended without tokens: `kind` says how (BrokerFailure), `message` is one sentence for
    the person."""

    server_url: str
    kind: BrokerFailure
    message: str


@dataclass(frozen=True)
class SignedOut:
    server_url: str
    message: str = ""


@dataclass(frozen=True)
class PlanResult:
    result: PlanCallResult
    request_text: str  # the user_input that was sent, verbatim


@dataclass(frozen=True)
class RunStarted:
    plan_id: str
    result: RunCallResult


@dataclass(frozen=True)
class RunUpdate:
    run_id: str
    status: str  # canonical (dialect/status.py)
    poll_state: PollState
    new_activity: tuple[ActivityEntry, ...] = ()
    next_poll_at: float | None = None  # epoch seconds; the UI shows a countdown from it
    result: GetCallRunResult | None = None  # the latest page, for summary / details / next_step / extras
    message: str = ""  # the server's own words (a text-only answer), or why we wait ("Waiting for the connection.")
    status_text: str = ""  # the server's own word for the status, for display
    # The trouble the follower is retrying after, as a sentence ("The server is busy ... Retrying in 2 s."):
    # empty once it is over (a page arrived, the connection dropped and is being restored, the run ended).
    problem: str = ""


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    status: str  # canonical
    result: GetCallRunResult
    transcript: tuple[TranscriptTurn, ...] = ()
    status_text: str = ""


@dataclass(frozen=True)
class RunOutcomeUnknown:
    plan_id: str
    message: str  # "We sent the call request but got no answer. Check before trying again."


@dataclass(frozen=True)
class ErrorEvent:
    message: str  # a plain sentence a person can read
    action: str = ""  # what to do next, e.g. "Press r to retry." / "Run calle-tui --demo to try the sandbox."
    kind: str = "error"  # network | auth | server | malformed | not_calle | rate_limited | safety | ...
    run_id: str | None = None
    plan_id: str | None = None


WorkerEvent = (
    ConnectionChanged
    | ToolsListed
    | SignInNeeded
    | SignInProgress
    | SignedIn
    | SignedOut
    | BrokerSignInPending
    | SignInEnding
    | BrokerSignInEnded
    | PlanResult
    | RunStarted
    | RunUpdate
    | RunFinished
    | RunOutcomeUnknown
    | ErrorEvent
)


class Subscribers:
    """The callbacks listening to a worker. One that raises is logged and skipped, never stops the others."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[WorkerEvent], None]] = []

    def subscribe(self, callback: Callable[[WorkerEvent], None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def emit(self, event: WorkerEvent) -> None:
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not starve the others
                logging.getLogger("calle_tui").exception("event subscriber failed on %s", type(event).__name__)
