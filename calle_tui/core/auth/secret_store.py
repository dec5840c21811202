"""Where secrets live: the OS keyring when a secure backend really works, else memory, else (opt-in) a file.

Why the suspicion: on a headless Linux box `keyring` quietly picks `keyrings.alt`'s PlaintextKeyring (base64
in a file), or `fail.Keyring` (raises on use), or a Secret Service that is locked (raises InitError) or hangs
on D-Bus; a bad PYTHON_KEYRING_BACKEND raises RuntimeError or FileNotFoundError on first use. So a backend
is trusted only if it is none of the insecure kinds AND a set/get/delete round trip finishes in time.
The file store exists only for explicit opt-in (`--insecure-storage`), like `gh`: 0600 file in a 0700
folder, atomic replace, a lock against concurrent writers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, Protocol

from calle_tui.core.store.private import write_private_text

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the thread lock is all we have
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("calle_tui.auth.store")

SERVICE = "calle-tui"
PROBE_SERVICE = "calle-tui-probe"
MEMORY_NOTICE = "No secure keyring is available: you will need to sign in again next time."
FILE_NOTICE = "No secure keyring is available: tokens are kept in a file only you can read ({name}), as you asked."

StoreKind = Literal["keyring", "memory", "file"]


class SecretStore(Protocol):
    kind: StoreKind
    notice: str  # "" when the store is secure; else a sentence to show the user

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryStore:
    """Secrets for this process only."""

    kind: StoreKind = "memory"

    def __init__(self, notice: str = MEMORY_NOTICE) -> None:
        self.notice = notice
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._data.get(key)

    def set(self, key: str, value: str) -> None:
        with self._lock:
            self._data[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


SECRET_LIMIT_BYTES = 2560  # Windows Credential Manager: CRED_MAX_CREDENTIAL_BLOB_SIZE, stored as UTF-16
PARTS_PREFIX = "calle-tui-parts:"  # the entry itself then says how many `key#n` entries hold the value


def _utf16_size(text: str) -> int:
    return len(text.encode("utf-16-le"))


def split_secret(value: str, limit: int = SECRET_LIMIT_BYTES) -> list[str]:
    """`value` in pieces that each fit `limit` bytes of UTF-16 (whole characters, never half a pair)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in value:
        width = _utf16_size(char)
        if current and size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    parts.append("".join(current))
    return parts


class KeyringStore:
    """One keyring backend, used directly (never through a chainer that might fall back to plaintext).

    A value longer than one secret may be (2,560 bytes of UTF-16 in Windows Credential Manager; python-keyring
    passes it through and the write fails) is kept in numbered parts, whatever the backend: a long access
    token then works the same on every system."""

    kind: StoreKind = "keyring"
    notice = ""

    def __init__(self, backend: Any, service: str = SERVICE) -> None:
        self.backend = backend
        self.service = service

    def _get(self, key: str) -> str | None:
        value = self.backend.get_password(self.service, key)
        return value if isinstance(value, str) else None

    def _delete(self, key: str) -> None:
        try:
            self.backend.delete_password(self.service, key)
        except Exception as exc:  # PasswordDeleteError when absent: nothing to delete
            if type(exc).__name__ != "PasswordDeleteError":
                raise

    def _part_count(self, value: str | None) -> int:
        if value is None or not value.startswith(PARTS_PREFIX):
            return 0
        try:
            return max(0, int(value[len(PARTS_PREFIX) :]))
        except ValueError:
            return 0

    def get(self, key: str) -> str | None:
        value = self._get(key)
        count = self._part_count(value)
        if not count:
            return value
        parts = [self._get(f"{key}#{n}") for n in range(1, count + 1)]
        if any(part is None for part in parts):
            log.warning("a stored secret is missing one of its parts; ignoring it")
            return None
        return "".join(part for part in parts if part is not None)

    def set(self, key: str, value: str) -> None:
        old_count = self._part_count(self._get(key))
        if _utf16_size(value) <= SECRET_LIMIT_BYTES and not value.startswith(PARTS_PREFIX):
            self.backend.set_password(self.service, key, value)
            count = 0
        else:
            parts = split_secret(value)
            for n, part in enumerate(parts, start=1):  # the parts first: the entry never points at nothing
                self.backend.set_password(self.service, f"{key}#{n}", part)
            count = len(parts)
            self.backend.set_password(self.service, key, f"{PARTS_PREFIX}{count}")
        for n in range(count + 1, old_count + 1):  # parts of a longer value before
            self._delete(f"{key}#{n}")

    def delete(self, key: str) -> None:
        count = self._part_count(self._get(key))
        self._delete(key)
        for n in range(1, count + 1):
            self._delete(f"{key}#{n}")


class FileStore:
    """A JSON object {key: secret} in a 0600 file inside a 0700 folder. Only on explicit opt-in."""

    kind: StoreKind = "file"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.notice = FILE_NOTICE.format(name=self.path.name)
        self._thread_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.path.parent, 0o700)
        if self.path.exists():
            os.chmod(self.path, 0o600)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Thread lock plus an advisory file lock, so two calle-tui processes cannot lose each other's write."""
        with self._thread_lock:
            lock_path = self.path.with_name(self.path.name + ".lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def _read(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            log.warning("token file %s is not valid JSON; ignoring it", self.path.name)
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, data: dict[str, str]) -> None:
        write_private_text(self.path, json.dumps(data), prefix=".tokens-")

    def get(self, key: str) -> str | None:
        with self._locked():
            return self._read().get(key)

    def set(self, key: str, value: str) -> None:
        with self._locked():
            data = self._read()
            data[key] = value
            self._write(data)

    def delete(self, key: str) -> None:
        with self._locked():
            data = self._read()
            if key in data:
                del data[key]
                self._write(data)


# --- choosing a backend ---------------------------------------------------------------------------------


def _is_insecure(backend: Any) -> bool:
    """fail/null backends, anything from keyrings.alt (plaintext or file-based), or priority <= 0."""
    cls = type(backend)
    module = cls.__module__ or ""
    name = cls.__name__
    if module.startswith("keyrings.alt") or module.startswith("keyrings_alt"):
        return True
    if module in {"keyring.backends.fail", "keyring.backends.null"}:
        return True
    if "plaintext" in name.lower() or "plaintext" in module.lower():
        return True
    try:
        priority = float(backend.priority)
    except Exception:  # noqa: BLE001 - a backend whose priority cannot be read is not trusted
        return True
    return priority <= 0


def _secure_backend(backend: Any) -> Any | None:
    """The backend to use, or None. A chainer is resolved to its best secure member, so a write can never
    fall through to a plaintext backend behind it."""
    module = type(backend).__module__ or ""
    if module == "keyring.backends.chainer" or type(backend).__name__ == "ChainerBackend":
        members = [b for b in getattr(backend, "backends", []) if not _is_insecure(b)]
        return members[0] if members else None
    return None if _is_insecure(backend) else backend


def _round_trip(backend: Any, timeout: float) -> bool:
    """set/get/delete a random value in a daemon thread; False if it fails or does not finish in time
    (a locked keyring may wait on a password prompt or on D-Bus forever)."""
    outcome: dict[str, Any] = {}
    probe_key = "probe-" + secrets.token_hex(4)
    value = secrets.token_urlsafe(12)

    def run() -> None:
        try:
            backend.set_password(PROBE_SERVICE, probe_key, value)
            got = backend.get_password(PROBE_SERVICE, probe_key)
            backend.delete_password(PROBE_SERVICE, probe_key)
            outcome["ok"] = got == value
        except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
            outcome["error"] = type(exc).__name__

    thread = threading.Thread(target=run, name="keyring-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        log.info("keyring probe did not finish within %.1f s; not using the keyring", timeout)
        return False
    if "error" in outcome:
        log.info("keyring probe failed (%s); not using the keyring", outcome["error"])
    return bool(outcome.get("ok"))


def _detect_backend(timeout: float) -> Any | None:
    """keyring.get_keyring() in a thread too: detection itself may touch D-Bus or raise on a bad env var."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            # Here, in the thread and under its timeout: loading keyring's backends (~70 ms, entry points)
            # must not hold up the caller either, and the memory and file stores never need it.
            import keyring

            outcome["backend"] = keyring.get_keyring()
        except BaseException as exc:  # noqa: BLE001 - RuntimeError, FileNotFoundError, ImportError, ...
            outcome["error"] = type(exc).__name__

    thread = threading.Thread(target=run, name="keyring-detect", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive() or "error" in outcome:
        log.info("no keyring backend (%s)", outcome.get("error", "detection timed out"))
        return None
    return outcome.get("backend")


def choose_secret_store(
    *,
    insecure_file: Path | None = None,
    probe_timeout: float = 2.0,
    backend: Any | None = None,
) -> SecretStore:
    """The safest store that works here. Never raises. `backend` overrides keyring detection (tests)."""
    deadline = time.monotonic() + probe_timeout  # detection and the round trip share one budget
    try:
        candidate = backend if backend is not None else _detect_backend(probe_timeout)
        chosen = _secure_backend(candidate) if candidate is not None else None
        if chosen is not None and _round_trip(chosen, max(0.05, deadline - time.monotonic())):
            log.info("secrets kept in the keyring (%s)", type(chosen).__name__)
            return KeyringStore(chosen)
        if candidate is not None and chosen is None:
            log.info("keyring backend %s is not secure; not using it", type(candidate).__name__)
    except Exception as exc:  # noqa: BLE001 - choosing a store must never stop the app
        log.info("keyring unusable (%s)", type(exc).__name__)
    if insecure_file is not None:
        try:
            store = FileStore(insecure_file)
            log.warning("secrets kept in a 0600 file (opt-in)")
            return store
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot use the token file (%s); keeping secrets in memory", type(exc).__name__)
    return MemoryStore()
