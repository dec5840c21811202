"""Sign-in against a server that does not let apps register themselves (no dynamic client registration)."""

from typing import Any

import pytest
from interop_servers import ThirdPartyCalle

from calle_tui.core.config.settings import config_file
from calle_tui.core.worker_api import WorkerError


def plan_call(user_input: str) -> dict[str, Any]:
    return {"plan_id": "p1", "ready_to_run": False, "message": "ok"}


def run_call(plan_id: str, confirm_token: str) -> dict[str, Any]:
    return {"run_id": "r1", "status": "queued"}


def get_call_run(run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "status": "queued"}


TOOLS = {"plan_call": (plan_call, True), "run_call": (run_call, True), "get_call_run": (get_call_run, True)}


async def test_registration_off_without_client_id_says_to_configure_one(make_worker, tmp_path, monkeypatch):
    config = tmp_path / "conf" / "calle.toml"
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(config))
    with ThirdPartyCalle(TOOLS, registration=False) as server:
        worker, _log = make_worker(server.url)
        await worker.start()
        with pytest.raises(WorkerError) as exc:
            await worker.sign_in("auto-follow")
    error = exc.value
    assert "register" in error.message
    assert "Sign in again" not in error.action
    assert "client_id" in error.action and "client_secret" in error.action
    assert "CALLE_TUI_CLIENT_ID" in error.action
    assert str(config_file()) in error.action and str(config) in error.action
    assert not server.auth.clients  # nothing registered behind our back


async def test_an_unknown_preregistered_client_says_to_check_the_settings(make_worker, tmp_path, monkeypatch):
    config = tmp_path / "conf" / "calle.toml"
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(config))
    with ThirdPartyCalle(TOOLS, registration=False) as server:
        worker, _log = make_worker(server.url, client_id="nobody-registered-this")
        await worker.start()
        with pytest.raises(WorkerError) as exc:
            await worker.sign_in("auto-follow")
    assert "registration" in exc.value.message
    assert "Sign in again" not in exc.value.action
    assert "client_id" in exc.value.action and str(config) in exc.value.action
    assert "nobody-registered-this" not in exc.value.message + exc.value.action
