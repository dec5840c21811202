"""The cadence policy: first poll, steady jitter, after_seconds clamp, scheduled runs, backoff, Retry-After."""

import random
from datetime import UTC, datetime

import pytest

from calle_tui.core.runs.polling import (
    PollPolicy,
    backoff_delay,
    clamp_after,
    first_poll_at,
    jittered_interval,
    next_poll_at,
    refresh_allowed,
)
from calle_tui.core.session.retry_after import parse_retry_after
from calle_tui.core.wire.contract import GetCallRunResult, NextStep

P = PollPolicy()
NOW = 1_900_000_000.0


def page(status="in_progress", terminal=None, next_step=None, **extra):
    return GetCallRunResult(run_id="r1", status=status, terminal=terminal, next_step=next_step, **extra)


def test_first_poll_waits_about_a_minute():
    assert first_poll_at(NOW, P) == NOW + 60


def test_first_poll_honours_after_seconds_within_bounds():
    assert first_poll_at(NOW, P, next_step=NextStep(action="poll", after_seconds=30)) == NOW + 30
    assert first_poll_at(NOW, P, next_step=NextStep(action="poll", after_seconds=0)) == NOW + P.after_floor
    assert first_poll_at(NOW, P, next_step=NextStep(action="poll", after_seconds=10**9)) == NOW + P.after_ceiling


def test_scheduled_run_is_checked_at_its_time():
    # At the time, not a minute after it: a short call can be over by then while the screen says "Scheduled".
    at = datetime.fromtimestamp(NOW + 3600, tz=UTC).isoformat()
    assert first_poll_at(NOW, P, status="scheduled", scheduled_at=at) == NOW + 3600
    # A time in the past is not a reason to wait.
    past = datetime.fromtimestamp(NOW - 5, tz=UTC).isoformat()
    assert first_poll_at(NOW, P, scheduled_at=past) == NOW + 60


def test_steady_cadence_is_jittered_within_bounds():
    rng = random.Random(7)
    values = [jittered_interval(P, rng) for _ in range(2000)]
    assert all(P.min_interval <= v <= P.max_interval for v in values)
    assert max(values) - min(values) > 4  # really spread, not a constant
    for _ in range(200):
        t = next_poll_at(NOW, P, rng, page())
        assert NOW + 5 <= t <= NOW + 10


def test_next_poll_honours_clamped_after_seconds():
    rng = random.Random(1)
    assert next_poll_at(NOW, P, rng, page(next_step=NextStep(action="poll", after_seconds=20))) == NOW + 20
    assert (
        next_poll_at(NOW, P, rng, page(next_step=NextStep(action="poll", after_seconds=-3))) == NOW + 5
    )  # the seed's floor
    assert next_poll_at(NOW, P, rng, page(next_step=NextStep(action="wait", after_seconds=9e9))) == NOW + 300


def test_stop_at_terminal_or_when_next_step_says_done():
    rng = random.Random(1)
    assert next_poll_at(NOW, P, rng, page(status="completed")) is None
    assert next_poll_at(NOW, P, rng, page(status="weird", terminal=True)) is None
    assert next_poll_at(NOW, P, rng, page(next_step=NextStep(action="done"))) is None
    # An unknown action is not a reason to stop.
    assert next_poll_at(NOW, P, rng, page(next_step=NextStep(action="ponder"))) is not None


def test_scheduled_status_is_checked_at_the_scheduled_time_from_page():
    at = datetime.fromtimestamp(NOW + 1000, tz=UTC).isoformat()
    assert next_poll_at(NOW, P, random.Random(0), page(status="scheduled", scheduled_at=at)) == NOW + 1000


def test_clamp_after():
    assert clamp_after(1, P) == 5 and clamp_after(50, P) == 50 and clamp_after(1e6, P) == 300


def test_backoff_grows_exponentially_with_bounded_jitter_and_cap():
    rng = random.Random(3)
    for attempt in range(1, 12):
        ceiling = min(P.backoff_cap, P.backoff_base * 2 ** (attempt - 1))
        for _ in range(50):
            d = backoff_delay(attempt, P, rng)
            assert ceiling / 2 <= d <= ceiling
    assert backoff_delay(100, P, rng) <= P.backoff_cap


def test_backoff_never_undercuts_retry_after_but_caps_it():
    rng = random.Random(3)
    assert backoff_delay(1, P, rng, retry_after=30) == 30
    assert backoff_delay(1, P, rng, retry_after=10**6) == P.retry_after_cap
    # A tiny Retry-After does not shorten the exponential delay.
    assert backoff_delay(5, P, rng, retry_after=0.5) >= 16


def test_parse_retry_after():
    assert parse_retry_after("7", NOW) == 7
    assert parse_retry_after(" 1.5 ", NOW) == 1.5
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("-4", NOW) == 0
    date = datetime.fromtimestamp(NOW + 120, tz=UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert parse_retry_after(date, NOW) == pytest.approx(120, abs=1)


def test_refresh_floor():
    assert refresh_allowed(None, NOW, P)
    assert not refresh_allowed(NOW - 1, NOW, P)
    assert refresh_allowed(NOW - P.refresh_floor, NOW, P)


def test_policy_from_settings_sanitises():
    class S:
        poll_min_seconds = 8
        poll_max_seconds = 3
        first_poll_seconds = 45

    p = PollPolicy.from_settings(S)
    assert (p.min_interval, p.max_interval, p.first_poll) == (8, 8, 45)
