"""A batch's result files, written as its calls progress: `results.jsonl` (one record per input line) and
`status-events.jsonl` (every status the app saw, in order), in one folder under the exports folder.

Why written as they go: a crash or a closed terminal must lose nothing already seen. `status-events.jsonl`
is appended and flushed line by line; `results.jsonl` is rewritten whole (temp file + rename) whenever a
record changes, so a reader sees the previous version or the new one, never half a line. Both are 0600 in a
0700 folder: they hold numbers, goals, transcripts. A confirm_token never gets here: the records are built
from plan ids, run ids and what the worker reports of a run, and every server-sent value goes through
`dialect.values.scrub` first.

Opening the same folder again (after a restart in the middle of a batch) reads back the records written so
far and goes on from them, so the files stay one per batch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calle_tui.core.events import RunFinished, RunStarted, RunUpdate, WorkerEvent
from calle_tui.core.store.private import private_dir, write_private_text
from calle_tui.core.wire.values import scrub

RESULTS = "results.jsonl"
STATUS_EVENTS = "status-events.jsonl"


@dataclass(frozen=True)
class ResultLine:
    """What the batch knows of an input line before any call: its number, destinations and plan."""

    line: int
    destinations: tuple[str, ...]
    plan_id: str | None = None  # None: the line was not planned (invalid, skipped, or not ready)
    state: str = "planned"  # planned | questions | invalid | skipped | error


class BatchResults:
    """Follows the worker's events for the batch's plans and keeps both files up to date."""

    def __init__(self, folder: Path, lines: Sequence[ResultLine], *, clock: Callable[[], float]) -> None:
        self.folder = private_dir(folder)
        self.results_path = self.folder / RESULTS
        self.events_path = self.folder / STATUS_EVENTS
        self._clock = clock
        self._records: dict[int, dict[str, Any]] = {}
        earlier = self._read_back()
        for given in lines:
            record = earlier.get(given.line) or _new_record(given)
            self._records[given.line] = record
        self._by_plan = {r["plan_id"]: n for n, r in self._records.items() if r.get("plan_id")}
        self._by_run = {r["run_id"]: n for n, r in self._records.items() if r.get("run_id")}
        self._write_results()

    # --- what the worker reports ----------------------------------------------------------------------

    def on_event(self, event: WorkerEvent) -> None:
        if isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, RunUpdate):
            self._update(event)
        elif isinstance(event, RunFinished):
            self._finished(event)

    def records(self) -> list[dict[str, Any]]:
        return [dict(self._records[n]) for n in sorted(self._records)]

    def _started(self, event: RunStarted) -> None:
        number = self._by_plan.get(event.plan_id)
        if number is None:
            return  # not one of this batch's plans
        record = self._records[number]
        if record.get("run_id"):
            return  # reported again (a check from History): the first start stands
        record["run_id"] = event.result.run_id
        record["started"] = _iso(self._clock())
        record["final_status"] = event.result.status or "started"
        self._by_run[event.result.run_id] = number
        record["last_status"] = event.result.status or "started"
        self._status_event(number, event.result.run_id, record["last_status"], "")
        self._write_results()

    def _update(self, event: RunUpdate) -> None:
        number = self._by_run.get(event.run_id)
        if number is None:
            return
        record = self._records[number]
        if event.result is not None:
            record["poll_count"] += 1
        for entry in event.new_activity:
            record["activity"].append(scrub({"at": entry.at, "type": entry.type, "text": entry.text}))
        changed = event.status and event.status != record.get("last_status")
        if changed:
            self._status_event(number, event.run_id, event.status, event.status_text)
            record["last_status"] = event.status
        # A poll that brought nothing new costs no rewrite: its count goes out with the next change.
        if changed or event.new_activity:
            self._write_results()

    def _finished(self, event: RunFinished) -> None:
        number = self._by_run.get(event.run_id)
        if number is None:
            return
        record = self._records[number]
        if record.get("ended"):
            return  # announced again (a reopened run): nothing new
        result = event.result
        record["final_status"] = event.status_text or event.status
        record["ended"] = _iso(self._clock())
        started = _epoch(record.get("started"))
        record["duration_seconds"] = round(self._clock() - started, 1) if started is not None else None
        details = result.details or {}
        record["server_duration_seconds"] = scrub(details.get("duration_seconds"))
        record["summary"] = scrub(result.summary or result.message)
        record["transcript_turns"] = [scrub({"at": t.at, "speaker": t.speaker, "text": t.text}) for t in event.transcript]
        if event.status != record.get("last_status"):
            self._status_event(number, event.run_id, event.status, event.status_text)
            record["last_status"] = event.status
        self._write_results()

    # --- files --------------------------------------------------------------------------------------------

    def _status_event(self, number: int, run_id: str, status: str, status_text: str) -> None:
        entry = {"at": _iso(self._clock()), "line": number, "run_id": run_id, "status": status}
        if status_text and status_text != status:
            entry["server_status"] = status_text
        fd = os.open(self.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_results(self) -> None:
        text = "".join(json.dumps(self._public(r), ensure_ascii=False) + "\n" for r in self.records())
        write_private_text(self.results_path, text, prefix=".results-")

    @staticmethod
    def _public(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k != "last_status"}

    def _read_back(self) -> dict[int, dict[str, Any]]:
        try:
            text = self.results_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        found: dict[int, dict[str, Any]] = {}
        for raw in text.splitlines():
            try:
                record = json.loads(raw)
            except ValueError:
                continue  # cannot happen with our atomic writes; a hand-edited file must not stop the batch
            if isinstance(record, dict) and isinstance(record.get("line"), int):
                record.setdefault("activity", [])
                record.setdefault("poll_count", 0)
                record["last_status"] = record.get("final_status")
                found[record["line"]] = record
        return found


def _new_record(given: ResultLine) -> dict[str, Any]:
    return {
        "line": given.line,
        "destinations": list(given.destinations),
        "plan_id": given.plan_id,
        "state": given.state,
        "run_id": None,
        "final_status": None if given.plan_id else given.state,
        "started": None,
        "ended": None,
        "duration_seconds": None,  # measured here, from run_call's answer to the finish we saw
        "server_duration_seconds": None,  # what CALL-E said, as it said it
        "poll_count": 0,
        "summary": None,
        "transcript_turns": [],
        "activity": [],
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _epoch(text: Any) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
