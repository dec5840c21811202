"""The demo's sandbox and its private folder end with calle-tui, whatever ends it: a closed terminal
(SIGHUP), SIGTERM, or kill -9 (then the sandbox still stops, and the next demo removes the folder left)."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from calle_tui.commands.launch import DEMO_PREFIX, _sweep_orphaned_demo_folders

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and a pty"),
    pytest.mark.slow,  # the demo as a real process in a pty
]


def wait_until(predicate, deadline: float = 30.0) -> None:
    """Wait for a condition another process brings about (there is no event to wait on across processes)."""
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def sandbox_child(parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().split(")")[-1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if int(stat[1]) == parent and b"sandbox" in cmdline:
            return int(entry.name)
    return None


def start_demo(tmp_path: Path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_STATE_HOME": str(tmp_path / "s"), "XDG_DATA_HOME": str(tmp_path / "d"),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "TERM": "xterm-256color"}  # fmt: skip
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    app = subprocess.Popen(
        [sys.executable, "-m", "calle_tui", "--demo"], stdin=slave, stdout=slave, stderr=slave, env=env,
        start_new_session=True, close_fds=True,
    )  # fmt: skip
    os.close(slave)

    def drain() -> None:  # a terminal that nobody reads would block the app's writes
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    wait_until(lambda: any((f / "ready").exists() for f in tmp.glob(DEMO_PREFIX + "*")))
    folder = next(tmp.glob(DEMO_PREFIX + "*"))
    wait_until(lambda: sandbox_child(app.pid) is not None)
    return app, sandbox_child(app.pid), folder, tmp


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_a_closed_terminal_stops_the_sandbox_and_removes_the_demo_folder(tmp_path, signum):
    app, sandbox, folder, _ = start_demo(tmp_path)
    os.kill(app.pid, signum)
    app.wait(timeout=30)
    wait_until(lambda: not alive(sandbox))
    wait_until(lambda: not folder.exists())


def test_kill_9_still_stops_the_sandbox_and_the_next_demo_removes_the_folder(tmp_path):
    app, sandbox, folder, tmp = start_demo(tmp_path)
    os.kill(app.pid, signal.SIGKILL)
    app.wait(timeout=30)
    wait_until(lambda: not alive(sandbox))
    assert folder.exists()  # nothing could remove it then
    _sweep_orphaned_demo_folders(tmp)
    assert not folder.exists()
