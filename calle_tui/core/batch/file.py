"""Reading a batch file: CALL-E's batch runner's JSONL format, one call per line.

A line is a JSON object with `to_phones` (a list of E.164 numbers, or one number as a string), `region`,
`language`, `goal`, `user_input` and `metadata` (an object, sent later as the tool call's `_meta`
{"call-e/customerMetadata": ...}, never as an argument: the server rejects unknown arguments). Blank lines
and lines starting with `#` are skipped. Any other field is listed as ignored and never sent, including the
runner's `meta` / `_meta` escape hatch (a file must not be able to override the metadata we send ourselves)
and `scheduled_at` / `ttl_seconds`, which the runner ignores too.

Nothing is completed or guessed: a number without its + country code is a problem on that line, not a
number we fix up. Every problem carries its 1-based line number and a sentence; a line with a problem is
never planned. Reading never raises on content; only a file that cannot be opened, or is larger than
MAX_FILE_BYTES, raises BatchFileError. A file is read line by line, never whole.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from calle_tui.core.worker_api import PlanRequest

MAX_CALLS = 500  # call lines per file: enough for a real batch, few enough to review before placing them
# Bytes a batch file may hold, checked before it is read and again while reading: 500 calls of 8 KiB each
# (a long request is a few hundred bytes), so a wrong file (a log, a disk image) is refused at once.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024  # one line: longer is that line's problem, and it is never held whole
BOM = b"\xef\xbb\xbf"
KNOWN_FIELDS = ("to_phones", "region", "language", "goal", "user_input", "metadata")
TEXT_FIELDS = ("region", "language", "goal", "user_input")
CUSTOMER_METADATA_KEY = "call-e/customerMetadata"
# A number is written with +, digits and the usual separators, and nothing else (no words, no extension):
# anything more would be text we have to interpret, which is guessing.
NUMBER_CHARS = re.compile(r"\+[0-9 ().\-]+")
EXAMPLE_LINE = '{"to_phones": ["+14155550100"], "language": "English", "goal": "..."}'


class BatchFileError(Exception):
    """The file cannot be read at all. str(exc) is one sentence safe to show."""


@dataclass(frozen=True)
class BatchProblem:
    line: int  # 1-based, as an editor counts lines
    sentence: str


@dataclass(frozen=True)
class BatchLine:
    """One call line that can be planned: exactly what the line gave, nothing added."""

    line: int
    request: PlanRequest
    metadata: dict[str, Any] | None = None
    ignored_fields: tuple[str, ...] = ()
    user_input_from_goal: bool = False  # the line had no user_input: the goal was sent as user_input

    @property
    def tool_meta(self) -> dict[str, Any] | None:
        """The tool call's `_meta` carrying the line's metadata, or None when the line gave none."""
        return None if self.metadata is None else {CUSTOMER_METADATA_KEY: self.metadata}

    def notes(self) -> list[str]:
        """What a person should know about how the line was read (not problems: the line is planned)."""
        notes = []
        if self.ignored_fields:
            notes.append(f"Ignored, not sent: {', '.join(self.ignored_fields)}.")
        if self.user_input_from_goal:
            notes.append("No user_input: the goal was sent as the request.")
        return notes


@dataclass(frozen=True)
class BatchFile:
    lines: tuple[BatchLine, ...]
    problems: tuple[BatchProblem, ...]
    line_count: int  # lines in the file, so a problem's line number can be checked against it
    call_count: int  # lines that are neither blank nor comments

    def problems_on(self, line: int) -> list[str]:
        return [p.sentence for p in self.problems if p.line == line]


def read_batch_file(path: str | Path) -> BatchFile:
    """Read and check the file at `path`, line by line: its size is checked before anything is read, and no
    more than MAX_FILE_BYTES are ever read (a file that grows, or one with no size such as a pipe). Raises
    BatchFileError (one sentence) when it cannot be read or is too large."""
    shown = str(path)
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise BatchFileError(_too_large(shown, size))
            return _check_lines(_numbered_lines(stream, shown, limit=MAX_FILE_BYTES))
    except FileNotFoundError:
        raise BatchFileError(f"There is no file at {shown}.") from None
    except IsADirectoryError:
        raise BatchFileError(f"{shown} is a folder, not a batch file.") from None
    except PermissionError:
        raise BatchFileError(f"{shown} cannot be read: permission denied.") from None
    except OSError as exc:
        reason = (exc.strerror or "the system refused").rstrip(".").lower()
        raise BatchFileError(f"{shown} cannot be read: {reason}.") from None


def parse_batch(data: bytes) -> BatchFile:
    """Check every line of a batch file's bytes (already in memory: no size limit). Never raises."""
    return _check_lines(_numbered_lines(io.BytesIO(data), "", limit=None))


def _too_large(shown: str, size: int | None) -> str:
    limit = f"a batch file may be at most {MAX_FILE_BYTES:,} bytes (4 MiB, for at most {MAX_CALLS} calls)"
    if size is None:  # no size known beforehand (a pipe, a file still growing): found while reading
        return f"{shown} is larger than {MAX_FILE_BYTES:,} bytes: {limit}, so split it into smaller files."
    return f"{shown} is {size:,} bytes: {limit}, so split it into smaller files."


def _numbered_lines(stream: BinaryIO, shown: str, *, limit: int | None) -> Iterator[tuple[int, bytes, bool]]:
    """(1-based number, the line's bytes without its newline, True) for each line of `stream`; for a line over
    MAX_LINE_BYTES, (number, its first MAX_LINE_BYTES + 1 bytes, False): its rest is read and dropped in bounded
    pieces. At most `limit` bytes are read in all: past that, BatchFileError. Memory stays within one line's
    limit whatever the stream holds."""
    total = 0
    number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        total += len(line)
        head = line
        whole = len(line) <= MAX_LINE_BYTES or line.endswith(b"\n")
        while not line.endswith(b"\n") and (limit is None or total <= limit):
            line = stream.readline(MAX_LINE_BYTES)  # the rest of a line over the limit: read, counted, dropped
            if not line:
                break
            total += len(line)
        if limit is not None and total > limit:
            raise BatchFileError(_too_large(shown, None))
        yield number, head.removesuffix(b"\n"), whole


def _check_lines(lines: Iterator[tuple[int, bytes, bool]]) -> BatchFile:
    """Check numbered lines as they are read: blank lines and # comments skipped, every other line read as one
    call. A file that is not UTF-8 is one problem (its first bad line); so is a file with too many calls."""
    checked: list[BatchLine] = []
    problems: list[BatchProblem] = []
    calls = 0
    first_over = 0
    line_count = 0
    for number, data, whole in lines:
        line_count = number
        if number == 1 and data.startswith(BOM):  # a byte order mark, as some editors write, is not content
            data = data[len(BOM) :]
        raw: str | None = None
        if not whole:  # over MAX_LINE_BYTES: a problem on its line, unless it is a comment
            if data.lstrip().startswith(b"#"):
                continue
        else:
            try:
                raw = data.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError:
                sentence = (
                    f"The file is not UTF-8 text (line {number} is the first that is not): save it as UTF-8 and try again."
                )
                line_count = number + sum(1 for _ in lines)  # read on only to count the lines; nothing is kept
                return BatchFile((), (BatchProblem(number, sentence),), line_count, 0)
            # Lines end at "\n" only: str.splitlines() also breaks at characters such as U+2028 inside a line,
            # and the line numbers would no longer match the ones an editor shows.
            if not raw.strip() or raw.strip().startswith("#"):
                continue
        calls += 1
        if calls > MAX_CALLS:
            first_over = first_over or number
            continue  # counted only, never kept: the file is refused below
        if raw is None:
            problems.append(BatchProblem(number, _line_too_long(number)))
            continue
        line, sentences = read_line(number, raw)
        problems.extend(BatchProblem(number, s) for s in sentences)
        if line is not None:
            checked.append(line)
    if calls > MAX_CALLS:
        sentence = (
            f"The file has {calls} calls; a batch takes at most {MAX_CALLS} "
            f"(line {first_over} is the first over): split it into smaller files."
        )
        return BatchFile((), (BatchProblem(first_over, sentence),), line_count, calls)
    return BatchFile(tuple(checked), tuple(problems), line_count, calls)


def _line_too_long(number: int) -> str:
    return (
        f"Line {number} is longer than {MAX_LINE_BYTES:,} bytes, more than any call needs: "
        "shorten its request or goal (or split it into several calls)."
    )


def read_line(number: int, raw: str) -> tuple[BatchLine | None, list[str]]:
    """One call line -> (the line to plan, or None) and the problems found on it, as sentences."""
    where = f"Line {number}"
    try:
        value = json.loads(raw, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constant)
    except _RepeatedKey as exc:
        return None, [f"{where} gives {exc.key!r} more than once: keep one."]
    except json.JSONDecodeError as exc:
        return None, [f"{where} is not valid JSON ({exc.msg[:1].lower()}{exc.msg[1:]} at column {exc.colno})."]
    except (ValueError, RecursionError):  # NaN/Infinity, a number too long to read, nesting too deep
        return None, [f"{where} is not valid JSON."]
    if not isinstance(value, dict):
        return None, [f"{where} is not a JSON object: write one call per line, e.g. {EXAMPLE_LINE}"]
    if _has_lone_surrogate(value):
        return None, [f"{where} has a \\u escape that is not a character (a lone surrogate): remove it."]

    problems: list[str] = []
    texts: dict[str, str] = {}
    for name in TEXT_FIELDS:
        given = value.get(name)
        if given is None:
            continue
        if not isinstance(given, str):
            problems.append(f"{where}: {name} must be text in quotes.")
        elif given.strip():  # a blank value is as good as leaving the field out
            texts[name] = given

    phones = _read_phones(where, value.get("to_phones"), problems)

    metadata = value.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        problems.append(f'{where}: metadata must be a JSON object, e.g. {{"customer_id": "42"}}.')

    if "user_input" not in texts and "goal" not in texts:
        problems.append(f"{where} has neither user_input nor goal: say what the call is for.")
    if problems:
        return None, problems

    # plan_call requires user_input (the user's message, verbatim). A line that gives only a goal has no
    # other message: its goal, verbatim, is the closest thing to what the user wrote, and it is still sent
    # as the goal too. Nothing else is filled in.
    user_input = texts.get("user_input", texts.get("goal", ""))
    request = PlanRequest(
        user_input=user_input,
        to_phones=phones,
        region=texts["region"].strip() if "region" in texts else None,
        language=texts["language"].strip() if "language" in texts else None,
        goal=texts["goal"].strip() if "goal" in texts else None,
        customer_metadata=metadata,
    )
    ignored = tuple(sorted(name for name in value if name not in KNOWN_FIELDS))
    return BatchLine(
        line=number,
        request=request,
        metadata=metadata,
        ignored_fields=ignored,
        user_input_from_goal="user_input" not in texts,
    ), []


def _read_phones(where: str, given: object, problems: list[str]) -> tuple[str, ...] | None:
    """The line's numbers in E.164, or None when the line gave none. Each bad number is a problem."""
    if given is None:
        return None
    items = [given] if isinstance(given, str) else given
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        problems.append(f'{where}: to_phones must be a list of numbers in quotes, e.g. ["+14155550100"].')
        return None
    if not items:
        problems.append(f"{where}: to_phones is an empty list: give at least one number, or leave the field out.")
        return None
    numbers: list[str] = []
    for item in items:
        number, problem = _read_number(item)
        if problem:
            problems.append(f"{where}: {problem}")
        elif number is not None:
            numbers.append(number)
    return tuple(numbers) if len(numbers) == len(items) else None


def _read_number(text: str) -> tuple[str | None, str]:
    """(E.164 form, "") for a complete international number, else (None, a sentence). The E.164 form is the
    same number without its separators: nothing is added, and a number without + is never completed."""
    import phonenumbers  # large tables: loaded only when a file has numbers

    written = text.strip()
    shown = json.dumps(written, ensure_ascii=False)
    if not written.startswith("+"):
        return None, f"{shown} has no country code: write it in international form, starting with +, e.g. +14155550100."
    if not NUMBER_CHARS.fullmatch(written):
        return None, f"{shown} is not a phone number: use only +, digits, spaces, dashes, dots and brackets."
    try:
        parsed = phonenumbers.parse(written, None)
    except phonenumbers.NumberParseException:
        return None, f"{shown} does not start with a known country code."
    if not phonenumbers.is_possible_number(parsed):
        return None, f"{shown} has too few or too many digits for a phone number."
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), ""


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; which one the writer meant is not ours to pick.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKey(key)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")  # NaN and Infinity: Python accepts them, JSON does not


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in `value` holds a lone surrogate ("\\ud800"): it cannot be sent as UTF-8."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
