"""The worker against the sandbox: real HTTP, real OAuth (auto-approve + auto-follow sign-in), simulated
calls driven by a manual clock shared by the worker and the sandbox (no real sleeping anywhere)."""

import asyncio
import itertools

import pytest
from calle_fakes import drive, signed_in

from calle_tui.core.events import (
    ErrorEvent,
    RunFinished,
    RunOutcomeUnknown,
    RunStarted,
    RunUpdate,
    SignedIn,
    SignInNeeded,
    ToolsListed,
)
from calle_tui.core.worker_api import PlanRequest, WorkerError


def ready_request(phone="+15550100"):
    return PlanRequest(
        user_input=f"Call {phone} and book a table for two",
        to_phones=(phone,),
        goal="Book a table for two at 7 pm",
        language="English",
    )


@pytest.fixture(params=["reference", "calle"])
def sim(request, sandbox_factory, manual_clock):
    """A sandbox whose simulator and authorization server read the test's manual clock, in each dialect:
    our reference shapes and production's (the worker must behave the same against both)."""
    return sandbox_factory(clock=manual_clock.now, dialect=request.param)


async def signed_in_worker(make_worker, sim, **kw):
    return await signed_in(make_worker, sim.mcp_url, **kw)


def received(log, run_id):
    return [e.id for u in log.of(RunUpdate) if u.run_id == run_id for e in u.new_activity]


def each_entry_once(sim, log, run_id):
    """Every entry announced exactly once, none missing. Reference dialect: paged, so each also crossed the
    wire once. Calle dialect: production re-sends the whole history on every poll, so its last page lists
    them all, in order."""
    ids = received(log, run_id)
    assert ids and len(ids) == len(set(ids))
    if sim.config.dialect == "reference":
        assert len(ids) == sim.stats.activity_entries_returned
    else:
        last = [e.result for e in log.of(RunFinished) if e.run_id == run_id]
        last = last or [u.result for u in log.of(RunUpdate) if u.run_id == run_id and u.result is not None]
        assert ids == [e.id for e in last[-1].activity]
    return ids


async def start_call(worker, phone="+15550100"):
    plan = await worker.plan(ready_request(phone))
    assert plan.ready_to_run, plan
    return await worker.run(plan.plan_id, plan.confirm_token)


async def test_sign_in_once_then_restart_with_stored_tokens(sim, make_worker, tmp_path):
    worker, log = make_worker(sim.mcp_url)
    await worker.start()
    needed = await log.wait_kind(SignInNeeded)
    assert "sign in" in needed.reason.lower()
    await worker.sign_in("auto-follow")
    await log.wait_kind(ToolsListed)
    assert log.of(SignedIn) and worker.auth_status().signed_in
    authorizations = sim.stats.authorize_requests
    await worker.close()

    again, log2 = make_worker(sim.mcp_url)  # same secret store, same state dir: a restart
    await again.start()
    await log2.wait_kind(ToolsListed)
    assert not log2.of(SignInNeeded)
    assert sim.stats.authorize_requests == authorizations  # no browser, no login
    result = await again.plan(PlanRequest(user_input="hello"))
    assert result.ready_to_run is False and result.missing


async def test_plan_asks_refines_and_a_run_is_followed_to_the_end(sim, make_worker, manual_clock):
    worker, log = await signed_in_worker(make_worker, sim)
    first = await worker.plan(PlanRequest(user_input="Please call +15550100"))
    assert not first.ready_to_run and {m.field for m in first.missing} >= {"goal"}
    refined = await worker.plan(
        PlanRequest(
            user_input="Book a table for two, in English",
            plan_id=first.plan_id,
            goal="Book a table for two",
            language="English",
        )
    )
    assert refined.plan_id == first.plan_id and refined.ready_to_run
    t0 = manual_clock.now()
    started = await worker.run(refined.plan_id, refined.confirm_token)
    assert log.of(RunStarted)[0].result.run_id == started.run_id
    assert await manual_clock.wait_for_sleepers(1) >= t0 + 59  # about a minute before the first query
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    finished = log.of(RunFinished)[0]
    assert finished.status == "completed" and finished.result.summary and finished.transcript
    each_entry_once(sim, log, started.run_id)
    assert [r.status for r in worker.history()] == ["completed"]
    assert sim.stats.tool_calls["run_call"] == 1


# The marathon call (a number ending in 9), in each dialect: (its length in simulated events, the activity
# entries the person must see). Reference: one entry per event, paged, so 1,000 entries cross the wire once.
# Calle: production re-sends the whole history on every poll, so the call is shorter here (the wire carries
# every entry again on each poll); its 200 events are 4 before the talk (queued, dialing, ringing,
# answered), 195 lines and the end, and come as 300 entries: each of the 97 callee lines twice (rough, then
# corrected), queued, dialing and the end as two pipeline steps each.
MARATHON = {"reference": (1000, 1000), "calle": (200, 300)}


@pytest.mark.parametrize("dialect", MARATHON)
async def test_a_marathon_call_reaches_the_person_once_per_entry(dialect, sandbox_factory, make_worker, manual_clock):
    events, entries = MARATHON[dialect]
    sim = sandbox_factory(clock=manual_clock.now, dialect=dialect, marathon_entries=events)
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker, phone="+15550109")  # last digit 9: the marathon scenario
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)), timeout=120)
    ids = each_entry_once(sim, log, started.run_id)  # announced once each, none missing
    assert len(ids) == entries
    if dialect == "reference":
        assert sim.stats.activity_entries_returned == entries  # and each crossed the wire once
    else:
        assert sim.stats.activity_entries_returned > 10 * entries  # resent on every poll, still shown once
    assert len(worker.run_entries(started.run_id)) == entries  # and stored once each


async def test_concurrent_confirms_make_one_run_call_on_the_wire(sim, make_worker):
    worker, _log = await signed_in_worker(make_worker, sim)
    plan = await worker.plan(ready_request())
    results = await asyncio.gather(
        *(worker.run(plan.plan_id, plan.confirm_token) for _ in range(6)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(r.kind == "already_started" for r in results if isinstance(r, WorkerError))
    assert sim.stats.run_call_sent == 1 and sim.stats.calls_placed == 1


async def test_crash_after_send_is_unknown_until_the_user_reconciles(sim, make_worker, tmp_path):
    worker, _log = await signed_in_worker(make_worker, sim)
    request = ready_request()
    plan = await worker.plan(request)
    # run() latches the attempt, then sends run_call; here the process "crashes" before the answer is
    # journaled: the latch is set, and the same run_call reaches the server from elsewhere (a second
    # worker with its own journal), so the call is placed and this journal never learns its run id.
    assert worker.journal.begin_attempt(plan.plan_id, plan.confirm_token, sim.mcp_url, 1.0)
    sender, _ = await signed_in_worker(make_worker, sim, state=tmp_path / "sender-state")
    sender.journal.record_plan(sim.mcp_url, request, plan, 1.0)
    await sender.run(plan.plan_id, plan.confirm_token)
    await sender.close()
    await worker.close()
    assert sim.stats.calls_placed == 1 and sim.stats.run_call_sent == 1

    again, log2 = make_worker(sim.mcp_url)
    await again.start()
    assert (await log2.wait_kind(RunOutcomeUnknown)).plan_id == plan.plan_id
    await log2.wait_kind(ToolsListed)
    with pytest.raises(WorkerError):
        await again.run(plan.plan_id, plan.confirm_token)
    assert sim.stats.run_call_sent == 1  # nothing re-sent on its own
    assert again.history()[0].attempt == "outcome_unknown"
    result = await again.reconcile(plan.plan_id)  # the user asked
    assert sim.stats.calls_placed == 1 and sim.stats.run_call_sent == 2  # a replay, not a second call
    assert again.history()[0].run_id == result.run_id


async def test_revoked_refresh_token_asks_once_then_the_run_resumes(sim, make_worker, manual_clock):
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    await drive(manual_clock, log, lambda: bool(received(log, started.run_id)))
    sim.revoke_all_refresh_tokens()
    sim.expire_access_tokens()
    mark = len(log.events)

    def asks():
        return [e for e in log.events[mark:] if isinstance(e, SignInNeeded)]

    await drive(manual_clock, log, lambda: bool(asks()))
    assert "again" in asks()[0].reason
    assert not [e for e in log.events[mark:] if isinstance(e, ErrorEvent) and e.kind == "auth"]
    await worker.sign_in("auto-follow")
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert len(asks()) == 1  # one clean request to sign in, no repeats
    each_entry_once(sim, log, started.run_id)


async def test_sandbox_restart_mid_poll_reconnects_and_resumes_without_gaps(sim, make_worker, manual_clock):
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    await drive(manual_clock, log, lambda: bool(received(log, started.run_id)))
    got_before = len(received(log, started.run_id))
    mark = len(log.events)
    sim.restart()
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    ids = received(log, started.run_id)
    assert len(ids) > got_before and len(ids) == len(set(ids))
    if sim.config.dialect == "reference":
        assert ids == sorted(ids)  # the sandbox's ids are ordered: no gap, no repeat, no reorder
    else:
        each_entry_once(sim, log, started.run_id)  # no gap, no repeat, in the server's order
    assert not [e for e in log.events[mark:] if isinstance(e, SignInNeeded)]  # tokens survived the restart


@pytest.mark.parametrize("fault", ["rate_429", "rate_5xx"])
async def test_error_storms_back_off_without_flooding(sim, make_worker, manual_clock, fault):
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    await drive(manual_clock, log, lambda: bool(received(log, started.run_id)))
    waits = []  # (now, next_poll_at) of every "retrying" update
    worker.subscribe(
        lambda e: (
            waits.append((manual_clock.now(), e.next_poll_at))
            if isinstance(e, RunUpdate) and "Retrying" in e.problem and e.next_poll_at
            else None
        )
    )
    sim.config.faults.retry_after = 30.0
    setattr(sim.config.faults, fault, 1.0)
    storm_start = manual_clock.now()
    injected_before = sum(sim.stats.faults_injected.values())
    await drive(manual_clock, log, lambda: manual_clock.now() >= storm_start + 600)
    injected = sum(sim.stats.faults_injected.values()) - injected_before
    # Without backoff a 5-10 s cadence would make 60-120 requests in 600 s.
    limit = 600 / 30 + 2 if fault == "rate_429" else 14
    assert 1 <= injected <= limit, injected
    assert any(isinstance(e, ErrorEvent) and e.run_id == started.run_id for e in log.events)
    gaps = [due - now for now, due in waits]
    assert gaps and all(b >= a * 0.5 for a, b in itertools.pairwise(gaps))  # growing (jitter aside), never a burst
    if fault == "rate_429":
        assert min(gaps) >= 30  # Retry-After honoured
    setattr(sim.config.faults, fault, 0.0)
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    ids = received(log, started.run_id)
    assert len(ids) == len(set(ids))


async def test_several_runs_are_followed_at_once(sim, make_worker, manual_clock):
    worker, log = await signed_in_worker(make_worker, sim)
    a = await start_call(worker, phone="+15550100")  # completed
    b = await start_call(worker, phone="+15550106")  # busy
    await drive(manual_clock, log, lambda: len(log.of(RunFinished)) == 2)
    outcome = {e.run_id: e.status for e in log.of(RunFinished)}
    assert outcome == {a.run_id: "completed", b.run_id: "busy"}  # canonical, whatever the dialect says
    for run in (a, b):
        ids = received(log, run.run_id)
        assert ids and len(ids) == len(set(ids))
    if sim.config.dialect == "reference":
        total = len(received(log, a.run_id)) + len(received(log, b.run_id))
        assert sim.stats.activity_entries_returned == total


async def test_scheduled_run_waits_for_its_time(sim, make_worker, manual_clock):
    from datetime import UTC, datetime

    worker, log = await signed_in_worker(make_worker, sim)
    at = datetime.fromtimestamp(manual_clock.now() + 1800, tz=UTC).isoformat(timespec="seconds")
    plan = await worker.plan(
        PlanRequest(
            user_input="Call +15550100 and book a table",
            to_phones=("+15550100",),
            goal="Book a table",
            language="English",
            scheduled_at=at,
        )
    )
    assert plan.ready_to_run, plan
    t0 = manual_clock.now()
    started = await worker.run(plan.plan_id, plan.confirm_token)
    assert started.status == "scheduled"
    assert await manual_clock.wait_for_sleepers(1) >= t0 + 1800  # no polling before the call's time
    assert sim.stats.tool_calls["get_call_run"] == 0
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert log.of(RunFinished)[0].status == "completed"


async def test_no_secret_reaches_events_history_journal_or_log(sandbox_factory, manual_clock, make_worker, tmp_path):
    canary = "CANARYSECRET"
    sim = sandbox_factory(clock=manual_clock.now, secret_prefix=canary)
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    sim.expire_access_tokens()
    sim.revoke_all_refresh_tokens()
    await drive(manual_clock, log, lambda: any(isinstance(e, SignInNeeded) for e in log.events[3:]))
    await worker.sign_in("auto-follow")
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert canary not in repr(worker.history())
    await worker.close()
    assert canary not in repr(log.events)
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            assert canary.encode() not in path.read_bytes(), path
    assert started.run_id


async def test_access_token_revoked_early_is_refreshed_without_asking(sim, make_worker, manual_clock):
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    await drive(manual_clock, log, lambda: bool(received(log, started.run_id)))
    mark = len(log.events)
    grants = sim.stats.token_grants["refresh_token"]
    sim.expire_access_tokens()  # the refresh token still works
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    assert not [e for e in log.events[mark:] if isinstance(e, SignInNeeded)]
    assert sim.stats.token_grants["refresh_token"] == grants + 1
    each_entry_once(sim, log, started.run_id)


async def test_a_screen_that_subscribes_after_run_call_still_sees_the_first_check_countdown(sim, make_worker, manual_clock):
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    await log.wait_for(lambda e: isinstance(e, RunUpdate) and e.poll_state == "waiting_first")

    late: list = []  # the monitor opens only after run() returned
    worker.subscribe(late.append)
    worker.follow(started.run_id)
    updates = [e for e in late if isinstance(e, RunUpdate) and e.run_id == started.run_id]
    assert updates and updates[-1].poll_state == "waiting_first"
    assert updates[-1].next_poll_at is not None and updates[-1].next_poll_at > manual_clock.now()
    assert sim.stats.run_call_sent == 1
    await worker.close()


async def test_a_retry_notice_ends_with_its_condition_and_never_describes_a_connection_loss(sim, make_worker, manual_clock):
    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    await drive(manual_clock, log, lambda: bool(received(log, started.run_id)))

    def updates(since: int) -> list[RunUpdate]:
        return [e for e in log.events[since:] if isinstance(e, RunUpdate) and e.run_id == started.run_id]

    sim.config.faults.retry_after = 1.0
    sim.config.faults.rate_429 = 1.0
    mark = len(log.events)
    await drive(manual_clock, log, lambda: any(u.problem for u in updates(mark)))
    busy = next(u for u in updates(mark) if u.problem)
    assert busy.problem.startswith("The server is busy") and "Retrying in" in busy.problem
    assert "busy" not in busy.message  # the server's own words (message) are not the retry notice

    # The connection drops while the follower waits to retry: it says it is reconnecting, not busy.
    sim.config.faults.rate_429 = 0.0
    lost = len(log.events)
    sim.restart()
    got = len(received(log, started.run_id))
    await drive(manual_clock, log, lambda: len(received(log, started.run_id)) > got)
    after = updates(lost)
    assert not [u for u in after if "busy" in u.problem or "busy" in u.message]
    page = next(i for i, u in enumerate(after) if u.new_activity)
    assert all(not u.problem for u in after[page:])  # over once a page arrived


async def test_an_auth_server_outage_during_refresh_retries_and_keeps_the_sign_in(sim, make_worker, manual_clock):
    from calle_tui.core.events import ConnectionChanged

    worker, log = await signed_in_worker(make_worker, sim)
    started = await start_call(worker)
    await drive(manual_clock, log, lambda: bool(received(log, started.run_id)))
    authorizations = sim.stats.authorize_requests
    sim.config.faults.token_outage = 3  # the next three refreshes meet a 503
    sim.expire_access_tokens()
    mark = len(log.events)
    await drive(manual_clock, log, lambda: bool(log.of(RunFinished)))
    later = log.events[mark:]
    told = [e.message for e in later if isinstance(e, ConnectionChanged) and "sign-in server" in e.message]
    assert any("Retrying in" in m for m in told)  # the person is told, and it backs off
    assert not [e for e in later if isinstance(e, SignInNeeded)]
    assert sim.stats.authorize_requests == authorizations  # no browser sign-in
    assert sim.config.faults.token_outage == 0 and worker.auth_status().signed_in
    each_entry_once(sim, log, started.run_id)


async def test_a_request_that_is_too_long_is_explained_without_argument_names(sim, make_worker):
    worker, _ = await signed_in_worker(make_worker, sim)
    text = "Call +15550100 and ask about the order. " * 120  # over the sandbox's 4,000 characters
    try:
        plan = await worker.plan(PlanRequest(user_input=text))
    except WorkerError as exc:  # our reference dialect: a tool error
        said = exc.message
    else:  # production's: a question on a fresh plan
        said = " ".join(m.question for m in plan.missing)
    assert "Your request is too long" in said
    assert "user_input" not in said
