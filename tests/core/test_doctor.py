"""calle-tui doctor: the safe smoke test. Never run_call; a clear verdict and exit status; nothing secret."""

import argparse

from calle_fakes import serve

from calle_tui.commands.doctor import diagnose, render, run_doctor
from calle_tui.core.config.settings import Settings


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
        args = argparse.Namespace(url=server.url, login="auto-follow", json=True)
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
    args = argparse.Namespace(url=f"http://127.0.0.1:{port}/mcp", login="auto-follow", json=False)
    from calle_tui.commands import doctor

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


# --- --try-tool: any MCP server, one named tool, never one that may place a call ---------------------------


def test_names_that_may_place_a_call_are_recognised_and_others_are_not():
    from calle_tui.core.wire.contract import places_calls

    for name in ["run_call", "RunCall", "place_call", "start-call", "makePhoneCall", "dial", "dial_number",
                 "schedule_call", "create_outbound_call", "trigger-a-call", "send_call", "placeVoiceCall"]:  # fmt: skip
        assert places_calls(name), name
    for name in ["plan_call", "get_call_run", "test-tool", "lookup_status", "list_calls", "dialog_open",
                 "dialect_info", "get_phone_number", "echo", "cancel_call"]:  # fmt: skip
        assert not places_calls(name), name


async def test_try_tool_on_any_server_shows_a_tool_call_passing_a_scope_step_up(tmp_path, secret_store):
    from interop_servers import ThirdPartyCalle

    seen: list[str] = []

    def test_tool() -> str:
        seen.append("called")
        return "It works: hello from the tool."

    with ThirdPartyCalle(
        {"test-tool": (test_tool, None)}, required_scopes=["calls.plan"], step_up={"test-tool": ["calls.run"]}
    ) as server:
        report = await diagnose(
            Settings(url=server.url, state_path=tmp_path), login="auto-follow", secret_store=secret_store,
            try_tool="test-tool",
        )  # fmt: skip
        asked = server.auth.asked_scopes
        refused = server.guard.refused if server.guard else None
    assert report.ok, render(report)
    assert [s.name for s in report.steps] == ["connect", "sign in", "list tools", "call test-tool"]
    assert "It works: hello from the tool." in report.steps[-1].detail
    # The first call was refused for want of scope; one re-authorisation with the union; the retry ran once.
    assert asked == [["calls.plan"], ["calls.plan", "calls.run"]] and refused == ["test-tool"]
    assert seen == ["called"]


async def test_try_tool_on_a_calle_server_calls_only_its_safe_tools(fake_calle, tmp_path, secret_store):
    fake, url = fake_calle
    settings = Settings(url=url, state_path=tmp_path)
    ok = await diagnose(settings, login="auto-follow", secret_store=secret_store, try_tool="get_call_run")
    assert [s.name for s in ok.steps][-2:] == ["list tools", "call get_call_run"], render(ok)
    assert ok.ok, render(ok)  # no run_id given: the tool's own error still proves the call got through

    unknown = await diagnose(settings, login="auto-follow", secret_store=secret_store, try_tool="lookup_status")
    assert not unknown.ok and "does not offer lookup_status" in unknown.steps[-1].detail

    refused = await diagnose(settings, login="auto-follow", secret_store=secret_store, try_tool="run_call")
    assert not refused.ok and [s.name for s in refused.steps] == ["call run_call"]
    assert "may place a real phone call" in refused.steps[0].detail
    assert fake.calls.get("run_call", 0) == 0 and fake.calls.get("plan_call", 0) == 0


async def test_try_tool_refuses_an_unknown_tool_on_a_server_that_places_calls(tmp_path, secret_store):
    from interop_servers import ThirdPartyCalle

    touched: list[str] = []

    def plan_call(user_input: str) -> dict:
        return {"plan_id": "p", "ready_to_run": False}

    def run_call(plan_id: str, confirm_token: str) -> dict:
        touched.append("run_call")
        return {"run_id": "r", "status": "queued"}

    def get_call_run(run_id: str) -> dict:
        return {"run_id": run_id, "status": "queued"}

    def redial_everyone() -> str:  # an innocent-looking name on a server that places calls
        touched.append("redial_everyone")
        return "done"

    tools = {"plan_call": (plan_call, None), "run_call": (run_call, None), "get_call_run": (get_call_run, None),
             "ring_back": (redial_everyone, None)}  # fmt: skip
    with ThirdPartyCalle(tools) as server:
        report = await diagnose(
            Settings(url=server.url, state_path=tmp_path), login="auto-follow", secret_store=secret_store,
            try_tool="ring_back",
        )  # fmt: skip
    assert not report.ok and report.steps[-1].name == "list tools"
    assert "only tries plan_call or get_call_run" in report.steps[-1].detail
    assert touched == []


def test_try_tool_that_may_place_a_call_exits_2_before_contacting_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    from calle_tui.commands import doctor

    def never(*args, **kwargs):
        raise AssertionError("the doctor contacted a server")

    monkeypatch.setattr(doctor, "diagnose", never)
    monkeypatch.setattr(doctor, "load_settings", never)
    for name, words in [("run_call", "may place a real phone call"), ("place_call", "may place a real phone call"),
                        ("  ", "Name the tool to try")]:  # fmt: skip
        args = argparse.Namespace(url="http://127.0.0.1:9/mcp", login="auto-follow", json=False, try_tool=name)
        assert run_doctor(args) == 2
        err = capsys.readouterr().err
        assert "calle-tui doctor: " in err and words in err and "Traceback" not in err


def test_the_broker_url_reaches_the_doctors_settings(monkeypatch, capsys):
    # Given after `doctor` or before it, as `calle-tui` and `login` take it (commands/overrides.py).
    from calle_tui.commands import doctor
    from calle_tui.commands.cli import build_parser

    seen: list[str | None] = []

    async def diagnose(settings, **kwargs):
        seen.append(settings.broker_url)
        return doctor.Report(settings.url, [doctor.Step("connect", True, 0.0, "")])

    monkeypatch.setattr(doctor, "diagnose", diagnose)
    broker, url = "https://broker.example.com/", "https://calle.example.com/mcp"
    for argv in (["doctor", "--url", url, "--broker-url", broker], ["--broker-url", broker, "doctor", "--url", url]):
        assert run_doctor(build_parser().parse_args(argv)) == 0
    assert seen == [broker, broker]
    assert "Traceback" not in capsys.readouterr().err
