"""`calle-tui` and `calle-tui --demo`: read the command line, refuse an unusable address before anything is
drawn, start the demo's sandbox, run the app (ui/launch.py), clean up, and return the exit status.

Settings layer as command line > environment > config file. The settings and the worker are built only after
the first screen has painted (ui/deferred.py): before that, only the address is read, cheaply, to check it and
show it. `--demo` runs the sandbox in its own process (the SDK's server configures logging at import and would
scribble over the screen), its output going to a log file, and stops it on exit. Nothing here prints a
traceback: a failure is one sentence and where the details were written.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from calle_tui.commands.overrides import overrides_from
from calle_tui.core.config.endpoint import EndpointError, validate_url
from calle_tui.core.config.peek import config_problem, configured_url, configured_url_and_source
from calle_tui.ui.deferred import Booted, BootError, DeferredWorker
from calle_tui.ui.launch import run_app_async

if TYPE_CHECKING:
    from calle_tui.core.config.settings import Settings

log = logging.getLogger("calle_tui.launch")

SANDBOX_READY_SECONDS = 30.0
SANDBOX_SPEED = 4  # a 96 s call takes 24 s: fast, yet slow enough to watch the transcript arrive


def build_settings(args: argparse.Namespace, **extra: object) -> Settings:
    """Command line values (and the demo's `extra`) override the environment and the config file."""
    # pydantic: after the first paint (boot), or in a test; never on the way to the first screen
    from calle_tui.core.config.settings import SettingsError, load_settings

    try:
        return load_settings(**(overrides_from(args) | extra))
    except SettingsError as exc:
        raise BootError(str(exc)) from None


def peek_url(args: argparse.Namespace) -> str:
    """The endpoint address, read the way Settings reads it but without pydantic, for the first screen.

    Settings stays the authority: once built, its address replaces this one (they differ only for inputs that
    Settings then refuses with a sentence). A config file that cannot be read is left for Settings to report.
    """
    if getattr(args, "url", None) is not None:
        return args.url
    return configured_url()


def url_source(args: argparse.Namespace) -> str:
    """Where peek_url's address comes from, in words, for the sentence that refuses a bad one."""
    if getattr(args, "url", None) is not None:
        return "the command line (--url)"
    return configured_url_and_source()[1]


def check_url(url: str, source: str = "") -> None:
    try:
        validate_url(url)
    except EndpointError as exc:
        if source:
            raise BootError(f"The setting 'url' from {source} is not usable: {exc}.") from None
        raise BootError(f"The endpoint address is not usable: {exc}. Pass the MCP endpoint URL with --url.") from None


@dataclass
class DemoSandbox:
    """The sandbox server in a child process of its own, with its state and log in a temporary folder."""

    process: subprocess.Popen
    url: str
    folder: Path

    @property
    def log_file(self) -> Path:
        return self.folder / "sandbox.log"

    @classmethod
    def start(cls, *, speed: float = SANDBOX_SPEED) -> DemoSandbox:
        """Start the sandbox process (returns at once; then wait_ready). Kept apart so that whatever ends
        calle-tui while the sandbox starts up finds it assigned and stops it."""
        _sweep_orphaned_demo_folders(Path(tempfile.gettempdir()))
        folder = Path(tempfile.mkdtemp(prefix=DEMO_PREFIX))
        (folder / "owner").write_text(str(os.getpid()), encoding="utf-8")
        ready = folder / "ready"
        command = [
            sys.executable, "-m", "calle_tui", "sandbox",
            "--port", "0", "--auto-approve", "--speed", str(speed),
            "--data", str(folder / "data"), "--ready-file", str(ready),
        ]  # fmt: skip
        with open(folder / "sandbox.log", "wb") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),  # safe despite preexec_fn: no threads exist yet here
            )
        return cls(process, "", folder)

    def wait_ready(self, deadline_seconds: float = SANDBOX_READY_SECONDS) -> None:
        """Until the sandbox listens. On failure it is stopped, keeping its log for the message."""
        try:
            self.url = self._wait_ready(self.folder / "ready", deadline_seconds)
        except BootError:
            self.stop(keep_log=True)
            raise

    def _wait_ready(self, ready: Path, deadline_seconds: float) -> str:
        # An external process: poll the ready file against a deadline.
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BootError(f"The demo sandbox stopped before it was ready. Its log: {self.log_file}")
            url = _read_ready(ready)
            if url:
                return url
            time.sleep(0.05)
        raise BootError(f"The demo sandbox did not start within {deadline_seconds:.0f} s. Its log: {self.log_file}")

    def stop(self, *, keep_log: bool = False) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if not keep_log:
            shutil.rmtree(self.folder, ignore_errors=True)


DEMO_PREFIX = "calle-tui-demo-"


def _die_with_parent(parent: int):
    """For the demo's sandbox: the kernel sends it SIGTERM when calle-tui dies, however it dies (a closed
    terminal, kill -9), so no sandbox is ever orphaned. Linux's PR_SET_PDEATHSIG; elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return None

    import ctypes  # only the demo needs it; imported here, before the fork, not in the child

    def arrange() -> None:
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return arrange


def _sweep_orphaned_demo_folders(tmp: Path) -> None:
    """Remove demo folders (journals with plans and transcripts) left by a calle-tui that was killed before
    it could clean up: each names its owner's pid, and a folder whose owner is gone is removed."""
    for folder in tmp.glob(DEMO_PREFIX + "*"):
        try:
            if folder.stat().st_uid != os.getuid():
                continue
            owner = int((folder / "owner").read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            continue
        if not _alive(owner):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_ready(ready: Path) -> str | None:
    """The sandbox writes its base URL once listening; a URL without a path gets the MCP endpoint path."""
    try:
        text = ready.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text:
        return None
    try:
        parts = urlsplit(text)
        if not parts.hostname or parts.port is None:
            return None
    except ValueError:
        return None
    from calle_tui.sandbox.config import MCP_PATH  # only the demo: the first paint never loads the sandbox

    return text if parts.path not in {"", "/"} else text.rstrip("/") + MCP_PATH


def boot(args: argparse.Namespace, **extra: object) -> Booted:
    """Settings, worker and draft store: what the app builds once its first screen is up."""
    settings = build_settings(args, **extra)
    check_url(settings.url)
    # Called by the app after its first paint (ui/deferred.py): the worker's imports must not delay it.
    from calle_tui.core.store.drafts import DraftStore
    from calle_tui.core.worker import CalleWorker

    worker = CalleWorker(settings, login_flow=settings.login)
    return Booted(settings, worker, DraftStore(settings.state_root / "draft.json"))


class _HangUp(Exception):
    """SIGHUP or SIGTERM before the app runs: unwind through the cleanup below."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.code = 128 + signum


def _unwind_on_hangup() -> dict[int, object]:
    """Until the app's loop takes over (_exit_cleanly_on_hangup), a hang-up unwinds run_app's cleanup.
    Returns the handlers it replaced, for run_app to put back."""

    def hang_up(signum: int, frame: object) -> None:
        raise _HangUp(signum)

    previous: dict[int, object] = {}
    for name in ("SIGHUP", "SIGTERM"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, hang_up)
    return previous


def run_app(args: argparse.Namespace) -> int:
    """Entry point for `calle-tui` and `calle-tui --demo`: 2 for a reason not to start (a sentence), 130 for
    Ctrl+C, 128 + the signal for a hang-up, 1 for an internal error (details in the log), else the app's."""
    demo: DemoSandbox | None = None
    previous = _unwind_on_hangup()
    try:
        extra: dict[str, object] = {}
        if args.demo:
            print("Starting the local CALL-E sandbox (no real phone calls)...", file=sys.stderr)
            demo = DemoSandbox.start()
            demo.wait_ready()
            # The demo keeps its journal and draft beside the sandbox: it never mixes with real calls.
            extra = {"url": demo.url, "login": args.login or "auto-follow", "state_path": demo.folder / "state"}
        problem = config_problem()  # a typo in the config file must not first paint production's screen
        if problem:
            raise BootError(problem)
        url = str(extra.get("url") or peek_url(args))
        check_url(url, "" if extra.get("url") else url_source(args))  # refused before anything is drawn
        deferred = DeferredWorker(lambda: boot(args, **extra), url)
        return asyncio.run(
            run_app_async(deferred, demo=bool(args.demo), pending_batch=getattr(args, "batch", None) or None)
        )
    except BootError as exc:
        print(f"calle-tui: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except _HangUp as exc:
        return exc.code
    except Exception:  # the last line of defence: one sentence, details in the log
        log.exception("calle-tui stopped unexpectedly")
        print(
            "calle-tui stopped unexpectedly. Please report it with the log from the calle-tui state folder.",
            file=sys.stderr,
        )
        return 1
    finally:
        if demo is not None:
            demo.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
