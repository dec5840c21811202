"""Export a run's transcript as Markdown and JSON files.

The monitor screen does no file I/O itself; it hands the run's data to `export_transcript`, which writes
both files into the XDG data folder (``~/.local/share/calle-tui/exports`` by default) and returns where
they went so the screen can say so. Only call content is written: never tokens or identifiers beyond the
run id the user already sees.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from calle_tui.core.config.peek import APP_NAME
from calle_tui.core.store.private import private_dir
from calle_tui.core.wire.contract import TranscriptTurn


@dataclass(frozen=True)
class TranscriptExport:
    run_id: str
    status: str
    turns: Sequence[TranscriptTurn]
    summary: str | None = None
    details: dict[str, Any] | None = None
    to_phones: tuple[str, ...] = ()
    goal: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields a real server added; kept as they came
    outcome: str = ""  # "Task completed: yes (confidence high 0.82)", when the server judged it
    evidence: Sequence[str] = ()
    activity: Sequence[tuple[str | None, str]] = ()  # (time, line) of the activity timeline
    message: str | None = None  # the server's own sentence ("run_id not found.")
    next_step: str | None = None  # the server's instruction, in its words
    judgement: dict[str, Any] | None = None  # task_completed, confidence_label, confidence_score as sent


# The call details a person looks for, by the reader's flat keys (core/wire/replies.py), in their words.
DETAIL_LABELS = {"callee": "Callee", "started_at": "Started", "ended_at": "Ended", "duration_seconds": "Duration",
                 "call_id": "Call id"}  # fmt: skip


def split_details(details: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the labelled details in DETAIL_LABELS order, every other detail as the server named it)."""
    details = details or {}
    known = {key: details[key] for key in DETAIL_LABELS if details.get(key) is not None}
    return known, {key: value for key, value in details.items() if key not in DETAIL_LABELS}


def duration_words(seconds: Any) -> str:
    """42 -> '0:42', 3725 -> '1:02:05'; anything else as sent."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return _plain(seconds)
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def default_export_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME)) / "exports"


def to_markdown(export: TranscriptExport) -> str:
    lines = [f"# Call {export.run_id}", "", f"- Status: {export.status or 'unknown'}"]
    if export.to_phones:
        lines.append(f"- To: {', '.join(export.to_phones)}")
    if export.goal:
        lines.append(f"- Goal: {export.goal}")
    if export.message:
        lines += ["", f"CALL-E says: {export.message}"]
    if export.summary:
        lines += ["", "## Summary", "", export.summary]
    if export.outcome:
        lines += ["", f"**{export.outcome}**"]
        lines += [f"- {line}" for line in export.evidence]
    known, other = split_details(export.details)
    if known:
        lines += ["", "## Details", ""]
        for key, value in known.items():
            shown = duration_words(value) if key == "duration_seconds" else _plain(value)
            lines.append(f"- {DETAIL_LABELS[key]}: {shown}")
    if export.next_step:
        lines += ["", f"Next: {export.next_step}"]
    other.update(export.extra)
    if other:
        lines += ["", "## Other fields from the server", ""]
        lines += [f"- {key}: {_plain(value)}" for key, value in other.items()]
    if export.activity:
        lines += ["", "## Activity", ""]
        lines += [f"- {at + ' ' if at else ''}{text}" for at, text in export.activity]
    lines += ["", "## Transcript", ""]
    if not export.turns:
        lines.append("_No transcript._")
    for turn in export.turns:
        when = f" ({turn.at})" if turn.at else ""
        lines.append(f"**{turn.speaker or 'unknown'}**{when}: {turn.text}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_json(export: TranscriptExport) -> str:
    data = {
        "run_id": export.run_id,
        "status": export.status,
        "to_phones": list(export.to_phones),
        "goal": export.goal,
        "summary": export.summary,
        "details": export.details,
        "extra": export.extra,
        "message": export.message,
        "outcome": export.outcome or None,
        "judgement": export.judgement,
        "evidence": list(export.evidence),
        "next_step": export.next_step,
        "activity": [{"at": at, "text": text} for at, text in export.activity],
        "transcript": [turn.model_dump(mode="json", exclude_none=True) for turn in export.turns],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def export_transcript(
    export: TranscriptExport, folder: Path | None = None, now: datetime | None = None
) -> tuple[Path, Path]:
    """Write `<folder>/call-<run>-<time>.md` and `.json`; returns both paths. Raises OSError on failure."""
    folder = private_dir(Path(folder) if folder is not None else default_export_dir())
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    # The run id is opaque: keep it recognisable in the name but never let it pick the folder.
    safe_id = re.sub(r"[^A-Za-z0-9_-]+", "_", export.run_id)[:64] or "run"
    base = folder / f"call-{safe_id}-{stamp}"
    md_path, json_path = base.with_suffix(".md"), base.with_suffix(".json")
    _write_atomic(md_path, to_markdown(export))
    _write_atomic(json_path, to_json(export))
    return md_path, json_path


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".tmp", dir=path.parent)  # 0600 by mkstemp
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
