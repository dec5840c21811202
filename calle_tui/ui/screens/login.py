"""Sign in (and out): which server, whether we are signed in and until when, where tokens are kept.

The screen never sees a token. Where the server offers CALL-E's brokered sign-in (and no other flow was
chosen), `s` starts that: one link to open on any device, also drawn as a QR code for a phone, a countdown to
the session's end, and the terminal finishes by itself. Otherwise, or with `w`, it starts the worker's OAuth
sign-in, shows its steps, the authorize link (OSC 8 link, `c` copies it with OSC 52 which works over SSH, `o`
opens a local browser), and a field for the final redirect address. That address carries a one-time code, so
the field masks what is pasted. `u` uses CALL-E's own CLI's sign-in, only when asked.

One concern although it is long: the three ways to sign in share one screen, one status panel and one set of
keys, and a worker event from any of them (a step, a link, an error, signed in) changes what that panel and
those keys offer; split by way of signing in, each part would redraw the others' widgets. The QR code and
the yes/no question are widgets of their own (ui/widgets/qr.py, question.py).
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlsplit

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import Paste
from textual.reactive import reactive
from textual.screen import Screen
from textual.style import Style
from textual.widgets import Button, Footer, Input, Static

from calle_tui.core.support.secrets import shown_url
from calle_tui.ui.bridge import WorkerEventMessage, WorkerEventsMixin
from calle_tui.ui.runs.app_context import clock_of
from calle_tui.ui.widgets.header import AppHeader
from calle_tui.ui.widgets.qr import qr_content
from calle_tui.ui.widgets.question import YesNoModal

if TYPE_CHECKING:
    from calle_tui.core.error_kinds import ErrorKind
    from calle_tui.core.events import SignInProgress
    from calle_tui.core.worker_api import AuthStatus, WorkerAPI

STEPS: tuple[tuple[str, str], ...] = (
    ("discovering", "Find the server's sign-in service"),
    ("registering", "Register calle-tui with it"),
    ("waiting_for_browser", "Wait for you to approve in the browser"),
    ("exchanging", "Finish signing in"),
)

# What to do next, for errors whose own text does not say it.
NEXT_STEP: dict[ErrorKind, str] = {
    "state_mismatch": "Paste the address from the newest browser tab, or press s to start again.",
    "denied": "Press s to try again, and choose Allow in the browser.",
    "no_code": "Copy the whole address from the browser's address bar after you approve, then paste it here.",
    "no_login": "Press s to start signing in, then paste.",
    "timeout": "Press s to start again.",
    "network": "Check your connection and press s to try again, or run calle-tui --demo to use the sandbox.",
}

_STORAGE_TEXT = {
    "keyring": "In your system keyring.",
    "memory": "In memory only: you will sign in again next time.",
    "file": "In a private file on this machine (not a keyring).",
}


def ssh_session() -> bool:
    return bool(os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"))


def local_browser_available() -> bool:
    """A browser on this machine: not over SSH (a console browser would seize the terminal) and a display."""
    if ssh_session():
        return False
    if sys.platform in {"darwin", "win32"}:
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class LoginScreen(WorkerEventsMixin, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sign_in", "Sign in", id="login.sign_in", tooltip="Start signing in."),
        Binding("w", "sign_in_here", "Browser sign-in", id="login.browser", tooltip="Sign in with a browser instead."),
        Binding("u", "use_cli", "Use CLI sign-in", id="login.cli", tooltip="Use the sign-in of CALL-E's own CLI."),
        Binding("escape", "cancel", "Cancel", id="login.cancel", tooltip="Stop the sign-in, or go back."),
        Binding("c", "copy_link", "Copy link", id="login.copy", tooltip="Copy the sign-in link (works over SSH)."),
        Binding(
            "l",
            "show_link_alone",
            "Link alone",
            id="login.link_alone",
            tooltip="Show the sign-in link on the plain terminal, unbroken, to select and copy it.",
        ),
        Binding("o", "open_browser", "Open browser", id="login.open", tooltip="Open the sign-in link here."),
        Binding("p", "focus_paste", "Paste address", id="login.paste", tooltip="Go to the address field."),
        Binding("x", "sign_out", "Sign out", id="login.sign_out", tooltip="Forget this server's session."),
        Binding("r", "retry", "Retry", id="login.retry", tooltip="Try to connect to the server again now."),
    ]

    phase: reactive[str] = reactive("idle")  # idle | running | signed_in

    def __init__(
        self,
        worker: WorkerAPI,
        *,
        leave_when_signed_in: bool = True,
        reason: str = "",
        renew: bool = False,
        progress: SignInProgress | None = None,
    ) -> None:
        super().__init__()
        self._progress = progress  # a sign-in already waiting for the browser (a step-up): shown at once
        self.renew = renew  # signed in, but not for long: offer a new sign-in anyway
        self.worker = worker
        self.leave_when_signed_in = leave_when_signed_in
        self.reason = reason
        self.title = "Sign in"
        self.flow = ""
        self.step = ""
        self.failed_step = ""
        self.authorize_url: str | None = None
        self.callback_port: int | None = None
        self.browser_opened = False
        self.connection_problem = ""
        self.heard_back = bool(reason)  # has the worker said whether a sign-in is needed?
        self._left = False
        self.broker_first = False  # the server offers the brokered sign-in and no other flow was chosen
        self.broker_expires_at: float | None = None  # the pending brokered session's end (app clock)
        self.cli_usable_until: float | None = None  # CALL-E's CLI holds a usable sign-in for this server
        self.cli_checked = False

    # --- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with VerticalScroll(id="login-body"):
            yield Static(id="login-reason", markup=False)
            yield Static(id="login-facts")
            yield Static(id="login-connection", markup=False)
            yield Button("Sign in", id="sign-in-button", variant="primary", compact=True)
            yield Static(id="login-steps")
            yield Static(id="login-ssh", markup=False)  # before the link: it must be read first over SSH
            yield Static(id="login-link")
            with Horizontal(id="broker-box"):  # the QR code beside the words: both fit 80x24
                yield Static(id="broker-qr")
                yield Static(id="broker-text")
        with Vertical(id="paste-box"):
            yield Static(  # one line at 80 columns: the sign-in link needs the rows
                "Paste the address the browser ends on, then Enter (hidden: it holds a code).",
                id="paste-label",
                markup=False,
            )
            yield Input(
                id="paste-input",
                password=True,
                compact=True,
                placeholder="http://127.0.0.1:…/callback?code=…&state=…",
            )
            yield Static(id="login-error", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#paste-input", Input).cursor_blink = getattr(self.app, "cursor_blink", True)
        status = self._auth_status()
        progress = self._progress
        if progress is not None:
            # Started elsewhere (the worker's own step-up): the link and the paste field, at once.
            self.phase = "running"
            self.flow, self.step = progress.flow, progress.step
            self.authorize_url, self.callback_port = progress.authorize_url, progress.callback_port
            self.browser_opened = progress.browser_opened
        elif status is not None and status.signed_in and not self.renew:
            self.phase = "signed_in"
            self.title = "Account"
        self._render_all()
        self.query_one("#sign-in-button", Button).focus()
        if self.heard_back:  # else once the worker has spoken: asking now would build it before the paint
            self._look_for_other_sign_ins()
        self.set_interval(1.0, self._tick)  # the brokered session's countdown

    @work(group="sign-in-offers", exit_on_error=False)
    async def _look_for_other_sign_ins(self) -> None:
        """Which ways to sign in this server offers besides the browser: CALL-E's broker, and a sign-in that
        CALL-E's CLI already holds (only offered here: never used without the person's key)."""
        try:
            offered = await self.worker.broker_offered()
        except Exception:  # noqa: BLE001 - no broker to offer; the browser sign-in stays
            offered = False
        self.broker_first = bool(offered) and self.worker.sign_in_flow == "auto" and not self._demo()
        try:
            seen = self.worker.cli_sign_in()
            self.cli_usable_until = (seen.expires_at or 0.0) if seen.state == "usable" else None
        except Exception:  # noqa: BLE001 - an unreadable CLI cache is not offered
            self.cli_usable_until = None
        self.cli_checked = True
        if self._left:
            return
        self._render_all()
        self.refresh_bindings()

    def _tick(self) -> None:
        if self.flow == "broker" and self.phase == "running" and self.broker_expires_at is not None:
            self.query_one("#broker-text", Static).update(self._broker_text())

    # --- state -> widgets ---------------------------------------------------------------------------

    def _auth_status(self) -> AuthStatus | None:
        try:
            return self.worker.auth_status()
        except Exception:  # noqa: BLE001 - no status to show is the same as signed out here: the screen asks
            return None

    def watch_phase(self, _old: str, _new: str) -> None:
        if self.is_mounted and not self._left:  # a screen that has been left is not redrawn
            self._render_all()
            self.refresh_bindings()

    def set_reason(self, reason: str, *, renew: bool = False) -> None:
        self.reason = reason
        if renew and self.phase == "signed_in":
            self.renew = True
            self.phase = "idle"  # the sign-in button and keys come back (watch_phase redraws)
        if self.is_mounted:
            self._render_all()

    def _render_all(self) -> None:
        reason = self.query_one("#login-reason", Static)
        reason.update(self.reason)
        # While signing in, the steps say it; a step-up brought here from elsewhere must also say why.
        reason.display = bool(self.reason) and (self.phase != "running" or self._progress is not None)
        self.query_one("#login-facts", Static).update(self._facts())
        connection = self.query_one("#login-connection", Static)
        connection.update(self.connection_problem)
        connection.display = bool(self.connection_problem)
        button = self.query_one("#sign-in-button", Button)
        button.display = self.phase == "idle"
        button.label = "Sign in (one link, any device)" if self.broker_first else "Sign in"
        brokered = self.flow == "broker" and self.phase == "running" and bool(self.authorize_url)
        self.query_one("#broker-box").display = brokered
        # A production link makes a 43x22 code: at 80x24 it needs every row, so the code and its words
        # (which name the server) are all the body shows.
        self.query_one("#login-facts").display = not brokered
        if brokered:
            reason.display = False
        if brokered and self.authorize_url:
            self.query_one("#broker-qr", Static).update(qr_content(self.authorize_url))
            self.query_one("#broker-text", Static).update(self._broker_text())
        self.query_one("#login-steps", Static).update(self._steps())
        self.query_one("#login-steps", Static).display = bool(self.step) and not brokered
        link = self.query_one("#login-link", Static)
        link.update(self._link())
        link.display = bool(self.authorize_url) and self.phase == "running" and not brokered
        ssh = self.query_one("#login-ssh", Static)
        ssh.update(self._ssh_line())
        ssh.display = bool(self._ssh_line()) and self.phase == "running" and not brokered
        # The demo's sandbox approves by itself, and the brokered sign-in finishes by itself: there is no
        # address to paste then. An error still shows.
        paste = self._paste_applies()
        self.query_one("#paste-label").display = paste
        self.query_one("#paste-input").display = paste
        self.query_one("#paste-box").display = paste or self.query_one("#login-error").has_class("-shown")

    def _paste_applies(self) -> bool:
        if self.phase == "signed_in" or self._demo():
            return False
        if self.phase == "running":
            return self.flow != "broker"
        return not self.broker_first

    def _broker_text(self) -> Content:
        url = self.authorize_url or ""
        left = ""
        if self.broker_expires_at is not None:
            seconds = max(0, int(self.broker_expires_at - clock_of(self.app)()))
            left = f"This link works for {seconds // 60}:{seconds % 60:02d} more."
        host = urlsplit(self.worker.server_url).hostname or self.worker.server_url
        return Content.assemble(
            (f"Signing in to {host}\n\n", "$text-muted"),
            ("Open this link on any device", "bold"),
            " (or scan the code with your phone) and approve. This screen finishes by itself.\n\n",
            (url, Style(link=url, underline=True)),
            "\n\n",
            (left, "$text-muted"),
            ("\n\nc copies the link, l shows it alone, esc cancels.", "$text-muted"),
        )

    def _demo(self) -> bool:
        return bool(getattr(self.app, "demo", False))

    def _facts(self) -> Content:
        status = self._auth_status()
        server = shown_url((status.server_url if status else "") or self.worker.server_url)  # no user:password
        if status is not None and status.signed_in:
            state: Content = Content.assemble(("✓ Signed in", "$success"), self._until(status.expires_at))
        elif not self.heard_back and self.leave_when_signed_in and self.phase == "idle":
            # Before the worker has tried saved tokens, "not signed in" would be a guess.
            state = Content.assemble(("◌ Checking for a saved session…", "$text-muted"))
        else:
            state = Content.assemble(("○ Not signed in", "$warning"))
        rows: list[tuple[str, Content | str]] = [("Server", server)]
        if self.phase == "running":  # only the server: the steps, the link and the paste field need the rows
            return Content.assemble(("Server  ", "bold"), server)
        rows.append(("Status", state))
        if self.cli_usable_until is not None and self.phase == "idle" and not (status and status.signed_in):
            until = ""
            if self.cli_usable_until:
                when = datetime.fromtimestamp(self.cli_usable_until, self.app.display_tz)  # type: ignore[attr-defined]
                until = f" until {when:%H:%M} {when.tzname() or ''}".rstrip()
            rows.append(("CLI", f"CALL-E's own CLI is signed in here{until}: press u to use that sign-in."))
        if status is not None and status.storage and not self._demo():  # the demo's tokens are its sandbox's
            # The worker's notice says it best when there is one (e.g. why no keyring could be used).
            text = status.storage_notice.strip() or _STORAGE_TEXT.get(status.storage, status.storage)
            secure = status.storage == "keyring"
            tokens: Content = Content.assemble(("" if secure else "⚠ ", "$warning"), text)
            rows.append(("Tokens", tokens))
        lines = [Content.assemble((f"{label:<8}", "bold"), value) for label, value in rows]
        return Content("\n").join(lines)

    def _until(self, expires_at: float | None) -> str:
        if not expires_at:
            return ". The session renews itself."
        when = datetime.fromtimestamp(expires_at, self.app.display_tz)  # type: ignore[attr-defined]
        return f" until {when:%a %d %b %H:%M} {when.tzname() or ''}".rstrip() + ", renewed automatically."

    def _steps(self) -> Content:
        names = [name for name, _ in STEPS]
        current = names.index(self.step) if self.step in names else (len(names) if self.step == "done" else -1)
        lines = []
        if self.authorize_url and self.step == "waiting_for_browser" and not self.failed_step:
            # The link is up: one line for the steps, so the link and the SSH command fit at 80x24.
            step = f"Step {current + 1} of {len(STEPS)}: "
            lines.append(Content.assemble(("▶ ", "$accent"), (step, "$text-muted"), (STEPS[current][1], "bold")))
        else:
            lines += [self._step_line(index, name, label, current) for index, (name, label) in enumerate(STEPS)]
        if self.flow == "auto-follow":
            lines.append(Content("  The sandbox approves by itself: nothing to do in a browser.").stylize("$text-muted"))
        return Content("\n").join(lines)

    def _step_line(self, index: int, name: str, label: str, current: int) -> Content:
        if name == self.failed_step:
            return Content.assemble(("✗ ", "$error"), label)
        if index < current or self.step == "done":
            return Content.assemble(("✓ ", "$success"), (label, "$text-muted"))
        if index == current:
            return Content.assemble(("▶ ", "$accent"), (label, "bold"))
        return Content.assemble(("○ ", "$text-muted"), (label, "$text-muted"))

    def _link(self) -> Content:
        if not self.authorize_url:
            return Content("")
        opened = "A browser window was opened. " if self.browser_opened else ""
        keys = "c copies it, l shows it alone" + (", o opens a browser" if local_browser_available() else "")
        return Content.assemble(
            f"{opened}Open this link to approve ({keys}):\n",
            (self.authorize_url, Style(link=self.authorize_url, underline=True)),
        )

    def _ssh_line(self) -> str:
        if not (self.callback_port and ssh_session()):
            return ""
        port = self.callback_port
        # The command on a line of its own: wrapped mid-command it could not be copied as one piece.
        return (
            "Over SSH, run this on your computer so the browser's answer reaches you here:\n"
            f"  ssh -L {port}:127.0.0.1:{port} <this host>\n"
            "or paste the address below."
        )

    def _show_error(self, message: str, action: str = "", kind: ErrorKind | None = None) -> None:
        text = message.strip()
        follow = action.strip() or (NEXT_STEP.get(kind, "") if kind is not None else "")
        if follow and follow not in text:
            text = f"{text} {follow}" if text else follow
        error = self.query_one("#login-error", Static)
        error.update(text)
        error.set_class(bool(text), "-shown")
        self.query_one("#paste-box").display = self._paste_applies() or bool(text)

    def _clear_error(self) -> None:
        self._show_error("")

    # --- worker events ------------------------------------------------------------------------------

    def on_worker_event_message(self, message: WorkerEventMessage) -> None:
        # Imported here, not at the top: the event classes are needed only once the worker speaks, which is
        # after the first paint, and building them costs ~6 ms of the sign-in screen's start-up.
        from calle_tui.core.events import (
            BrokerSignInPending,
            ConnectionChanged,
            SignedIn,
            SignedOut,
            SignInNeeded,
            SignInProgress,
        )

        message.stop()
        event = message.event
        if isinstance(event, (SignInNeeded, SignedOut, SignInProgress)) or (
            isinstance(event, ConnectionChanged) and event.state in {"failed", "reconnecting", "disconnected"}
        ):
            if not self.heard_back and not self.cli_checked:
                self._look_for_other_sign_ins()
            self.heard_back = True
        if isinstance(event, BrokerSignInPending):
            self.flow = "broker"
            self.authorize_url = event.login_url
            self.broker_expires_at = event.expires_at
            self._render_all()
            self.refresh_bindings()
        elif isinstance(event, SignInProgress):
            self.flow = event.flow
            if event.step in {"failed", "canceled"}:
                self.failed_step = self.step if event.step == "failed" else ""
                if event.message:
                    self._show_error(event.message)
            else:
                self.step = event.step
                self.failed_step = ""
            self.authorize_url = event.authorize_url or self.authorize_url
            self.callback_port = event.callback_port or self.callback_port
            self.browser_opened = event.browser_opened or self.browser_opened
            if self._progress is not None and event.step in {"done", "failed", "canceled"}:
                # The step-up this screen was brought up for has ended: its request goes on (or says why).
                if event.step == "done":
                    self._leave_if_wanted()
                    return
                self.phase = "idle"
            self._render_all()
            self.refresh_bindings()
        elif isinstance(event, SignedIn):
            # Brought up because the sign-in ends soon, or for a step-up: the worker's (re)connect with the
            # sign-in it already holds says SignedIn too, and must not take the screen away. A sign-in started
            # here ends the screen by itself; a step-up ends it with its own "done".
            if (self.renew and self.phase != "running") or self._progress is not None:
                return
            if self.leave_when_signed_in:
                self._leave_if_wanted()
                return
            self.connection_problem = ""
            self.phase = "signed_in"
            self._render_all()
        elif isinstance(event, SignedOut):
            self.phase = "idle"
            self.step = ""
            self._render_all()
        elif isinstance(event, SignInNeeded):
            self.set_reason(event.reason)
            if self._demo() and self.phase == "idle":
                self.action_sign_in()  # the demo signs in by itself, as the README says
        elif isinstance(event, ConnectionChanged):
            if event.state == "failed":
                self.connection_problem = self._wrong_server(event.message)
            elif event.state == "reconnecting" and event.message:
                self.connection_problem = self._unreachable(event.message)
            elif event.state == "connected":
                self.connection_problem = ""
                if self.leave_when_signed_in and self.phase != "running" and not self.renew:
                    # Connected means the server took our requests: signed in, or a server that needs no
                    # sign-in at all (no SignedIn will come then), so the login screen must not wait for one.
                    self._leave_if_wanted()
                    return
            self._render_all()
            self.refresh_bindings()

    def _unreachable(self, detail: str) -> str:
        host = urlsplit(self.worker.server_url).hostname or self.worker.server_url
        local = host in {"127.0.0.1", "localhost", "::1"}
        tip = (
            "Check the URL (--url) and that the sandbox is running, or run calle-tui --demo."
            if local
            else "Check your network, or run calle-tui --demo to try the local sandbox."
        )
        return f"✗ Cannot reach {host}. {detail.strip()} {tip}".replace("  ", " ")

    def _wrong_server(self, detail: str) -> str:
        # The server answered, so "cannot reach" would mislead: the URL itself is what needs fixing.
        tip = "Check the URL (--url), or run calle-tui --demo to try the local sandbox. Press r to retry."
        return f"✗ {detail.strip()} {tip}".replace("  ", " ")

    def _leave_if_wanted(self) -> None:
        if self.leave_when_signed_in and not self._left:
            self._left = True
            self.app.show_signed_in_home()  # type: ignore[attr-defined]

    # --- actions ------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sign_in":
            return self.phase == "idle"
        if action == "sign_in_here":
            return self.phase == "idle" and self.broker_first
        if action == "use_cli":
            return self.phase == "idle" and self.cli_usable_until is not None
        if action in {"copy_link", "open_browser", "show_link_alone"}:
            if not (self.authorize_url and self.phase == "running"):
                return False
            return action != "open_browser" or local_browser_available()
        if action == "sign_out":
            return self.phase == "signed_in"
        if action == "cancel":
            return self.phase == "running" or self._can_go_back()
        if action == "focus_paste":
            return self._paste_applies()
        if action == "retry":
            return bool(self.connection_problem)
        return True

    @on(Button.Pressed, "#sign-in-button")
    def _pressed_sign_in(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_sign_in()

    def action_sign_in(self) -> None:
        self._start("broker" if self.broker_first else "browser")

    def action_sign_in_here(self) -> None:
        self._start("browser")

    def action_use_cli(self) -> None:
        self._start("cli")

    def _start(self, how: str) -> None:
        if self.phase != "idle":
            return
        self._clear_error()
        self.step, self.failed_step, self.authorize_url, self.callback_port = "", "", None, None
        self.browser_opened = False
        self.broker_expires_at = None
        self.flow = "broker" if how == "broker" else ""
        self.phase = "running"
        # Focus stays off the field so c / o / p work; a paste anywhere on the screen still lands in it.
        self.set_focus(None)
        self._run_sign_in(how)

    @work(exclusive=True, group="sign-in", exit_on_error=False)
    async def _run_sign_in(self, how: str = "browser") -> None:
        from calle_tui.core.worker_api import WorkerError

        try:
            if how == "broker":
                await self.worker.sign_in_brokered()
            elif how == "cli":
                await self.worker.use_cli_sign_in()
            else:
                await self.worker.sign_in(None)
        except WorkerError as exc:
            self.phase = "idle"
            if exc.kind == "canceled" and how != "broker":
                # Nothing is in progress any more: the step list and a half-pasted address would mislead.
                self.step, self.authorize_url = "", None
                self.query_one("#paste-input", Input).value = ""
                self._render_all()
                self._show_error("Sign-in canceled.", "Press s to start again.")
            elif how == "broker":
                # Failed, expired, 410, timed out, canceled: the sentence, and how to get a new link.
                self.authorize_url, self.broker_expires_at = None, None
                self._render_all()
                self._show_error(exc.message, "Press s for a new link.")
            else:
                self._show_error(exc.message, exc.action, exc.kind)
            self.query_one("#sign-in-button", Button).focus()
            return
        except Exception as exc:  # a bug must not leave the screen stuck in "running"
            logging.getLogger("calle_tui.ui").error("sign-in stopped", exc_info=exc)
            self.phase = "idle"
            self._show_error("Sign-in stopped unexpectedly.", "Press s to try again.")
            return
        if self._left:  # the SignedIn event already took the user on
            return
        self.query_one("#paste-input", Input).value = ""
        self.step = "done"
        self.phase = "signed_in"
        self._leave_if_wanted()

    async def action_cancel(self) -> None:
        if self.phase == "running":
            if self.flow == "broker":
                await self.worker.cancel_brokered_sign_in()
            else:
                await self.worker.cancel_sign_in()
            return
        if self._can_go_back():
            self.dismiss(None)

    def _can_go_back(self) -> bool:
        # Above Textual's blank base and the home screen there is somewhere to go back to.
        stack = self.app.screen_stack
        return self in stack and stack.index(self) >= 2

    @work(group="copy-link", exit_on_error=False)
    async def action_copy_link(self) -> None:
        # A terminal never confirms an OSC 52 copy: say it was sent, or (tmux's default) that it cannot arrive.
        import asyncio

        from calle_tui.core.support.clipboard import copy_sentence, osc52_reach

        if not self.authorize_url:
            return
        reach = await asyncio.to_thread(osc52_reach)  # asks tmux, a short subprocess: off the event loop
        self.app.copy_to_clipboard(self.authorize_url)
        title, sentence = copy_sentence("sign-in link", reach)
        self.notify(sentence, title=title, severity="warning" if reach == "tmux-blocks" else "information")

    def action_show_link_alone(self) -> None:
        """The link printed on the plain terminal, where the terminal itself wraps it: selected there (tmux's
        copy mode included) it has no line breaks, unlike the screen's wrapped lines."""
        from textual.app import SuspendNotSupported

        url = self.authorize_url
        if not url:
            return
        try:
            with self.app.suspend():
                print(f"\nThe sign-in link, unbroken (select it, copy it, open it in a browser):\n\n{url}\n")
                input("Press Enter to go back to calle-tui. ")
        except SuspendNotSupported:
            self.notify("This terminal cannot show the link alone here: press c to copy it.", title="Link")
        except EOFError:
            pass

    def action_open_browser(self) -> None:
        if self.authorize_url and local_browser_available():
            self.app.open_url(self.authorize_url)

    async def action_retry(self) -> None:
        self.connection_problem = ""
        self._render_all()
        self.refresh_bindings()
        await self.worker.reconnect()

    def action_focus_paste(self) -> None:
        self.query_one("#paste-input", Input).focus()

    @on(Paste)
    def _paste_anywhere(self, event: Paste) -> None:
        # A paste while the field is not focused still lands in the field: the address is what we expect.
        paste = self.query_one("#paste-input", Input)
        if self._paste_applies() and not paste.has_focus and event.text.strip():
            paste.value = event.text.strip()
            paste.focus()
            self._submit(paste.value)

    @on(Input.Submitted, "#paste-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    def _submit(self, value: str) -> None:
        if not value.strip():
            self._show_error("The field is empty.", "Paste the whole address from the browser's address bar.")
            return
        self._run_submit(value.strip())

    @work(exclusive=True, group="submit-redirect", exit_on_error=False)
    async def _run_submit(self, value: str) -> None:
        from calle_tui.core.worker_api import WorkerError

        self._clear_error()
        try:
            await self.worker.submit_redirect(value)
        except WorkerError as exc:
            # The field keeps what was pasted so a near miss can be fixed, not retyped.
            self._show_error(exc.message, exc.action, exc.kind)
            return
        except Exception as exc:
            logging.getLogger("calle_tui.ui").error("the pasted address could not be used", exc_info=exc)
            self._show_error("That address could not be used.", "Paste it again.")
            return
        if not self._left:
            self.query_one("#paste-input", Input).value = ""

    @work(group="sign-out", exit_on_error=False)
    async def action_sign_out(self) -> None:
        from calle_tui.core.worker_api import WorkerError

        sure = await self.app.push_screen_wait(
            YesNoModal(
                f"Sign out of {shown_url(self.worker.server_url)}? calle-tui forgets this server's session on this "
                "machine.",
                yes="Sign out",
                no="Stay signed in",
                title="Sign out",
            )
        )
        if not sure:
            return
        try:
            await self.worker.sign_out()
        except WorkerError as exc:
            self._show_error(exc.message, exc.action, exc.kind)
            return
        self.phase = "idle"
        self.title = "Sign in"
        self._left = False
        self._render_all()
