"""Run the app once: build it over the deferred worker, end it cleanly on a hang-up, close the worker, and say
why it ended. The command line, the demo's sandbox and the exit statuses are commands/launch.py's."""

from __future__ import annotations

import asyncio
import signal
import sys

from calle_tui.ui.app import CalleApp
from calle_tui.ui.deferred import DeferredWorker


async def run_app_async(boot: DeferredWorker, *, demo: bool = False, pending_batch: str | None = None) -> int:
    """Run the app until it ends; its return code (a hang-up's is 128 + the signal)."""
    app = CalleApp(boot=boot, demo=demo)
    app.resumes_live_calls = not demo  # the demo's calls end with its sandbox
    app.settles_heap = True  # one app in this process: its long-lived objects can leave the collector's walk
    app.pending_batch = pending_batch
    _exit_cleanly_on_hangup(app)
    try:
        await app.run_async()
    finally:
        await app.close_worker()
    if app.crash_note:
        print(app.crash_note, file=sys.stderr)
    if app.quit_note:
        print(app.quit_note, file=sys.stderr)
    return app.return_code or 0


def _exit_cleanly_on_hangup(app: CalleApp) -> None:
    """A closed terminal (SIGHUP) or SIGTERM ends calle-tui through its normal exit path, so the demo's
    sandbox is stopped and its folder removed: the default action would end the process with no cleanup."""
    loop = asyncio.get_running_loop()
    for name in ("SIGHUP", "SIGTERM"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            loop.add_signal_handler(signum, lambda code=128 + signum: app.exit(return_code=code))
        except (NotImplementedError, RuntimeError):  # not the main thread, or a platform without it
            pass
