"""What a person can do about a failure: the `action` sentence of a WorkerError, by its kind (error_kinds.py).

The sentence that says what went wrong comes from where it happened; this module only says what to do next, so
the same kind of failure is answered the same way wherever it is raised.
"""

from __future__ import annotations

from calle_tui.core.config.settings import config_file

_ACTIONS = {
    "auth": "Sign in again.",
    "network": "Check your network connection and try again.",
    "timeout": "Try again in a moment.",
    "rate_limited": "Wait a moment, then try again.",
    "server": "Try again in a moment.",
    "not_calle": "Check the URL (--url), or run calle-tui --demo to try the sandbox.",
    "not_mcp": "Check the URL (--url), or run calle-tui --demo to try the sandbox.",
    "malformed": "Try again later.",
}


def action_for(kind: str) -> str:
    return _ACTIONS.get(kind, "Try again.")


def configure_client_action(configured: bool = False) -> str:
    """For a sign-in server that refuses calle-tui's client: only the settings can fix that."""
    if configured:
        return (
            f"Check client_id and client_secret in {config_file()} (or the CALLE_TUI_CLIENT_ID and "
            "CALLE_TUI_CLIENT_SECRET environment variables): the sign-in server does not recognise them."
        )
    return (
        "This server only accepts apps registered in advance: ask its operator for a client_id (and a "
        f"client_secret if they issue one), then set client_id and client_secret in {config_file()} "
        "(or the CALLE_TUI_CLIENT_ID and CALLE_TUI_CLIENT_SECRET environment variables) and sign in."
    )
