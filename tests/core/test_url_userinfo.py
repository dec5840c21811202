"""A URL's user name and password (`--url http://user:pass@host/mcp`) never reach the terminal or the log: the
log's redaction hides the userinfo of any http(s) URL, and every URL shown to people goes through one helper,
secrets.shown_url. A canary password is looked for everywhere."""

from __future__ import annotations

import argparse
import io
import json

import pytest

from calle_tui.commands.account import run_account
from calle_tui.commands.cli import build_parser
from calle_tui.commands.doctor import run_doctor
from calle_tui.core.auth.secret_store import MemoryStore
from calle_tui.core.config.endpoint import EndpointError, validate_url
from calle_tui.core.store.logs import redact
from calle_tui.core.support.secrets import MASK, mask_known_secrets, shown_url

CANARY = "pw-canary-5Vq8Zr"


def with_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://someone:{CANARY}@{rest}"


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("CALLE_TUI_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return tmp_path / "state" / "calle-tui" / "logs" / "calle-tui.log"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"http://someone:{CANARY}@host/mcp", f"http://someone:{MASK}@host/mcp"),
        (
            f"POST https://someone:{CANARY}@127.0.0.1:8443/mcp?x=1 200",
            f"POST https://someone:{MASK}@127.0.0.1:8443/mcp?x=1 200",
        ),
        (f"https://{CANARY}@host/mcp", f"https://{MASK}@host/mcp"),  # a token given as the user name
        (f"HTTP://someone:{CANARY}@[::1]:8080/", f"HTTP://someone:{MASK}@[::1]:8080/"),
        (f"http://someone:p@{CANARY}@host/", f"http://someone:{MASK}@host/"),  # an unencoded @ in the password
        (f"url='http://someone:{CANARY}@h/mcp' again", f"url='http://someone:{MASK}@h/mcp' again"),
        ('{"url":"http://h/mcp","mail":"a@b.example"}', '{"url":"http://h/mcp","mail":"a@b.example"}'),
        ("http://host/mcp?who=a@b and me@example.com", "http://host/mcp?who=a@b and me@example.com"),
        (f"http://someone:{MASK}@host/", f"http://someone:{MASK}@host/"),  # twice is once
    ],
)
def test_the_userinfo_of_any_http_url_is_hidden_in_the_log_and_on_screen(text, expected):
    assert redact(text) == expected
    assert mask_known_secrets(text) == expected
    assert shown_url(text) == expected


def test_a_refused_address_is_named_without_its_password():
    with pytest.raises(EndpointError) as caught:
        validate_url(f"http://someone:{CANARY}@host:99999/mcp")
    assert CANARY not in str(caught.value) and f"someone:{MASK}@host:99999" in str(caught.value)


def test_doctor_shows_and_logs_the_url_without_its_password(fake_calle, cli_env, capsys):
    _fake, url = fake_calle
    secret_url = with_password(url)
    for as_json in (False, True):
        status = run_doctor(argparse.Namespace(url=secret_url, login="auto-follow", json=as_json))
        out = capsys.readouterr()
        assert status == 0, out
        assert CANARY not in out.out + out.err
        shown = with_password(url).replace(CANARY, MASK)
        assert (json.loads(out.out)["url"] if as_json else out.out.splitlines()[0]) in (
            shown,
            f"calle-tui doctor: {shown}",
        )
        assert f"Reached {shown}." in out.out
    log = cli_env.read_text()
    assert CANARY not in log and f"someone:{MASK}@127.0.0.1" in log  # the URL is logged, its password is not


def test_status_login_and_logout_name_the_server_without_its_password(fake_calle, cli_env):
    _fake, url = fake_calle
    secret_url = with_password(url)
    store = MemoryStore()
    said = []
    for argv in (
        ["status", "--url", secret_url],
        ["status", "--url", secret_url, "--json"],
        ["login", "--url", secret_url, "--login", "auto-follow"],
        ["login", "--url", secret_url, "--login", "auto-follow", "--json"],
        ["logout", "--url", secret_url],
        ["logout", "--url", secret_url, "--json"],
    ):
        out, err = io.StringIO(), io.StringIO()
        run_account(build_parser().parse_args(argv), out=out, err=err, store=store)
        said.append(out.getvalue() + err.getvalue())
    assert all(CANARY not in text for text in said), said
    assert said[0].startswith(f"Not signed in to {secret_url.replace(CANARY, MASK)}.")
    assert json.loads(said[1])["server_url"] == secret_url.replace(CANARY, MASK)
    assert said[2].startswith(f"Already signed in to {secret_url.replace(CANARY, MASK)}.")  # the fake asks no sign-in
    assert said[4] == f"Signed out of {secret_url.replace(CANARY, MASK)}.\n"
    assert CANARY not in cli_env.read_text()
