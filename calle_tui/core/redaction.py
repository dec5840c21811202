"""Last line of defence for text that leaves the worker (event messages, errors): scrub anything secret.

Uses the logging module's `redact` (which also knows every secret registered at runtime) and falls back to
a few patterns when it is unavailable, so a message built from server or exception text is always safe.
"""

from __future__ import annotations

import re

_FALLBACK = [
    (re.compile(r"(?i)\b(code|state|access_token|refresh_token|id_token|client_secret|token)=[^&\s\"']+"), r"\1=[redacted]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r'(?i)"(access_token|refresh_token|id_token|client_secret)"\s*:\s*"[^"]*"'), r'"\1": "[redacted]"'),
]


def safe_text(text: str) -> str:
    try:
        from calle_tui.core.logs import redact
    except ImportError:  # pragma: no cover - the logs module ships with the app
        redact = None
    if redact is not None:
        try:
            text = redact(text)
        except Exception:  # noqa: BLE001 - redaction must never be the thing that crashes
            pass
    for pattern, repl in _FALLBACK:
        text = pattern.sub(repl, text)
    return text
