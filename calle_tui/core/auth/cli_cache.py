"""Reuse of a sign-in of CALL-E's own CLI (`calle auth login`), which keeps one token per server in
`~/.calle-mcp/cli/<md5 of the server URL>/token.json` as `{"token": {"access_token", ...}, "expires_at": ISO}`
(0600; CALLE_MCP_CACHE_ROOT moves the folder). The CLI calls a token with less than 300 s left unusable.

`peek_cli_sign_in` says what is there (usable, near expiry, another server's, unreadable, none) and hands
back no token: the screen asks the person first, and only `adopt_cli_sign_in`, called after a yes, copies
the token into calle-tui's own store. The CLI's files are never written.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from calle_tui.core.auth.broker import MIN_TTL_SECONDS, parse_time
from calle_tui.core.support.secrets import register_secret

if TYPE_CHECKING:
    from calle_tui.core.error_kinds import CliFailure

CliState = Literal["usable", "near_expiry", "other_server", "unreadable", "none"]
_FAILURES: dict[CliState, CliFailure] = {
    "near_expiry": "cli_near_expiry",
    "other_server": "cli_other_server",
    "unreadable": "cli_unreadable",
    "none": "cli_none",
}

SENTENCES: dict[str, str] = {
    "usable": "The CALL-E CLI is signed in to this server: its sign-in can be used here.",
    "near_expiry": "The CALL-E CLI's sign-in for this server expires in less than 5 minutes; sign in here instead.",
    "other_server": "The CALL-E CLI is signed in, but to another server.",
    "unreadable": "The CALL-E CLI's sign-in for this server could not be read.",
    "none": "The CALL-E CLI is not signed in to this server.",
}


def cli_cache_root() -> Path:
    return Path(os.environ.get("CALLE_MCP_CACHE_ROOT") or Path.home() / ".calle-mcp" / "cli").expanduser()


def _spellings(server_url: str) -> list[str]:
    """The CLI hashes the URL exactly as configured: try it as given and without a trailing slash."""
    out = [server_url, server_url.rstrip("/")]
    return list(dict.fromkeys(out))


def cli_token_path(server_url: str, root: Path | None = None) -> Path:
    root = root or cli_cache_root()
    for spelling in _spellings(server_url):
        path = root / hashlib.md5(spelling.encode("utf-8")).hexdigest() / "token.json"  # the CLI's name
        if path.exists():
            return path
    return root / hashlib.md5(server_url.encode("utf-8")).hexdigest() / "token.json"


@dataclass(frozen=True)
class CliSignIn:
    state: CliState
    path: Path
    expires_at: float | None = None

    @property
    def sentence(self) -> str:
        return SENTENCES[self.state]

    @property
    def failure(self) -> CliFailure:
        """The WorkerError kind that says why this sign-in cannot be used; a usable one has none (KeyError)."""
        return _FAILURES[self.state]


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(token, dict) or not isinstance(token.get("access_token"), str) or not token["access_token"]:
        return None
    register_secret(token["access_token"])
    if isinstance(token.get("refresh_token"), str):
        register_secret(token["refresh_token"])
    return dict(data)


def peek_cli_sign_in(server_url: str, now: float, root: Path | None = None) -> CliSignIn:
    """What the CLI holds for `server_url` (no token in the answer)."""
    root = root or cli_cache_root()
    path = cli_token_path(server_url, root)
    if not path.exists():
        others = [p for p in root.glob("*/token.json")] if root.is_dir() else []
        return CliSignIn("other_server" if others else "none", path)
    data = _read(path)
    if data is None:
        return CliSignIn("unreadable", path)
    named = data.get("server_url")
    if isinstance(named, str) and named.rstrip("/") != server_url.rstrip("/"):
        return CliSignIn("other_server", path)
    expires_at = parse_time(data.get("expires_at"))
    if data.get("expires_at") is not None and expires_at is None:
        return CliSignIn("unreadable", path)
    if expires_at is not None and expires_at - now < MIN_TTL_SECONDS:
        return CliSignIn("near_expiry", path, expires_at)
    return CliSignIn("usable", path, expires_at)


async def adopt_cli_sign_in(server_url: str, storage: Any, now: float, root: Path | None = None) -> CliSignIn:
    """After the person said yes: copy a usable CLI token into `storage` (set_tokens, with its expiry).
    Returns the peek it acted on; anything but "usable" stores nothing."""
    from mcp.shared.auth import OAuthToken  # the SDK loads on adoption, not with the worker: see auth/__init__.py

    seen = peek_cli_sign_in(server_url, now, root)
    if seen.state != "usable":
        return seen
    data = _read(seen.path)
    if data is None:  # changed between the two reads
        return CliSignIn("unreadable", seen.path)
    token = data["token"]
    expires_in = int(seen.expires_at - now) if seen.expires_at is not None else None
    await storage.set_tokens(
        OAuthToken(
            access_token=token["access_token"],
            token_type="Bearer",
            expires_in=expires_in,
            refresh_token=token.get("refresh_token") if isinstance(token.get("refresh_token"), str) else None,
        )
    )
    return seen
