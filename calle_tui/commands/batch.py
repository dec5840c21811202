"""`calle-tui batch FILE.jsonl --dry-run [--json]`: plan every line of a batch file and print how ready each
is. It never places a call: there is no headless way to run a batch (calls are confirmed in the TUI).

The connection and sign-in are the doctor's (commands/doctor.py), with an in-memory journal, so a dry run
never touches the app's history and never resumes following anything. The only tool it calls is
plan_call. Output never holds a confirm_token: rows are built field by field from what may be shown.

Exit status: 0 every line is ready, 1 some line is not (a question, an error, a problem in the file, or
no connection), 2 bad usage or a file with nothing to plan.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any, TextIO

from calle_tui.commands.doctor import connect_and_sign_in
from calle_tui.commands.exit_status import exit_status
from calle_tui.commands.overrides import overrides_from
from calle_tui.core.batch.file import BatchFile, BatchFileError, BatchLine, read_batch_file
from calle_tui.core.batch.plan import DEFAULT_CONCURRENCY, PlannedLine, plan_lines
from calle_tui.core.config.settings import Settings, load_settings
from calle_tui.core.store.journal import Journal
from calle_tui.core.support.phones import numbers_in_text
from calle_tui.core.support.secrets import mask_known_secrets as safe_text
from calle_tui.core.support.secrets import shown_url
from calle_tui.core.worker import CalleWorker
from calle_tui.ui.runs.format import format_phone  # display only; no Textual behind it

NOT_HEADLESS = (
    "calle-tui batch only plans (--dry-run): batches are placed from the TUI, where each call is confirmed "
    "(calle-tui --batch FILE.jsonl)."
)
PLAN_ID_SHOWN = 12  # characters of a plan id in the table; --json gives it whole
DESTINATION_WIDTH = 40


class DryRunFailed(Exception):
    """Connecting or signing in failed: str(exc) is the sentence."""


async def dry_run(
    settings: Settings,
    batch: BatchFile,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    secret_store: Any = None,
    notify: TextIO | None = None,
    paste_lines: bool = False,
    connect_timeout: float = 30.0,
) -> list[PlannedLine]:
    """Connect (signing in if asked), then plan every valid line. Raises DryRunFailed with a sentence."""
    login = settings.login
    worker = CalleWorker(settings, secret_store=secret_store, journal=Journal(":memory:"), login_flow=login)
    try:
        steps, listed = await connect_and_sign_in(
            worker, settings.url, login=login, connect_timeout=connect_timeout, notify=notify, paste_lines=paste_lines
        )
        failed = next((step for step in steps if not step.ok), None)
        if failed is not None:
            raise DryRunFailed(failed.detail)
        if listed is None or "plan_call" not in listed.tool_names:
            raise DryRunFailed(f"{shown_url(settings.url)} is not a CALL-E endpoint: it offers no plan_call.")
        return await plan_lines(worker, batch.lines, concurrency=concurrency)
    finally:
        await worker.close()


def records(batch: BatchFile, planned: list[PlannedLine]) -> list[dict[str, Any]]:
    """One record per call line of the file (planned or not), in file order. Built field by field: a
    confirm_token is never among them."""
    rows: dict[int, dict[str, Any]] = {}
    for problem in batch.problems:
        row = rows.setdefault(problem.line, {"line": problem.line, "state": "invalid", "problems": []})
        row["problems"].append(problem.sentence)
    for item in planned:
        line = item.line
        row = {
            "line": line.line,
            "state": item.state,
            "to_phones": list(line.request.to_phones or ()),
            "plan_id": item.result.plan_id if item.result is not None else None,
            "questions": item.questions,
        }
        if item.state == "not_ready" and item.server_message:
            row["message"] = item.server_message
        if item.error:
            row["error"] = item.error
        if line.ignored_fields:
            row["ignored_fields"] = list(line.ignored_fields)
        if line.user_input_from_goal:
            row["user_input_from_goal"] = True
        rows[line.line] = row
    return [rows[number] for number in sorted(rows)]


def render_table(batch: BatchFile, planned: list[PlannedLine], url: str) -> str:
    by_line = {item.line.line: item for item in planned}
    table: list[tuple[str, str, str, str]] = []
    for row in records(batch, planned):
        item = by_line.get(row["line"])
        if item is None:
            table.append((str(row["line"]), "", "", "not planned: " + " ".join(row["problems"])))
            continue
        destination = _destinations(item.line, format_phone)
        plan_id = row["plan_id"] or ""
        shown_id = plan_id if len(plan_id) <= PLAN_ID_SHOWN else plan_id[: PLAN_ID_SHOWN - 1] + "…"
        result = {
            "ready": "ready",
            "questions": "questions: " + " | ".join(item.questions),
            "not_ready": "not ready" + (f": {item.server_message}" if item.server_message else " (no questions)"),
            "error": f"error: {item.error}",
        }[item.state]
        notes = item.line.notes()
        table.append((str(item.line.line), destination, shown_id, result + (f"  ({' '.join(notes)})" if notes else "")))

    width = min(DESTINATION_WIDTH, max([len("destination"), *(len(r[1]) for r in table)]))
    id_width = max([len("plan"), *(len(r[2]) for r in table)])
    lines = [f"calle-tui batch (dry run, plan_call only): {batch.call_count} calls, planned at {shown_url(url)}", ""]
    lines.append(f"{'line':>5}  {'destination':<{width}}  {'plan':<{id_width}}  result")
    for number, destination, shown_id, result in table:
        lines.append(f"{number:>5}  {destination:<{width}}  {shown_id:<{id_width}}  {result}")
    ready = sum(1 for item in planned if item.state == "ready")
    asking = sum(1 for item in planned if item.state == "questions")
    others = batch.call_count - ready - asking
    lines.append("")
    lines.append(
        f"{ready} ready, {asking} with questions, {others} not ready or not planned. "
        "No call was placed (run_call was not used)."
    )
    return "\n".join(lines)


def _destinations(line: BatchLine, format_phone: Any) -> str:
    if line.request.to_phones:
        return ", ".join(format_phone(number) for number in line.request.to_phones)
    found = numbers_in_text(line.request.user_input)  # what the server will read, as the person wrote it
    if found:
        return ", ".join(format_phone(number) for number in found) + " (in the text)"
    return "no number given"


def all_ready(batch: BatchFile, planned: list[PlannedLine]) -> bool:
    return not batch.problems and len(planned) == batch.call_count and all(p.state == "ready" for p in planned)


def run_batch(args: Any, *, secret_store: Any = None) -> int:
    """Entry point for `calle-tui batch`; returns the exit status."""
    if not getattr(args, "dry_run", False):
        print(NOT_HEADLESS, file=sys.stderr)
        return 2
    concurrency = getattr(args, "concurrency", DEFAULT_CONCURRENCY)
    if concurrency < 1:
        print("calle-tui batch: --concurrency must be 1 or more.", file=sys.stderr)
        return 2
    try:
        batch = read_batch_file(args.file)
    except BatchFileError as exc:
        print(f"calle-tui batch: {exc}", file=sys.stderr)
        return 2
    as_json = getattr(args, "json", False)
    if not batch.lines:
        if as_json:
            for row in records(batch, []):
                print(json.dumps(row, ensure_ascii=False))
        for problem in batch.problems:
            print(problem.sentence, file=sys.stderr)
        print(f"calle-tui batch: {args.file} has no call that can be planned.", file=sys.stderr)
        return 2

    def plan() -> int:
        settings = load_settings(**overrides_from(args))
        interactive = settings.login != "auto-follow" and sys.stdin is not None and sys.stdin.isatty()
        try:
            planned = asyncio.run(
                dry_run(
                    settings,
                    batch,
                    concurrency=concurrency,
                    secret_store=secret_store,
                    notify=sys.stderr,
                    paste_lines=interactive,
                )
            )
        except DryRunFailed as exc:
            print(f"calle-tui batch: {safe_text(str(exc))} Nothing was planned.", file=sys.stderr)
            return 1
        if as_json:
            for row in records(batch, planned):
                print(json.dumps(row, ensure_ascii=False))
        else:
            print(render_table(batch, planned, settings.url))
        return 0 if all_ready(batch, planned) else 1

    return exit_status("batch", plan, stopped="Stopped. No call was placed.")
