"""What went wrong, as a word for code to branch on: `WorkerError.kind` (worker_api.py) is an `ErrorKind`.

The sentence is for the person; the kind is for the screens (a canceled sign-in reads differently from a
refused one). Grouped by where the word is decided, each group typed where it is raised, so mypy holds the
core to this vocabulary and the fake worker (tests/ui/fake_worker.py) raises nothing else. A leaf module:
the modules that raise these import it without importing the worker's seam.
"""

from __future__ import annotations

from typing import Literal

CallFailure = Literal[
    "auth", "network", "timeout", "rate_limited", "server", "tool", "malformed", "not_calle", "not_mcp",
    "internal",  # a fault on this machine (a bug, a locked journal), not one of the server or the person
]  # fmt: skip
"""A failed MCP call (session/connection.py CallError.kind)."""
SignInFailure = Literal[
    "login_required", "login_failed", "canceled", "login_timeout", "denied", "client_rejected",
    "registration_failed", "sign_in_not_offered", "insufficient_scope", "token_refused",
]  # fmt: skip
"""Why a browser sign-in failed (auth/errors.py AuthError.kind, or CallError.detail when its kind is "auth")."""
BrokerFailure = Literal[
    "failed", "expired", "gone", "exchanged", "forbidden", "timeout", "canceled", "unreachable", "bad_reply",
    "not_offered",
]  # fmt: skip
"""How a brokered sign-in ended without tokens (auth/broker.py BrokerError.kind)."""
CliFailure = Literal["cli_near_expiry", "cli_other_server", "cli_unreadable", "cli_none"]
"""Why CALL-E's CLI sign-in cannot be used: "cli_" + its cache state (auth/cli_cache.py CliState)."""
ErrorKind = Literal[
    CallFailure, SignInFailure, BrokerFailure, CliFailure,
    # planning and placing calls
    "input", "already_started", "safety", "outcome_unknown", "line_busy", "closed", "journal",
    # reconcile and following
    "busy", "cannot_check", "unknown_run", "unknown_plan", "rejected",
    # a pasted sign-in address
    "no_login", "state_mismatch", "no_code",
]  # fmt: skip
