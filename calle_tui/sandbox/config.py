"""The sandbox's knobs (shared by the CLI and the test harness) and its thread-safe counters."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from calle_tui.sandbox.simulator import MARATHON_ENTRIES

# Both paths serve the same MCP endpoint: /mcp is short, /mcp/openagent_oauth mirrors production's path.
MCP_PATH = "/mcp"
MCP_ALIAS_PATHS = ("/mcp/openagent_oauth",)
SCOPE = "calls"


@dataclass
class Faults:
    """Fault injection on /mcp requests, all off by default. Mutable at runtime: the server reads the
    current values on every request (token_lifetime applies to tokens issued from then on)."""

    rate_429: float = 0.0  # fraction of /mcp requests answered 429 Too Many Requests
    retry_after: float = 1.0  # seconds, sent as Retry-After with each 429
    rate_5xx: float = 0.0  # fraction of /mcp requests answered 503
    latency: float = 0.0  # seconds added before each /mcp request is handled
    token_lifetime: int = 3600  # access-token lifetime in seconds
    # The token endpoint's own outage: the next `token_outage` POSTs to /token are answered with
    # `token_outage_status` (503, 502, 429, ...), so a client's refresh meets an auth-server hiccup.
    # 200 stands for a proxy or portal page that answers "OK" with a body that is not a token reply.
    token_outage: int = 0
    token_outage_status: int = 503


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    speed: float = 1.0  # simulated call time runs this many times faster than the clock
    auto_approve: bool = True  # False: /authorize shows an HTML consent page (approve / deny)
    data_dir: Path | None = None  # SQLite state; None: a temporary folder removed on stop()
    faults: Faults = field(default_factory=Faults)
    secret_prefix: str = ""  # prefix for issued access/refresh tokens, codes and client secrets
    clock: Callable[[], float] = time.time  # the simulator's and the AS's notion of now
    seed: int = 0  # seeds fault injection, so a fault pattern repeats
    code_lifetime: int = 300  # seconds an authorization code stays valid
    refresh_lifetime: int = 30 * 86400  # seconds a refresh token stays valid
    # "calle": answer as production does (CALLE-DIALECT.md): upper-case statuses, clarifying questions,
    # cumulative {ts, message} activity, nested result, plain JSON over a stateless transport.
    # "reference": the sandbox's own documented shapes (ARCHITECTURE.md), paged with cursors.
    dialect: str = "reference"  # the CLI and the demo default to "calle"; tests choose per test
    content_only: bool = False  # no structuredContent: prose first, the JSON object in a later text block
    no_questions: bool = False  # calle dialect: a plan that is not ready names no questions (seen live)
    no_refresh: bool = False  # advertise and issue no refresh tokens, as production's authorization server
    auth_path: str = ""  # e.g. "/mcp-auth": the authorization server under a path, as production's
    # Live calls allowed at once (production's default line: 1, "max_active_tasks=1"); None: no limit. A
    # run_call over the limit is refused as production refuses it: account_concurrency_exceeded, 429,
    # call_started false, and nothing is placed.
    max_active_calls: int | None = None
    # Length of the marathon call (a number ending in 9) in the reference dialect's activity entries, one per
    # simulated event; the calle dialect sends more for the same call (a callee line twice: rough, corrected).
    marathon_entries: int = MARATHON_ENTRIES


class SandboxStats:
    """Counters a test reads to prove traffic claims. Every update takes the lock: handlers run in the
    server's thread while the test reads from its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tool_calls: Counter[str] = Counter()
        self.run_call_sent = 0  # run_call requests received (replays included)
        self.calls_placed = 0  # runs actually created (at most one per plan)
        self.run_call_refused_busy = 0  # run_calls refused because the line was busy (max_active_calls)
        self.activity_entries_returned = 0
        self.unauthorized_401 = 0
        self.authorize_requests = 0
        self.token_grants: Counter[str] = Counter()  # by grant_type, successful grants only
        self.registrations = 0
        self.http_requests = 0
        self.faults_injected: Counter[str] = Counter()  # "429" / "503"
        # The customer metadata of each plan_call, from the request's `_meta` (None when it carried none):
        # what a batch line's `metadata` became on the wire.
        self.plan_customer_metadata: list[object] = []

    def saw_plan_meta(self, meta: dict[str, object] | None) -> None:
        with self._lock:
            self.plan_customer_metadata.append((meta or {}).get("call-e/customerMetadata"))

    def bump(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def count(self, counter: str, key: str, amount: int = 1) -> None:
        with self._lock:
            getattr(self, counter)[key] += amount

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "tool_calls": dict(self.tool_calls),
                "run_call_sent": self.run_call_sent,
                "calls_placed": self.calls_placed,
                "activity_entries_returned": self.activity_entries_returned,
                "unauthorized_401": self.unauthorized_401,
                "authorize_requests": self.authorize_requests,
                "token_grants": dict(self.token_grants),
                "registrations": self.registrations,
                "http_requests": self.http_requests,
                "faults_injected": dict(self.faults_injected),
                "plan_customer_metadata": list(self.plan_customer_metadata),
            }
