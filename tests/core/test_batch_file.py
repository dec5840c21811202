"""Reading a batch file (CALL-E's batch runner's JSONL): every problem with its line number, nothing
guessed, nothing sent that the line did not give."""

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calle_tui.core.batch.file import (
    MAX_CALLS,
    MAX_FILE_BYTES,
    MAX_LINE_BYTES,
    BatchFileError,
    parse_batch,
    read_batch_file,
)
from calle_tui.core.worker_api import PlanRequest

RUNNER_LINE = {
    "to_phones": ["+15555550100"],
    "region": "US",
    "language": "English",
    "goal": "Deliver this exact market alert and then hang up.",
    "user_input": "Call +15555550100 in English, region US. Deliver this exact market alert and then hang up.",
    "metadata": {"policy_id": "market-alert-call-e-fixed-v3", "symbol": "eth", "value": 2069.98},
}


def batch(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def only_problem(data: bytes):
    result = parse_batch(data)
    assert result.lines == ()
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def test_the_runners_own_line_is_read_field_for_field_and_metadata_is_kept_apart():
    result = parse_batch(batch(json.dumps(RUNNER_LINE)))
    assert result.problems == ()
    (line,) = result.lines
    assert line.line == 1
    assert line.request == PlanRequest(
        user_input=RUNNER_LINE["user_input"],
        to_phones=("+15555550100",),
        region="US",
        language="English",
        goal=RUNNER_LINE["goal"],
        customer_metadata=RUNNER_LINE["metadata"],  # sent as _meta by the worker, never as an argument
    )
    assert line.metadata == RUNNER_LINE["metadata"]
    assert line.tool_meta == {"call-e/customerMetadata": RUNNER_LINE["metadata"]}
    assert line.ignored_fields == () and line.notes() == []


def test_only_the_fields_a_line_gives_are_set():
    (line,) = parse_batch(batch('{"user_input": "Call +14155550100 about my order"}')).lines
    assert line.request == PlanRequest(user_input="Call +14155550100 about my order")
    assert line.metadata is None and line.tool_meta is None


def test_a_single_number_as_a_string_is_one_destination():
    (line,) = parse_batch(batch('{"to_phones": "+1 (415) 555-0100", "goal": "Ask about opening hours"}')).lines
    assert line.request.to_phones == ("+14155550100",)


def test_a_line_with_only_a_goal_sends_the_goal_verbatim_as_user_input_and_says_so():
    goal = "Ask whether the shop is open on Sunday, in English."
    (line,) = parse_batch(batch(json.dumps({"to_phones": ["+14155550100"], "goal": goal}))).lines
    assert line.request.user_input == goal and line.request.goal == goal
    assert line.user_input_from_goal
    assert "goal was sent as the request" in " ".join(line.notes())


def test_blank_lines_and_comments_are_skipped_and_line_numbers_stay_the_editors():
    data = batch("# shops to call", "", '{"goal": "Ask about hours"}', "   ", "  # done", '{"goal": "Ask about prices"}')
    result = parse_batch(data)
    assert [line.line for line in result.lines] == [3, 6]
    assert result.call_count == 2 and result.problems == ()


def test_windows_line_endings_and_a_byte_order_mark_are_read():
    data = b'\xef\xbb\xbf{"goal": "Ask about hours"}\r\n{"goal": "Ask about prices"}\r\n'
    result = parse_batch(data)
    assert [line.line for line in result.lines] == [1, 2] and result.problems == ()


def test_bad_json_names_its_line_and_the_other_lines_are_still_read():
    result = parse_batch(batch('{"goal": "Ask about hours"}', '{"goal": "Ask about prices",}'))
    assert [line.line for line in result.lines] == [1]
    (problem,) = result.problems
    assert problem.line == 2
    assert problem.sentence.startswith("Line 2 is not valid JSON (") and "column" in problem.sentence


def test_a_line_that_is_not_an_object_is_a_problem():
    problem = only_problem(batch('["+14155550100", "Ask about hours"]'))
    assert problem.line == 1 and "is not a JSON object" in problem.sentence


def test_a_number_without_a_country_code_is_never_completed():
    problem = only_problem(batch('{"to_phones": ["4155550100"], "goal": "Ask about hours", "region": "US"}'))
    assert problem.line == 1
    assert '"4155550100" has no country code' in problem.sentence and "+" in problem.sentence


def test_one_bad_number_keeps_the_whole_line_out_rather_than_calling_the_rest():
    result = parse_batch(batch('{"to_phones": ["+14155550100", "020 7946 0000"], "goal": "Ask about hours"}'))
    assert result.lines == ()
    assert [p.line for p in result.problems] == [1] and "020 7946 0000" in result.problems[0].sentence


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("+999 123", "known country code"),
        ("+1 415", "too few or too many digits"),
        ("+1 415 555 0100 ext 5", "not a phone number"),
        ("+1 415 555 0100 or +1 415 555 0101", "not a phone number"),
    ],
)
def test_a_number_that_is_not_a_phone_number_is_a_problem(number, words):
    problem = only_problem(batch(json.dumps({"to_phones": [number], "goal": "Ask about hours"})))
    assert problem.line == 1 and words in problem.sentence


def test_to_phones_of_the_wrong_shape_is_a_problem():
    result = parse_batch(batch('{"to_phones": 14155550100, "goal": "x"}', '{"to_phones": [], "goal": "x"}'))
    assert result.lines == ()
    assert [p.line for p in result.problems] == [1, 2]
    assert "list of numbers" in result.problems[0].sentence and "empty list" in result.problems[1].sentence


def test_a_line_with_neither_user_input_nor_goal_is_a_problem():
    problem = only_problem(batch('{"to_phones": ["+14155550100"], "language": "English", "goal": "  "}'))
    assert problem.line == 1 and "neither user_input nor goal" in problem.sentence


def test_a_field_that_is_not_text_is_a_problem():
    problem = only_problem(batch('{"goal": "Ask about hours", "language": 7}'))
    assert problem.sentence == "Line 1: language must be text in quotes."


def test_metadata_that_is_not_an_object_is_a_problem():
    problem = only_problem(batch('{"goal": "Ask about hours", "metadata": "order 42"}'))
    assert problem.line == 1 and "metadata must be a JSON object" in problem.sentence


def test_unknown_fields_are_listed_as_ignored_and_never_sent():
    line_json = {"goal": "Ask about hours", "scheduled_at": "2026-06-05T15:00+08:00", "_meta": {"x": 1}, "voice": "a"}
    (line,) = parse_batch(batch(json.dumps(line_json))).lines
    assert line.ignored_fields == ("_meta", "scheduled_at", "voice")
    assert line.request == PlanRequest(user_input="Ask about hours", goal="Ask about hours")
    assert line.tool_meta is None  # the runner's raw _meta escape hatch is not honoured
    assert "Ignored, not sent: _meta, scheduled_at, voice." in line.notes()


def test_a_key_given_twice_is_a_problem_not_a_choice():
    problem = only_problem(batch('{"to_phones": ["+14155550100"], "goal": "x", "to_phones": ["+14155550101"]}'))
    assert problem.line == 1 and "'to_phones' more than once" in problem.sentence


def test_nan_and_lone_surrogates_are_not_sent():
    result = parse_batch(batch('{"goal": "x", "metadata": {"v": NaN}}', '{"goal": "x \\ud800"}'))
    assert result.lines == () and [p.line for p in result.problems] == [1, 2]
    assert "not valid JSON" in result.problems[0].sentence and "lone surrogate" in result.problems[1].sentence


def test_too_many_lines_is_one_sentence_and_nothing_is_planned():
    data = batch("# header", *['{"goal": "Ask about hours"}'] * (MAX_CALLS + 1))
    problem = only_problem(data)
    assert problem.line == MAX_CALLS + 2  # the header is line 1: the 501st call is on line 502
    assert f"has {MAX_CALLS + 1} calls" in problem.sentence and f"at most {MAX_CALLS}" in problem.sentence


def test_exactly_the_cap_is_accepted():
    assert len(parse_batch(batch(*['{"goal": "Ask about hours"}'] * MAX_CALLS)).lines) == MAX_CALLS


def test_a_file_that_is_not_utf8_names_the_first_bad_line():
    data = '{"goal": "Ask about hours"}\n{"goal": "Café"}\n'.encode("latin-1")
    problem = only_problem(data)
    assert problem.line == 2 and "not UTF-8" in problem.sentence


def test_a_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(BatchFileError) as caught:
        read_batch_file(tmp_path / "calls.jsonl")
    assert str(caught.value) == f"There is no file at {tmp_path / 'calls.jsonl'}."


def test_a_folder_is_one_sentence(tmp_path):
    with pytest.raises(BatchFileError) as caught:
        read_batch_file(tmp_path)
    assert "is a folder" in str(caught.value)


NOBODY = 65534


def as_someone_who_may_not_read(read):
    """read()'s outcome as a user the system refuses: this user, or, as root (who reads any file, as CI
    runs), a forked child that has become `nobody` first. Returns what read() raised or returned, as text."""

    def outcome() -> str:
        try:
            return f"returned {read()!r}"
        except BatchFileError as exc:
            return f"BatchFileError: {exc}"
        except BaseException as exc:
            return f"{type(exc).__name__}: {exc}"

    if os.geteuid() != 0:
        return outcome()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: drop root for good, read, report, and leave without running pytest's cleanup
        code = 1
        try:
            os.close(reader)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            said = outcome() if os.geteuid() == NOBODY else "the child could not drop root"
            os.write(writer, said.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        said = pipe.read().decode()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, said
    return said


def test_an_unreadable_file_is_one_sentence(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text('{"goal": "x"}\n')
    path.chmod(0)
    said = as_someone_who_may_not_read(lambda: read_batch_file(path))
    assert said == f"BatchFileError: {path} cannot be read: permission denied."


def test_a_file_on_disk_is_read(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(batch(json.dumps(RUNNER_LINE)))
    assert [line.line for line in read_batch_file(path).lines] == [1]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_never_raise_and_every_problem_has_a_line_of_the_file(data):
    result = parse_batch(data)
    for problem in result.problems:
        assert 1 <= problem.line <= result.line_count
        assert problem.sentence.strip()
    for line in result.lines:
        assert 1 <= line.line <= result.line_count
        assert not result.problems_on(line.line)


line_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
line_objects = st.dictionaries(
    st.sampled_from(["to_phones", "region", "language", "goal", "user_input", "metadata", "other"]),
    line_values | st.sampled_from(["+14155550100", "4155550100", ["+442079460000"], "Ask about hours"]),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line_objects | st.text(max_size=30), max_size=8))
def test_json_like_lines_never_raise_and_a_planned_line_sends_only_what_it_gave(items):
    text = "\n".join(json.dumps(item) if isinstance(item, dict) else item for item in items)
    result = parse_batch(text.encode("utf-8", "surrogatepass"))
    for problem in result.problems:
        assert 1 <= problem.line <= result.line_count
    for line in result.lines:
        given = json.loads(text.split("\n")[line.line - 1])
        request = line.request
        for name in ("region", "language", "goal"):
            assert (getattr(request, name) is None) == (not isinstance(given.get(name), str) or not given[name].strip())
        assert request.user_input in (given.get("user_input"), given.get("goal"))
        assert (request.to_phones is None) == (given.get("to_phones") is None)
        assert set(line.ignored_fields) == set(given) - {
            "to_phones",
            "region",
            "language",
            "goal",
            "user_input",
            "metadata",
        }


# --- size: a batch file is refused by its size first, then read line by line (issue 22, item 4) ---------------


def traced_peak(action):
    """(what action() returned or raised, the peak of memory allocated meanwhile, in bytes)."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            outcome = action()
        except BatchFileError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def sparse_file(path, size=2 * 1024**3):
    with open(path, "wb") as f:
        f.truncate(size)  # a 2 GiB file that takes no disk space: all zero bytes, no newline
    return path


def test_a_2_gib_file_is_refused_by_its_size_before_anything_is_read(tmp_path):
    path = sparse_file(tmp_path / "huge.jsonl")
    refused, peak = traced_peak(lambda: read_batch_file(path))
    assert isinstance(refused, BatchFileError)
    assert str(refused) == (
        f"{path} is 2,147,483,648 bytes: a batch file may be at most 4,194,304 bytes (4 MiB, for at most 500 calls), "
        "so split it into smaller files."
    )
    assert peak < 1024**2


def test_a_file_at_the_limit_is_read(tmp_path):
    path = tmp_path / "calls.jsonl"
    line = json.dumps({"goal": "Ask about hours " + "x" * (MAX_FILE_BYTES // MAX_CALLS - 40)}) + "\n"
    data = (line * MAX_CALLS).encode()
    path.write_bytes(data + b" " * (MAX_FILE_BYTES - len(data)))
    assert len(read_batch_file(path).lines) == MAX_CALLS
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(BatchFileError, match="is 4,194,305 bytes: a batch file may be at most 4,194,304 bytes"):
        read_batch_file(path)


def test_a_stream_with_no_size_is_read_no_further_than_the_limit(tmp_path):
    """A pipe has no size to check first: reading stops at the limit, with the same sentence."""
    import threading

    path = tmp_path / "calls.jsonl"
    os.mkfifo(path)
    line = (json.dumps({"goal": "Ask about hours"}) + "\n").encode()

    def write() -> None:  # more than the limit, until the reader closes its end
        try:
            with open(path, "wb") as pipe:
                for _ in range(MAX_FILE_BYTES // len(line) + 1000):
                    pipe.write(line)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=write)
    writer.start()
    try:
        refused, peak = traced_peak(lambda: read_batch_file(path))
    finally:
        writer.join()
    assert isinstance(refused, BatchFileError)
    assert str(refused) == (
        f"{path} is larger than 4,194,304 bytes: a batch file may be at most 4,194,304 bytes "
        "(4 MiB, for at most 500 calls), so split it into smaller files."
    )
    assert peak < 2 * 1024**2


def test_a_line_over_the_line_limit_is_that_lines_problem_and_never_held_whole(tmp_path):
    path = tmp_path / "calls.jsonl"
    long_line = json.dumps({"goal": "Ask about hours " + "x" * (3 * MAX_LINE_BYTES)})
    long_comment = "# " + "y" * (3 * MAX_LINE_BYTES)
    path.write_text("\n".join(['{"goal": "Ask about hours"}', long_line, long_comment, '{"goal": "Ask about prices"}']))
    result, peak = traced_peak(lambda: read_batch_file(path))
    assert [line.line for line in result.lines] == [1, 4]
    assert [(p.line, p.sentence) for p in result.problems] == [
        (2, "Line 2 is longer than 65,536 bytes, more than any call needs: shorten its request or goal "
            "(or split it into several calls).")
    ]  # fmt: skip
    assert result.call_count == 3 and result.line_count == 4  # the long comment is a comment
    assert peak < 1024**2  # the 196 KiB line was never held whole


def test_a_line_at_the_line_limit_is_read():
    line = json.dumps({"goal": "x" * (MAX_LINE_BYTES - 20)})
    line += " " * (MAX_LINE_BYTES - len(line))
    result = parse_batch(batch(line, line + " "))
    assert [line.line for line in result.lines] == [1]
    assert [p.line for p in result.problems] == [2]


async def test_the_tuis_batch_reader_refuses_a_2_gib_file_with_the_same_sentence(tmp_path):
    from calle_tui.core.batch.session import BatchSession
    from calle_tui.core.support.clock import ManualClock

    path = sparse_file(tmp_path / "huge.jsonl")
    session = BatchSession(object(), path, clock=ManualClock(), exports_dir=tmp_path / "exports")
    with pytest.raises(BatchFileError) as caught:
        await session.load()
    assert str(caught.value).startswith(f"{path} is 2,147,483,648 bytes: a batch file may be at most 4,194,304 bytes")
