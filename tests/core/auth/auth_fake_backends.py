"""Keyring backends for the secret-store tests (importable by name for PYTHON_KEYRING_BACKEND)."""

from __future__ import annotations

import threading


class GoodKeyring:
    """A secure-looking backend that works: stands in for Secret Service / macOS Keychain."""

    priority = 5

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.data.get((service, username))

    def set_password(self, service, username, password):
        self.data[(service, username)] = password

    def delete_password(self, service, username):
        self.data.pop((service, username), None)


class LockedKeyring(GoodKeyring):
    """Like a locked Secret Service: every operation raises."""

    def set_password(self, service, username, password):
        raise RuntimeError("keyring is locked")


class HangingKeyring(GoodKeyring):
    """Like a Secret Service waiting forever on D-Bus: set blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def set_password(self, service, username, password):
        self.release.wait(30)


class RaisingKeyring:
    """Fails at construction, as a bad PYTHON_KEYRING_BACKEND does."""

    priority = 5

    def __init__(self) -> None:
        raise RuntimeError("cannot initialise this backend")


def plaintext_keyring():
    """An object whose class looks like keyrings.alt's PlaintextKeyring."""
    cls = type("PlaintextKeyring", (GoodKeyring,), {"__module__": "keyrings.alt.file"})
    return cls()


def chainer_of(*backends):
    cls = type("ChainerBackend", (), {"__module__": "keyring.backends.chainer", "priority": 10})
    chainer = cls()
    chainer.backends = list(backends)
    return chainer
