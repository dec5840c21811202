"""A server that answers 401 to everything and publishes no OAuth metadata (no protected resource metadata,
no authorization server metadata, no /register): over real HTTP, signing in ends at once with "this server
does not offer sign-in that calle-tui understands" - no browser step, no pasted address asked for - in the
worker (the sign-in screen shows its message) and in the doctor."""

from __future__ import annotations

import pytest
from calle_fakes import ServerThread

from calle_tui.commands.doctor import diagnose
from calle_tui.core.config.settings import Settings
from calle_tui.core.events import SignInNeeded, SignInProgress, ToolsListed
from calle_tui.core.worker_api import WorkerError

SENTENCE = "This server does not offer sign-in that calle-tui understands."


class Refuses:
    """401 with a bare Bearer challenge for every request, whatever the path or method."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.paths.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"www-authenticate", b'Bearer realm="x"'), (b"content-type", b"text/plain")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"Unauthorized"})


@pytest.fixture
def refusing_server():
    app = Refuses()
    with ServerThread(app) as server:
        yield server, app


@pytest.mark.parametrize(
    ("flow", "client_id"),
    [("auto-follow", None), ("paste", None), ("paste", "pre-registered")],
    ids=["auto-follow", "paste", "pre-registered-client"],
)
async def test_sign_in_says_the_server_offers_no_usable_sign_in(make_worker, refusing_server, flow, client_id):
    server, app = refusing_server
    worker, log = make_worker(server.url, login_flow=flow, client_id=client_id)
    await worker.start()
    first = await log.wait_for(lambda e: isinstance(e, ToolsListed | SignInNeeded))
    assert isinstance(first, SignInNeeded)
    assert not await worker.broker_offered()  # the sign-in screen offers no one-link sign-in either

    with pytest.raises(WorkerError) as info:
        await worker.sign_in(flow)

    assert info.value.message == SENTENCE
    assert "Sign in again" not in info.value.action and "URL" in info.value.action
    # No step that would have the person open a page or paste an address.
    assert "waiting_for_browser" not in [e.step for e in log.of(SignInProgress)]
    # At most one look at the guessed sign-in page (a pre-registered client has no /register to ask).
    assert len([p for p in app.paths if "/authorize" in p]) <= (1 if client_id else 0)


async def test_doctor_reports_the_sentence_at_the_sign_in_step(refusing_server, tmp_path):
    server, _app = refusing_server
    from calle_tui.core.auth.secret_store import MemoryStore

    settings = Settings(url=server.url, state_path=tmp_path / "state", login="auto-follow")
    report = await diagnose(settings, login="auto-follow", secret_store=MemoryStore(), connect_timeout=20)

    assert [(s.name, s.ok) for s in report.steps] == [("connect", True), ("sign in", False)]
    assert report.steps[1].detail == SENTENCE


def test_login_cli_says_so_in_one_sentence(refusing_server, tmp_path, monkeypatch):
    import io
    import json

    from calle_tui.commands.account import run_account
    from calle_tui.commands.cli import build_parser
    from calle_tui.core.auth.secret_store import MemoryStore

    monkeypatch.setenv("CALLE_TUI_STATE_PATH", str(tmp_path / "state"))
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(tmp_path / "absent.toml"))
    server, _app = refusing_server
    out, err = io.StringIO(), io.StringIO()
    argv = ["login", "--url", server.url, "--login", "auto-follow", "--json"]
    code = run_account(build_parser().parse_args(argv), out=out, err=err, store=MemoryStore())

    report = json.loads(out.getvalue())
    assert code == 1 and report["method"] == "oauth" and report["message"] == SENTENCE
    assert "Traceback" not in err.getvalue()
