"""The one check of an endpoint address, used by the app, the settings and doctor alike.

calle-tui talks to production unless told otherwise, and production places real calls: an address that is
empty, malformed or out of range must be refused with a sentence, never silently replaced by the default,
and never left to fail later as a traceback.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from calle_tui.core.support.secrets import shown_url


class EndpointError(ValueError):
    """The address cannot be used; the text says why, for a person."""


def validate_url(url: object) -> str:
    """The address, stripped, when it is a usable http(s) URL with a host and a valid port; else EndpointError."""
    if not isinstance(url, str) or not url.strip():
        raise EndpointError("the address is empty; give the MCP endpoint URL, e.g. https://host/mcp")
    text = url.strip()
    if any(c.isspace() for c in text):
        raise EndpointError(f"'{_shown(text)}' contains spaces")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError:
        raise EndpointError(f"'{_shown(text)}' is not a valid address (check the brackets and the port)") from None
    if parts.scheme not in {"http", "https"}:
        raise EndpointError(f"'{_shown(text)}' is not an http(s) address")
    if not parts.hostname:
        raise EndpointError(f"'{_shown(text)}' has no host name")
    if port == 0:
        raise EndpointError(f"'{_shown(text)}' has port 0, which cannot be connected to")
    return text


def _shown(text: str, limit: int = 80) -> str:
    text = shown_url(text)  # a refused address is named without the user:password written in it
    return text if len(text) <= limit else text[: limit - 1] + "…"
