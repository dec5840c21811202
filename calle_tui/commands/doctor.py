"""`calle-tui doctor`: the seed's safe smoke test of an endpoint. It never calls run_call.

Steps, each timed with a plain verdict: connect (initialize), sign in if the server asks, list tools (must
include plan_call, run_call, get_call_run), and plan_call with deliberately incomplete input, which must
come back asking for missing details. With `--try-tool NAME` the server may be any MCP server: after the
tools are listed, that one tool is called once with no arguments (which shows a tool call's sign-in, a
scope step-up included). A tool that may place a call is refused before anything is contacted. Exit status
is non-zero on any failure; no traceback and nothing secret is printed. The plan is kept in an in-memory journal, so the doctor never touches the app's history
and never resumes following anything.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from calle_tui.commands.exit_status import exit_status
from calle_tui.commands.overrides import overrides_from
from calle_tui.core.config.settings import Settings, load_settings
from calle_tui.core.events import (
    ConnectionChanged,
    ErrorEvent,
    LoginFlowChoice,
    SignInNeeded,
    SignInProgress,
    ToolsListed,
)
from calle_tui.core.store.journal import Journal
from calle_tui.core.support.secrets import mask_known_secrets as safe_text
from calle_tui.core.support.secrets import shown_url
from calle_tui.core.wire.contract import SAFE_TOOL_NAMES, TOOL_NAMES, places_calls
from calle_tui.core.wire.envelope import Refused, read_reply, reply_text, server_text
from calle_tui.core.worker import CalleWorker
from calle_tui.core.worker_api import PlanRequest, WorkerError

# Incomplete on purpose (no number, no goal) and clearly not a request to call anyone.
SMOKE_INPUT = "calle-tui doctor: connectivity check only. Do not place any call."


@dataclass
class Step:
    name: str
    ok: bool
    seconds: float
    detail: str


@dataclass
class Report:
    url: str
    steps: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_json(self) -> str:
        return json.dumps({"url": self.url, "ok": self.ok, "steps": [asdict(s) for s in self.steps]}, indent=2)


class _Timer:
    def __enter__(self) -> _Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


async def diagnose(
    settings: Settings,
    *,
    login: LoginFlowChoice | None = None,
    secret_store: Any = None,
    connect_timeout: float = 30.0,
    notify: TextIO | None = None,
    paste_lines: bool = False,
    try_tool: str | None = None,
) -> Report:
    """Run the smoke test and return the report. `notify` receives sign-in hints (the authorize URL).
    `try_tool`: call that tool once instead of the CALL-E checks (refused_tool() must have passed it)."""
    report = Report(url=shown_url(settings.url))  # never a user:password written in the URL
    refusal = refused_tool(try_tool) if try_tool is not None else None
    if refusal:
        report.steps.append(Step(f"call {try_tool}", False, 0.0, refusal))
        return report
    worker = CalleWorker(
        settings,
        secret_store=secret_store,
        journal=Journal(":memory:"),
        login_flow=login,
        required_tools=() if try_tool is not None else TOOL_NAMES,
    )
    try:
        steps, listed = await connect_and_sign_in(
            worker, settings.url, login=login, connect_timeout=connect_timeout, notify=notify, paste_lines=paste_lines
        )
        report.steps.extend(steps)
        if not report.ok:
            return report

        with _Timer() as t:
            names = set(listed.tool_names) if listed else set()
        if try_tool is not None:
            await _try_tool(worker, try_tool, names, report)
            return report
        missing = [n for n in TOOL_NAMES if n not in names]
        if missing:
            report.steps.append(
                Step("list tools", False, t.seconds, "This server is not a CALL-E endpoint: missing " + ", ".join(missing))
            )
            return report
        tools = getattr(worker, "tools", None)
        server = " ".join(p for p in (getattr(tools, "server_name", ""), getattr(tools, "server_version", "")) if p)
        offered = "plan_call, run_call and get_call_run are offered"
        report.steps.append(Step("list tools", True, t.seconds, f"{server}: {offered}." if server else f"{offered}."))

        with _Timer() as t:
            try:
                result = await worker.plan(PlanRequest(user_input=SMOKE_INPUT))
                error = None
            except WorkerError as exc:
                result, error = None, exc.message
        if result is None:
            report.steps.append(Step("plan_call (safe)", False, t.seconds, error or "plan_call failed."))
        elif result.ready_to_run:
            report.steps.append(
                Step("plan_call (safe)", False, t.seconds, "The server called incomplete input ready to run.")
            )
        else:
            # Not ready is the safe answer. Production may ask nothing at all (ready_to_run=false, no
            # questions): that still proves plan_call works and placed no call.
            asked = "; ".join(m.question for m in result.missing) or safe_text(
                result.message or (result.next_step.message if result.next_step else "") or ""
            )
            detail = f"Not ready, as expected: {asked[:120]}" if asked else "Not ready, as expected (no questions)."
            report.steps.append(Step("plan_call (safe)", True, t.seconds, detail.rstrip(".") + "."))
        return report
    finally:
        await worker.close()


def refused_tool(name: str) -> str:
    """Why the doctor will not call `name` (empty when it may): checked before contacting anything."""
    if not name.strip():
        return "Name the tool to try: --try-tool NAME."
    if places_calls(name):
        return f"calle-tui doctor never calls {name}: it may place a real phone call."
    return ""


async def _try_tool(worker: Any, name: str, names: set[str], report: Report) -> None:
    """The "list tools" and "call NAME" steps of --try-tool."""
    if name not in names:
        offered = ", ".join(sorted(names)[:12]) or "none"
        report.steps.append(Step("list tools", False, 0.0, f"The server does not offer {name} (it offers: {offered})."))
        return
    if "run_call" in names and name not in SAFE_TOOL_NAMES:
        # A CALL-E endpoint: only its tools known never to place a call are tried.
        detail = f"This server places calls (run_call); the doctor only tries {' or '.join(SAFE_TOOL_NAMES)} here."
        report.steps.append(Step("list tools", False, 0.0, detail))
        return
    report.steps.append(Step("list tools", True, 0.0, f"{len(names)} tool(s), {name} among them."))
    with _Timer() as t:
        try:
            result = await worker.try_tool(name)
            error = None
        except WorkerError as exc:
            result, error = None, exc.message
    if result is None:
        report.steps.append(Step(f"call {name}", False, t.seconds, error or f"{name} failed."))
        return
    reply = read_reply(result, lambda answer: answer)
    if isinstance(reply, Refused):
        # The server ran the request and its tool said no (no arguments were given): the call itself, and
        # the sign-in it needed, worked.
        detail = f"Answered with the tool's own error: {reply.said(120)}"
    else:
        detail = f"Answered: {server_text(reply_text(result), 120)}"
    report.steps.append(Step(f"call {name}", True, t.seconds, detail))


async def connect_and_sign_in(
    worker: Any,
    url: str,
    *,
    login: LoginFlowChoice | None,
    connect_timeout: float = 30.0,
    notify: TextIO | None = None,
    paste_lines: bool = False,
) -> tuple[list[Step], ToolsListed | None]:
    """Start `worker` and sign in if the server asks: the "connect" and "sign in" steps, and the tools the
    server listed once both passed (None when a step failed). `notify` receives sign-in hints (the
    authorize URL). Shared by the doctor and `calle-tui batch --dry-run`."""
    steps: list[Step] = []
    events: list[Any] = []
    changed = asyncio.Event()

    def on_event(event: Any) -> None:
        events.append(event)
        changed.set()
        if notify is None or not isinstance(event, SignInProgress) or not event.authorize_url:
            return
        if event.step == "waiting_for_browser" and login != "auto-follow":
            print(f"Open this address to sign in: {event.authorize_url}", file=notify, flush=True)
            if event.message:
                print(event.message, file=notify, flush=True)
            if paste_lines:
                print("Or paste the address your browser ends on, then press Enter:", file=notify, flush=True)

    worker.subscribe(on_event)

    async def first(predicate: Callable[[Any], object]) -> Any:  # a truthy answer picks the event
        while True:
            for event in events:
                if predicate(event):
                    return event
            changed.clear()
            await changed.wait()

    with _Timer() as t:
        try:
            await worker.start()
            outcome = await asyncio.wait_for(
                first(
                    lambda e: (
                        isinstance(e, ToolsListed | SignInNeeded | ErrorEvent)
                        or (isinstance(e, ConnectionChanged) and e.state in ("reconnecting", "failed") and e.message)
                    )
                ),
                connect_timeout,
            )
        except TimeoutError:
            outcome = None
        except Exception as exc:  # noqa: BLE001 - the caller reports, it does not crash
            outcome = ErrorEvent(message=safe_text(str(exc)) or "The connection failed unexpectedly.")
    if isinstance(outcome, ToolsListed | SignInNeeded):
        steps.append(Step("connect", True, t.seconds, f"Reached {shown_url(url)}."))
    else:
        detail = "No answer from the server." if outcome is None else outcome.message
        # The worker's message says it will retry; the caller does not, it reports and stops.
        detail = re.sub(r"\s*Retrying in [^.]*\.\s*$", "", detail)
        steps.append(Step("connect", False, t.seconds, detail))
        return steps, None

    if isinstance(outcome, SignInNeeded):
        paster = _start_paste_reader(worker, notify) if paste_lines else None
        with _Timer() as t:
            try:
                await worker.sign_in(login)
                ok, detail = True, "Signed in."
            except WorkerError as exc:
                ok, detail = False, exc.message
            finally:
                if paster is not None:
                    paster.cancel()
        steps.append(Step("sign in", ok, t.seconds, detail))
        if not ok:
            return steps, None
    else:
        steps.append(Step("sign in", True, 0.0, "Already signed in (or not required)."))
    try:  # after a sign-in the tools are listed next: wait for that list, not for the first event seen
        listed = await asyncio.wait_for(first(lambda e: isinstance(e, ToolsListed)), connect_timeout)
    except TimeoutError:
        listed = None
    return steps, listed


def _start_paste_reader(worker: Any, notify: TextIO | None) -> asyncio.Task[None]:
    """Feed lines typed on stdin to the pending sign-in (paste flow). A daemon thread reads, so an unused
    reader never keeps the process alive."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.strip())

    threading.Thread(target=read, name="doctor-paste", daemon=True).start()

    async def feed() -> None:
        while True:
            line = await lines.get()
            if not line:
                continue
            try:
                await worker.submit_redirect(line)
            except WorkerError as exc:
                if notify is not None:
                    print(f"{exc.message} {exc.action}".strip(), file=notify, flush=True)

    return asyncio.create_task(feed())


def render(report: Report) -> str:
    lines = [f"calle-tui doctor: {report.url}"]
    for step in report.steps:
        mark = "ok  " if step.ok else "FAIL"
        lines.append(f"  [{mark}] {step.name:<17} {step.seconds * 1000:7.0f} ms  {safe_text(step.detail)}")
    lines.append("All checks passed. (run_call was not used: no call was placed.)" if report.ok else "Some checks failed.")
    return "\n".join(lines)


def run_doctor(args: Any) -> int:
    """Entry point for `calle-tui doctor`; returns the exit status."""
    try_tool = getattr(args, "try_tool", None)
    refusal = refused_tool(try_tool) if try_tool is not None else ""
    if refusal:  # before reading settings or contacting anything
        print(f"calle-tui doctor: {refusal}", file=sys.stderr)
        return 2

    def check() -> int:
        settings = load_settings(**overrides_from(args))
        interactive = settings.login != "auto-follow" and sys.stdin is not None and sys.stdin.isatty()
        report = asyncio.run(
            diagnose(settings, login=settings.login, notify=sys.stderr, paste_lines=interactive, try_tool=try_tool)
        )
        print(report.to_json() if getattr(args, "json", False) else render(report))
        return 0 if report.ok else 1

    return exit_status("doctor", check)
