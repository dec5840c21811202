"""The reply reader against every recorded shape (tests/fixtures/replies/<dialect>/), with the expected
normalised form beside each fixture (<name>.expected.json, reviewed by hand), plus properties: whatever JSON
it is given, the reader returns a model or raises Unreadable, and every known status word, however it is
spelled, reads as its own kind (terminal / progress / unknown) and canonical word."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
import reply_fixtures as rf
from hypothesis import given, settings
from hypothesis import strategies as st

from calle_tui.core.wire import replies
from calle_tui.core.wire.contract import PlanCallResult, RunCallResult
from calle_tui.core.wire.status import canonical_status, status_kind, status_label

FIXTURES = [(d, n) for d in ("calle", "reference") for n in rf.names(d)]


def read(name: str, result, data):
    """A reply read as the app reads it: an error as an error, else by the tool that answered (the
    fixture's name starts with it)."""
    if replies.is_error(result):
        return replies.read_tool_error(data)
    tool = name.split("-", 1)[0]
    return {"plan_call": replies.read_plan, "run_call": replies.read_run_start}.get(tool, replies.read_run_page)(data)


def summary(dialect: str, name: str) -> dict:
    """What a person is shown of a reply, as plain JSON: the normalised model, projected."""
    result = rf.tool_result(dialect, name)
    model = read(name, result, replies.extract(result))
    if isinstance(model, replies.ToolError):
        error = model
        return {"error": error.message, "code": error.code, "retry_safe": error.retry_safe,
                "call_started": error.call_started, "started_unknown": error.started_unknown}  # fmt: skip
    if isinstance(model, PlanCallResult):
        plan = model
        return {
            "plan_id": plan.plan_id,
            "ready_to_run": plan.ready_to_run,
            "has_confirm_token": bool(plan.confirm_token),
            "questions": [[q.field, q.question] for q in plan.missing],
            "numbers": plan.plan.to_phones if plan.plan else None,
            "display_goal": plan.display_goal,
            "confirm_summary": plan.confirm_summary,
            "message": plan.message,
            "next_step": plan.next_step.model_dump() if plan.next_step else None,
            "notes": plan.notes,
        }
    if isinstance(model, RunCallResult):
        start = model
        return {"run_id": start.run_id, "status": start.status, "status_text": start.status_text,
                "next_step": start.next_step.model_dump() if start.next_step else None}  # fmt: skip
    page = model
    return {
        "run_id": page.run_id,
        "status": page.status,
        "status_text": page.status_text,
        "terminal": page.is_terminal,
        "activity": [[e.at, e.type, e.speaker, e.text] for e in page.activity],
        "summary": page.summary,
        "transcript": [[t.speaker, t.text] for t in page.transcript or []],
        "details": page.details,
        "outcome": page.outcome.model_dump() if page.outcome else None,
        "message": page.message,
        "next_step": page.next_step.model_dump() if page.next_step else None,
        "notes": page.notes,
        "extras": sorted(page.extra_fields),
    }


@pytest.mark.parametrize(("dialect", "name"), FIXTURES)
def test_each_recorded_shape_reads_as_expected(dialect, name):
    expected_path = rf.ROOT / dialect / f"{name}.expected.json"
    got = summary(dialect, name)
    if os.environ.get("CALLE_TUI_WRITE_EXPECTED") == "1":  # review every changed file before committing it
        expected_path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert got == json.loads(expected_path.read_text(encoding="utf-8"))


ECHOED = "CANARY-CONFIRM-echoed"


def with_tokens_echoed(data: dict, own: str | None) -> dict:
    """The reply as a careless server might send it: a confirm token again under its own name (and its
    spellings) beside the reply's fields, inside an unknown object and inside `result`; and a plan's own
    token repeated in its words."""
    echoed = {**data, "confirmToken": ECHOED, "echo": {"confirm_token": ECHOED, "plan_id": "p"}}
    nested = data.get("result") if isinstance(data.get("result"), dict) else {}
    echoed["result"] = {**nested, "debug": [{"confirm-token": ECHOED, "step": 1}]}
    if own:
        echoed["message"] = f"{data.get('message') or ''} Confirm with {own}.".strip()
        echoed["echo"]["said"] = f"token {own} issued"
    return echoed


@pytest.mark.parametrize(("dialect", "name"), FIXTURES)
def test_no_confirm_token_survives_anywhere_but_its_own_field(dialect, name):
    result = rf.tool_result(dialect, name)
    data = replies.extract(result)
    assert isinstance(data, dict), data
    own = data.get("confirm_token") if name.startswith("plan_call") else None
    model = read(name, result, with_tokens_echoed(data, own))
    if isinstance(model, replies.ToolError):
        kept = dataclasses.asdict(model)
    else:
        kept = model.model_dump()
    if isinstance(model, PlanCallResult):
        assert kept.pop("confirm_token") == (own if model.ready_to_run else None)
        assert model.ready_to_run == bool(own)  # a ready plan still reads as ready with its token
    assert "CANARY-CONFIRM" not in json.dumps(kept, default=str)


def test_a_confirm_token_anywhere_else_in_a_reply_is_scrubbed():
    raw = {"run_id": "r", "status": "COMPLETED", "echo": {"confirm_token": "CANARY-CONFIRM-x", "plan_id": "p"},
           "result": {"debug": [{"confirm_token": "CANARY-CONFIRM-y"}]}}  # fmt: skip
    page = replies.read_run_page(raw)
    assert "CANARY-CONFIRM" not in json.dumps(page.model_dump())
    assert page.extra_fields["echo"] == {"plan_id": "p"}


def test_an_unknown_status_is_shown_in_the_servers_words():
    assert status_label("AWAITING_OPERATOR") == "Awaiting operator"
    assert status_label("NO ANSWER") == status_label("no-answer") == "No answer"


def test_the_json_object_may_be_in_any_text_block_but_never_in_prose_arrays_or_fences():
    from mcp.types import CallToolResult

    def content(*texts):
        return CallToolResult.model_validate({"content": [{"type": "text", "text": t} for t in texts]})

    assert replies.extract(content("Plan created.", '{"plan_id": "p"}')) == {"plan_id": "p"}
    assert replies.extract(content("[1, 2]", '```json\n{"plan_id": "p"}\n```')) == '[1, 2]\n```json\n{"plan_id": "p"}\n```'
    assert replies.extract(content("The run is {still} going.")) == "The run is {still} going."


def test_activity_without_ids_is_identified_the_same_however_it_is_resent():
    a, b, c = ({"ts": f"2026-08-14T09:03:0{i}.000001Z", "message": m} for i, m in enumerate(["x", "y", "z"]))
    whole = [e.id for e in replies.read_run_page({"run_id": "r", "activity": [a, b, c]}).activity]
    window = [e.id for e in replies.read_run_page({"run_id": "r", "activity": [b, c]}).activity]
    only_new = [e.id for e in replies.read_run_page({"run_id": "r", "activity": [c]}).activity]
    assert len(set(whole)) == 3 and window == whole[1:] and only_new == whole[2:]
    twice = [e.id for e in replies.read_run_page({"run_id": "r", "activity": [{"message": "hold"}] * 2}).activity]
    assert len(set(twice)) == 2  # the same words twice on one page are two entries


def test_a_missing_run_id_is_the_only_thing_that_fails_a_run_reply():
    with pytest.raises(replies.Unreadable):
        replies.read_run_start({"status": "STARTED"})
    assert replies.read_run_page({"status": "PREPARING"}, asked_run_id="run-7").run_id == "run-7"
    assert replies.read_run_start({"run_id": 9}).run_id == "9"


# --- properties ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
keys = st.sampled_from(
    ["plan_id", "run_id", "status", "ready_to_run", "confirm_token", "activity", "result", "transcript", "summary",
     "post_summary", "next_step", "clarifying_questions", "questions", "missing", "outcome", "extracted", "ts",
     "message", "kind", "details", "next_cursor", "scheduled_at", "expires_at", "error", "call_started"]
)  # fmt: skip
reply_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=8),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, reply_like))
def test_the_reader_never_raises_anything_but_unreadable(value):
    for read in (replies.read_plan, replies.read_run_start, replies.read_run_page, replies.read_tool_error):
        try:
            read(value if isinstance(value, dict | str) else {"value": value})
        except replies.Unreadable:
            pass
    replies.read_run_page(value if isinstance(value, dict) else {}, asked_run_id="asked")
    replies.read_next_step(value)


# Every status word a server is known to send (CALLE-DIALECT.md: the guide's final set and the progress
# words seen live; our sandbox's reference dialect in lower case), with what the app must make of it.
STATUS_WORDS = {
    # production, final (the guide's list)
    "COMPLETED": ("finished", "completed"),
    "FAILED": ("finished", "failed"),
    "NO_ANSWER": ("finished", "no_answer"),
    "NO ANSWER": ("finished", "no_answer"),  # #770: must be final
    "DECLINED": ("finished", "declined"),
    "CANCELED": ("finished", "canceled"),
    "CANCELLED": ("finished", "canceled"),
    "VOICEMAIL": ("finished", "voicemail"),
    "BUSY": ("finished", "busy"),
    "EXPIRED": ("finished", "expired"),
    # production, progress (run_call's STARTED / QUEUED, get_call_run's PREPARING / IN_PROGRESS, SCHEDULED)
    "QUEUED": ("in_progress", "queued"),
    "STARTED": ("in_progress", "started"),
    "PREPARING": ("in_progress", "preparing"),
    "IN_PROGRESS": ("in_progress", "in_progress"),
    "SCHEDULED": ("in_progress", "scheduled"),
    # our sandbox's reference dialect
    "queued": ("in_progress", "queued"),
    "scheduled": ("in_progress", "scheduled"),
    "dialing": ("in_progress", "dialing"),
    "ringing": ("in_progress", "ringing"),
    "in_progress": ("in_progress", "in_progress"),
    "completed": ("finished", "completed"),
    "no_answer": ("finished", "no_answer"),
    "busy": ("finished", "busy"),
    "voicemail": ("finished", "voicemail"),
    "failed": ("finished", "failed"),
    # words nobody documented: never guessed final, kept in the server's words (folded)
    "AWAITING_OPERATOR": ("unknown", "awaiting_operator"),
    "NOT_COMPLETED": ("unknown", "not_completed"),
    "COMPLETED_PENDING_REVIEW": ("unknown", "completed_pending_review"),
    "": ("unknown", ""),
}


@pytest.mark.parametrize(("word", "expected"), STATUS_WORDS.items(), ids=repr)
def test_each_known_status_word_has_its_kind_and_canonical_word(word, expected):
    kind, code = expected
    assert (status_kind(word), canonical_status(word)) == (kind, code)
    assert (status_kind(code), canonical_status(code)) == (kind, code)  # the canonical word is a fixed point


def spellings(word: str) -> st.SearchStrategy[str]:
    """The same word as another server might write it: any case, "_" / " " / "-" between its parts, and
    blanks around it."""
    parts = word.replace(" ", "_").split("_")
    cases = st.sampled_from([str.upper, str.lower, str.title, str.capitalize])
    seps = st.lists(st.sampled_from(["_", " ", "-", "  ", " - "]), min_size=len(parts) - 1, max_size=len(parts) - 1)
    pad = st.sampled_from(["", " ", "\t", "\n "])

    def build(case, between, before, after):
        text = parts[0] + "".join(sep + part for sep, part in zip(between, parts[1:], strict=True))
        return before + case(text) + after

    return st.builds(build, cases, seps, pad, pad)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([w for w in STATUS_WORDS if w]).flatmap(lambda w: st.tuples(st.just(w), spellings(w))))
def test_any_spelling_of_a_status_word_reads_as_that_word(pair):
    word, spelled = pair
    assert (status_kind(spelled), canonical_status(spelled)) == STATUS_WORDS[word], spelled
