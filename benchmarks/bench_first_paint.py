"""Time to first paint: `calle-tui` against a minimal Textual app, side by side, in the same run.

Each program is spawned under a pseudo-terminal (80x24), as a person would start it; the clock stops when
its first screen's text reaches the terminal. Rounds alternate between the two programs (so machine load
hits both alike) and the medians are compared. Goal: calle-tui within 1.3x of the minimal app.

    .venv/bin/python benchmarks/bench_first_paint.py [--rounds 15]

calle-tui is pointed at a closed loopback port with its folders in a temporary directory: no network, no
keyring, nothing of the user's is touched, and its first screen (the sign-in screen) paints the same.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

MINIMAL_APP = """
from textual.app import App
from textual.widgets import Footer, Header, Static

class Minimal(App):
    def compose(self):
        yield Header()
        yield Static("Minimal first paint")
        yield Footer()

Minimal().run()
"""


def time_to_marker(argv: list[str], marker: bytes, env: dict[str, str], timeout: float = 30.0) -> float:
    """Seconds from spawn until `marker` appears in what the program writes to its terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        deadline = started + timeout
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                if process.poll() is not None:
                    raise RuntimeError(f"{argv} exited early: {seen[-400:]!r}")
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            seen += chunk
            if marker in seen:
                return time.perf_counter() - started
        raise RuntimeError(f"{argv}: no first paint within {timeout} s")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        os.close(master)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="calle-bench-") as tmp:
        root = Path(tmp)
        minimal = root / "minimal_app.py"
        minimal.write_text(MINIMAL_APP, encoding="utf-8")
        env = dict(os.environ)
        env.update(
            TERM="xterm-256color",
            XDG_CONFIG_HOME=str(root / "config"),
            XDG_STATE_HOME=str(root / "state"),
            XDG_DATA_HOME=str(root / "data"),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            CALLE_TUI_URL="http://127.0.0.1:9/mcp/openagent_oauth",  # closed port: fails fast, offline
        )
        env.pop("TEXTUAL", None)
        programs = {
            "minimal Textual app": ([sys.executable, str(minimal)], b"Minimal first paint"),
            "calle-tui": ([sys.executable, "-m", "calle_tui"], b"Paste the address"),
        }
        for argv, marker in programs.values():  # warm the OS file cache and bytecode once
            time_to_marker(argv, marker, env)
        times: dict[str, list[float]] = {name: [] for name in programs}
        for _ in range(args.rounds):
            for name, (argv, marker) in programs.items():
                times[name].append(time_to_marker(argv, marker, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        spread = f"min {min(times[name]) * 1000:.0f} ms, max {max(times[name]) * 1000:.0f} ms"
        print(f"{name:22} median {value * 1000:6.0f} ms  ({spread}, {args.rounds} rounds)")
    ratio = medians["calle-tui"] / medians["minimal Textual app"]
    print(f"ratio calle-tui / minimal: {ratio:.2f}x (goal: <= 1.30x)")
    return 0 if ratio <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
