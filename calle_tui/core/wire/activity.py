"""Activity entries in the shapes servers send, and their identity when they carry no id.

Shapes: ours `{id, at, type, text, speaker, status}`; production's `{ts, level, kind, message, data}` with no
id; others `{timestamp, detail, event, role}` or a bare string. Live speech arrives as entries too
(`kind: callee_realtime`, or messages "Bot is speaking: ..." / "Callee said: ..."): those become
`type="speech"` with a speaker, so the live transcript is built from them.

Identity without ids: an entry's content (time, kind, speaker, text, as the server wrote them) plus its rank
among the entries with the same content on the same page. A server that re-sends the whole history, a
sliding window over it, or only new entries re-sends a known entry with the same content at the same rank, so
the journal's de-duplication by id never shows it twice and never hides a new one (a different time or text
is a different entry; a genuinely repeated identical entry is a second rank on a page that holds both).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from calle_tui.core.wire.transcript import speaker_name
from calle_tui.core.wire.values import MISSING, as_identifier, as_text, iso, pick, scrub, shown

DERIVED_ID_PREFIX = "derived:"

SPEECH_KINDS = frozenset(
    {"speech", "callee_realtime", "bot_realtime", "agent_realtime", "realtime", "transcript", "utterance"}
)
# "Bot is speaking: Hello" / "Callee said: Hi" / "Agent said: ..." / "User: ..."
_SPOKEN = re.compile(
    r"^\s*(bot|agent|assistant|callee|user|customer|recipient)\s+(?:is\s+speaking|said|says|spoke)\s*:\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)

_KNOWN = {"id", "event_id", "entry_id", "seq", "at", "ts", "timestamp", "time", "created_at", "text", "message",
          "detail", "content", "description", "type", "kind", "event", "status", "speaker", "role", "from"}  # fmt: skip


def read_entry(item: Any) -> dict[str, Any] | None:
    """One raw entry -> the fields of an ActivityEntry (plus extras), or None for nothing readable."""
    if item is None:
        return None
    if isinstance(item, str):
        item = {"text": item}
    elif not isinstance(item, dict):
        item = {"text": shown(item)}  # a number or a list where an entry was expected: shown as sent
    entry: dict[str, Any] = {}
    ident = pick(item, "id", "event_id", "entry_id", "seq")
    entry["id"] = (as_identifier(ident) or "") if ident is not MISSING else ""
    raw_at = pick(item, "at", "ts", "timestamp", "time", "created_at")
    entry["at"] = iso(raw_at) if raw_at is not MISSING else None
    if raw_at is not MISSING and entry["at"] is None:
        entry["time_as_sent"] = shown(raw_at, 60)  # unreadable: kept as the server wrote it
    raw_text = pick(item, "text", "message", "detail", "content", "description")
    text = as_text(raw_text) if raw_text is not MISSING else None
    if text is None and raw_text is not MISSING:
        text = shown(raw_text)  # a non-text message is shown as the server sent it
    kind = as_text(pick(item, "type", "kind", "event")) or ""
    status = as_text(item.get("status"))
    entry["type"] = kind or status or "event"
    if status is not None and kind:
        entry["status"] = status  # our reference dialect: the run's status from this entry on
    speaker = pick(item, "speaker", "role", "from")
    entry["speaker"] = speaker_name(speaker) if speaker is not MISSING else None
    spoken = _SPOKEN.match(text or "")
    if spoken:
        entry["type"] = "speech"
        entry["speaker"] = speaker_name(spoken.group(1))
        text = spoken.group(2).strip()
    elif kind.casefold() in SPEECH_KINDS and text:
        entry["type"] = "speech"
        if not entry["speaker"]:
            folded = kind.casefold()
            entry["speaker"] = "agent" if folded.startswith(("bot", "agent")) else "callee"
    entry["text"] = text or ""
    # The content key uses the time as the server wrote it, so unreadable times still tell entries apart.
    entry["_key_at"] = raw_at if raw_at is not MISSING else None
    for key, value in item.items():
        if key not in _KNOWN:
            entry[key] = value
    scrubbed: dict[str, Any] = scrub(entry)  # a dict in, a dict out
    return scrubbed


def content_key(entry: dict[str, Any]) -> str:
    at = entry.get("_key_at", entry.get("at"))
    raw = json.dumps([shown(at) if at is not None else None, entry.get("type"), entry.get("speaker"),
                      entry.get("text")], ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


def read_activity(value: Any) -> list[dict[str, Any]]:
    """A page's activity list -> entries with ids (derived where the server gave none), in page order."""
    if isinstance(value, dict):  # {"items": [...]} / {"entries": [...]}
        inner = pick(value, "items", "entries", "events", "data")
        value = inner if isinstance(inner, list) else [value]
    if not isinstance(value, list):
        return []
    entries = [e for e in (read_entry(item) for item in value) if e is not None]
    seen: dict[str, int] = {}
    for entry in entries:
        key_at = entry.pop("_key_at", None)
        if entry["id"]:
            continue
        key = content_key({**entry, "_key_at": key_at})
        rank = seen.get(key, 0)
        seen[key] = rank + 1
        entry["id"] = f"{DERIVED_ID_PREFIX}{key}#{rank}"
    return entries
