"""The browser step: environment checks, the paste parser, the loopback listener, timeout and cancel."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import httpx2
import pytest
from calle_fakes import EventLog

from calle_tui.core.auth.errors import LoginCanceled, LoginDenied, LoginTimedOut
from calle_tui.core.auth.login_flows import (
    AutoFollowLogin,
    BrowserLogin,
    can_open_browser,
    make_login_flow,
    parse_pasted,
    ssh_forward_hint,
)
from calle_tui.core.events import SignInProgress
from calle_tui.core.worker_api import WorkerError

STATE = "state-Abc123-xyz789-state-value"
CODE = "code-SECRET-0123456789"
AUTHORIZE = "http://127.0.0.1:1/authorize?" + urlencode({"client_id": "c", "state": STATE, "code_challenge": "x"})


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({}, "linux", False),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22"}, "linux", False),
        ({"DISPLAY": ":0", "SSH_TTY": "/dev/pts/1"}, "linux", False),
        ({}, "darwin", True),
        ({"SSH_CONNECTION": "x"}, "darwin", False),
        ({}, "win32", True),
    ],
)
def test_can_open_browser(env, platform, expected):
    assert can_open_browser(env, platform=platform) is expected


def test_ssh_forward_hint():
    assert ssh_forward_hint(51234) == "ssh -L 51234:127.0.0.1:51234 <host>"


@pytest.mark.parametrize(
    ("pasted", "params", "bare"),
    [
        (f"http://127.0.0.1:8976/callback?code={CODE}&state={STATE}", {"code": CODE, "state": STATE}, False),
        (f"  '?code={CODE}&state={STATE}'\n", {"code": CODE, "state": STATE}, False),
        (f"code={CODE}&state={STATE}", {"code": CODE, "state": STATE}, False),
        (CODE, {"code": CODE}, True),
        (f"http://localhost/cb#code={CODE}&state={STATE}", {"code": CODE, "state": STATE}, False),
    ],
)
def test_parse_pasted(pasted, params, bare):
    assert parse_pasted(pasted) == (params, bare)


@pytest.mark.parametrize("pasted", ["", "   ", "two words", "ab"])
def test_parse_pasted_rejects_text_without_a_code(pasted):
    with pytest.raises(WorkerError) as info:
        parse_pasted(pasted)
    assert info.value.kind == "no_code"


async def _pending(listen: bool = False, timeout: float = 30) -> tuple[BrowserLogin, EventLog]:
    events = EventLog()
    login = BrowserLogin(events, timeout=timeout, open_browser=False, listen=listen, environ={})
    await login.start()
    await login.redirect_handler(AUTHORIZE)
    return login, events


async def test_paste_full_url_completes_and_emits_waiting():
    login, events = await _pending()
    [waiting] = events.of(SignInProgress)
    assert waiting.step == "waiting_for_browser" and waiting.flow == "paste" and waiting.authorize_url == AUTHORIZE
    assert not waiting.browser_opened
    login.submit(f"http://127.0.0.1:8976/callback?code={CODE}&state={STATE}")
    assert await login.callback_handler() == (CODE, STATE)
    await login.close()


async def test_paste_query_only_and_bare_code():
    login, _ = await _pending()
    login.submit(f"?code={CODE}&state={STATE}&iss=http%3A%2F%2Fas")
    result = await login.callback_result()
    assert (result.code, result.state, result.iss) == (CODE, STATE, "http://as")

    login, _ = await _pending()
    login.submit(CODE)
    assert await login.callback_handler() == (CODE, STATE)  # a bare code cannot carry a state: PKCE guards it


async def test_wrong_state_is_refused_and_the_login_stays_pending():
    login, _ = await _pending()
    with pytest.raises(WorkerError) as info:
        login.submit(f"http://127.0.0.1:8976/callback?code={CODE}&state=someone-elses-state")
    assert info.value.kind == "state_mismatch"
    assert CODE not in str(info.value) and CODE not in info.value.action
    assert login.pending
    with pytest.raises(WorkerError) as info:
        login.submit(f"http://127.0.0.1:8976/callback?code={CODE}")  # no state at all in a URL
    assert info.value.kind == "state_mismatch" and login.pending
    login.submit(f"http://127.0.0.1:8976/callback?code={CODE}&state={STATE}")
    assert await login.callback_handler() == (CODE, STATE)


async def test_access_denied_ends_the_login():
    login, _ = await _pending()
    with pytest.raises(WorkerError) as info:
        login.submit(f"http://127.0.0.1:8976/callback?error=access_denied&state={STATE}")
    assert info.value.kind == "denied"
    with pytest.raises(LoginDenied):
        await login.callback_handler()


async def test_url_without_code_and_submit_without_login():
    login, _ = await _pending()
    with pytest.raises(WorkerError) as info:
        login.submit(f"http://127.0.0.1:8976/callback?state={STATE}")
    assert info.value.kind == "no_code" and login.pending

    idle = BrowserLogin(EventLog(), listen=False, open_browser=False)
    await idle.start()
    with pytest.raises(WorkerError) as info:
        idle.submit(CODE)  # the browser step has not begun
    assert info.value.kind == "no_login"


async def test_loopback_listener_real_http():
    login, events = await _pending(listen=True)
    assert login.flow_name == "loopback"
    assert login.redirect_uri == f"http://127.0.0.1:{login.port}/callback"
    assert events.of(SignInProgress)[0].callback_port == login.port
    async with httpx2.AsyncClient() as http:
        other = await http.get(f"http://127.0.0.1:{login.port}/favicon.ico")
        assert other.status_code == 404
        wrong = await http.get(login.redirect_uri, params={"code": CODE, "state": "not-the-state"})
        assert wrong.status_code == 400 and CODE not in wrong.text
        assert login.pending
        good = await http.get(login.redirect_uri, params={"code": CODE, "state": STATE})
        assert good.status_code == 200 and "signed in" in good.text
        assert CODE not in good.text
        assert await login.callback_handler() == (CODE, STATE)
        with pytest.raises(httpx2.ConnectError):  # closed after the first valid callback
            await http.get(login.redirect_uri, params={"code": CODE, "state": STATE})
    await login.close()


async def test_loopback_denied_page():
    login, _ = await _pending(listen=True)
    async with httpx2.AsyncClient() as http:
        page = await http.get(login.redirect_uri, params={"error": "access_denied", "state": STATE})
    assert page.status_code == 200 and "not approved" in page.text
    with pytest.raises(LoginDenied):
        await login.callback_handler()
    await login.close()


async def test_login_times_out():
    login, _ = await _pending(listen=True, timeout=0.2)
    with pytest.raises(LoginTimedOut):
        await login.callback_handler()
    with pytest.raises(OSError):  # the listener is closed
        await asyncio.open_connection("127.0.0.1", login.port)
    await login.close()


async def test_cancel_wakes_the_waiting_callback():
    login, _ = await _pending(listen=True)
    waiter = asyncio.create_task(login.callback_handler())
    await asyncio.sleep(0)  # let it start waiting (an ordering yield, not a timing wait)
    login.cancel()
    with pytest.raises(LoginCanceled):
        await waiter
    with pytest.raises(WorkerError) as info:
        login.submit(f"?code={CODE}&state={STATE}")
    assert info.value.kind == "no_login"
    await login.close()


async def test_cancel_before_the_browser_step():
    login = BrowserLogin(EventLog(), listen=True, open_browser=False)
    await login.start()
    login.cancel()
    with pytest.raises(LoginCanceled):
        await login.redirect_handler(AUTHORIZE)
    await login.close()


async def test_make_login_flow():
    emit = EventLog()
    assert isinstance(make_login_flow("auto-follow", emit, timeout=5), AutoFollowLogin)
    paste = make_login_flow("paste", emit, timeout=5)
    assert isinstance(paste, BrowserLogin) and not paste.listen and paste.flow_name == "paste"
    for name in ("auto", "loopback"):
        flow = make_login_flow(name, emit, timeout=5)
        assert isinstance(flow, BrowserLogin) and flow.listen and flow.timeout == 5
    with pytest.raises(ValueError):
        make_login_flow("telepathy", emit, timeout=5)  # type: ignore[arg-type]


async def test_auto_follow_refuses_pastes():
    login = AutoFollowLogin(EventLog())
    with pytest.raises(WorkerError) as info:
        login.submit(CODE)
    assert info.value.kind == "no_login"


def recording_browser(monkeypatch, kind: type) -> list[str]:
    """The system's default browser is of `kind` (a webbrowser controller class); the addresses it was
    asked to open are listed, and nothing is started."""
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(kind, "open", lambda self, url, new=0, autoraise=True: opened.append(url) or True)
    monkeypatch.setattr(webbrowser, "get", lambda using=None: kind("browser"))
    return opened


async def test_console_browsers_are_never_started(monkeypatch):
    import webbrowser

    opened = recording_browser(monkeypatch, webbrowser.GenericBrowser)  # lynx, w3m: would take the terminal
    console = BrowserLogin(EventLog(), listen=False, open_browser=True)
    await console.redirect_handler(AUTHORIZE)
    assert opened == [] and not console.browser_opened

    opened = recording_browser(monkeypatch, webbrowser.BackgroundBrowser)  # firefox
    gui = BrowserLogin(EventLog(), listen=False, open_browser=True)
    await gui.redirect_handler(AUTHORIZE)
    assert opened == [AUTHORIZE] and gui.browser_opened


async def test_the_browser_is_opened_only_where_one_is_local(monkeypatch):
    import webbrowser

    opened = recording_browser(monkeypatch, webbrowser.BackgroundBrowser)
    events = EventLog()
    over_ssh = BrowserLogin(events, listen=True, environ={"DISPLAY": ":0", "SSH_CONNECTION": "a b c d"})
    await over_ssh.start()
    await over_ssh.redirect_handler(AUTHORIZE)
    assert opened == []
    [waiting] = events.of(SignInProgress)
    assert not waiting.browser_opened and ssh_forward_hint(over_ssh.port) in waiting.message
    await over_ssh.close()

    local = BrowserLogin(EventLog(), listen=True, environ={"DISPLAY": ":0"})
    await local.start()
    await local.redirect_handler(AUTHORIZE)
    assert opened == [AUTHORIZE] and local.browser_opened
    await local.close()


@pytest.mark.parametrize(
    "pasted",
    ["http://127.0.0.1:8976/callback", "http://127.0.0.1:8976/callback?", "https://calle.example/home?tab=1"],
)
async def test_an_address_with_neither_code_nor_state_says_so(pasted):
    login, _ = await _pending()
    with pytest.raises(WorkerError) as info:
        login.submit(pasted)
    assert info.value.kind == "no_code"
    assert "no sign-in code" in info.value.message
    assert "different sign-in attempt" not in info.value.message
    assert login.pending  # the right address can still be pasted
