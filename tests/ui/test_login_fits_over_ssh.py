"""At 80x24 over SSH the `ssh -L` command and the whole sign-in link are on screen without scrolling, and
the link is one unbroken piece of text (what `c` copies and what the OSC 8 link points at)."""

from __future__ import annotations

import os

import fake_worker
import pytest
from fake_worker import FakeWorker
from fakes_shell import make_shell_app, until
from textual.widgets import Static
from toasts import toast_texts

# As long as the sandbox's own (resource, PKCE and a 43-character state): about 330 characters.
LONG_URL = (
    "http://127.0.0.1:40963/authorize?response_type=code&client_id=792979aa-1e17-4fbd-8c0a-572ea053f60a"
    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A53121%2Fcallback&state=-5QhdswFeXRduRRtzzAR7RxhcNm7p_YDNkdeXDrRj6s"
    "&code_challenge=cW3mH_NnaWqlLkwSz_6LxqyMdfmZz3eCe0fXrmDsU0E&code_challenge_method=S256"
    "&resource=http%3A%2F%2F127.0.0.1%3A40963%2Fmcp"
)
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def ssh_long_link(monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "1.2.3.4 1 5.6.7.8 22")
    monkeypatch.setattr(fake_worker, "AUTHORIZE_URL", LONG_URL)


def fully_visible(screen, widget) -> bool:
    body = screen.query_one("#login-body")
    return widget.display and body.max_scroll_y == 0 and body.content_region.contains_region(widget.region)


@pytest.mark.parametrize("size", SIZES)
async def test_ssh_command_and_whole_link_are_visible_without_scrolling(tmp_path, monkeypatch, size):
    ssh_long_link(monkeypatch)
    worker = FakeWorker(
        signed_in=False,
        storage="memory",
        storage_notice="No secure keyring is available: you will need to sign in again next time.",
    )
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: worker.started.is_set() and app.screen.heard_back)
        await pilot.press("s")
        await until(pilot, lambda: app.screen.authorize_url is not None)
        await pilot.pause()
        screen = app.screen
        ssh = screen.query_one("#login-ssh", Static)
        link = screen.query_one("#login-link", Static)
        assert "ssh -L 53121:127.0.0.1:53121" in str(ssh.render())
        assert fully_visible(screen, ssh), (ssh.region, screen.query_one("#login-body").max_scroll_y)
        assert fully_visible(screen, link), link.region
        assert screen.query_one("#paste-input").region.height == 1  # the paste field is still there
        assert LONG_URL in str(link.render()).replace("\n", "") and LONG_URL in str(link.render()).split("\n")[-1]
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard == LONG_URL)  # copied whole, no line breaks
        await app.close_worker()


@pytest.mark.parametrize("size", SIZES)
def test_login_over_ssh_with_a_long_link(snap_compare, tmp_path, monkeypatch, size):
    ssh_long_link(monkeypatch)
    worker = FakeWorker(signed_in=False, storage="memory", storage_notice="No secure keyring was found.")

    async def run_before(pilot) -> None:
        await until(pilot, lambda: worker.started.is_set() and pilot.app.screen.heard_back)
        await pilot.press("s")
        await until(pilot, lambda: pilot.app.screen.authorize_url is not None)
        pilot.app.clear_notifications()

    assert snap_compare(make_shell_app(worker, tmp_path), terminal_size=size, run_before=run_before)


def fake_tmux(tmp_path, monkeypatch, clipboard_setting: str) -> None:
    """A `tmux` first on PATH that answers `show-options -gv set-clipboard` as a tmux so set up would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tmux = bin_dir / "tmux"
    tmux.write_text(f'#!/bin/sh\n[ "$*" = "show-options -gv set-clipboard" ] && echo {clipboard_setting}\n')
    tmux.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.parametrize(
    ("setting", "title", "said"),
    [
        ("external", "Not copied", "tmux set -g set-clipboard on"),  # tmux's default drops OSC 52
        ("on", "Sent to the clipboard", "through tmux"),
    ],
)
async def test_copy_under_tmux_says_what_really_happened(tmp_path, monkeypatch, setting, title, said):
    monkeypatch.setenv("TMUX", "/tmp/tmux-1000/default,1,0")
    fake_tmux(tmp_path, monkeypatch, setting)
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: worker.started.is_set() and app.screen.heard_back)
        await pilot.press("s")
        await until(pilot, lambda: app.screen.authorize_url is not None)
        app.clear_notifications()
        await until(pilot, lambda: not toast_texts(app))
        await pilot.press("c")
        await until(pilot, lambda: bool(toast_texts(app)))
        [note] = toast_texts(app)
        assert note.startswith(f"{title}\n") and said in note
        assert "link copied" not in note.lower()
        await app.close_worker()


async def test_copy_outside_tmux_never_claims_it_arrived(tmp_path, monkeypatch):
    monkeypatch.delenv("TMUX", raising=False)
    worker = FakeWorker(signed_in=False)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await until(pilot, lambda: worker.started.is_set() and app.screen.heard_back)
        await pilot.press("s")
        await until(pilot, lambda: app.screen.authorize_url is not None)
        app.clear_notifications()
        await until(pilot, lambda: not toast_texts(app))
        await pilot.press("c")
        await until(pilot, lambda: bool(toast_texts(app)))
        [note] = toast_texts(app)
        assert not note.startswith("Copied\n") and "if the terminal accepts OSC 52" in note
        assert app.clipboard == fake_worker.AUTHORIZE_URL
        await app.close_worker()
