"""Time to first paint: `calle-tui` against a minimal Textual app, side by side, in the same run.

Each program is spawned under a pseudo-terminal (80x24), as a person would start it; the clock stops when
its whole first screen has reached the terminal: one text from each part of it (header, body, input field,
footer). One text is not enough: Textual may draw a screen in two frames (calle-tui's sign-in screen comes
header, footer and paste label first, the body about 20 ms later), and a person sees the second. Rounds
alternate between the two programs (so machine load hits both alike) and the medians are compared. Goal:
calle-tui within 1.3x of the minimal app.

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


# What each first screen shows once complete: header, body, input field, footer.
MINIMAL_SCREEN = (b"Minimal first paint", b"palette")
CALLE_SCREEN = (
    b"calle-tui",
    b"Server",
    b"Checking for a saved session",
    b"callback?code",
    b"Paste the address",
    b"palette",
)


def time_to_screen(
    argv: list[str], markers: tuple[bytes, ...], env: dict[str, str], timeout: float = 30.0
) -> tuple[float, float]:
    """Seconds from spawn until the first of `markers`, and until every one of them, has appeared in what the
    program writes to its terminal: its first text, and its complete first screen."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    seen = b""
    first_text: float | None = None
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
            if first_text is None and any(marker in seen for marker in markers):
                first_text = time.perf_counter() - started
            if all(marker in seen for marker in markers):
                return first_text, time.perf_counter() - started
        raise RuntimeError(f"{argv}: no first paint within {timeout} s")
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        os.close(master)


def calle_tui_command() -> list[str]:
    """The installed `calle-tui` command, as a person starts it; `python -m calle_tui` when not installed
    (that also loads runpy, a few milliseconds more)."""
    script = Path(sys.executable).parent / "calle-tui"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "calle_tui"]


def _summary(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:4.0f} ms ({min(seconds) * 1000:.0f}-{max(seconds) * 1000:.0f})"


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
            "minimal Textual app": ([sys.executable, str(minimal)], MINIMAL_SCREEN),
            "calle-tui": (calle_tui_command(), CALLE_SCREEN),
        }
        for argv, markers in programs.values():  # warm the OS file cache and bytecode once
            time_to_screen(argv, markers, env)
        first: dict[str, list[float]] = {name: [] for name in programs}
        complete: dict[str, list[float]] = {name: [] for name in programs}
        for _ in range(args.rounds):
            for name, (argv, markers) in programs.items():
                text_at, screen_at = time_to_screen(argv, markers, env)
                first[name].append(text_at)
                complete[name].append(screen_at)
    print(f"{args.rounds} rounds, medians (min-max)      first text              complete first screen")
    for name in programs:
        cells = [_summary(first[name]), _summary(complete[name])]
        print(f"  {name:30} {cells[0]:23} {cells[1]}")
    baseline = "minimal Textual app"
    ratios = [statistics.median(t["calle-tui"]) / statistics.median(t[baseline]) for t in (first, complete)]
    print(
        f"ratio calle-tui / minimal: complete first screen {ratios[1]:.2f}x (goal: <= 1.30x); first text {ratios[0]:.2f}x"
    )
    return 0 if ratios[1] <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
