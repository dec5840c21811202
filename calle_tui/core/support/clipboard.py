"""Whether a copy by OSC 52 (the only way a terminal app can reach the clipboard, also over SSH) can arrive.

No terminal confirms an OSC 52 write, so calle-tui never says "copied": it says the text was sent, and when it
knows the write is dropped on the way it says how to copy instead. The one case it can know is tmux, whose
default (`set-clipboard external`) swallows an application's OSC 52; `on` passes it on to the terminal.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from typing import Literal

Reach = Literal["tmux-blocks", "tmux-passes", "unknown"]


def _tmux_option(name: str) -> str | None:
    try:
        done = subprocess.run(
            ["tmux", "show-options", "-gv", name], capture_output=True, text=True, timeout=1.0, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def osc52_reach(env: Mapping[str, str] | None = None, tmux_option: Callable[[str], str | None] | None = None) -> Reach:
    """What becomes of an OSC 52 copy: tmux drops it unless set-clipboard is on; elsewhere it is unknown."""
    env = os.environ if env is None else env
    if not env.get("TMUX"):
        return "unknown"
    setting = (tmux_option or _tmux_option)("set-clipboard")
    if setting is None:
        return "unknown"  # no tmux answer (another user's server, an old tmux): do not guess
    return "tmux-passes" if setting == "on" else "tmux-blocks"


def copy_sentence(what: str, reach: Reach) -> tuple[str, str]:
    """(title, sentence) for a copy of `what` sent by OSC 52: true in every case, never "copied"."""
    if reach == "tmux-blocks":
        return (
            "Not copied",
            f"tmux does not pass the clipboard on (set-clipboard is not on), so the {what} was not copied. "
            "Run  tmux set -g set-clipboard on  and press c again, or press l to show it alone and select it.",
        )
    via = " through tmux" if reach == "tmux-passes" else ""
    return (
        "Sent to the clipboard",
        f"The {what} was sent to your terminal's clipboard{via} (if the terminal accepts OSC 52). "
        "If nothing pastes, press l to show it alone and select it.",
    )
