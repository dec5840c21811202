"""The reply reader against every recorded shape (tests/fixtures/replies/<dialect>/), with the expected
normalised form beside each fixture (<name>.expected.json, reviewed by hand), plus properties: whatever JSON
it is given, the reader returns a model or raises Unreadable, and every status word maps to exactly one of
terminal / progress / unknown."""

from __future__ import annotations

import json
import os

import pytest
import reply_fixtures as rf
from hypothesis import given, settings
from hypothesis import strategies as st

from calle_tui.core.dialect import replies
from calle_tui.core.dialect.status import PROGRESS, TERMINAL, canonical_status, status_kind, status_label

FIXTURES = [(d, n) for d in ("calle", "reference") for n in rf.names(d)]


def summary(dialect: str, name: str) -> dict:
    """What a person is shown of a reply, as plain JSON: the normalised model, projected."""
    result = rf.tool_result(dialect, name)
    data = replies.extract(result)
    tool = name.split("-", 1)[0]
    if replies.is_error(result):
        error = replies.read_tool_error(data)
        return {"error": error.message, "code": error.code, "retry_safe": error.retry_safe,
                "call_started": error.call_started, "started_unknown": error.started_unknown}  # fmt: skip
    if tool == "plan_call":
        plan = replies.read_plan(data)
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
    if tool == "run_call":
        start = replies.read_run_start(data)
        return {"run_id": start.run_id, "status": start.status, "status_text": start.status_text,
                "next_step": start.next_step.model_dump() if start.next_step else None}  # fmt: skip
    page = replies.read_run_page(data)
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


@pytest.mark.parametrize(("dialect", "name"), FIXTURES)
def test_no_confirm_token_survives_anywhere_but_its_own_field(dialect, name):
    result = rf.tool_result(dialect, name)
    data = replies.extract(result)
    if replies.is_error(result) or not name.startswith("plan_call"):
        return
    plan = replies.read_plan(data)
    shown = plan.model_dump(exclude={"confirm_token"})
    assert "CANARY-CONFIRM" not in json.dumps(shown)


def test_a_confirm_token_anywhere_else_in_a_reply_is_scrubbed():
    raw = {"run_id": "r", "status": "COMPLETED", "echo": {"confirm_token": "CANARY-CONFIRM-x", "plan_id": "p"},
           "result": {"debug": [{"confirm_token": "CANARY-CONFIRM-y"}]}}  # fmt: skip
    page = replies.read_run_page(raw)
    assert "CANARY-CONFIRM" not in json.dumps(page.model_dump())
    assert page.extra_fields["echo"] == {"plan_id": "p"}


def test_production_statuses_are_canonical():
    assert [canonical_status(s) for s in ("COMPLETED", "NO ANSWER", "no-answer", "CANCELLED", "In-Progress")] == [
        "completed", "no_answer", "no_answer", "canceled", "in_progress"]  # fmt: skip
    for word in ("COMPLETED", "FAILED", "NO_ANSWER", "NO ANSWER", "DECLINED", "CANCELED", "CANCELLED", "VOICEMAIL",
                 "BUSY", "EXPIRED"):  # fmt: skip
        assert status_kind(word) == "terminal", word
    for word in ("QUEUED", "STARTED", "PREPARING", "IN_PROGRESS", "scheduled", "ringing"):
        assert status_kind(word) == "progress", word
    assert status_kind("AWAITING_OPERATOR") == "unknown" and status_label("AWAITING_OPERATOR") == "Awaiting operator"


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


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_every_status_word_is_exactly_one_kind(word):
    kind = status_kind(word)
    assert kind in {"terminal", "progress", "unknown"}
    code = canonical_status(word)
    assert (kind == "terminal") == (code in TERMINAL) and (kind == "progress") == (code in PROGRESS)
    assert status_kind(code) == kind  # canonical words are fixed points
