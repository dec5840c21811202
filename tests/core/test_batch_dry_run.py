"""`calle-tui batch FILE --dry-run`: every line planned against the sandbox (plan_call only, counted at the
sandbox), a table or one JSON object per line, never a confirm_token, and exit codes a script can use."""

import argparse
import asyncio
import json

import pytest

from calle_tui.commands.cli import build_parser
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.batch.file import parse_batch
from calle_tui.core.batch.plan import plan_lines
from calle_tui.core.wire.contract import PlanCallResult
from calle_tui.core.worker import CalleWorker
from calle_tui.core.worker_api import WorkerError

READY = {"to_phones": ["+14155550100"], "language": "English", "goal": "Book a table for two at 7 pm",
         "user_input": "Call +14155550100 in English and book a table for two at 7 pm"}  # fmt: skip
ASKS = {"to_phones": ["+442079460000"], "user_input": "Please phone this number", "metadata": {"order": "42"}}
NO_COUNTRY = {"to_phones": ["4155550100"], "goal": "Ask about opening hours", "language": "English"}


@pytest.fixture(params=["reference", "calle"])
def box(request, sandbox_factory):
    return sandbox_factory(auto_approve=True, dialect=request.param)


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")


@pytest.fixture
def confirm_tokens(monkeypatch):
    """Every confirm_token the worker was handed, to prove none reaches the output."""
    seen: list[str] = []
    original = CalleWorker.plan

    async def plan(self, request):
        result = await original(self, request)
        if result.confirm_token:
            seen.append(result.confirm_token)
        return result

    monkeypatch.setattr(CalleWorker, "plan", plan)
    return seen


def write(tmp_path, *items) -> str:
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps(item) if isinstance(item, dict) else item for item in items) + "\n")
    return str(path)


def run(argv, capsys):
    from calle_tui.commands.batch import run_batch

    status = run_batch(build_parser().parse_args(argv), secret_store=MemoryStore())
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return status, out


def test_dry_run_plans_every_line_prints_the_table_and_never_runs_a_call(box, tmp_path, cli_env, capsys, confirm_tokens):
    path = write(tmp_path, "# tonight", READY, ASKS, NO_COUNTRY)
    status, out = run(["batch", path, "--dry-run", "--url", box.mcp_url, "--login", "auto-follow"], capsys)
    assert status == 1  # one line asks, one cannot be planned
    assert box.stats.tool_calls["plan_call"] == 2
    assert box.stats.tool_calls["run_call"] == 0 and box.stats.run_call_sent == 0 and box.stats.calls_placed == 0
    table = out.out.split("\n\n")[1].splitlines()
    assert table[0].split() == ["line", "destination", "plan", "result"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert set(rows) == {"2", "3", "4"}
    assert "+1 415-555-0100 (United States)" in rows["2"] and rows["2"].rstrip().endswith("ready")
    assert "+44 20 7946 0000 (United Kingdom)" in rows["3"] and "questions: " in rows["3"]
    assert "not planned: Line 4: " in rows["4"] and "has no country code" in rows["4"]
    assert "No call was placed (run_call was not used)." in out.out
    assert confirm_tokens and not any(token in out.out + out.err for token in confirm_tokens)


def test_a_lines_metadata_goes_as_the_tool_calls_meta_never_as_an_argument(box, tmp_path, cli_env, capsys):
    path = write(tmp_path, READY, ASKS)
    run(["batch", path, "--dry-run", "--url", box.mcp_url, "--login", "auto-follow"], capsys)
    # In file order (concurrency 2 may reorder the requests): line 1 gave none, line 2 gave {"order": "42"}.
    assert sorted(box.stats.plan_customer_metadata, key=lambda m: m is not None) == [None, {"order": "42"}]
    assert box.stats.tool_calls["run_call"] == 0


def test_dry_run_json_is_one_object_per_line_with_the_questions_and_no_confirm_token(
    box, tmp_path, cli_env, capsys, confirm_tokens
):
    path = write(tmp_path, READY, ASKS, NO_COUNTRY)
    status, out = run(["batch", path, "--dry-run", "--json", "--url", box.mcp_url, "--login", "auto-follow"], capsys)
    assert status == 1
    records = [json.loads(line) for line in out.out.splitlines()]
    assert [(r["line"], r["state"]) for r in records] == [(1, "ready"), (2, "questions"), (3, "invalid")]
    assert records[0]["plan_id"] and records[0]["to_phones"] == ["+14155550100"] and records[0]["questions"] == []
    assert records[1]["questions"] and all(isinstance(q, str) and q for q in records[1]["questions"])
    assert "has no country code" in records[2]["problems"][0]
    assert confirm_tokens and not any(token in out.out for token in confirm_tokens)
    assert "confirm_token" not in out.out
    assert box.stats.tool_calls["run_call"] == 0 and box.stats.tool_calls["plan_call"] == 2


def test_dry_run_exits_0_when_every_line_is_ready(box, tmp_path, cli_env, capsys):
    second = {**READY, "to_phones": ["+14155550101"], "user_input": "Call +14155550101 in English, book for two at 7"}
    path = write(tmp_path, READY, second)
    status, out = run(["batch", path, "--dry-run", "--url", box.mcp_url, "--login", "auto-follow"], capsys)
    assert status == 0, out.out
    assert "2 ready, 0 with questions, 0 not ready or not planned." in out.out
    assert box.stats.tool_calls["plan_call"] == 2 and box.stats.tool_calls["run_call"] == 0


def test_without_dry_run_it_says_batches_run_in_the_tui_and_touches_nothing(box, tmp_path, cli_env, capsys):
    path = write(tmp_path, READY)
    status, out = run(["batch", path, "--url", box.mcp_url], capsys)
    assert status == 2
    assert out.out == "" and "placed from the TUI" in out.err and out.err.count("\n") == 1
    assert box.stats.http_requests == 0


def test_a_missing_file_is_one_sentence_and_exit_2(tmp_path, cli_env, capsys):
    status, out = run(["batch", str(tmp_path / "nope.jsonl"), "--dry-run"], capsys)
    assert status == 2 and out.err == f"calle-tui batch: There is no file at {tmp_path / 'nope.jsonl'}.\n"


def test_a_2_gib_file_is_refused_by_its_size_at_once_with_one_sentence_and_exit_2(tmp_path, cli_env, capsys):
    import tracemalloc

    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GiB of zero bytes that take no disk space
    tracemalloc.start()
    try:
        status, out = run(["batch", str(path), "--dry-run"], capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 2 and out.out == ""
    assert out.err == (
        f"calle-tui batch: {path} is 2,147,483,648 bytes: a batch file may be at most 4,194,304 bytes "
        "(4 MiB, for at most 500 calls), so split it into smaller files.\n"
    )
    assert peak < 2 * 1024**2


def test_a_file_with_nothing_to_plan_lists_its_problems_and_exits_2(tmp_path, cli_env, capsys):
    path = write(tmp_path, NO_COUNTRY, "not json")
    status, out = run(["batch", path, "--dry-run"], capsys)
    assert status == 2
    assert "Line 1: " in out.err and "Line 2 is not valid JSON" in out.err and "no call that can be planned" in out.err


def test_an_unreachable_server_is_a_sentence_and_nothing_is_planned(tmp_path, cli_env, capsys, monkeypatch):
    import socket

    from calle_tui.commands import batch as batch_cli

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    original = batch_cli.dry_run

    async def fast(*args, **kwargs):
        return await original(*args, **{**kwargs, "connect_timeout": 5.0})

    monkeypatch.setattr(batch_cli, "dry_run", fast)
    status, out = run(["batch", write(tmp_path, READY), "--dry-run", "--url", f"http://127.0.0.1:{port}/mcp"], capsys)
    assert status == 1 and out.err.startswith("calle-tui batch: ") and out.err.rstrip().endswith("Nothing was planned.")


class GatedPlanner:
    """Answers each plan only when the test lets it, and records how many were in flight at once."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.started = asyncio.Queue()
        self.release: dict[str, asyncio.Event] = {}

    async def plan(self, request):
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        gate = self.release.setdefault(request.user_input, asyncio.Event())
        await self.started.put(request.user_input)
        await gate.wait()
        self.in_flight -= 1
        if request.user_input == "fail":
            raise WorkerError("The server is busy: try again in a minute.", kind="server")
        return PlanCallResult(plan_id="p-" + request.user_input, ready_to_run=True, confirm_token="secret")


async def test_planning_is_bounded_and_answers_come_back_in_file_order():
    batch = parse_batch(b"\n".join(json.dumps({"user_input": name}).encode() for name in "abcde" + "") + b"\n")
    planner = GatedPlanner()
    task = asyncio.create_task(plan_lines(planner, batch.lines, concurrency=2))
    first = {await planner.started.get(), await planner.started.get()}
    assert planner.started.empty() and planner.in_flight == 2
    for name in "edcba":  # answer in reverse order
        planner.release.setdefault(name, asyncio.Event()).set()
    planned = await task
    assert first == {"a", "b"} and planner.most == 2
    assert [p.result.plan_id for p in planned] == ["p-a", "p-b", "p-c", "p-d", "p-e"]


async def test_one_failing_line_is_an_error_row_and_the_others_are_planned():
    batch = parse_batch(b'{"user_input": "a"}\n{"user_input": "fail"}\n{"user_input": "c"}\n')
    planner = GatedPlanner()
    for name in ("a", "fail", "c"):
        planner.release[name] = asyncio.Event()
        planner.release[name].set()
    planned = await plan_lines(planner, batch.lines)
    assert [p.state for p in planned] == ["ready", "error", "ready"]
    assert planned[1].error == "The server is busy: try again in a minute."


def test_the_batch_command_is_in_the_parser():
    args = build_parser().parse_args(["batch", "calls.jsonl", "--dry-run", "--json"])
    assert isinstance(args, argparse.Namespace)
    assert (args.command, args.file, args.dry_run, args.json, args.concurrency) == ("batch", "calls.jsonl", True, True, 2)


def test_the_entry_point_dispatches_to_the_batch_command(tmp_path, cli_env, capsys):
    from calle_tui.commands.cli import main

    assert main(["batch", write(tmp_path, READY)]) == 2
    assert "placed from the TUI" in capsys.readouterr().err


def test_a_plan_that_is_not_ready_and_asks_nothing_says_what_the_server_said(sandbox_factory, tmp_path, cli_env, capsys):
    # Production may answer ready_to_run=false with no questions at all.
    quiet = sandbox_factory(auto_approve=True, dialect="calle", no_questions=True)
    path = write(tmp_path, ASKS)
    status, out = run(["batch", path, "--dry-run", "--json", "--url", quiet.mcp_url, "--login", "auto-follow"], capsys)
    (record,) = [json.loads(line) for line in out.out.splitlines()]
    assert status == 1 and record["state"] == "not_ready" and record["questions"] == []
    assert quiet.stats.tool_calls["run_call"] == 0


def test_a_concurrency_below_one_is_bad_usage(tmp_path, cli_env, capsys):
    status, out = run(["batch", write(tmp_path, READY), "--dry-run", "--concurrency", "0"], capsys)
    assert status == 2 and out.err == "calle-tui batch: --concurrency must be 1 or more.\n"


def test_an_empty_url_is_an_error_not_production(tmp_path, capsys):
    from calle_tui.commands.batch import run_batch
    from calle_tui.commands.cli import build_parser

    batch = tmp_path / "calls.jsonl"
    batch.write_text('{"to_phones": ["+14155550123"], "user_input": "Ask about opening hours."}\n')
    args = build_parser().parse_args(["batch", str(batch), "--dry-run", "--url", ""])
    assert run_batch(args) == 2
    assert "url" in capsys.readouterr().err.lower()
