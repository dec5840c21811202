"""`calle-tui sandbox`: run the local CALL-E look-alike until Ctrl+C (or SIGTERM).

A short banner goes to stdout; request logs go to stderr, through a filter that masks anything shaped like
a token, code or secret (the sandbox never logs them, the filter is a second line of defence).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the harness (uvicorn, the MCP server) is imported only when a sandbox starts
    from calle_tui.sandbox.harness import RunningSandbox

SECRET_RE = re.compile(
    r"((?:code|state|access_token|refresh_token|client_secret|token)=)[^&\s\"']+"
    r"|\b(?:at|rt|code|cs|ss)_[A-Za-z0-9_\-]{16,}"
    r"|(Bearer\s+)\S+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        prefix = match.group(1) or match.group(2) or ""
        return f"{prefix}[redacted]"

    return SECRET_RE.sub(mask, text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)  # set before any SDK import could call basicConfig (it then does nothing)
    root.setLevel(logging.INFO)
    for noisy in ("uvicorn.error", "mcp.server.streamable_http", "mcp.server.streamable_http_manager"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def check_args(args: argparse.Namespace) -> str | None:
    """A sentence for the first bad flag, or None."""
    if not 0 <= args.port <= 65535:
        return f"--port must be between 0 and 65535 (got {args.port})."
    if not args.speed > 0:
        return f"--speed must be more than 0 (got {args.speed})."
    if args.token_lifetime < 1:
        return f"--token-lifetime must be at least 1 second (got {args.token_lifetime})."
    for flag, value in (("--fault-429", args.fault_429), ("--fault-5xx", args.fault_5xx)):
        if not 0.0 <= value <= 1.0:
            return f"{flag} is a fraction between 0 and 1 (got {value})."
    if args.fault_429 + args.fault_5xx > 1.0:
        return "--fault-429 and --fault-5xx together cannot exceed 1."
    if args.fault_latency < 0:
        return f"--fault-latency cannot be negative (got {args.fault_latency})."
    if args.data:
        data = Path(args.data)
        if data.exists() and not data.is_dir():
            return f"--data {args.data} exists and is not a folder."
    return None


def banner(box: RunningSandbox, temporary: bool) -> str:
    config = box.config
    consent = "auto-approve (no consent page)" if config.auto_approve else "consent page in the browser"
    data = f"{box.data_dir}{' (temporary, removed on exit)' if temporary else ''}"
    return "\n".join(
        [
            "CALL-E sandbox: a local look-alike of CALL-E's MCP endpoint. Calls are simulated; no phone rings.",
            f"  MCP endpoint   {box.mcp_url}   (also {box.base_url}/mcp/openagent_oauth)",
            f"  OAuth server   {box.base_url}   sign-in: {consent}",
            f"  Broker sign-in {box.base_url}/api/v1/openagent-auth/sessions   (CALL-E CLI: --base-url {box.base_url})",
            f"  State          {data}",
            f"  Speed          x{config.speed:g}",
            f"  Dialect        {config.dialect}"
            + (" (production's reply shapes)" if config.dialect == "calle" else " (the sandbox's own shapes)")
            + (", content-only results" if config.content_only else ""),
            f"  Connect        calle-tui --url {box.mcp_url}",
            "  MCP Inspector  npx @modelcontextprotocol/inspector, then transport 'Streamable HTTP', URL above,",
            "                 Connect, and finish the sign-in in the browser.",
            "  Outcomes       by the number's last digit: 0-4 completed, 5 no answer, 6 busy, 7 voicemail,",
            "                 8 failed, 9 a 1,000-entry call. Details: README.md, 'The sandbox'.",
            "Press Ctrl+C to stop. Request log on stderr.",
        ]
    )


def write_ready_file(path: str, base_url: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ready-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(base_url + "\n")
    os.replace(tmp, target)  # atomic: a reader never sees half a URL


def run_sandbox(args: argparse.Namespace) -> int:
    problem = check_args(args)
    if problem:
        print(f"calle-tui sandbox: {problem}", file=sys.stderr)
        return 2
    setup_logging()
    # Only now: a bad flag is refused before uvicorn and the MCP server load (~0.6 s), and logging is set up
    # before the SDK's import could configure it.
    from calle_tui.sandbox.harness import Faults, RunningSandbox, SandboxConfig, SandboxStartError

    faults = Faults(
        rate_429=args.fault_429,
        rate_5xx=args.fault_5xx,
        latency=args.fault_latency,
        token_lifetime=args.token_lifetime,
    )
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        speed=args.speed,
        auto_approve=args.auto_approve,
        data_dir=Path(args.data) if args.data else None,
        faults=faults,
        dialect=getattr(args, "dialect", "calle"),
        content_only=getattr(args, "content_only", False),
        no_questions=getattr(args, "no_questions", False),
        no_refresh=getattr(args, "no_refresh", False),
        auth_path=getattr(args, "auth_path", "") or "",
        max_active_calls=getattr(args, "max_active_calls", None),
    )
    box = RunningSandbox(config)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        box.start()
    except SandboxStartError as exc:
        print(f"calle-tui sandbox: {exc}", file=sys.stderr)
        box.stop()
        return 1
    try:
        print(banner(box, temporary=args.data is None), flush=True)
        if args.ready_file:
            write_ready_file(args.ready_file, box.base_url)
        while not stop.wait(0.5):  # wake now and then so signals are handled promptly on every platform
            if not box.alive:
                print("calle-tui sandbox: the server stopped unexpectedly; see the log above.", file=sys.stderr)
                return 1
    finally:
        box.stop()
    return 0
