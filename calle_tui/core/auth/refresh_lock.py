"""One token refresh at a time per server, across calle-tui processes on this machine.

Why: CALL-E's sign-in server (and the sandbox) rotates refresh tokens and treats the reuse of a rotated-away
one as theft, revoking the whole family. Two windows that refresh with the same stored refresh token would
sign each other out. Under this lock a window re-reads the store first and adopts what another window just
wrote, so only one of them refreshes and nobody uses a spent token.

An advisory `flock` on a 0600 file next to the sign-in details. It is released when the holder closes it or
dies, so a crashed window never blocks the others. Where `fcntl` does not exist (Windows) only the
in-process lock applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from calle_tui.core.store.private import private_dir

log = logging.getLogger("calle_tui.auth.lock")

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

WAIT_LIMIT = 60.0  # seconds: longer than one refresh request may take (its own timeout is 30 s)
POLL = 0.05  # how often a waiting window tries the lock again


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """A blocking exclusive lock for a short read-modify-write (run it in a thread, never on the loop)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


class RefreshLock:
    """acquire() waits (without blocking the event loop) for this process's and other processes' refreshes;
    release() is safe to call more than once and from a `finally` that may not hold it."""

    def __init__(self, path: Path | None, *, wait_limit: float = WAIT_LIMIT) -> None:
        self.path = path
        self.wait_limit = wait_limit
        self._local = asyncio.Lock()
        self._fd: int | None = None
        self._owner: asyncio.Task[Any] | None = None

    @property
    def held_here(self) -> bool:
        """True when the current task holds it."""
        return self._owner is not None and self._owner is asyncio.current_task()

    async def acquire(self) -> None:
        await self._local.acquire()
        self._owner = asyncio.current_task()
        if self.path is None or fcntl is None:
            return
        try:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            log.warning("cannot open the sign-in lock (%s); refreshing without it", exc.strerror or exc)
            return
        deadline = time.monotonic() + self.wait_limit
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        # The other window is stuck, not refreshing: waiting longer would freeze this one too.
                        os.close(fd)
                        log.warning("another calle-tui held the sign-in lock for %.0f s; refreshing anyway",
                                    self.wait_limit)  # fmt: skip
                        return
                    await asyncio.sleep(POLL)  # another process holds it; flock has no awaitable form
                    continue
                self._fd = fd
                return
        except BaseException:  # cancelled while waiting: hold nothing
            os.close(fd)
            self._owner = None
            self._local.release()
            raise

    def release(self) -> None:
        if not self.held_here:
            return
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._owner = None
        self._local.release()
