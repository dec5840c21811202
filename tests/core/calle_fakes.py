"""Tiny MCP servers for worker tests that the sandbox does not cover (other tools, malformed answers).

Real HTTP on 127.0.0.1 with port 0, served by uvicorn in a thread; no auth.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from mcp import MCPError
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

from calle_tui.core.support.clock import ManualClock


class ServerThread:
    """uvicorn in a thread on 127.0.0.1, port 0. The socket is bound first, so `origin`/`url` are known before
    the app exists (servers whose metadata names their own address): pass the app now or to `serve()`."""

    def __init__(self, app: Any = None) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.origin}/mcp"

    def serve(self, app: Any = None) -> None:
        config = uvicorn.Config(
            app or self._app, log_config=None, lifespan="on", access_log=False, timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:  # a server thread: poll with a deadline
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)

    def stop(self, *, at_once: bool = False) -> None:
        """Stop serving; at_once: as a server that dies, dropping the requests in flight unanswered."""
        if self._server is not None:
            if at_once:
                self._server.force_exit = True
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        self.serve()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


RUN_CALL_ANNOTATIONS = ToolAnnotations(destructiveHint=True, idempotentHint=True)  # as production declares


def mcp_server(tools: dict[str, Callable[..., Any]], name: str = "tiny", *, idempotent_run: bool = True) -> MCPServer:
    server = MCPServer(name)
    for tool_name, fn in tools.items():
        hints = RUN_CALL_ANNOTATIONS if tool_name == "run_call" and idempotent_run else None
        server.tool(name=tool_name, annotations=hints)(fn)
    return server


def serve(tools: dict[str, Callable[..., Any]], name: str = "tiny") -> ServerThread:
    return ServerThread(mcp_server(tools, name).streamable_http_app())


class FakeCalle:
    """A minimal CALL-E look-alike whose answers tests can bend (malformed pages, slow run_call, entries).

    Cursors are offsets; next_cursor is the offset after the page, or null once caught up.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self.status: dict[str, str] = {}
        self.entries_returned = 0
        self.malformed_pages = 0  # answer this many get_call_run calls with garbage
        self.run_call_gate: threading.Event | None = None  # when set, run_call blocks until the gate opens
        self.run_call_entered = threading.Event()
        self.run_call_jsonrpc_error: int | None = None
        self.plan_result: dict[str, Any] | None = None  # override plan_call's answer
        self.clock: Callable[[], float] | None = None  # when set: get_call_run notes the time of each request
        self.polled_at: list[tuple[float, str]] = []  # (clock time, run_id) per get_call_run, with `clock`
        self.endless_cursor = False  # a server that hands out a fresh next_cursor on every page, caught up or not

    def _count(self, name: str) -> None:
        with self.lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def tools(self) -> dict[str, Callable[..., Any]]:
        fake = self

        def plan_call(
            user_input: str,
            to_phones: list[str] | None = None,
            region: str | None = None,
            language: str | None = None,
            goal: str | None = None,
            scheduled_at: str | None = None,
            plan_id: str | None = None,
            ttl_seconds: int | None = None,
        ) -> dict[str, Any]:
            fake._count("plan_call")
            if fake.plan_result is not None:
                return fake.plan_result
            missing = []
            if not to_phones:
                missing.append({"field": "to_phones", "question": "Which number should we call?"})
            if not goal:
                missing.append({"field": "goal", "question": "What should the call achieve?"})
            ready = not missing
            return {
                "plan_id": plan_id or "plan-1",
                "ready_to_run": ready,
                "confirm_token": "confirm-1" if ready else None,
                "missing": missing,
                "message": "Ready." if ready else "I need a few details.",
                "plan": {"to_phones": to_phones or [], "goal": goal, "language": language},
                "seen_input": user_input,
                "seen_fields": sorted(
                    k for k, v in locals().items() if v is not None and k not in {"fake", "missing", "ready"}
                ),
            }

        def run_call(plan_id: str, confirm_token: str, ttl_seconds: int | None = None) -> dict[str, Any]:
            fake._count("run_call")
            fake.run_call_entered.set()
            if fake.run_call_jsonrpc_error is not None:  # refuse as a JSON-RPC error, before any tool work
                raise MCPError(code=fake.run_call_jsonrpc_error, message="Invalid params: confirm_token")
            if fake.run_call_gate is not None:
                fake.run_call_gate.wait(timeout=30)
            run_id = "run-" + plan_id
            with fake.lock:
                fake.status.setdefault(run_id, "dialing")
                fake.entries.setdefault(run_id, [])
            return {"run_id": run_id, "status": "queued", "next_step": {"action": "poll", "after_seconds": 60}}

        def get_call_run(run_id: str, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
            fake._count("get_call_run")
            if fake.clock is not None:
                with fake.lock:
                    fake.polled_at.append((fake.clock(), run_id))
            with fake.lock:
                if fake.malformed_pages > 0:
                    fake.malformed_pages -= 1
                    return {"status": 42, "activity": "not a list"}
                entries = fake.entries.get(run_id, [])
                start = int((cursor or "0").split(".")[0])
                page = entries[start : start + (limit or 50)]
                end = start + len(page)
                fake.entries_returned += len(page)
                status = fake.status.get(run_id, "dialing")
                caught_up = end >= len(entries)
                return {
                    "run_id": run_id,
                    "status": status,
                    "terminal": status in {"completed", "failed", "no_answer", "busy", "voicemail", "canceled"},
                    "activity": page,
                    "next_cursor": (f"{end}.{fake.calls['get_call_run']}" if fake.endless_cursor else None)
                    if caught_up
                    else str(end),
                    "resume_cursor": str(end),  # like the sandbox: where to continue once caught up
                    "summary": "All done." if status == "completed" else None,
                    "next_step": {"action": "poll"},
                }

        return {"plan_call": plan_call, "run_call": run_call, "get_call_run": get_call_run}

    def add_entries(self, run_id: str, count: int) -> None:
        with self.lock:
            entries = self.entries.setdefault(run_id, [])
            base = len(entries)
            entries.extend(
                {"id": f"e{base + i}", "at": None, "type": "note", "text": f"entry {base + i}"} for i in range(count)
            )


E = TypeVar("E")


class EventLog:
    """A subscriber that just records events: pass it wherever the core takes an `emit` callback."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


class Recorder(EventLog):
    """Records events and lets a test wait for one (on the event itself, never on a timer)."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def __call__(self, event) -> None:
        super().__call__(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[object], bool], timeout: float = 15.0, start: int = 0):
        async with asyncio.timeout(timeout):
            seen = start
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                self._changed.clear()
                await self._changed.wait()

    async def wait_kind(self, event_type: type, timeout: float = 15.0, start: int = 0, **fields):
        return await self.wait_for(
            lambda e: isinstance(e, event_type) and all(getattr(e, k) == v for k, v in fields.items()), timeout, start
        )


async def drive(clock: ManualClock, log: Recorder, until: Callable[[], bool], *, timeout: float = 30.0):
    """Let simulated time pass: whenever someone sleeps on the clock, jump to the earliest wake-up, until
    `until()` holds (re-checked after every event). Progress is driven by the worker's own sleeps and
    events, never by real timers."""
    async with asyncio.timeout(timeout):
        while not until():
            seen = len(log.events)
            sleeper = asyncio.ensure_future(clock.wait_for_sleepers(1, timeout=timeout))
            event = asyncio.ensure_future(log.wait_for(lambda e: True, timeout=timeout, start=seen))
            try:
                done, _ = await asyncio.wait({sleeper, event}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                event.cancel()
            if until():
                return
            wake = clock.next_wakeup()
            if sleeper in done and wake is not None:
                clock.set(wake)
            await asyncio.sleep(0)


async def signed_in(make_worker, url: str, **settings: Any):
    """A started worker of `make_worker`, signed in (auto-follow) and with its tools listed: (worker, log)."""
    from calle_tui.core.events import SignInNeeded, ToolsListed

    worker, log = make_worker(url, **settings)
    await worker.start()
    first = await log.wait_for(lambda e: isinstance(e, ToolsListed | SignInNeeded))
    if isinstance(first, SignInNeeded):
        await worker.sign_in("auto-follow")
        await log.wait_kind(ToolsListed)
    return worker, log
