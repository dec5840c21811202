"""Logging to a private file through a redaction filter; nothing goes to the terminal.

Why so careful: the mcp SDK logs full URLs (with `code=`) at INFO, exception texts can carry `state` values
and token responses, and a full-screen TUI must never have log lines scribbled over it. So:
- one file handler, 0600 in a 0700 folder (XDG state dir), with a RedactingFilter;
- the same filter on the root, "mcp", "httpx2" and "uvicorn" loggers, and a log-record factory that redacts
  every record when it is created, so handlers we do not own (pytest's, a library's) see clean text too;
- stream handlers that write to the terminal are removed from those loggers, and `logging.lastResort`
  (which prints to stderr when a record finds no handler) points at the file instead.

Words shown to people never go through `redact()` (its field patterns would hide a server's ordinary
`code` or `state` words); they get `support.secrets.mask_known_secrets()`, which replaces only the registered
values and the userinfo of any http(s) URL. The registry of our secrets lives there, a leaf of the core, so the
reply reader can mask through it without depending on the log.

`redact()` scrubs well-known secret shapes (query/form fields, JSON fields, reprs, Bearer/Basic headers) and,
through the registry, every registered secret in each form it may be written in.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import re
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from calle_tui.core.store.private import private_dir
from calle_tui.core.support.secrets import MASK, mask_known_secrets

LOG_FILE_NAME = "calle-tui.log"

# Field names whose values are secret wherever they appear.
_NAMES = (
    r"access_token|refresh_token|id_token|client_secret|code_verifier|client_assertion|assertion|password"
    r"|code|state|token|authorization_code|session_secret|x-openagent-session-secret"
)
_VALUE_END = r"&\s\"'<>,;)\]}"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # JSON / dict / repr with quotes: "access_token": "x", 'code': 'x', access_token='x'
    (
        re.compile(rf"""(?i)(["']?)\b({_NAMES})\1(\s*[:=]\s*)(["'])(?:(?!\4).)*\4"""),
        rf"\1\2\1\3\4{MASK}\4",
    ),
    # query string / form body: code=x&state=y (also after ? or #)
    (re.compile(rf"(?i)(?<![\w-])({_NAMES})=(?!\[redacted\])(?!-?\d+(?:[{_VALUE_END}]|$))[^{_VALUE_END}]+"), rf"\1={MASK}"),
    # the same, URL-encoded once more (a redirect URL inside another URL's query)
    (re.compile(rf"(?i)(?:(?<=%3F)|(?<=%26)|(?<=%23)|(?<![\w-]))({_NAMES})%3D(?:(?!%26)[^&\s\"'<>])+"), rf"\1%3D{MASK}"),
    # Authorization headers
    (re.compile(r"(?i)\b(bearer|basic)(\s+)(?!\[redacted\])[A-Za-z0-9._~+/=-]+"), rf"\1\2{MASK}"),
    # The SDK's "State parameter mismatch: <got> != <expected>"
    (re.compile(r"(?i)(state parameter mismatch:?)\s*\S+\s*!=\s*\S+"), rf"\1 {MASK} != {MASK}"),
]

# The userinfo of an http(s) URL: `user:password@` (a password, or a token given as the user name). Up to the
# last @ before the path, query or fragment, as urlsplit reads it; never across a quote or a bracket, so the
# next field of compact JSON (`"http://h","mail":"a@b"`) is not taken for it.

_lock = threading.RLock()  # re-entrant: a record logged while it is held is masked through it too
_handler: logging.Handler | None = None
_log_path: Path | None = None
_previous_factory = None
_FILTERED_LOGGERS = ("", "mcp", "httpx2", "httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access")


def redact(text: str) -> str:
    """For the log: `text` with every registered secret and every known secret shape replaced by [redacted]."""
    if not text:
        return text
    text = mask_known_secrets(text)
    for regex, repl in _PATTERNS:
        text = regex.sub(repl, text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_calle_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string must not leak its arguments either
        message = f"{record.msg!s} (unformattable arguments)"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        try:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        except Exception:  # noqa: BLE001
            text = f"{record.exc_info[0].__name__}: (unprintable)"
        record.exc_text = redact(text)
        record.exc_info = None  # handlers must use the redacted text, never re-render the exception
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    record._calle_redacted = True


class RedactingFilter(logging.Filter):
    """Rewrites each record in place with secrets scrubbed; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


class _PrivateFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose files are created 0600 (plain `open` would follow the umask)."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.chmod(self.baseFilename, 0o600)
        except OSError:
            pass
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8", errors=self.errors)


def _is_terminal_handler(handler: logging.Handler) -> bool:
    if isinstance(handler, logging.FileHandler) or not isinstance(handler, logging.StreamHandler):
        return False
    stream = getattr(handler, "stream", None)
    if stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        return True
    if stream is None:
        return False
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001 - closed or odd streams are not terminals we can see
        return False


def _install_record_factory() -> None:
    global _previous_factory
    if _previous_factory is not None:
        return
    previous = logging.getLogRecordFactory()
    _previous_factory = previous

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            _redact_record(record)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            record.msg, record.args = "(log record dropped: redaction failed)", None
        return record

    logging.setLogRecordFactory(factory)


def setup_logging(log_dir: Path) -> Path:
    """Send all logging to `log_dir/calle-tui.log` (0600) through the redaction filter. Idempotent."""
    global _handler, _log_path
    log_dir = Path(log_dir)
    path = log_dir / LOG_FILE_NAME
    with _lock:
        if _handler is not None and _log_path == path:
            _strip_terminal_handlers()
            return path
        private_dir(log_dir)  # and the state folder above it: 0700 each
        handler = _PrivateFileHandler(path, maxBytes=2_000_000, backupCount=2, encoding="utf-8")
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactingFilter())
        root = logging.getLogger()
        if _handler is not None:
            root.removeHandler(_handler)
            _handler.close()
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        _handler, _log_path = handler, path
        logging.lastResort = handler  # a record with no handler lands in the file, not on stderr
        _strip_terminal_handlers()
    _install_record_factory()
    return path


def _strip_terminal_handlers() -> None:
    for name in _FILTERED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
        for handler in list(logger.handlers):
            if _is_terminal_handler(handler):
                logger.removeHandler(handler)
            elif not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


def log_file() -> Path | None:
    """Where logs go, once `setup_logging` ran."""
    return _log_path
