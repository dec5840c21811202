"""How a command ends when something is raised: one sentence on stderr and an exit status, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

from calle_tui.core.config.settings import SettingsError
from calle_tui.core.store.logs import redact

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl+C
FAILED = 2  # bad usage, a setting that is not valid, or an error we have no words for


def exit_status(command: str, body: Callable[[], int], *, err: TextIO | None = None, stopped: str = "Stopped.") -> int:
    """`body()`'s exit status, or the status for what it raised: Ctrl+C prints `stopped`; a setting that is
    not valid and any other error print `calle-tui COMMAND: <sentence>` (secret shapes redacted: an error we
    did not word may quote a server's reply)."""
    err = err or sys.stderr
    try:
        return body()
    except KeyboardInterrupt:
        print(stopped, file=err)
        return INTERRUPTED
    except SettingsError as exc:
        print(f"calle-tui {command}: {exc}", file=err)
        return FAILED
    except Exception as exc:  # noqa: BLE001 - a clear sentence, never a traceback
        print(f"calle-tui {command}: {redact(str(exc)) or 'it stopped unexpectedly.'}", file=err)
        return FAILED
