"""Two calle-tui processes on one machine share one sign-in (issue 11): with refresh-token rotation and
reuse detection (the sandbox revokes the whole family when a spent refresh token comes back), both keep
working. Two real processes, one file-backed token store, one state folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from auth_helpers import list_tools
from calle_fakes import EventLog
from test_auth_sandbox import TOOLS

from calle_tui.core.auth.login_flows import AutoFollowLogin
from calle_tui.core.auth.provider import build_oauth_provider
from calle_tui.core.auth.secret_store import FileStore
from calle_tui.core.auth.token_storage import ServerTokenStorage

pytestmark = pytest.mark.slow  # two real processes


HERE = Path(__file__).parent
REQUESTS = 8  # per window; every one refreshes (the token outlives no request, see below)


async def test_two_windows_refreshing_at_once_stay_signed_in(sandbox, tmp_path):
    state = tmp_path / "state"
    storage = ServerTokenStorage(FileStore(state / "tokens.json"), sandbox.mcp_url, meta_dir=state / "auth")
    events = EventLog()
    login = AutoFollowLogin(events, timeout=20)
    await login.start()
    # A 1 s token is inside the provider's 30 s early-refresh margin: every session of either window
    # starts with a refresh, so the two race on the rotating refresh token all the time.
    sandbox.config.faults.token_lifetime = 1
    assert await list_tools(sandbox.mcp_url, build_oauth_provider(sandbox.mcp_url, storage, login, events)) == TOOLS
    before = sandbox.stats.snapshot()

    # auth_helpers beside it, calle_fakes one folder up (what pyproject's pythonpath gives the tests)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(HERE / "signin_window.py"), sandbox.mcp_url, str(state), str(REQUESTS)]
    windows = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]  # fmt: skip
    reports = []
    for window in windows:
        out, err = window.communicate(timeout=120)
        assert window.returncode == 0, err[-2000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))

    assert reports == [{"ok": REQUESTS, "failure": None}] * 2, reports
    after = sandbox.stats.snapshot()
    assert after["authorize_requests"] == before["authorize_requests"]  # nobody was sent to the browser
    refreshes = after["token_grants"].get("refresh_token", 0) - before["token_grants"].get("refresh_token", 0)
    assert refreshes >= REQUESTS  # they did refresh, and each refresh was accepted
    # The one sign-in both windows share is still good for a third.
    again = ServerTokenStorage(FileStore(state / "tokens.json"), sandbox.mcp_url, meta_dir=state / "auth")
    await again.load()
    provider = build_oauth_provider(sandbox.mcp_url, again, None, EventLog(), interactive=False)
    assert await list_tools(sandbox.mcp_url, provider) == TOOLS
