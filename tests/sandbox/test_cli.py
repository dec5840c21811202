"""`calle-tui sandbox` as a real process: --port 0 with --ready-file, a banner, logs without secrets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from calle_tui.sandbox.cli import redact
from calle_tui.sandbox.harness import MemoryTokenStorage, oauth_provider, sdk_client


def wait_for_file(path: Path, process: subprocess.Popen, deadline: float = 20.0) -> str:
    # An external process: poll for its ready file against a deadline.
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        assert process.poll() is None, "the sandbox exited early"
        time.sleep(0.05)
    raise AssertionError("the sandbox did not write its ready file")


async def test_sandbox_process_serves_and_never_logs_secrets(tmp_path):
    ready = tmp_path / "ready"
    command = [sys.executable, "-m", "calle_tui", "sandbox", "--port", "0", "--auto-approve",
               "--data", str(tmp_path / "data"), "--ready-file", str(ready), "--speed", "5"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "80"}
    )
    try:
        base = wait_for_file(ready, process)
        assert base.startswith("http://127.0.0.1:") and base.count("/") == 2
        storage = MemoryTokenStorage()
        async with sdk_client(base + "/mcp", oauth_provider(base + "/mcp", storage)) as client:
            plan = await client.call_tool("plan_call", {"user_input": "Call +44 20 7946 0000 in English to ask"})
            assert plan.structured_content["ready_to_run"]
            assert "clarifying_questions" in plan.structured_content  # the CLI's default dialect is calle
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert base + "/mcp" in out and "MCP Inspector" in out and "README.md" in out
    assert "Dialect        calle (production's reply shapes)" in out
    assert "POST /token 200" in err and "GET /authorize 302" in err
    for secret in (storage.tokens.access_token, storage.tokens.refresh_token, storage.client_info.client_secret):
        assert secret not in out and secret not in err
    assert "code=" not in err and "state=" not in err
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()  # a given --data folder is kept


def test_bad_flags_get_a_sentence_and_exit_2():
    result = subprocess.run(
        [sys.executable, "-m", "calle_tui", "sandbox", "--speed", "0"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "calle-tui sandbox: --speed must be more than 0 (got 0.0)."


def test_redaction_masks_secret_shapes():
    line = "GET /cb?code=code_abcdefghijklmnopqrstu&state=xyz Bearer at_abcdefghijklmnopqrstuvwx"
    masked = redact(line)
    assert "abcdefghijklmnopqrstu" not in masked and "xyz" not in masked


def test_sandbox_help_lists_every_flag_the_readme_lists():
    import re

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| `--port N`") :].split("\n\n", 1)[0]
    flags = set(re.findall(r"^\| `(--[a-z0-9-]+)", table, re.MULTILINE))
    assert {"--ready-file", "--auth-path", "--port"} <= flags
    shown = subprocess.run(
        [sys.executable, "-m", "calle_tui", "sandbox", "--help"], capture_output=True, text=True, timeout=30
    ).stdout
    assert sorted(flag for flag in flags if flag not in shown) == []
