"""CalleApp: the shell around the screens. Global keys, the status line, the bell when a call ends.

The app does no I/O of its own: it asks the worker (injected) and shows what the worker reports. Nothing heavy
is imported at module level (the mcp SDK, the composer's widgets): the first screen paints, then the worker
starts from a Textual async worker after mount. `calle-tui` itself passes `boot=`, a `DeferredWorker`
(ui/deferred.py), instead of settings and a worker: those are built right after the first frame, in
`_prepare_worker`.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.screen import ModalScreen, Screen

from calle_tui.ui.deferred import BootError, DeferredWorker
from calle_tui.ui.messages import AppWorkerEvent
from calle_tui.ui.paths import styles_dir
from calle_tui.ui.runs.store import RunChanged, RunStore
from calle_tui.ui.widgets.header import AppHeader, ShellStatus

if TYPE_CHECKING:
    from textual.command import Provider

    from calle_tui.core.batch.session import BatchSession
    from calle_tui.core.config.settings import Settings
    from calle_tui.core.runs.runview import RunView
    from calle_tui.core.store.drafts import DraftStore
    from calle_tui.core.worker_api import RunRecord, WorkerAPI


def _css_paths() -> list[Path]:
    folder = styles_dir()
    # runs.tcss is not here: the composer, confirm and monitor screens load it themselves (their CSS_PATH)
    # when first shown, so the first paint does not parse it.
    return [folder / "global.tcss", folder / "app.tcss"]


def _local_tz() -> tzinfo | None:
    return datetime.now().astimezone().tzinfo


def _screen_actions() -> type[Provider]:
    # Loaded when the palette opens: textual.command is not needed for the first paint.
    from calle_tui.ui.widgets.commands import ScreenActionsProvider

    return ScreenActionsProvider


class CalleApp(App[None]):
    CSS_PATH = _css_paths()
    TITLE = "calle-tui"
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = App.COMMANDS | {_screen_actions}
    NOTIFICATION_TIMEOUT = 8

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit", tooltip="Leave calle-tui."),
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="Keys for this screen."),
        Binding("h,f2", "history", "History", id="app.history", tooltip="Past calls, searchable."),
        Binding("a", "account", "Account", id="app.account", tooltip="Sign in or out, see where tokens are kept."),
        Binding("f3", "board", "Calls", show=False, id="app.board", tooltip="Every followed call, live ones first."),
        Binding(
            "f4",
            "import_batch",
            "Import batch",
            show=False,
            id="app.batch",
            tooltip="Plan and place the calls of a JSONL batch file (one confirmation for all).",
        ),
        Binding(
            "ctrl+o",
            "open_live",
            "Open live call",
            show=False,
            id="app.open_live",
            tooltip="Follow the call still live (the composer says when there is one).",
        ),
    ]

    shell_status: var[ShellStatus] = var(ShellStatus)
    resumes_live_calls = True  # False for the demo: its sandbox, and its calls, end with the app
    pending_batch: str | None = None  # `--batch FILE`: opened once connected and signed in
    quit_note = ""  # left in the terminal after a quit while calls are live
    # Freeze the long-lived objects out of the garbage collector's full passes (core/support/heap.py) once started
    # and once connected. The command line sets it; tests, which run many apps in one process, do not.
    settles_heap = False

    def __init__(
        self,
        settings: Settings | None = None,
        worker: WorkerAPI | None = None,
        *,
        boot: DeferredWorker | None = None,  # instead of a worker: settings and worker built after the first paint
        drafts: DraftStore | None = None,
        clock: Callable[[], float] | None = None,
        display_tz: tzinfo | None = None,
        demo: bool = False,  # the server is the sandbox `--demo` started: the screens may say nothing rings
    ) -> None:
        super().__init__()
        if (worker is None) == (boot is None):
            raise TypeError("CalleApp takes a worker, or a boot that builds one after the first paint")
        self.demo = demo
        self.set_reactive(CalleApp.shell_status, ShellStatus(demo=demo))
        self.settings = settings
        self.boot = boot
        # The stand-in answers every WorkerAPI member, passing what it cannot answer yet to the real worker.
        self.worker: WorkerAPI = worker if worker is not None else cast("WorkerAPI", boot)
        self.drafts = drafts
        self.clock: Callable[[], float] = clock or time.time
        self.display_tz: tzinfo | None = display_tz or _local_tz()
        self.cursor_blink = True  # snapshots set False (read by every screen's text fields)
        self.runs = RunStore(self)  # every run's view, folded from the worker's events: the screens watch it
        self._unsubscribe: Callable[[], None] | None = None
        self._worker_closed = False
        self._connected_once = False
        self.batch_session: BatchSession | None = None  # the batch opened last (open_batch)

    crash_note = ""  # set when the app stopped on an internal error: one sentence for the terminal

    def _fatal_error(self) -> None:
        # Textual would print a traceback with local variables, which can hold secrets: log it to the
        # (redacted) log file instead and leave one sentence for the terminal.
        error = self._exception
        logging.getLogger("calle_tui.ui").error("unhandled error in the UI", exc_info=error)
        logs = self.settings.state_root / "logs" if self.settings is not None else "the calle-tui state folder"
        self.crash_note = (
            f"calle-tui stopped on an internal error. What you typed is kept as a draft. Details are in {logs}."
        )
        self.bell()
        self._close_messages_no_wait()

    # --- screens ------------------------------------------------------------------------------------

    def new_composer(self) -> Screen:
        from calle_tui.ui.screens.composer import ComposerScreen

        return ComposerScreen(self.worker, self.drafts)

    def new_monitor(self, run_id: str, record: RunRecord | None = None) -> Screen:
        from calle_tui.ui.screens.monitor import MonitorScreen

        return MonitorScreen(self.worker, run_id, record)

    def new_login(
        self, *, leave_when_signed_in: bool = True, reason: str = "", renew: bool = False, progress: Any = None
    ) -> Screen:
        from calle_tui.ui.screens.login import LoginScreen

        return LoginScreen(self.worker, leave_when_signed_in=leave_when_signed_in, reason=reason, renew=renew,
                           progress=progress)  # fmt: skip

    def first_screen(self) -> Screen:
        """The composer when signed in, else the login screen (which moves on to the composer by itself)."""
        status = self._read_auth_status()
        if status is not None and status.signed_in:
            return self.new_composer()
        return self.new_login(leave_when_signed_in=True)

    def show_signed_in_home(self) -> None:
        """After a sign-in: back to whatever the user was doing, or on to the composer when login was first.

        The stack is [Textual's blank base, home screen, ...]: Textual cannot switch its base screen away.
        """
        from calle_tui.ui.screens.login import LoginScreen

        if len(self.screen_stack) > 2 and not isinstance(self.screen_stack[1], LoginScreen):
            while len(self.screen_stack) > 2 and isinstance(self.screen, LoginScreen):
                self.pop_screen()
        elif isinstance(self.screen, LoginScreen):
            self.switch_screen(self.new_composer())

    # --- lifecycle ----------------------------------------------------------------------------------

    def _read_auth_status(self):
        try:
            status = self.worker.auth_status()
        except Exception:  # noqa: BLE001 - the worker could not say: treat as signed out, the login screen explains
            return None
        self.shell_status = dataclasses.replace(
            self.shell_status,
            server_url=status.server_url or self.worker.server_url,
            signed_in=status.signed_in,
            storage=status.storage,
            storage_notice=status.storage_notice,
        )
        return status

    def on_mount(self) -> None:
        if not self.shell_status.server_url:
            self.shell_status = dataclasses.replace(self.shell_status, server_url=self.worker.server_url)
        self.runs.attach(self.worker)
        self._unsubscribe = self.worker.subscribe(lambda event: self.post_message(AppWorkerEvent(event)))
        self.screen_change_signal.subscribe(self, self._give_header)
        self.runs.watch(self, self._on_run_changed)
        self.push_screen(self.first_screen())
        # Paint first, then build and start the worker (settings, contract models, the mcp SDK: ~100 ms of
        # imports). Textual runs this once the screen has nothing left to draw, so the first screen is whole.
        self.call_after_refresh(self._start_worker)

    def _give_header(self, screen: Screen) -> None:
        """Every full screen shows the shared status line, including screens that do not compose one.
        The signal fires before a new screen has composed, so look once it has."""
        if not isinstance(screen, ModalScreen):
            self.call_after_refresh(self._add_header, screen)

    def _add_header(self, screen: Screen) -> None:
        if screen.is_attached and not screen.query(AppHeader):
            screen.mount(AppHeader(), before=0) if screen.children else screen.mount(AppHeader())

    def _prepare_worker(self) -> bool:
        """With `boot`, the settings and the real worker are built here, once the first screen is up.
        A setting that is not valid ends the app with the same sentence and exit status as before a paint."""
        if self.boot is None:
            return True
        try:
            booted = self.boot.prepare()
        except BootError as exc:
            self.crash_note = f"calle-tui: {exc}"
            self.exit(return_code=2)
            return False
        except Exception as exc:  # e.g. an unreadable state folder: one sentence, details in the log
            logging.getLogger("calle_tui.ui").error("could not build the worker", exc_info=exc)
            self.crash_note = "calle-tui could not start because of an internal error. Please report it."
            self.exit(return_code=1)
            return False
        self.settings = booted.settings
        if self.drafts is None:
            self.drafts = booted.drafts
        self.shell_status = dataclasses.replace(self.shell_status, server_url=self.worker.server_url)
        return True

    def _start_worker(self) -> None:
        if not self._prepare_worker():
            return
        self.shell_status = dataclasses.replace(self.shell_status, connection="connecting")
        self.run_worker(self._run_start(), name="worker-start", group="worker-start", exit_on_error=False)

    async def _run_start(self) -> None:
        from calle_tui.core.worker_api import WorkerError

        try:
            await self.worker.start()
            self._read_live_runs()
            self._settle_heap()
        except WorkerError as exc:
            self._show_problem(exc.message, exc.action)
        except Exception as exc:  # a bug must not take the screen down: say so in words, details to the log
            logging.getLogger("calle_tui.ui").error("the worker could not start", exc_info=exc)
            self._show_problem("The background worker could not start.", "Press ctrl+q and try again.")

    def _settle_heap(self) -> None:
        if self.settles_heap:
            from calle_tui.core.support.heap import settle

            settle()

    async def close_worker(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.runs.detach()
        if not self._worker_closed:
            self._worker_closed = True
            await self.worker.close()

    @property
    def live_runs(self) -> tuple[RunRecord, ...]:
        """Calls followed and not ended, newest first (the store of runs says)."""
        return self.runs.live()

    def _read_live_runs(self) -> tuple[RunRecord, ...]:
        from calle_tui.core.worker_api import WorkerError

        try:
            self.runs.remember(self.worker.history())
        except (WorkerError, AttributeError):  # no history to read (yet): nothing to say
            pass
        return self.live_runs

    async def action_quit(self) -> None:
        from calle_tui.ui.widgets.live_calls import quit_note

        # Quitting stops only the following: say so, so nobody takes it for hanging up.
        self.quit_note = quit_note(
            self._read_live_runs() if not self._worker_closed else (), self.runs, resumes=self.resumes_live_calls
        )
        try:
            await self.close_worker()
        finally:
            self.exit()

    # --- worker events ------------------------------------------------------------------------------

    def on_app_worker_event(self, message: AppWorkerEvent) -> None:
        from calle_tui.core.events import (
            ConnectionChanged,
            ErrorEvent,
            SignedIn,
            SignedOut,
            SignInEnding,
            SignInNeeded,
            SignInProgress,
            ToolsListed,
        )

        event = message.event
        if isinstance(event, ConnectionChanged):
            self.shell_status = dataclasses.replace(
                self.shell_status,
                server_url=event.server_url or self.shell_status.server_url,
                connection=event.state,
                message=event.message,
            )
        elif isinstance(event, SignedIn):
            self.shell_status = dataclasses.replace(
                self.shell_status, signed_in=True, storage=event.storage, storage_notice=event.storage_notice
            )
        elif isinstance(event, SignedOut):
            self.shell_status = dataclasses.replace(self.shell_status, signed_in=False)
        elif isinstance(event, SignInNeeded):
            self.shell_status = dataclasses.replace(self.shell_status, signed_in=False)
            self._ask_to_sign_in(event.reason)
        elif isinstance(event, ToolsListed):
            if not self._connected_once:
                self._connected_once = True
                self._settle_heap()  # the SDK's and the contract's modules are loaded with the first connection
            if self.pending_batch:
                path, self.pending_batch = self.pending_batch, None
                self.open_batch(path)  # connected and signed in: the batch's plans can be made
        elif isinstance(event, SignInProgress) and event.step == "waiting_for_browser" and event.authorize_url:
            self._show_sign_in_link(event)
        elif isinstance(event, SignInEnding):
            self._ask_to_sign_in(event.reason, renew=True)  # still signed in: nothing else changes yet
        elif isinstance(event, ErrorEvent) and event.run_id is None and event.plan_id is None:
            # Run and plan errors belong to the screen showing that run or plan; the rest are app-wide.
            self._show_problem(event.message, event.action)

    def _show_sign_in_link(self, progress: Any) -> None:
        """A sign-in that started away from the sign-in screen (a request that needs more permissions, a
        step-up) waits for the browser: without this screen its link would be shown nowhere (over SSH, no
        browser opens by itself)."""
        from calle_tui.ui.screens.login import LoginScreen

        if any(isinstance(s, LoginScreen) for s in self.screen_stack):
            return
        reason = "CALL-E asks you to approve more permissions for what you just did. Approve in the browser."
        self.push_screen(self.new_login(leave_when_signed_in=True, reason=reason, progress=progress))

    def _ask_to_sign_in(self, reason: str, *, renew: bool = False) -> None:
        from calle_tui.ui.screens.login import LoginScreen

        login = next((s for s in self.screen_stack if isinstance(s, LoginScreen)), None)
        if login is not None:
            login.set_reason(reason, renew=renew)
            return
        self.push_screen(self.new_login(leave_when_signed_in=True, reason=reason, renew=renew))

    def _on_run_changed(self, change: RunChanged) -> None:
        # The change that ended a run the store was following, once: a run reopened from History, or a finish
        # reported again, is no change and rings no second bell.
        if change.ended and change.view is not None:
            self._announce_finished(change.view)

    def _announce_finished(self, view: RunView) -> None:
        import textwrap

        from calle_tui.core.runs.runview import outcome_line
        from calle_tui.core.wire.status import reached_person
        from calle_tui.ui.runs.format import status_look

        glyph, _colour, label = status_look(view.status, view.status_text)
        # "Completed" says the call ended, not that its task was done: the summary and the server's own
        # judgement say that, so they follow the status word. A server's message ("run_id not found.")
        # stands in for a summary.
        judged = outcome_line(view.outcome)
        summary = " ".join((view.summary or view.message or "").split())
        text = f"{glyph} The call ended: {label}." + (f" {judged}." if judged else "")
        text += f" {textwrap.shorten(summary, 160, placeholder='…')}" if summary else ""
        # A call that did not reach its person, or whose task the server judged not done, is a warning.
        failed = reached_person(view.status) is False or (view.outcome is not None and view.outcome.task_completed is False)
        self.bell()
        self.notify(text, title="Call finished", severity="warning" if failed else "information")

    def _show_problem(self, message: str, action: str = "") -> None:
        self.notify(f"{message} {action}".strip(), title="Problem", severity="error", timeout=12)

    # --- actions ------------------------------------------------------------------------------------

    def _showing(self, module: str, name: str) -> bool:
        """Whether the current screen is `module.name`, without importing the module to ask: check_action
        runs for every binding on the first paint, and a screen whose module is not loaded is not showing."""
        screen_class = getattr(sys.modules.get(module), name, None)
        return screen_class is not None and isinstance(self.screen, screen_class)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        on_login = self._showing("calle_tui.ui.screens.login", "LoginScreen")
        if action == "history":
            on_history = self._showing("calle_tui.ui.screens.history", "HistoryScreen")
            return not on_history and (self.shell_status.signed_in or not on_login)
        if action == "help":
            return not self._showing("calle_tui.ui.screens.help", "HelpScreen")
        if action == "account":
            return not on_login
        if action == "board":
            on_board = self._showing("calle_tui.ui.screens.board", "RunsBoardScreen")
            return not on_board and (self.shell_status.signed_in or not on_login)
        if action == "import_batch":
            return self.shell_status.signed_in and not self._showing("calle_tui.ui.screens.batch", "BatchScreen")
        if action == "open_live":
            return bool(self.live_runs) and not self._showing("calle_tui.ui.screens.monitor", "MonitorScreen")
        return True

    def action_help(self) -> None:
        from calle_tui.ui.screens.help import HelpScreen, collect_keys

        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        self.push_screen(HelpScreen(collect_keys(screen), screen.title or ""))

    def action_history(self) -> None:
        from calle_tui.ui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen(self.worker))

    def action_board(self) -> None:
        from calle_tui.ui.screens.board import RunsBoardScreen

        if not isinstance(self.screen, RunsBoardScreen):
            self.push_screen(RunsBoardScreen(self.worker))

    @work(group="import-batch", exclusive=True, exit_on_error=False)
    async def action_import_batch(self) -> None:
        from calle_tui.ui.screens.batch import BatchPathModal

        path = await self.push_screen_wait(BatchPathModal())
        if path:
            self.open_batch(path)

    def open_batch(self, path: str) -> None:
        """The batch screen for the JSONL file at `path` (`--batch FILE`, or Import batch in the palette)."""
        from calle_tui.core.batch.session import BatchSession
        from calle_tui.core.runs.export import default_export_dir
        from calle_tui.core.support.clock import SystemClock
        from calle_tui.ui.screens.batch import BatchScreen

        at_once = getattr(self.settings, "batch_max_active_calls", 1)
        session = BatchSession(self.worker, path, clock=SystemClock(), exports_dir=default_export_dir(), max_active=at_once)
        self.batch_session = session  # the calls board's progress line counts its lines once it is sent
        self.push_screen(BatchScreen(session))

    def action_open_live(self) -> None:
        if self.live_runs:
            latest = self.live_runs[0]
            self.push_screen(self.new_monitor(latest.run_id or "", latest))

    def action_account(self) -> None:
        from calle_tui.ui.screens.login import LoginScreen

        if not isinstance(self.screen, LoginScreen):
            self.push_screen(self.new_login(leave_when_signed_in=False))
