"""A stand-in for the worker until the first screen has painted.

Building the settings (pydantic-settings) and the worker (the contract models, the journal) costs about as
much as Textual's own start-up, and the first screen needs neither: it only subscribes, asks whether we are
signed in (not yet known: the worker has not tried the saved tokens) and shows the server address. So the
app is given this stand-in (`CalleApp(boot=...)`), paints, then calls `prepare()`, and from then on every call
goes to the real worker. Anything that needs the real worker earlier simply builds it then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calle_tui.core.config.settings import Settings
    from calle_tui.core.events import WorkerEvent
    from calle_tui.core.store.drafts import DraftStore
    from calle_tui.core.worker_api import AuthStatus, WorkerAPI


class BootError(Exception):
    """A reason calle-tui cannot start (a setting that is not valid, an unusable address), as a sentence for
    the terminal: before the first paint the launcher prints it, after it the app ends with it."""


@dataclass
class Booted:
    """What `prepare()` builds: the app takes its settings and drafts from here."""

    settings: Settings
    worker: WorkerAPI
    drafts: DraftStore | None = None


class DeferredWorker:
    """WorkerAPI that builds the real worker on first real use; `build` may raise (e.g. BootError)."""

    def __init__(self, build: Callable[[], Booted], server_url: str) -> None:
        self._build = build
        self.server_url = server_url  # the address as the command line/environment/config give it, until built
        self.booted: Booted | None = None
        from calle_tui.core.events import Subscribers  # pure Python: nothing heavy before first paint

        self._subscribers = Subscribers()

    def prepare(self) -> Booted:
        """Build the settings and the worker now (idempotent). Raises whatever `build` raises."""
        if self.booted is None:
            booted = self._build()
            self.server_url = booted.worker.server_url
            booted.worker.subscribe(self._emit)
            self.booted = booted
        return self.booted

    def _emit(self, event: WorkerEvent) -> None:
        self._subscribers.emit(event)

    def subscribe(self, callback: Callable[[WorkerEvent], None]) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    def auth_status(self) -> AuthStatus:
        if self.booted is not None:
            return self.booted.worker.auth_status()
        from calle_tui.core.worker_api import AuthStatus

        # Not signed in *yet*: the login screen says "checking for a saved session" until the worker reports.
        # No storage kind: which one is used is only known once the worker has looked.
        return AuthStatus(self.server_url, signed_in=False, expires_at=None, storage="")  # type: ignore[arg-type]

    async def start(self) -> None:
        await self.prepare().worker.start()

    async def close(self) -> None:
        # Closing before anything was built has nothing to close, and must not build it.
        if self.booted is not None:
            await self.booted.worker.close()

    def __getattr__(self, name: str) -> Any:
        # Every other WorkerAPI method (and the optional ones fakes may lack) belongs to the real worker.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.prepare().worker, name)
