"""`calle-tui login / status / logout` against the sandbox over real HTTP, with the app's own stores."""

from __future__ import annotations

import io
import json

import pytest

from calle_tui.commands.account import run_account
from calle_tui.commands.cli import build_parser
from calle_tui.core.auth.broker import BrokerClient
from calle_tui.core.auth.secret_store import MemoryStore


@pytest.fixture(autouse=True)
def private_state(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLE_TUI_STATE_PATH", str(tmp_path / "state"))
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(tmp_path / "absent.toml"))


def run(*argv, store):
    out, err = io.StringIO(), io.StringIO()
    code = run_account(build_parser().parse_args(list(argv)), out=out, err=err, store=store)
    return code, out.getvalue(), err.getvalue()


def test_login_by_the_broker_then_status_then_logout(sandbox):
    store = MemoryStore()
    code, out, err = run("login", "--url", sandbox.mcp_url, "--json", store=store)
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] and report["method"] == "broker" and report["usable"] and report["storage"] == "memory"
    assert "/openagent-auth/sessions/" in err  # the link was printed for the person
    secrets = json.loads(store.get("oauth:" + sandbox.mcp_url))
    assert set(secrets) <= {"v", "access_token", "refresh_token", "client_secret"}  # the store holds secrets only
    token = secrets["access_token"]

    code, out, _ = run("login", "--url", sandbox.mcp_url, store=store)
    assert code == 0 and out.startswith("Already signed in")
    assert len(sandbox.store.all("SELECT session_id FROM broker_sessions")) == 1  # no second link made
    code, out, _ = run("login", "--url", sandbox.mcp_url, "--force", store=store)
    assert code == 0 and len(sandbox.store.all("SELECT session_id FROM broker_sessions")) == 2
    token = json.loads(store.get("oauth:" + sandbox.mcp_url))["access_token"]

    code, out, _ = run("status", "--url", sandbox.mcp_url, "--json", store=store)
    status = json.loads(out)
    assert code == 0 and status["signed_in"] and status["usable"] and token not in out
    code, out, _ = run("status", "--url", sandbox.mcp_url, store=store)
    assert out.startswith("Signed in to") and token not in out

    code, out, _ = run("logout", "--url", sandbox.mcp_url, store=store)
    assert code == 0 and "Signed out" in out
    code, out, _ = run("status", "--url", sandbox.mcp_url, store=store)
    assert code == 1 and out.startswith("Not signed in")


def test_login_without_a_broker_uses_the_browser_flow(sandbox, monkeypatch):
    async def not_offered(self):
        return False

    monkeypatch.setattr(BrokerClient, "offered", not_offered)
    store = MemoryStore()
    code, out, err = run("login", "--url", sandbox.mcp_url, "--login", "auto-follow", "--json", store=store)
    assert code == 0, err
    assert json.loads(out)["method"] == "oauth" and sandbox.stats.token_grants.get("authorization_code") == 1


class DenyOnLink(io.StringIO):
    """stderr that denies the sign-in on the approval page as soon as the command prints the link."""

    def write(self, text):
        if "/openagent-auth/sessions/" in text:
            import httpx2

            httpx2.post(text.strip(), data={"decision": "deny"}, timeout=10)
        return super().write(text)


def test_a_denied_brokered_login_is_one_sentence_and_exit_1(sandbox_factory):
    box = sandbox_factory(auto_approve=False)
    err = DenyOnLink()
    args = build_parser().parse_args(["login", "--url", box.mcp_url])
    code = run_account(args, out=io.StringIO(), err=err, store=MemoryStore())
    assert code == 1 and "not approved" in err.getvalue() and "Traceback" not in err.getvalue()
