"""The app freezes its long-lived objects out of the garbage collector's full passes (core/support/heap.py) once
started and once first connected, never again on a reconnection; apps built by tests do not (one process
runs hundreds of them, and frozen objects are never collected)."""

from __future__ import annotations

import subprocess
import sys

from fake_worker import TOOL_NAMES, FakeWorker
from fakes_shell import make_shell_app, until

from calle_tui.core.events import ToolsListed
from calle_tui.core.support import heap


async def test_the_app_settles_its_heap_when_started_and_when_first_connected_only(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(heap, "settle", lambda: calls.append("settle"))
    worker = FakeWorker(signed_in=True)
    app = make_shell_app(worker, tmp_path)
    app.settles_heap = True  # as calle_tui/ui/launch.py sets it
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: worker.started.is_set() and app.shell_status.connection == "connected")
        await until(pilot, lambda: len(calls) == 2)
        worker.emit(ToolsListed(tool_names=TOOL_NAMES, plan_call_schema={}))  # connected again later
        await pilot.pause()
        assert calls == ["settle", "settle"]


async def test_an_app_built_without_the_command_line_does_not_settle(tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(heap, "settle", lambda: calls.append("settle"))
    worker = FakeWorker(signed_in=True)
    app = make_shell_app(worker, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: worker.started.is_set() and app.shell_status.connection == "connected")
        await pilot.pause()
    assert calls == []


def test_settle_freezes_what_is_alive_and_later_objects_are_still_collected():
    # In a child process: freezing this test process's objects would keep them for the rest of the run.
    code = """
import gc, weakref
from calle_tui.core.support.heap import settle
import calle_tui.core.worker  # a module's worth of long-lived objects
settle()
frozen = gc.get_freeze_count()
class Node: pass
a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after the freeze: only the collector frees it
gone = weakref.ref(a)
del a, b
gc.collect()
print(frozen > 10000, gone() is None)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True"], out.stderr
