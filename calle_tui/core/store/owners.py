"""Who is still sending: a lock file per open journal, so one window can tell whether a 'sent' run_call
attempt belongs to a live window (still waiting for its answer) or to one that died between send and reply.

A sent attempt records its owner's token. The owner holds an exclusive `flock` on `<folder>/<token>.lock`
for as long as its journal is open; the kernel drops that lock when the process dies, however it dies
(kill -9 included). Another window asks "is it alive?" by trying to take the same lock without waiting:
it gets it only when the owner is gone. `flock` (unlike `fcntl` record locks) conflicts between two opens
in the same process too, so two journals in one process (tests, two workers) are told apart as well.

Where `flock` does not exist (Windows), nobody can prove an owner alive, and a sent attempt found at
start-up is treated as the previous behaviour did: the app that sent it stopped before the answer.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from calle_tui.core.store.private import private_dir, private_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class OwnerLock:
    """This journal's own lock file, held from open to close."""

    def __init__(self, folder: Path) -> None:
        self.folder = private_dir(folder)
        self.token = secrets.token_hex(8)
        self._fd: int | None = None
        if fcntl is None:
            return
        path = private_file(self.folder / f"{self.token}.lock")
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        self._fd = fd

    def is_alive(self, token: str | None) -> bool:
        """True when the journal that wrote `token` is open now, in this process or another."""
        if not token:
            return False  # written before owners were recorded: nobody can still be waiting on it
        if token == self.token:
            return self._fd is not None
        if fcntl is None or not _is_token(token):
            return False
        path = self.folder / f"{token}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing our descriptor also drops the lock we may have just taken
        return False

    def sweep(self) -> None:
        """Remove the lock files of owners that are gone (a crashed process cannot remove its own)."""
        if fcntl is None:
            return
        for path in self.folder.glob("*.lock"):
            token = path.stem
            if token != self.token and not self.is_alive(token):
                path.unlink(missing_ok=True)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        (self.folder / f"{self.token}.lock").unlink(missing_ok=True)
        os.close(fd)


def _is_token(token: str) -> bool:
    # A token is only ever our own hex; anything else in the journal is never turned into a path.
    return len(token) == 16 and all(c in "0123456789abcdef" for c in token)
