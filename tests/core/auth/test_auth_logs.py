"""Redaction and the private log file."""

from __future__ import annotations

import base64
import logging
import stat
from urllib.parse import quote

from calle_tui.core.store.logs import redact, setup_logging
from calle_tui.core.support.secrets import MASK, forget_secrets, mask_known_secrets, register_secret

SECRET = "s3cr3t-T0KEN-value_with.many~chars"


def test_known_shapes_are_scrubbed_without_registration():
    cases = [
        "GET http://127.0.0.1:5/callback?code=abcdEFGH1234&state=zyxw9876abcd HTTP/1.1",
        "grant_type=authorization_code&code=abcdEFGH1234&code_verifier=qqqqqqqqqqqqqqqq",
        '{"access_token": "abcdEFGH1234", "refresh_token":"rrrrRRRR5678", "client_secret": "cccc"}',
        "OAuthToken(access_token='abcdEFGH1234', token_type='Bearer', refresh_token='rrrrRRRR5678')",
        "Authorization: Bearer abcdEFGH1234.xyz",
        "Authorization: Basic Y2xpZW50OnNlY3JldA==",
        "State parameter mismatch: zyxw9876abcd != qpwo1234mnbv",
        "next=%2Fcallback%3Fcode%3DabcdEFGH1234%26state%3Dzyxw9876abcd",
    ]
    for text in cases:
        out = redact(text)
        for fragment in ("abcdEFGH1234", "rrrrRRRR5678", "zyxw9876abcd", "qpwo1234mnbv", "Y2xpZW50OnNlY3JldA", "qqqqqqqq"):
            assert fragment not in out, (text, out)
        assert MASK in out


def test_harmless_text_is_left_alone():
    text = "run_id=run_42 status=completed confirm_token shown? error code=-32603 plan_id=p1"
    assert redact(text) == text


def test_registered_secret_is_scrubbed_in_raw_urlencoded_and_base64_forms():
    register_secret(SECRET)
    forms = [
        SECRET,
        quote(SECRET, safe=""),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode().rstrip("="),
    ]
    # embedded in a longer base64 text at every alignment (as in a Basic auth header)
    for prefix in ("", "a", "ab", "client-id:"):
        forms.append(base64.b64encode(f"{prefix}{SECRET}:tail".encode()).decode())
    for form in forms:
        out = redact(f"before {form} after")
        assert SECRET not in out
        # nothing long enough to recover the secret survives
        assert form not in out, (form, out)


def test_a_secret_registered_after_text_was_masked_is_masked_too_and_forgetting_ends_it():
    first, second = "tok-FIRST-0123456789", "tok-SECOND-9876543210"
    register_secret(first)
    assert mask_known_secrets(f"a {first} b {second}") == f"a {MASK} b {second}"
    register_secret(second)  # the pattern built for the first line must not be reused as it was
    assert mask_known_secrets(f"a {first} b {second} c {quote(second)}") == f"a {MASK} b {MASK} c {MASK}"
    forget_secrets()
    assert mask_known_secrets(f"a {first} b {second}") == f"a {first} b {second}"


def test_short_values_are_not_registered():
    register_secret("abc")
    assert redact("abc is fine") == "abc is fine"


def test_setup_logging_writes_a_private_redacted_file_and_nothing_to_the_terminal(tmp_path, capsys):
    log_dir = tmp_path / "state" / "logs"
    root = logging.getLogger()
    terminal = logging.StreamHandler()  # stderr: must be removed
    root.addHandler(terminal)
    path = setup_logging(log_dir)
    assert path == log_dir / "calle-tui.log"
    assert terminal not in root.handlers
    assert setup_logging(log_dir) == path  # idempotent
    handlers = [h for h in root.handlers if getattr(h, "baseFilename", None) == str(path)]
    assert len(handlers) == 1

    register_secret("CANARY-registered-in-log-test")
    logging.getLogger("mcp.client.auth.oauth2").info("redirect to http://x/cb?code=CANARYCODE123&state=CANARYSTATE1")
    logging.getLogger("httpx2").warning("header Bearer CANARYBEARER99")
    try:
        raise RuntimeError("token CANARY-registered-in-log-test leaked into exception text")
    except RuntimeError:
        logging.getLogger("calle_tui.test").exception("failure with %s", "CANARY-registered-in-log-test")
    for handler in handlers:
        handler.flush()

    text = path.read_text()
    assert "failure with" in text and "RuntimeError" in text
    for leaked in ("CANARYCODE123", "CANARYSTATE1", "CANARYBEARER99", "CANARY-registered-in-log-test"):
        assert leaked not in text
    captured = capsys.readouterr()
    assert "CANARY" not in captured.out + captured.err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700


def test_records_seen_by_other_handlers_are_redacted_too(tmp_path):
    setup_logging(tmp_path / "logs")
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record)

    collector = Collect()
    logger = logging.getLogger("some.library")
    logger.addHandler(collector)
    try:
        logger.warning("callback %s", "http://127.0.0.1/callback?code=LIBCODE12345&state=LIBSTATE6789")
    finally:
        logger.removeHandler(collector)
    message = seen[0].getMessage()
    assert "LIBCODE12345" not in message and "LIBSTATE6789" not in message
