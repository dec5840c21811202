"""What the screens may ask of the background worker: the one seam between UI and core.

`calle_tui.core.worker.CalleWorker` implements it against a real endpoint; UI tests pass the one fake
(tests/ui/fake_worker.py), which tests/ui/test_worker_contract.py holds to the behaviour of CalleWorker on
the sandbox. All methods run in the caller's event loop (the Textual app's loop): the worker starts its own asyncio tasks for
connections and polling and reports through subscribers (see `events.py`). Methods that fail raise
`WorkerError` whose text is a plain sentence safe to show (never a secret, never a traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from calle_tui.core.error_kinds import ErrorKind

if TYPE_CHECKING:  # annotations only, so importing this seam does not import pydantic
    from calle_tui.core.auth.cli_cache import CliSignIn
    from calle_tui.core.config.timezone import UserZone
    from calle_tui.core.events import LoginFlowName, TokenStorageKind, WorkerEvent
    from calle_tui.core.runs.runview import RunView
    from calle_tui.core.wire.contract import ActivityEntry, PlanCallResult, RunCallResult


class WorkerError(Exception):
    """A failure a person can act on. str(exc) is the sentence; `action` says what to do next; `kind`
    (core/error_kinds.py) says which failure it is, for code ("internal" when nothing more is known)."""

    def __init__(self, message: str, action: str = "", kind: ErrorKind = "internal") -> None:
        super().__init__(message)
        self.message = message
        self.action = action
        self.kind = kind


@dataclass(frozen=True)
class PlanRequest:
    """Exactly what the user gave: `user_input` verbatim, structured fields only when the user typed them."""

    user_input: str
    to_phones: tuple[str, ...] | None = None
    region: str | None = None
    language: str | None = None
    goal: str | None = None
    scheduled_at: str | None = None
    plan_id: str | None = None  # set when refining (answering missing-detail questions)
    ttl_seconds: int | None = None
    # A batch line's `metadata`: sent as the tool call's `_meta` {"call-e/customerMetadata": ...}, as CALL-E's
    # batch runner sends it, never as an argument.
    customer_metadata: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class AuthStatus:
    server_url: str
    signed_in: bool
    expires_at: float | None
    storage: TokenStorageKind
    storage_notice: str = ""


@dataclass(frozen=True)
class RunRecord:
    """One row of history, from the journal."""

    run_id: str | None  # None until run_call's answer is known
    plan_id: str
    server_url: str
    created_at: float  # epoch seconds
    to_phones: tuple[str, ...]
    goal: str | None
    status: str  # last known status, canonical (wire/status.py); "" before any
    terminal: bool
    summary: str | None = None
    scheduled_at: str | None = None
    # run_call sent and not answered yet, sent and its answer lost, or answered with a run: never a status word.
    attempt: Literal["sent", "outcome_unknown", "started"] = "started"
    status_text: str = ""  # the server's own word for the status on its last page ("CANCELLED"), for display


class WorkerAPI(Protocol):
    server_url: str
    zone: UserZone | None  # the time zone sent with every plan_call (the composer names it); None: none is sent

    @property
    def plan_call_schema(self) -> dict[str, Any] | None:
        """plan_call's inputSchema from the last tools/list (as in ToolsListed), None before the first."""

    def subscribe(self, callback: Callable[[WorkerEvent], None]) -> Callable[[], None]:
        """Register a callback for every event; returns an unsubscribe function."""

    async def start(self) -> None:
        """Connect in the background (imports the mcp SDK lazily) and resume following unfinished runs.
        Returns at once; progress arrives as ConnectionChanged / SignInNeeded / ToolsListed events."""

    async def close(self) -> None:
        """Stop polling, close connections and listeners. Idempotent."""

    def auth_status(self) -> AuthStatus: ...

    async def sign_in(self, flow: LoginFlowName | None = None) -> None:
        """Start a browser sign-in (None: pick by environment). Progress arrives as SignInProgress events;
        returns when signed in; raises WorkerError on failure, timeout or cancel."""

    async def submit_redirect(self, pasted: str) -> None:
        """Finish a pending sign-in with the final redirect URL (or bare code) the user pasted.
        Raises WorkerError (kind="state_mismatch", "denied", "no_code", "no_login") and keeps the login
        pending so the user can paste again."""

    async def cancel_sign_in(self) -> None: ...

    async def sign_out(self) -> None:
        """Forget (and revoke where supported) everything stored for this server."""

    async def plan(self, request: PlanRequest) -> PlanCallResult:
        """plan_call. Never fills a field in. Also emits PlanResult."""

    async def run(self, plan_id: str, confirm_token: str) -> RunCallResult:
        """run_call, at most once per (plan_id, confirm_token), ever: a second call for the same plan raises
        WorkerError(kind="already_started") instead of sending. Starts following the run."""

    def follow(self, run_id: str) -> None:
        """Start (or keep) following a run; idempotent."""

    async def refresh_now(self, run_id: str) -> bool:
        """Poll now unless the floor forbids it; returns whether a poll was made."""

    def history(self, search: str = "") -> list[RunRecord]: ...

    async def reconcile(self, plan_id: str) -> RunCallResult:
        """Only when the user explicitly asks: learn what happened to a run_call whose answer was lost
        ("outcome unknown") by replaying the SAME plan_id + confirm_token (the contract answers a replay
        with the same run_id and never places a second call). Then follows the run. Raises WorkerError."""

    def can_replay_run_call(self) -> bool:
        """Whether the server declares run_call idempotent (tools/list), the only ground for reconcile()."""

    def run_view(self, run_id: str) -> RunView | None:
        """The journal's record of a run folded into a RunView (whole activity, status, summary, transcript)."""

    def run_entries(self, run_id: str) -> list[ActivityEntry]:
        """Every activity entry stored for a run, in order: enough to redraw a past run."""

    @property
    def sign_in_flow(self) -> str:
        """The sign-in flow asked for (settings `login`, or the worker's own): "auto" leaves the choice to us,
        so the brokered sign-in goes first where the server offers it."""

    async def broker_offered(self) -> bool:
        """Whether the server offers CALL-E's one-link brokered sign-in (its origin, or the broker_url setting)."""

    async def sign_in_brokered(self) -> None:
        """Brokered sign-in: resumes the pending session kept on disk or creates one, emits
        BrokerSignInPending (login_url, expires_at, poll_seconds), polls in the background and returns once
        signed in (SignedIn, ToolsListed). Raises WorkerError with kind failed / expired / gone / exchanged /
        forbidden / timeout / canceled / unreachable / bad_reply / not_offered (also BrokerSignInEnded)."""

    async def cancel_brokered_sign_in(self) -> None:
        """Stop the brokered sign-in being waited for and forget its session."""

    def cli_sign_in(self) -> CliSignIn:
        """What CALL-E's own CLI holds for this server: state usable / near_expiry / other_server /
        unreadable / none, and a sentence. Hands back no token: ask the person before use_cli_sign_in."""

    async def use_cli_sign_in(self) -> None:
        """After the person agreed: copy the CLI's usable sign-in into calle-tui's store and connect.
        Raises WorkerError(kind="cli_<state>") when it is not usable (any more)."""

    async def reconnect(self) -> None:
        """Retry connecting now (e.g. after "not a CALL-E endpoint" or while backing off)."""
