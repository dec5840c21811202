"""Reading a CallToolResult: structured content when the tool declares an output schema, otherwise the JSON
in its text, otherwise plain text. Tool errors (is_error) become a short, secret-free sentence."""

from __future__ import annotations

import json
from typing import Any

from calle_tui.core.logs import redact as safe_text


def result_text(result: Any) -> str:
    parts = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts).strip()


def result_data(result: Any) -> dict[str, Any] | str:
    """The tool's answer as a dict when it has one, else its text (possibly empty)."""
    data = getattr(result, "structured_content", None)
    if isinstance(data, dict) and set(data) == {"result"}:
        # The SDK wraps a non-object output (a tool declared `-> str`) as {"result": ...}: no tool of the
        # contract has that shape, so read what is inside (an object, or text that may hold JSON).
        data = data["result"]
        if isinstance(data, str):
            return _text_data(data.strip())
    if isinstance(data, dict):
        return data
    return _text_data(result_text(result))


def _text_data(text: str) -> dict[str, Any] | str:
    if text:
        try:
            parsed = json.loads(text)
        except ValueError:
            return text
        if isinstance(parsed, dict):
            return parsed
    return text


def tool_error_message(result: Any, limit: int = 300) -> str:
    data = result_data(result)
    if isinstance(data, dict):
        text = str(data.get("message") or data.get("error") or data.get("detail") or json.dumps(data))
    else:
        text = data or "The server refused the request without saying why."
    text = safe_text(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "..."


def server_text(text: str, limit: int = 500) -> str:
    """A server's prose answer made fit to show: secrets redacted, whitespace collapsed, length capped."""
    text = safe_text(" ".join((text or "").split()))
    if not text:
        return "The server sent an empty answer."
    return text if len(text) <= limit else text[: limit - 1] + "..."
