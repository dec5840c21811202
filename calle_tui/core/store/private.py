"""Folders and files that hold anything private (journal with numbers, goals, transcripts and pending
confirm tokens; drafts; logs; exports; the opt-in token file): folders 0700, files 0600, whatever the umask.

`mkdir(parents=True, mode=...)` applies the mode to the last folder only and through the umask, so parents
(the state root above logs/, for instance) would be created 0755: every missing folder is made here, one by
one, and set 0700 explicitly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def private_dir(path: Path | str) -> Path:
    """Create `path` and any missing parents as 0700; an existing `path` made by us is set 0700 too."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        os.chmod(folder, 0o700)
    if path.is_dir() and path.stat().st_uid == os.getuid() and (path.stat().st_mode & 0o077):
        os.chmod(path, 0o700)
    return path


def private_file(path: Path | str) -> Path:
    """Make sure `path` exists as a 0600 file (created empty when missing) in a 0700 folder."""
    path = Path(path)
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    return path


def write_private_text(path: Path | str, text: str, *, prefix: str = ".private-") -> None:
    """Replace `path` with `text` atomically (temp file + fsync + rename in the same folder), 0600 in a
    0700 folder: a reader sees the old file or the new one, never half of one, and never a moment at 0644."""
    path = Path(path)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
