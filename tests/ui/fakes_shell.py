"""A scripted fake worker for the shell's tests (login, history, help): no network, fixed clock and ids.

Its sign-in follows the real worker's contract (worker_api.py): progress events, a pending login that a pasted
redirect address finishes, WorkerError kinds for a wrong state / denial / missing code, and cancel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from calle_tui.core.contract import GetCallRunResult, PlanCallResult, RunCallResult
from calle_tui.core.events import ConnectionChanged, RunFinished, SignedIn, SignedOut, SignInNeeded, SignInProgress
from calle_tui.core.worker_api import AuthStatus, PlanRequest, RunRecord, WorkerError

FIXED_NOW = datetime(2026, 6, 5, 9, 30, tzinfo=UTC).timestamp()
SERVER_URL = "https://calle.invalid/mcp/openagent_oauth"  # never contacted
STATE = "st-0001"
AUTHORIZE_URL = (
    "https://calle.invalid/authorize?response_type=code&client_id=client-0001"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A53121%2Fcallback&state=" + STATE + "&code_challenge=abc123"
)
CALLBACK_PORT = 53121


def fixed_clock() -> float:
    return FIXED_NOW


def sample_records() -> list[RunRecord]:
    """Four runs of different outcomes, newest first, one of them an attempt whose outcome is unknown."""
    base = FIXED_NOW
    return [
        RunRecord("run-0004", "plan-0004", SERVER_URL, base - 60, ("+14155550100",), "Ask if the pharmacy is open "
                  "on Sunday and until what time", "in_progress", False),
        RunRecord(None, "plan-0003", SERVER_URL, base - 3600, ("+442071838750",), "Confirm the delivery window for "
                  "order 5512", "unknown", False),
        RunRecord("run-0002", "plan-0002", SERVER_URL, base - 86400, ("+14155550102", "+14155550112"),
                  "Book a table for two at 7 pm", "completed", True, summary="Booked a table for two at 19:00."),
        RunRecord("run-0001", "plan-0001", SERVER_URL, base - 2 * 86400, ("+61291234567",), "Reschedule the "
                  "dentist appointment to next week", "no_answer", True, summary="Nobody answered."),
    ]


class FakeShellWorker:
    def __init__(
        self,
        *,
        signed_in: bool = False,
        storage: str = "keyring",
        storage_notice: str = "",
        records: Iterable[RunRecord] = (),
        flow: str = "paste",
    ) -> None:
        self.server_url = SERVER_URL
        self.plan_call_schema = None
        self.signed_in = signed_in
        self.storage = storage
        self.storage_notice = storage_notice
        self.expires_at: float | None = FIXED_NOW + 3600 if signed_in else None
        self.records = list(records)
        self.flow = flow
        self._subscribers: list[Callable] = []
        self._pending: asyncio.Future | None = None
        self.waiting_for_browser = asyncio.Event()
        self.started = asyncio.Event()
        self.closed = False
        self.sign_in_calls = 0
        self.submitted: list[str] = []
        self.followed: list[str] = []
        self.history_searches: list[str] = []
        self.sign_out_calls = 0

    # --- events ---
    def subscribe(self, callback: Callable) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def emit(self, event) -> None:
        for callback in list(self._subscribers):
            callback(event)

    # --- lifecycle ---
    async def start(self) -> None:
        # As the real worker: try saved tokens, then say whether a sign-in is needed.
        self.emit(ConnectionChanged("connecting", self.server_url))
        if self.signed_in:
            self.emit(ConnectionChanged("connected", self.server_url))
            self.emit(SignedIn(self.server_url, self.expires_at, self.storage, self.storage_notice))  # type: ignore[arg-type]
        else:
            self.emit(ConnectionChanged("disconnected", self.server_url, "Sign in to continue."))
            self.emit(SignInNeeded(self.server_url, "Sign in to continue."))
        self.started.set()

    async def close(self) -> None:
        self.closed = True
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()

    def auth_status(self) -> AuthStatus:
        return AuthStatus(self.server_url, self.signed_in, self.expires_at, self.storage, self.storage_notice)

    # --- sign-in ---
    async def sign_in(self, flow=None) -> None:
        self.sign_in_calls += 1
        used = flow or self.flow
        self.emit(SignInProgress("discovering", used))
        self.emit(SignInProgress("registering", used))
        self._pending = asyncio.get_running_loop().create_future()
        self.emit(SignInProgress("waiting_for_browser", used, authorize_url=AUTHORIZE_URL, callback_port=CALLBACK_PORT))
        self.waiting_for_browser.set()
        try:
            await self._pending
        except asyncio.CancelledError:
            self.emit(SignInProgress("canceled", used, message="Sign-in canceled."))
            raise WorkerError("Sign-in canceled.", kind="canceled") from None
        finally:
            self._pending = None
            self.waiting_for_browser.clear()
        self.emit(SignInProgress("exchanging", used))
        self.signed_in = True
        self.expires_at = FIXED_NOW + 3600
        self.emit(SignInProgress("done", used))
        self.emit(SignedIn(self.server_url, self.expires_at, self.storage, self.storage_notice))  # type: ignore[arg-type]

    async def submit_redirect(self, pasted: str) -> None:
        self.submitted.append(pasted)
        if self._pending is None or self._pending.done():
            raise WorkerError("No sign-in is waiting for an address.", kind="no_login")
        query = parse_qs(urlsplit(pasted.strip()).query)
        if query.get("error") == ["access_denied"]:
            raise WorkerError("Access was denied in the browser.", kind="denied")
        if "code" not in query:
            raise WorkerError("That address has no sign-in code in it.", kind="no_code")
        if query.get("state") != [STATE]:
            raise WorkerError("That address is not from this sign-in (its state does not match).", kind="state_mismatch")
        self._pending.set_result(None)

    async def cancel_sign_in(self) -> None:
        if self._pending is not None and not self._pending.done():
            self._pending.cancel()

    async def sign_out(self) -> None:
        self.sign_out_calls += 1
        self.signed_in = False
        self.expires_at = None
        self.emit(SignedOut(self.server_url, "Signed out."))

    # --- calls (the shell's screens never plan or run; the composer's tests cover these) ---
    async def plan(self, request: PlanRequest) -> PlanCallResult:
        raise WorkerError("Planning is not part of this fake.", kind="test")

    async def run(self, plan_id: str, confirm_token: str) -> RunCallResult:
        raise WorkerError("Running is not part of this fake.", kind="test")

    def follow(self, run_id: str) -> None:
        self.followed.append(run_id)

    async def refresh_now(self, run_id: str) -> bool:
        return False

    def history(self, search: str = "") -> list[RunRecord]:
        self.history_searches.append(search)
        needle = search.lower().strip()
        if not needle:
            return list(self.records)
        return [
            r for r in self.records
            if needle in (r.goal or "").lower() or needle in r.status or any(needle in p for p in r.to_phones)
        ]

    def finish(self, run_id: str, status: str, summary: str = "") -> None:
        """Mark a run finished in the journal and tell subscribers, as the real worker does."""
        self.records = [
            RunRecord(r.run_id, r.plan_id, r.server_url, r.created_at, r.to_phones, r.goal, status, True, summary)
            if r.run_id == run_id else r
            for r in self.records
        ]
        result = GetCallRunResult(run_id=run_id, status=status, terminal=True, summary=summary)
        self.emit(RunFinished(run_id=run_id, status=status, result=result))


def make_settings(tmp_path):
    from calle_tui.core.settings import Settings

    return Settings(url=SERVER_URL, state_path=tmp_path / "state")


def make_app(worker: FakeShellWorker, tmp_path, **kwargs):
    """A CalleApp with the determinism contract: fixed clock, UTC, no cursor blink."""
    from calle_tui.ui.app import CalleApp

    app = CalleApp(make_settings(tmp_path), worker, clock=fixed_clock, display_tz=UTC, **kwargs)
    app.cursor_blink = False
    return app


def shell_app_class():
    """CalleApp with stand-ins for the composer and monitor (engineer UI-RUNS's screens), so the shell's
    tests do not depend on their layout; the journey test uses the real ones."""
    from textual.app import ComposeResult
    from textual.binding import BindingType
    from textual.screen import Screen
    from textual.widgets import Footer, Static

    from calle_tui.ui.app import CalleApp

    class StubComposer(Screen):
        def __init__(self) -> None:
            super().__init__()
            self.title = "New call"

        def compose(self) -> ComposeResult:
            yield Static("composer placeholder", id="stub-composer")
            yield Footer()

    class StubMonitor(Screen):
        BINDINGS: ClassVar[list[BindingType]] = [("escape", "app.pop_screen", "Back")]

        def __init__(self, run_id: str, record) -> None:
            super().__init__()
            self.run_id = run_id
            self.record = record
            self.title = "Call"

        def compose(self) -> ComposeResult:
            yield Static(f"monitor placeholder {self.run_id}", id="stub-monitor")
            yield Footer()

    class ShellTestApp(CalleApp):
        def new_composer(self):
            return StubComposer()

        def new_monitor(self, run_id, record=None):
            return StubMonitor(run_id, record)

    return ShellTestApp, StubComposer, StubMonitor


def make_shell_app(worker: FakeShellWorker, tmp_path, **kwargs):
    app_class, _composer, _monitor = shell_app_class()
    app = app_class(make_settings(tmp_path), worker, clock=fixed_clock, display_tz=UTC, **kwargs)
    app.cursor_blink = False
    return app


async def until(pilot, predicate, rounds: int = 500) -> None:
    """Let the app process messages until `predicate()` holds (bounded by rounds, not by wall time)."""
    for _ in range(rounds):
        if predicate():
            return
        await pilot.pause()
    assert predicate(), "condition not reached"
