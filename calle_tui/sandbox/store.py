"""The sandbox's durable state: one SQLite file holding OAuth clients, codes, tokens, plans and runs.

A restart of the sandbox on the same folder keeps everything. Tokens and codes are stored only as SHA-256
hashes, so the file never holds a usable bearer secret. One connection guarded by a lock serves the server's
thread; writes that must be atomic (one plan, one call) run inside `BEGIN IMMEDIATE` transactions, which also
protect against a second process on the same file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY, info TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS auth_requests (
    id TEXT PRIMARY KEY, client_id TEXT NOT NULL, params TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, data TEXT NOT NULL, expires_at REAL NOT NULL,
    family TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, scopes TEXT NOT NULL, resource TEXT,
    expires_at REAL NOT NULL, family TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, scopes TEXT NOT NULL, resource TEXT,
    expires_at REAL NOT NULL, family TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS plans (
    plan_id TEXT PRIMARY KEY, data TEXT NOT NULL, confirm_token TEXT, ready INTEGER NOT NULL,
    expires_at REAL NOT NULL, run_id TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, plan_id TEXT NOT NULL UNIQUE, confirm_token TEXT NOT NULL, data TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS broker_sessions (
    session_id TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        # isolation_level=None: we issue BEGIN ourselves, so a transaction is exactly what we say it is.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def run(self, sql: str, *args: Any) -> int:
        with self._lock:
            return self._db.execute(sql, args).rowcount

    # --- JSON records ----------------------------------------------------------------------------

    def plan(self, plan_id: str) -> dict[str, Any] | None:
        row = self.one("SELECT data FROM plans WHERE plan_id = ?", plan_id)
        return json.loads(row["data"]) if row else None

    def save_plan(self, db: sqlite3.Connection, plan: dict[str, Any]) -> None:
        db.execute(
            "INSERT OR REPLACE INTO plans (plan_id, data, confirm_token, ready, expires_at, run_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                plan["plan_id"],
                json.dumps(plan),
                plan.get("confirm_token"),
                int(bool(plan.get("ready"))),
                plan["expires_at"],
                plan.get("run_id"),
            ),
        )

    def run_record(self, run_id: str) -> dict[str, Any] | None:
        row = self.one("SELECT data FROM runs WHERE run_id = ?", run_id)
        return json.loads(row["data"]) if row else None

    def runs(self) -> list[dict[str, Any]]:
        return [json.loads(r["data"]) for r in self.all("SELECT data FROM runs ORDER BY created_at, run_id")]
