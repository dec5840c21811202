"""A tool reply's envelope, read once: `read_reply(raw, reader)` turns any reply (the SDK's CallToolResult, or
its JSON-RPC dict) into one typed outcome, and nothing outside the wire looks at a reply's raw structure.

- `Read(value)`: the answer was a JSON object and `reader` (replies.read_plan, read_run_start, ...) read it;
- `Refused(error)`: the server's tool said no (the reply's error flag), its fields read by `read_tool_error`;
- `ProseOnly(text)`: no JSON object anywhere, only words (production often sends prose beside the object);
- `UnreadableReply(reason, answer)`: the object lacks the one identifier the reader needs; the answer is kept.

Only an identifier may fail a reply (the readers raise `Unreadable` for nothing else): a field that cannot
be read is kept under its own name by the reader, never dropped. Words meant for a person (`Refused.said`,
`ProseOnly.said`) have our own secrets masked and the server's argument names in people's words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from calle_tui.core.support.secrets import mask_known_secrets
from calle_tui.core.wire.values import MISSING, as_bool, as_text, pick, scrub, shown
from calle_tui.core.wire.wording import in_peoples_words

__all__ = [
    "ProseOnly",
    "Read",
    "Refused",
    "Reply",
    "ToolError",
    "Unreadable",
    "UnreadableReply",
    "extract",
    "is_error",
    "read_reply",
    "read_tool_error",
    "reply_text",
    "sentence",
    "server_text",
]

T = TypeVar("T")


class Unreadable(ValueError):
    """The reply lacks the identifier it must carry. The text is a sentence safe to show."""


# --- where the answer is ------------------------------------------------------------------------------


def extract(result: object) -> dict[str, Any] | str:
    """A CallToolResult's answer: its structured content, else the first text block that parses as a JSON
    object (any block, not only the first), else its text (prose; "" when there is none). Never parses
    arrays, scalars, Markdown fences or fragments."""
    data = getattr(result, "structured_content", None)
    if data is None and isinstance(result, dict):  # a raw JSON-RPC result dict (fixtures, other clients)
        data = result.get("structuredContent", result.get("structured_content"))
    if isinstance(data, dict) and set(data) == {"result"}:
        # The SDK wraps a non-object output (a tool declared `-> str`) as {"result": ...}.
        inner = data["result"]
        if isinstance(inner, dict):
            return inner
        if isinstance(inner, str):
            parsed = _json_object(inner)
            return parsed if parsed is not None else inner.strip()
        data = None
    if isinstance(data, dict) and data:
        return data
    texts = _texts(result)
    for text in texts:
        parsed = _json_object(text)
        if parsed is not None:
            return parsed
    return "\n".join(t.strip() for t in texts if t.strip()).strip()


def _texts(result: object) -> list[str]:
    blocks = getattr(result, "content", None)
    if blocks is None and isinstance(result, dict):
        blocks = result.get("content")
    texts = []
    for block in blocks if isinstance(blocks, list) else []:
        text = block.get("text") if isinstance(block, dict) else getattr(block, "text", None)
        if isinstance(text, str):
            texts.append(text)
    return texts


def _json_object(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        parsed = json.loads(stripped)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def is_error(result: object) -> bool:
    flag = getattr(result, "is_error", None)
    if flag is None and isinstance(result, dict):
        flag = result.get("isError", result.get("is_error"))
    return flag is True


def reply_text(result: object) -> str:
    """Every text block of a reply, as sent (JSON included), joined by lines."""
    return "\n".join(_texts(result)).strip()


# --- words fit to show ----------------------------------------------------------------------------------


def sentence(text: str | None, limit: int = 300) -> str:
    """`text` on one line, whitespace collapsed, at most `limit` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "..."


def server_text(text: str, limit: int = 500) -> str:
    """A server's prose answer made fit to show: our secrets masked, whitespace collapsed, length capped."""
    text = mask_known_secrets(" ".join((text or "").split()))
    if not text:
        return "The server sent an empty answer."
    return _capped(text, limit)


# --- a refusal --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolError:
    message: str
    code: str | None = None
    retry_safe: bool | None = None
    call_started: bool | None = None  # None: the server did not say, or said "unknown"
    started_unknown: bool = False  # the server said call_started: "unknown"


def read_tool_error(data: dict[str, Any] | str) -> ToolError:
    """An error reply's fields, flat or under `error` (a string `error` is the message)."""
    if isinstance(data, str):
        return ToolError(message=sentence(data) or "The server refused the request without saying why.")
    nested = data.get("error")
    where = nested if isinstance(nested, dict) else data
    message = as_text(pick(where, "message", "detail", "error_description", "description"))
    if message is None and isinstance(nested, str):
        message = nested
    if message is None:
        message = as_text(pick(data, "message", "detail"))
    code = as_text(pick(where, "error_code", "code", "status"))
    if code is None and isinstance(nested, str) and message != nested:
        code = nested
    started = pick(where, "call_started")
    if started is MISSING:
        started = pick(data, "call_started")
    retry = pick(where, "retry_safe")
    if retry is MISSING:
        retry = pick(data, "retry_safe")
    return ToolError(
        message=sentence(message or shown(scrub(data))),
        code=code,
        retry_safe=as_bool(retry) if retry is not MISSING else None,
        call_started=as_bool(started) if started is not MISSING else None,
        started_unknown=isinstance(started, str) and started.strip().casefold() == "unknown",
    )


# --- the outcomes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read(Generic[T]):
    """The answer, read by the reader it was given."""

    value: T


@dataclass(frozen=True)
class Refused:
    """The server's tool refused the request."""

    error: ToolError

    @property
    def message(self) -> str:
        """What the server said, in people's words, our secrets masked."""
        return in_peoples_words(mask_known_secrets(self.error.message))

    def said(self, limit: int = 300) -> str:
        return _capped(self.message, limit)


@dataclass(frozen=True)
class ProseOnly:
    """Words without a JSON object: `text` as sent (blocks joined, "" for an empty reply)."""

    text: str

    def said(self, limit: int = 500) -> str:
        return server_text(self.text, limit)


@dataclass(frozen=True)
class UnreadableReply:
    """A JSON answer without the identifier its reader needs: `reason` is a sentence safe to show, `answer`
    what the server sent, kept for whoever wants to show or log it."""

    reason: str
    answer: dict[str, Any]


Reply: TypeAlias = Read[T] | Refused | ProseOnly | UnreadableReply


def read_reply(raw: object, reader: Callable[[dict[str, Any]], T]) -> Reply[T]:
    """Any tool reply, read once: refused, prose only, read by `reader`, or unreadable (see the module)."""
    answer = extract(raw)
    if is_error(raw):
        return Refused(read_tool_error(answer))
    if isinstance(answer, str):
        return ProseOnly(answer)
    try:
        return Read(reader(answer))
    except Unreadable as exc:
        return UnreadableReply(str(exc), answer)
