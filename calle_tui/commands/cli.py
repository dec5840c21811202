"""Command line entry point: `calle-tui [--demo] [--url URL]`, `calle-tui sandbox ...`, `calle-tui doctor ...`,
`calle-tui batch FILE --dry-run`.

Only argparse is imported here, so `--help` and first paint never wait on the mcp SDK or Textual; each
subcommand imports what it needs.
"""

from __future__ import annotations

import argparse
import sys

from calle_tui import __version__

LOGIN_FLOWS = ["auto", "loopback", "paste", "auto-follow"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calle-tui",
        description="Plan, confirm and follow CALL-E phone calls from your terminal.",
    )
    parser.add_argument("--version", action="version", version=f"calle-tui {__version__}")
    parser.add_argument("--url", help="MCP endpoint URL (default: CALL-E production, or CALLE_TUI_URL)")
    parser.add_argument("--demo", action="store_true", help="start a local sandbox and connect to it")
    parser.add_argument("--batch", metavar="FILE", help="open a JSONL batch file: plan every line, confirm once")
    parser.add_argument("--login", choices=LOGIN_FLOWS, help="how to finish sign-in")
    parser.add_argument("--insecure-storage", action="store_true", help="keep tokens in a 0600 file if no keyring")
    parser.add_argument("--broker-url", help="CALL-E's sign-in broker (default: looked for at the server's origin)")
    sub = parser.add_subparsers(dest="command")

    sandbox = sub.add_parser("sandbox", help="run the local CALL-E-compatible sandbox server")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    sandbox.add_argument("--speed", type=float, default=1.0, help="simulated time runs this many times faster")
    sandbox.add_argument(
        "--auto-approve", action="store_true", help="approve sign-ins (OAuth and brokered) without a consent page"
    )
    sandbox.add_argument("--data", help="folder for the sandbox's SQLite state (default: a temporary folder)")
    sandbox.add_argument("--token-lifetime", type=int, default=3600, help="access token lifetime in seconds")
    sandbox.add_argument("--fault-429", type=float, default=0.0, help="fraction of MCP requests answered 429")
    sandbox.add_argument("--fault-5xx", type=float, default=0.0, help="fraction of MCP requests answered 503")
    sandbox.add_argument("--fault-latency", type=float, default=0.0, help="seconds added to every MCP request")
    sandbox.add_argument(
        "--dialect",
        choices=["calle", "reference"],
        default="calle",
        help="answer like production CALL-E (default) or in the sandbox's own reference shapes",
    )
    sandbox.add_argument(
        "--content-only", action="store_true", help="no structured content: the JSON comes in a later text block"
    )
    sandbox.add_argument(
        "--no-questions", action="store_true", help="calle dialect: a plan that is not ready names no questions"
    )
    sandbox.add_argument(
        "--no-refresh", action="store_true", help="no refresh grant (as production advertises): sign in again"
    )
    sandbox.add_argument(
        "--max-active-calls",
        type=int,
        default=None,
        metavar="N",
        help="refuse a run_call while N calls are live, as production's default line does with N=1 "
        "(account_concurrency_exceeded); default: no limit",
    )
    sandbox.add_argument("--auth-path", default="", help="serve the authorization server under a path, e.g. /mcp-auth")
    sandbox.add_argument("--ready-file", help="write the base URL to this file once listening (for scripts)")

    doctor = sub.add_parser("doctor", help="safe smoke test of an endpoint (never places a call)")
    add_server_flags(doctor)
    doctor.add_argument("--json", action="store_true", help="machine-readable report")
    doctor.add_argument(
        "--try-tool",
        metavar="NAME",
        help="any MCP server: after listing the tools, call this one once with no arguments "
        "(never run_call or another tool that may place a call; on CALL-E only plan_call or get_call_run)",
    )

    batch = sub.add_parser("batch", help="plan every line of a batch file (JSONL) and show how ready each is")
    batch.add_argument("file", help="the batch file: one call per line, CALL-E's batch runner format")
    batch.add_argument("--dry-run", action="store_true", help="plan only (required: calls are placed in the TUI)")
    batch.add_argument("--json", action="store_true", help="one JSON object per line instead of the table")
    batch.add_argument("--concurrency", type=int, default=2, help="plans in flight at once (default 2)")
    add_server_flags(batch)

    for name, text in (
        ("login", "sign in (the one-link brokered sign-in when offered, else the browser) and store the tokens"),
        ("logout", "forget the stored sign-in for the server"),
        ("status", "say whether a usable sign-in is stored (never prints a token); exit 1 when not"),
    ):
        account = sub.add_parser(name, help=text)
        add_server_flags(account, login="how a browser sign-in finishes when there is no broker" if name == "login" else "")
        if name == "login":
            account.add_argument("--force", action="store_true", help="sign in again even when a usable sign-in is stored")
        account.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser


def add_server_flags(command: argparse.ArgumentParser, *, login: str = "how to finish sign-in") -> None:
    """A subcommand's own `--url`, `--broker-url` and, unless `login` (its help) is empty, `--login`. They
    share the top-level flags' names and are left out of the result unless given (SUPPRESS), so
    `calle-tui --url A doctor` keeps A and `calle-tui doctor --url B` gives B; commands/overrides.py turns
    them into settings."""
    command.add_argument("--url", default=argparse.SUPPRESS, help="MCP endpoint URL")
    if login:
        command.add_argument("--login", default=argparse.SUPPRESS, choices=LOGIN_FLOWS, help=login)
    command.add_argument(
        "--broker-url", default=argparse.SUPPRESS, help="CALL-E's sign-in broker (default: the server's origin)"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Each command is imported once chosen: `--help` and the first paint never wait on another's imports.
    if args.command == "sandbox":
        from calle_tui.sandbox.cli import run_sandbox

        return run_sandbox(args)
    if args.command == "doctor":
        from calle_tui.commands.doctor import run_doctor

        return run_doctor(args)
    if args.command == "batch":
        from calle_tui.commands.batch import run_batch

        return run_batch(args)
    if args.command in {"login", "logout", "status"}:
        from calle_tui.commands.account import run_account

        return run_account(args)
    from calle_tui.commands.launch import run_app

    return run_app(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
