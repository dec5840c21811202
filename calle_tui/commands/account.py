"""`calle-tui login` / `logout` / `status` for scripts, with the app's own stores and flows.

login   the brokered sign-in when the server offers it (prints the link, waits, finishes by itself), else
        the browser OAuth flow of the app (the worker's sign_in);
logout  forgets the stored sign-in and any pending brokered session for the server;
status  whether a usable sign-in is stored and until when, and where; never a token.
`--json` prints one JSON object on stdout. Sentences and links go to stderr, so stdout stays parseable.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, TextIO

from calle_tui.commands.exit_status import exit_status
from calle_tui.commands.overrides import overrides_from
from calle_tui.core.auth.broker import BrokerClient, BrokerError, token_usable
from calle_tui.core.auth.secret_store import choose_secret_store
from calle_tui.core.auth.token_storage import ServerTokenStorage
from calle_tui.core.config.settings import Settings, load_settings
from calle_tui.core.support.secrets import shown_url

STORE_WORDS = {"keyring": "the system keyring", "memory": "memory only", "file": "a private file (opt-in)"}


def open_storage(settings: Settings, store: Any = None) -> Any:
    if store is None:
        insecure = settings.state_root / "tokens.json" if settings.insecure_storage else None
        store = choose_secret_store(insecure_file=insecure)
    return ServerTokenStorage(store, settings.url, meta_dir=settings.state_root / "auth")


def broker_for(settings: Settings, clock: Any = None) -> BrokerClient:
    return BrokerClient(settings.url, settings.state_root, broker_url=settings.broker_url, clock=clock,
                        request_timeout=settings.request_timeout_seconds)  # fmt: skip


def status_of(settings: Settings, storage: Any, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    expires_at = storage.expires_at
    signed_in = storage.has_tokens()
    pending = broker_for(settings).pending_file.load()
    return {
        "server_url": shown_url(settings.url),  # as people may see it: never a user:password in the URL
        "signed_in": signed_in,
        "usable": signed_in and token_usable(expires_at, now),
        "expires_at": expires_at,
        "storage": storage.persisted_kind,
        "sign_in_pending": pending is not None,
    }


def describe(status: dict[str, Any], now: float) -> str:
    where = STORE_WORDS.get(status["storage"], status["storage"])
    if not status["signed_in"]:
        text = f"Not signed in to {status['server_url']}."
    elif not status["usable"]:
        text = f"The sign-in for {status['server_url']} has expired (or ends within 5 minutes): sign in again."
    elif status["expires_at"] is None:
        text = f"Signed in to {status['server_url']}."
    else:
        minutes = int((status["expires_at"] - now) // 60)
        text = f"Signed in to {status['server_url']} for about {minutes} more minutes."
    extra = " A brokered sign-in is waiting for approval." if status.get("sign_in_pending") else ""
    return f"{text} Sign-ins are kept in {where}.{extra}"


async def login(settings: Settings, storage: Any, *, err: TextIO, clock: Any = None) -> tuple[bool, str, str]:
    """(ok, how, sentence). The link is printed to `err` as soon as it is known."""
    broker = broker_for(settings, clock)
    if await broker.offered():

        def show(pending: Any) -> None:
            print("Open this link on any device to sign in (this command finishes by itself):", file=err)
            print(pending.login_url, file=err, flush=True)

        try:
            await broker.sign_in(storage, show, timeout=settings.login_timeout_seconds)
        except BrokerError as exc:
            return False, "broker", exc.sentence
        return True, "broker", f"Signed in to {shown_url(settings.url)}."
    return await _browser_login(settings, storage, err)


async def _browser_login(settings: Settings, storage: Any, err: TextIO) -> tuple[bool, str, str]:
    # Only a browser sign-in needs a worker: `status` and `logout` skip its imports (~70 ms).
    from calle_tui.core.events import ErrorEvent, SignInNeeded, SignInProgress, ToolsListed
    from calle_tui.core.store.journal import Journal
    from calle_tui.core.worker import CalleWorker
    from calle_tui.core.worker_api import WorkerError

    worker = CalleWorker(settings, secret_store=storage.store, journal=Journal(":memory:"), login_flow=settings.login)
    seen: asyncio.Queue[Any] = asyncio.Queue()

    def on_event(event: Any) -> None:
        if isinstance(event, SignInProgress) and event.step == "waiting_for_browser" and event.authorize_url:
            print(f"Open this address to sign in: {event.authorize_url}", file=err, flush=True)
        seen.put_nowait(event)

    worker.subscribe(on_event)
    try:
        await worker.start()
        while True:
            event = await asyncio.wait_for(seen.get(), settings.login_timeout_seconds)
            if isinstance(event, ToolsListed):
                return True, "stored", f"Already signed in to {shown_url(settings.url)}."
            if isinstance(event, ErrorEvent):
                return False, "oauth", event.message
            if isinstance(event, SignInNeeded):
                break
        try:
            await worker.sign_in(None if settings.login == "auto" else settings.login)
        except WorkerError as exc:
            return False, "oauth", exc.message
        return True, "oauth", f"Signed in to {shown_url(settings.url)}."
    except TimeoutError:
        return False, "oauth", "The server did not answer in time."
    finally:
        await worker.close()


def run_account(args: Any, *, out: TextIO | None = None, err: TextIO | None = None, store: Any = None) -> int:
    """Entry point for `calle-tui login|logout|status`; returns the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    as_json = bool(getattr(args, "json", False))

    def act() -> int:
        settings = load_settings(**overrides_from(args))
        storage = open_storage(settings, store)
        now = time.time()
        if args.command == "status":
            status = status_of(settings, storage, now)
            print(json.dumps(status) if as_json else describe(status, now), file=out)
            return 0 if status["usable"] else 1
        if args.command == "logout":
            asyncio.run(storage.clear())
            broker_for(settings).pending_file.clear()
            sentence = f"Signed out of {shown_url(settings.url)}."
            print(
                json.dumps({"server_url": shown_url(settings.url), "signed_in": False}) if as_json else sentence, file=out
            )
            return 0
        if status_of(settings, storage, now)["usable"] and not getattr(args, "force", False):
            ok, how, sentence = True, "stored", f"Already signed in to {shown_url(settings.url)} (--force signs in again)."
        else:
            ok, how, sentence = asyncio.run(login(settings, storage, err=err))
        if ok and storage.store.kind == "memory":
            sentence += " No secure keyring here, so it lasts only for this command: add --insecure-storage to keep it."
        if as_json:
            print(json.dumps({"ok": ok, "method": how, "message": sentence, **status_of(settings, storage)}), file=out)
        else:
            print(sentence, file=out if ok else err)
        return 0 if ok else 1

    return exit_status(args.command, act, err=err)
