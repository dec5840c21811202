"""Reading a CallToolResult for callers that want its answer as a dict or text: a thin front over
dialect/replies.py (which knows every shape), plus sentences safe to show."""

from __future__ import annotations

from typing import Any

from calle_tui.core.store.logs import mask_known_secrets as safe_text
from calle_tui.core.wire.replies import extract, read_tool_error
from calle_tui.core.wire.wording import in_peoples_words


def result_text(result: Any) -> str:
    parts = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
    return "\n".join(parts).strip()


def result_data(result: Any) -> dict[str, Any] | str:
    """The tool's answer as a dict when it has one (structured content, or the first text block holding a
    JSON object), else its text (possibly empty)."""
    return extract(result)


def tool_error_message(result: Any, limit: int = 300) -> str:
    text = in_peoples_words(safe_text(read_tool_error(extract(result)).message))
    return text if len(text) <= limit else text[: limit - 1] + "..."


def server_text(text: str, limit: int = 500) -> str:
    """A server's prose answer made fit to show: our secrets masked, whitespace collapsed, length capped."""
    text = safe_text(" ".join((text or "").split()))
    if not text:
        return "The server sent an empty answer."
    return text if len(text) <= limit else text[: limit - 1] + "..."
