"""calle-tui doctor: the safe smoke test. Never run_call; a clear verdict and exit status; nothing secret."""

import argparse

from calle_fakes import serve

from calle_tui.core.doctor import diagnose, render, run_doctor
from calle_tui.core.settings import Settings


async def test_doctor_passes_against_a_calle_server_without_running_a_call(fake_calle, tmp_path, secret_store):
    fake, url = fake_calle
    report = await diagnose(Settings(url=url, state_path=tmp_path), login="auto-follow", secret_store=secret_store)
    assert report.ok, render(report)
    assert [s.name for s in report.steps] == ["connect", "sign in", "list tools", "plan_call (safe)"]
    assert "Not ready, as expected" in report.steps[-1].detail and "fake-calle" in report.steps[2].detail
    assert fake.calls.get("run_call", 0) == 0 and fake.calls["plan_call"] == 1
    assert "run_call was not used" in render(report)


async def test_doctor_passes_when_production_asks_nothing_and_names_the_server(fake_calle, tmp_path, secret_store):
    # Production may answer an incomplete plan with ready_to_run=false and no questions at all.
    fake, url = fake_calle
    fake.plan_result = {"plan_id": "p", "ready_to_run": False, "confirm_token": None, "clarifying_questions": [],
                        "next_step": "Ask the user for the missing details."}  # fmt: skip
    report = await diagnose(Settings(url=url, state_path=tmp_path), login="auto-follow", secret_store=secret_store)
    assert report.ok, render(report)
    assert "Ask the user for the missing details" in report.steps[-1].detail
    assert report.steps[2].detail.startswith("fake-calle")
    assert fake.calls.get("run_call", 0) == 0


async def test_doctor_fails_when_incomplete_input_is_called_ready(fake_calle, tmp_path, secret_store):
    fake, url = fake_calle
    fake.plan_result = {"plan_id": "p", "ready_to_run": True, "confirm_token": "t"}
    report = await diagnose(Settings(url=url, state_path=tmp_path), login="auto-follow", secret_store=secret_store)
    assert not report.ok and not report.steps[-1].ok
    assert fake.calls.get("run_call", 0) == 0


def test_doctor_exit_status_and_json_for_a_server_that_is_not_calle(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

    def echo(text: str) -> str:
        return text

    with serve({"echo": echo}) as server:
        args = argparse.Namespace(doctor_url=server.url, doctor_login="auto-follow", json=True, url=None)
        status = run_doctor(args)
    out = capsys.readouterr()
    assert status == 1
    assert '"ok": false' in out.out and "not a CALL-E endpoint" in out.out
    assert "Traceback" not in out.out + out.err


def test_doctor_unreachable_server_is_a_sentence(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    args = argparse.Namespace(doctor_url=f"http://127.0.0.1:{port}/mcp", doctor_login="auto-follow", json=False, url=None)
    from calle_tui.core import doctor

    monkeypatch.setattr(doctor, "diagnose", _fast(doctor.diagnose))
    status = run_doctor(args)
    out = capsys.readouterr()
    assert status == 1
    assert "[FAIL] connect" in out.out and "Traceback" not in out.out + out.err


def _fast(diagnose_fn):
    async def wrapper(*args, **kwargs):
        kwargs["connect_timeout"] = 5.0
        return await diagnose_fn(*args, **kwargs)

    return wrapper


async def test_doctor_signs_in_against_the_sandbox_and_never_runs_a_call(sandbox, tmp_path, secret_store):
    report = await diagnose(
        Settings(url=sandbox.mcp_url, state_path=tmp_path), login="auto-follow", secret_store=secret_store
    )
    assert report.ok, render(report)
    assert report.steps[1].detail == "Signed in." and sandbox.stats.authorize_requests == 1
    assert sandbox.stats.run_call_sent == 0 and sandbox.stats.tool_calls["plan_call"] == 1
    text = render(report) + report.to_json()
    assert "access_token" not in text and "Bearer" not in text
