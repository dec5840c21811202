"""A batch's result files against the sandbox over HTTP: one record per input line, every status seen,
written as the calls progress (0600), never a confirm_token, and picked up again after a restart in the
middle of the batch."""

from __future__ import annotations

import asyncio
import itertools
import json
import stat

import pytest
from calle_fakes import drive
from test_batch_send import PHONES, planned, signed_in

from calle_tui.core.batch.results import BatchResults, ResultLine
from calle_tui.core.batch.send import BatchSender
from calle_tui.core.events import RunFinished


@pytest.fixture
def line_of_one(sandbox_factory, manual_clock):
    """Production's line: one live call per account."""
    return sandbox_factory(clock=manual_clock.now, dialect="calle", max_active_calls=1)


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_results_and_status_events_are_written_as_the_calls_go_and_survive_a_restart(
    line_of_one, make_worker, manual_clock, tmp_path
):
    worker, log = await signed_in(make_worker, line_of_one)
    lines = await planned(worker, PHONES[:2])
    given = [ResultLine(n.line, (phone,), n.plan_id) for n, phone in zip(lines, PHONES, strict=False)]
    given.append(ResultLine(3, (), None, "invalid"))  # a line the file could not plan: still one record
    folder = tmp_path / "exports" / "batch-1"
    results = BatchResults(folder, given, clock=manual_clock.now)
    unsubscribe = worker.subscribe(results.on_event)
    sender = BatchSender(worker, lines, clock=manual_clock)
    task = asyncio.ensure_future(sender.run())

    await drive(manual_clock, log, lambda: len(log.of(RunFinished)) >= 1, timeout=60)
    first = read(results.results_path)
    assert [r["line"] for r in first] == [1, 2, 3]
    assert first[0]["run_id"] and first[0]["ended"] and first[0]["final_status"]  # written as it happened
    # The app dies here; the next one opens the same batch folder and goes on.
    unsubscribe()
    again = BatchResults(folder, given, clock=manual_clock.now)
    worker.subscribe(again.on_event)
    await drive(manual_clock, log, task.done, timeout=60)
    await task

    records = read(again.results_path)
    assert [r["line"] for r in records] == [1, 2, 3]
    for record, line in zip(records, lines, strict=False):
        assert record["plan_id"] == line.plan_id and record["run_id"] == line.run_id
        assert record["final_status"] and record["started"] and record["ended"]
        assert record["poll_count"] >= 1 and record["activity"]
        assert record["transcript_turns"] == []  # the line was busy (last digit 6): nobody spoke
        assert record["duration_seconds"] is not None and record["duration_seconds"] >= 0
    assert records[0] == first[0]  # line 1, finished before the restart, was kept as it was
    assert records[2]["run_id"] is None and records[2]["final_status"] == "invalid"

    events = read(again.events_path)
    for line, record in zip(lines, records, strict=False):
        seen = [e["status"] for e in events if e["line"] == line.line]
        assert len(seen) >= 2  # the start and the end at least
        assert seen[-1] == line.final_status == record["final_status"].lower()
        assert all(a != b for a, b in itertools.pairwise(seen))  # each change once, restart or not
    assert [e["line"] for e in events] == sorted(e["line"] for e in events)  # one call after the other

    for path in (again.results_path, again.events_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert all(line.confirm_token not in text for line in lines)
        assert "confirm_token" not in text
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
