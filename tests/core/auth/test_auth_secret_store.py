"""Which secret store is chosen, and the opt-in file store."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time

import keyring.backends.fail
import keyring.backends.null
import keyring.core
import pytest
from auth_fake_backends import GoodKeyring, HangingKeyring, LockedKeyring, chainer_of, plaintext_keyring

from calle_tui.core.auth.secret_store import MEMORY_NOTICE, PROBE_SERVICE, FileStore, choose_secret_store


@pytest.mark.parametrize(
    "backend",
    [
        keyring.backends.fail.Keyring(),
        keyring.backends.null.Keyring(),
        plaintext_keyring(),
        chainer_of(plaintext_keyring(), keyring.backends.fail.Keyring()),
        chainer_of(),
        LockedKeyring(),
    ],
    ids=["fail", "null", "plaintext", "chainer-of-insecure", "empty-chainer", "locked"],
)
def test_insecure_or_broken_backends_fall_back_to_memory(backend):
    store = choose_secret_store(backend=backend, probe_timeout=2.0)
    assert store.kind == "memory"
    assert store.notice == MEMORY_NOTICE
    store.set("k", "v")
    assert store.get("k") == "v"
    store.delete("k")
    assert store.get("k") is None


def test_a_working_secure_backend_is_used_and_the_probe_leaves_nothing_behind():
    backend = GoodKeyring()
    store = choose_secret_store(backend=backend)
    assert store.kind == "keyring" and store.notice == ""
    assert not [key for key in backend.data if key[0] == PROBE_SERVICE]
    store.set("oauth:https://a.example/mcp", "blob")
    assert store.get("oauth:https://a.example/mcp") == "blob"
    store.delete("oauth:https://a.example/mcp")
    store.delete("oauth:https://a.example/mcp")  # deleting twice is fine
    assert store.get("oauth:https://a.example/mcp") is None


def test_a_chainer_is_resolved_to_its_secure_member_never_the_plaintext_one():
    good, plain = GoodKeyring(), plaintext_keyring()
    store = choose_secret_store(backend=chainer_of(plain, good))
    assert store.kind == "keyring"
    store.set("k", "secret-value")
    assert good.data and not plain.data


def test_a_hanging_backend_is_abandoned_within_the_timeout():
    backend = HangingKeyring()
    started = time.monotonic()
    try:
        store = choose_secret_store(backend=backend, probe_timeout=0.3)
    finally:
        backend.release.set()
    assert store.kind == "memory"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "env_value", ["auth_fake_backends.RaisingKeyring", "no_such_module_xyz.Keyring", "not a backend at all"]
)
def test_a_bad_python_keyring_backend_never_raises(monkeypatch, env_value):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", env_value)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    store = choose_secret_store(probe_timeout=2.0)
    assert store.kind == "memory"


def test_the_file_store_is_used_only_when_asked(tmp_path):
    path = tmp_path / "state" / "tokens.json"
    assert choose_secret_store(backend=keyring.backends.fail.Keyring()).kind == "memory"
    assert not path.exists()
    store = choose_secret_store(backend=keyring.backends.fail.Keyring(), insecure_file=path)
    assert store.kind == "file"
    assert "tokens.json" in store.notice and str(tmp_path) not in store.notice


def test_file_store_permissions_and_contents(tmp_path):
    path = tmp_path / "state" / "tokens.json"
    store = FileStore(path)
    store.set("a", "1")
    store.set("b", "2")
    store.delete("a")
    assert json.loads(path.read_text()) == {"b": "2"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert FileStore(path).get("b") == "2"  # a new process-like instance reads it back


def test_file_store_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "tokens.json"
    store = FileStore(path)
    store.set("a", "old")

    def broken_fsync(*args, **kwargs):  # the disk fills while the new file is being written
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        store.set("a", "new")
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"a": "old"}  # the old file is intact
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_file_store_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "tokens.json"
    store = FileStore(path)
    threads = [threading.Thread(target=lambda i=i: [store.set(f"t{i}-{j}", "x") for j in range(20)]) for i in range(4)]
    # and another process writing at the same time (the file lock, not just the thread lock)
    code = (
        "import sys; from calle_tui.core.auth.secret_store import FileStore\n"
        "s = FileStore(sys.argv[1])\n"
        "[s.set(f'p-{j}', 'y') for j in range(20)]\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert proc.wait(timeout=60) == 0
    data = json.loads(path.read_text())
    assert len(data) == 4 * 20 + 20
    assert os.stat(path).st_mode & 0o077 == 0
