"""The local journal: a small SQLite file in the XDG state dir that remembers plans, run attempts, runs,
cursors, last known status, summaries and every activity entry, so a restart can redraw history and resume
following unfinished runs.

It is also the safety latch for run_call: `begin_attempt` inserts the attempt row (primary key = plan_id)
BEFORE the request is sent, so a plan can be sent at most once even across crashes and processes. An attempt
that never got its run_id back is "outcome unknown" until the user explicitly reconciles it: that is the
attempt's own state, never a run's status (a server may well say `UNKNOWN`).

No OAuth secret is ever written here. The confirm_token is kept (it is an opaque plan value, not a
credential) because replaying the same plan_id + confirm_token is how the contract lets us learn a lost
run_id.

One module for one concern, though it is long: every table, the schema's numbered migrations and the
checks that a damaged file is moved aside share one connection and one lock, and the at-most-once latch is
only sound if nothing else writes these rows.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from calle_tui.core.store.owners import OwnerLock
from calle_tui.core.store.private import private_file
from calle_tui.core.support.phones import numbers_in_text
from calle_tui.core.wire.contract import (
    ActivityEntry,
    GetCallRunResult,
    PlanCallResult,
    RunCallResult,
    TranscriptTurn,
)
from calle_tui.core.wire.status import is_finished, status_label
from calle_tui.core.worker_api import PlanRequest, RunRecord

SCHEMA_VERSION = 3

# MIGRATIONS[n]: the statements that take a version-n file to version n + 1.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 2: who sent a pending attempt (core/store/owners.py), so a second window never settles a live send.
    1: ("ALTER TABLE attempts ADD COLUMN owner TEXT",),
    # 3: an attempt's states in the words RunRecord.attempt uses ('pending' -> 'sent', 'unknown' ->
    # 'outcome_unknown'), and runs whose status was stored in a spelling not yet read as final ("COMPLETED")
    # marked finished, so they are not polled again.
    2: (
        "UPDATE attempts SET state = 'sent' WHERE state = 'pending'",
        "UPDATE attempts SET state = 'outcome_unknown' WHERE state = 'unknown'",
        "UPDATE runs SET terminal = 1 WHERE terminal = 0 AND status_is_finished(status)",
    ),
}

# An attempt's state: run_call about to be sent or sent without an answer yet, sent and its answer lost (or
# its sender gone), answered with a run_id, or refused by the server (nothing placed: it may be sent again).
AttemptState = Literal["sent", "outcome_unknown", "started", "rejected"]


log = logging.getLogger("calle_tui.journal")


class JournalError(Exception):
    """The journal cannot be used; the text says why and what to do."""


class _Damaged(Exception):
    """The file is not a readable SQLite database (SQLITE_NOTADB, SQLITE_CORRUPT, or quick_check failed)."""


@dataclass(frozen=True)
class DamagedJournal:
    """A damaged journal found on open: kept, moved aside to `moved_to` (0600), and an empty one started."""

    path: Path
    moved_to: Path
    reason: str  # SQLite's words: "file is not a database", "database disk image is malformed", ...

    @property
    def message(self) -> str:
        return (
            f"The call history at {self.path} was damaged ({self.reason}): it was moved aside to {self.moved_to}, "
            "and a new, empty history was started."
        )

    @property
    def action(self) -> str:
        return "Calls made before are not in the new history: check any that may still be going on in CALL-E."


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plans (
    plan_id TEXT PRIMARY KEY,
    server_url TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    user_input TEXT NOT NULL DEFAULT '',
    ready INTEGER NOT NULL DEFAULT 0,
    confirm_token TEXT,
    to_phones TEXT NOT NULL DEFAULT '[]',
    goal TEXT,
    scheduled_at TEXT,
    result_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS attempts (
    plan_id TEXT PRIMARY KEY,
    server_url TEXT NOT NULL,
    confirm_token TEXT NOT NULL,
    sent_at REAL NOT NULL,
    state TEXT NOT NULL,              -- sent | outcome_unknown | started | rejected (AttemptState)
    run_id TEXT,
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    plan_id TEXT NOT NULL,
    server_url TEXT NOT NULL,
    created_at REAL NOT NULL,
    to_phones TEXT NOT NULL DEFAULT '[]',
    goal TEXT,
    scheduled_at TEXT,
    status TEXT NOT NULL DEFAULT '',
    terminal INTEGER NOT NULL DEFAULT 0,
    summary TEXT,
    cursor TEXT,
    last_poll_at REAL,
    entry_count INTEGER NOT NULL DEFAULT 0,
    start_json TEXT NOT NULL DEFAULT '{}',   -- run_call's answer (status, scheduled_at, next_step)
    last_json TEXT,                          -- the latest get_call_run page without its activity
    transcript_json TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    run_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    entry_json TEXT NOT NULL,
    PRIMARY KEY (run_id, entry_id)
);
CREATE INDEX IF NOT EXISTS runs_unfinished ON runs (server_url, terminal);
"""


@dataclass(frozen=True)
class Attempt:
    plan_id: str
    server_url: str
    confirm_token: str
    sent_at: float
    state: AttemptState
    run_id: str | None
    message: str


@dataclass(frozen=True)
class RunState:
    """What the journal knows about one run: enough to resume following and to redraw it."""

    run_id: str
    plan_id: str
    server_url: str
    created_at: float
    status: str
    terminal: bool
    cursor: str | None
    last_poll_at: float | None
    entry_count: int
    scheduled_at: str | None
    start: RunCallResult | None
    last: GetCallRunResult | None
    transcript: tuple[TranscriptTurn, ...]


def _unwritable(path: Path, exc: OSError) -> str:
    reason = exc.strerror or "it cannot be written"
    return (
        f"calle-tui cannot keep its call history in {path.parent} ({reason.lower()}). Make that folder writable, "
        "or point XDG_STATE_HOME at a folder you own."
    )


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite says the file itself is bad (not a lock, a full disk or a permission)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name:
        return name == "SQLITE_NOTADB" or name.startswith("SQLITE_CORRUPT")
    text = str(exc)
    return "file is not a database" in text or "malformed" in text


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _status_text(row: sqlite3.Row) -> str:
    """The server's own word for a run's status on its last stored page ("" when none was stored)."""
    last = _load(row["last_json"], None)
    word = last.get("status_text") if isinstance(last, dict) else None
    return word if isinstance(word, str) else ""


def _load(text: str | None, default: Any = None) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


class Journal:
    """Thread-safe (one lock around one connection); every call is a short transaction."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._owner: OwnerLock | None = None
        self.damaged: DamagedJournal | None = None  # set when a damaged file was found, kept and replaced
        on_disk = str(path) != ":memory:"
        if on_disk:
            try:
                # It holds numbers, goals, transcripts and pending confirm tokens: 0600 in a 0700 folder.
                # SQLite gives its -wal and -shm files the database file's mode.
                private_file(self.path)
                # Held while this journal is open: a pending attempt it writes is "in flight", not
                # "crashed", to every other window until it closes or its process dies.
                self._owner = OwnerLock(self.path.parent / "journal-owners")
            except OSError as exc:
                raise JournalError(_unwritable(self.path, exc)) from None
        self._lock = threading.RLock()
        try:
            try:
                self._open(on_disk)
            except _Damaged as damage:
                # Garbage over the header, random bytes, a truncated file: retrying never helps. The file is kept
                # (the person may want it), moved out of the way, and the app goes on with an empty journal.
                self.damaged = self._move_aside(str(damage))
                try:
                    self._open(on_disk)
                except _Damaged as again:  # not even a new, empty file: the disk itself is in trouble
                    raise JournalError(
                        f"calle-tui cannot start a new call history at {self.path} ({again}): check that disk."
                    ) from None
        except BaseException:
            if self._owner is not None:
                self._owner.release()
            raise

    def _open(self, on_disk: bool) -> None:
        """Connect, check the file and bring it to SCHEMA_VERSION. Raises _Damaged for a damaged file (the
        connection closed), JournalError for a file from a newer calle-tui."""
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        # For migrations: SQL cannot read every spelling of a status, wire/status.py can.
        self._db.create_function("status_is_finished", 1, lambda word: int(is_finished(word)), deterministic=True)
        try:
            with self._lock:
                if on_disk:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    # Every page once (no index cross-check: quick): a damaged page deep in the file would
                    # otherwise surface later, in the middle of placing or following a call.
                    found = [row[0] for row in self._db.execute("PRAGMA quick_check")]
                    if found != ["ok"]:
                        raise _Damaged(" ".join(str(problem) for problem in found[:1]) or "quick_check failed")
                self._db.execute("PRAGMA synchronous=FULL")
                self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if _is_damage(exc):
                raise _Damaged(str(exc)) from None
            raise
        except BaseException:
            self._db.close()
            raise

    def _move_aside(self, reason: str) -> DamagedJournal:
        """Rename the damaged file (and its -wal / -shm, if any) to `<name>.damaged-<UTC time>`, 0600, beside
        it. Raises JournalError (a sentence) when it cannot be moved."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        count = 1
        while target.exists():  # a second damaged file within the same second keeps the first
            count += 1
            target = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{count}")
        try:
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{self.path}{suffix}")
                if source.exists():
                    moved = Path(f"{target}{suffix}")
                    os.replace(source, moved)
                    os.chmod(moved, 0o600)
            private_file(self.path)
        except OSError as exc:
            raise JournalError(
                f"The call history at {self.path} is damaged ({reason}) and could not be moved aside "
                f"({(exc.strerror or 'the system refused').lower()}): move it away yourself and start calle-tui again."
            ) from None
        log.warning("the call history at %s was damaged (%s): moved aside to %s", self.path, reason, target)
        return DamagedJournal(self.path, target, reason)

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION (PRAGMA user_version), one ordered step at a time, each in its
        own transaction. A file from a newer calle-tui is refused with a sentence, never half-read."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            # A fresh file, or one written before user_version was kept (it then has the version-1 tables).
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._db.execute("PRAGMA user_version = 1")
            version = 1
        if version > SCHEMA_VERSION:
            self._db.close()
            raise JournalError(
                f"The call history at {self.path} was written by a newer calle-tui (format {version}); "
                "update calle-tui, or move that file aside to start a new history."
            )
        for step in range(version, SCHEMA_VERSION):
            with self._tx() as db:
                for statement in MIGRATIONS[step]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")

    @classmethod
    def in_state_dir(cls, state_root: Path) -> Journal:
        return cls(Path(state_root) / "journal.sqlite3")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._owner is not None:
                self._owner.release()

    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    # --- plans -------------------------------------------------------------------------------------

    def record_plan(self, server_url: str, request: PlanRequest, result: PlanCallResult, now: float) -> None:
        if not result.plan_id:
            return
        plan = result.plan
        # Who will be called: the plan's numbers when the server echoes them (production may not), else the
        # ones the user gave, in a field or written with a + country code in the request. An answer to a
        # question names none: then the numbers recorded for this plan before are kept (see the upsert).
        phones = (
            list(plan.to_phones)
            if plan and plan.to_phones
            else list(request.to_phones or ()) or list(numbers_in_text(request.user_input))
        )
        goal = (plan.goal if plan else None) or result.display_goal or request.goal
        scheduled = (plan.scheduled_at if plan else None) or request.scheduled_at
        with self._tx() as db:
            db.execute(
                """INSERT INTO plans (plan_id, server_url, created_at, updated_at, user_input, ready, confirm_token,
                                      to_phones, goal, scheduled_at, result_json)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(plan_id) DO UPDATE SET updated_at=excluded.updated_at,
                       user_input=excluded.user_input, ready=excluded.ready, confirm_token=excluded.confirm_token,
                       to_phones=CASE WHEN excluded.to_phones = '[]' THEN plans.to_phones ELSE excluded.to_phones END,
                       goal=COALESCE(excluded.goal, plans.goal),
                       scheduled_at=COALESCE(excluded.scheduled_at, plans.scheduled_at),
                       result_json=excluded.result_json""",
                (
                    result.plan_id,
                    server_url,
                    now,
                    now,
                    request.user_input,
                    int(result.ready_to_run),
                    result.confirm_token,
                    _dump(phones),
                    goal,
                    scheduled,
                    _dump(result.model_dump(mode="json", exclude={"confirm_token"})),
                ),
            )

    def plan_summary(self, plan_id: str) -> tuple[tuple[str, ...], str | None, str | None]:
        """(to_phones, goal, scheduled_at) of a recorded plan, empty when unknown."""
        with self._lock:
            row = self._db.execute(
                "SELECT to_phones, goal, scheduled_at FROM plans WHERE plan_id = ?", (plan_id,)
            ).fetchone()
        if row is None:
            return (), None, None
        return tuple(_load(row["to_phones"], [])), row["goal"], row["scheduled_at"]

    def plan_confirmation(self, plan_id: str) -> tuple[bool, str | None]:
        """(ready_to_run, confirm_token) of the latest plan_call answer for this plan."""
        with self._lock:
            row = self._db.execute("SELECT ready, confirm_token FROM plans WHERE plan_id = ?", (plan_id,)).fetchone()
        return (False, None) if row is None else (bool(row["ready"]), row["confirm_token"])

    # --- run attempts: the at-most-once latch --------------------------------------------------------

    def begin_attempt(self, plan_id: str, confirm_token: str, server_url: str, now: float) -> bool:
        """Record that run_call is about to be sent. True only for the first caller, ever, for this plan
        (a rejected attempt - the server said no, so nothing was placed - may be tried again)."""
        with self._tx() as db:
            row = db.execute("SELECT state FROM attempts WHERE plan_id = ?", (plan_id,)).fetchone()
            if row is not None and row["state"] != "rejected":
                return False
            db.execute(
                """INSERT OR REPLACE INTO attempts (plan_id, server_url, confirm_token, sent_at, state, run_id, message,
                                                    owner)
                   VALUES (?, ?, ?, ?, 'sent', NULL, '', ?)""",
                (plan_id, server_url, confirm_token, now, self._owner.token if self._owner else None),
            )
            return True

    def attempt(self, plan_id: str) -> Attempt | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM attempts WHERE plan_id = ?", (plan_id,)).fetchone()
        return _attempt(row) if row is not None else None

    def mark_started(self, plan_id: str, result: RunCallResult, now: float) -> None:
        """run_call answered: remember the run_id and create the run row (one transaction)."""
        phones, goal, plan_scheduled = self.plan_summary(plan_id)
        with self._tx() as db:
            row = db.execute("SELECT server_url FROM attempts WHERE plan_id = ?", (plan_id,)).fetchone()
            server_url = row["server_url"] if row is not None else ""
            # Once a run_id is known the confirm token is never needed again: it is not kept.
            db.execute(
                "UPDATE attempts SET state='started', run_id=?, message='', confirm_token='' WHERE plan_id=?",
                (result.run_id, plan_id),
            )
            db.execute("UPDATE plans SET confirm_token=NULL WHERE plan_id=?", (plan_id,))
            db.execute(
                """INSERT INTO runs (run_id, plan_id, server_url, created_at, to_phones, goal, scheduled_at, status,
                                     terminal, start_json)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(run_id) DO NOTHING""",
                (
                    result.run_id,
                    plan_id,
                    server_url,
                    now,
                    _dump(list(phones)),
                    goal,
                    result.scheduled_at or plan_scheduled,
                    result.status,
                    int(result.is_terminal),
                    _dump(result.model_dump(mode="json")),
                ),
            )

    def mark_unknown(self, plan_id: str, message: str) -> None:
        """run_call's answer was lost: whether a call was placed is unknown."""
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET state='outcome_unknown', message=? WHERE plan_id=? AND state='sent'",
                (message, plan_id),
            )

    def mark_rejected(self, plan_id: str, message: str) -> None:
        """The server definitely did not start a call (it refused, or the request never left)."""
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET state='rejected', message=? WHERE plan_id=? AND state IN ('sent','outcome_unknown')",
                (message, plan_id),
            )

    def unresolved_attempts(self, server_url: str | None = None) -> list[Attempt]:
        """Attempts sent without a known answer: 'sent' rows left by a crash are unknown too."""
        query = "SELECT * FROM attempts WHERE state IN ('sent','outcome_unknown')"
        args: tuple[str, ...] = ()
        if server_url is not None:
            query += " AND server_url = ?"
            args = (server_url,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY sent_at", args).fetchall()
        return [_attempt(r) for r in rows]

    def settle_crashed_attempts(self, server_url: str | None = None) -> list[Attempt]:
        """On startup, a 'sent' attempt whose sender is gone means that process died between send and
        reply: it becomes 'outcome_unknown'. One whose sender is still open (another window waiting for
        run_call's answer right now) is left alone and not returned: that window will learn the outcome."""
        query = "SELECT plan_id, owner FROM attempts WHERE state='sent'"
        args: tuple[str, ...] = ()
        if server_url is not None:
            query += " AND server_url = ?"
            args = (server_url,)
        with self._lock:
            pending = self._db.execute(query, args).fetchall()
        live = {r["plan_id"] for r in pending if self._owner is not None and self._owner.is_alive(r["owner"])}
        crashed = [(r["plan_id"],) for r in pending if r["plan_id"] not in live]
        if crashed:
            with self._tx() as db:
                db.executemany(
                    "UPDATE attempts SET state='outcome_unknown', message=? WHERE plan_id=? AND state='sent'",
                    [("The app stopped before the call request was answered.", plan_id) for (plan_id,) in crashed],
                )
        if self._owner is not None:
            self._owner.sweep()
        return [a for a in self.unresolved_attempts(server_url) if a.plan_id not in live]

    # --- runs ----------------------------------------------------------------------------------------

    def run(self, run_id: str) -> RunState | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _run_state(row) if row is not None else None

    def unfinished_runs(self, server_url: str) -> list[RunState]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM runs WHERE server_url = ? AND terminal = 0 ORDER BY created_at", (server_url,)
            ).fetchall()
        return [_run_state(r) for r in rows]

    def save_page(
        self,
        run_id: str,
        entries: Sequence[ActivityEntry],
        cursor: str | None,
        page: GetCallRunResult,
        now: float,
    ) -> list[ActivityEntry]:
        """Store one get_call_run page atomically: the entries not seen before (returned, in order), the cursor
        to continue from, and the latest status. Entries are de-duplicated by id."""
        fresh: list[ActivityEntry] = []
        last = page.model_dump(mode="json", exclude={"activity", "transcript"})
        with self._tx() as db:
            row = db.execute("SELECT entry_count FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise KeyError(run_id)
            seq = row["entry_count"]
            for entry in entries:
                cur = db.execute(
                    "INSERT OR IGNORE INTO entries (run_id, entry_id, seq, entry_json) VALUES (?, ?, ?, ?)",
                    (run_id, entry.id, seq, _dump(entry.model_dump(mode="json"))),
                )
                if cur.rowcount == 1:
                    seq += 1
                    fresh.append(entry)
            params: dict[str, Any] = {
                "run_id": run_id,
                "status": page.status or None,
                "terminal": int(page.is_terminal),
                "summary": page.summary,
                "cursor": cursor,
                "last_poll_at": now,
                "entry_count": seq,
                "last_json": _dump(last),
                "transcript": _dump([t.model_dump(mode="json") for t in page.transcript]) if page.transcript else None,
            }
            db.execute(
                """UPDATE runs SET status=COALESCE(:status, status), terminal=:terminal,
                       summary=COALESCE(:summary, summary), cursor=:cursor, last_poll_at=:last_poll_at,
                       entry_count=:entry_count, last_json=:last_json,
                       transcript_json=COALESCE(:transcript, transcript_json)
                   WHERE run_id=:run_id""",
                params,
            )
        return fresh

    def touch_poll(self, run_id: str, now: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE runs SET last_poll_at=? WHERE run_id=?", (now, run_id))

    def entries(self, run_id: str, after: int = 0) -> list[ActivityEntry]:
        """The run's stored entries in order; with `after`, only those from position `after` on (what a
        follower has not announced yet, whichever process stored them)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT entry_json FROM entries WHERE run_id = ? AND seq >= ? ORDER BY seq", (run_id, after)
            ).fetchall()
        return [ActivityEntry.model_validate(_load(r["entry_json"], {})) for r in rows]

    # --- history -------------------------------------------------------------------------------------

    def history(self, search: str = "", server_url: str | None = None, limit: int = 500) -> list[RunRecord]:
        """Past runs, newest first, plus attempts without an answer (run_id None, attempt 'sent' or
        'outcome_unknown')."""
        records: list[RunRecord] = []
        where = ""
        args: list[Any] = []
        if server_url is not None:
            where = "WHERE server_url = ?"
            args.append(server_url)
        with self._lock:
            runs = self._db.execute(f"SELECT * FROM runs {where} ORDER BY created_at DESC", args).fetchall()
            unanswered = self._db.execute(
                "SELECT a.*, p.to_phones, p.goal, p.scheduled_at FROM attempts a LEFT JOIN plans p USING (plan_id)"
                " WHERE a.state IN ('sent','outcome_unknown')" + (" AND a.server_url = ?" if server_url else ""),
                args,
            ).fetchall()
        for row in unanswered:
            records.append(
                RunRecord(
                    run_id=None,
                    plan_id=row["plan_id"],
                    server_url=row["server_url"],
                    created_at=row["sent_at"],
                    to_phones=tuple(_load(row["to_phones"], []) or ()),
                    goal=row["goal"],
                    status="",
                    terminal=False,
                    summary=row["message"] or None,
                    scheduled_at=row["scheduled_at"],
                    attempt=row["state"],
                )
            )
        for row in runs:
            records.append(
                RunRecord(
                    run_id=row["run_id"],
                    plan_id=row["plan_id"],
                    server_url=row["server_url"],
                    created_at=row["created_at"],
                    to_phones=tuple(_load(row["to_phones"], []) or ()),
                    goal=row["goal"],
                    status=row["status"] or "",
                    terminal=bool(row["terminal"]),
                    summary=row["summary"],
                    scheduled_at=row["scheduled_at"],
                    status_text=_status_text(row),
                )
            )
        records.sort(key=lambda r: r.created_at, reverse=True)
        if search:
            needle = search.casefold()
            records = [r for r in records if needle in _haystack(r)]
        return records[:limit]


def _haystack(record: RunRecord) -> str:
    # What the row shows is searchable: "outcome unknown" for an unanswered attempt, a status in its words
    # ("no answer") as well as stored ("no_answer").
    parts: Iterable[str | None] = (
        record.run_id,
        record.plan_id,
        record.goal,
        record.status,
        status_label(record.status) if record.status else None,
        "outcome unknown" if record.attempt != "started" else None,
        record.summary,
        *record.to_phones,
    )
    return " ".join(p for p in parts if p).casefold()


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt(
        plan_id=row["plan_id"],
        server_url=row["server_url"],
        confirm_token=row["confirm_token"],
        sent_at=row["sent_at"],
        state=row["state"],
        run_id=row["run_id"],
        message=row["message"],
    )


def _run_state(row: sqlite3.Row) -> RunState:
    start = _load(row["start_json"], None)
    last = _load(row["last_json"], None)
    transcript = _load(row["transcript_json"], None) or []
    return RunState(
        run_id=row["run_id"],
        plan_id=row["plan_id"],
        server_url=row["server_url"],
        created_at=row["created_at"],
        status=row["status"] or "",
        terminal=bool(row["terminal"]),
        cursor=row["cursor"],
        last_poll_at=row["last_poll_at"],
        entry_count=row["entry_count"],
        scheduled_at=row["scheduled_at"],
        start=RunCallResult.model_validate(start) if start else None,
        last=GetCallRunResult.model_validate(last) if last else None,
        transcript=tuple(TranscriptTurn.model_validate(t) for t in transcript),
    )


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the journal's lock: another process sees all of it or none."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._lock.release()
