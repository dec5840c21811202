"""The run reducer's properties (core/runs/runview.py), on production-shaped calls read through the one
reader (wire/replies.py): activity without ids, `Callee said:` lines that come rough and then corrected, the
whole history on every poll.

1. Pages delivered twice, out of order, or cumulatively (each page the whole history so far) give the same view
   as the pages delivered once, in order, each with only its new entries.
2. A rough callee line followed by its corrected copy leaves one line, the corrected text, in the live
   transcript as soon as the copy arrives (not only once the call ends), whichever page brings each.
3. Activity is in the server's time order, whatever order the server lists it in and the pages arrive in.
4. Applying a finished page (the follower's last update, or RunFinished) twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from calle_tui.core.events import RunFinished, RunUpdate
from calle_tui.core.runs.runview import RunView, apply
from calle_tui.core.wire.contract import GetCallRunResult, parse_time
from calle_tui.core.wire.replies import read_run_page

RUN = "run_51a0c2d4e6"
START = datetime(2026, 8, 20, 1, 29, 24, tzinfo=UTC).timestamp()
WORDS = ["yes", "no", "seven", "table", "two", "tonight", "window", "thanks", "Friday", "the", "we", "open", "O'Brien"]
ROUGH_AFTER = 0.4  # the corrected copy's delay (the sandbox's calle dialect; production: moments)


def ts(seconds: float) -> str:
    return datetime.fromtimestamp(START + seconds, tz=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def entry(at: float, kind: str, message: str) -> dict:
    return {"run_id": RUN, "ts": ts(at), "level": "info", "kind": kind, "message": message, "data": {}}


@dataclass(frozen=True)
class Utterance:
    speaker: str  # "agent" | "callee"
    text: str
    entries: tuple[dict, ...]  # the callee's: its rough line (when there is one), then the corrected one


@dataclass(frozen=True)
class Call:
    utterances: tuple[Utterance, ...]
    chunks: tuple[tuple[dict, ...], ...]  # each poll's new entries, in the order the server lists them
    finished: bool

    def raw_page(self, index: int, *, cumulative: bool) -> dict:
        listed = [e for chunk in self.chunks[: index + 1] for e in chunk] if cumulative else list(self.chunks[index])
        newest = max(self.chunks[index], key=lambda e: e["ts"])
        final = self.finished and index == len(self.chunks) - 1
        page = {
            "run_id": RUN,
            "status": "COMPLETED" if final else "PREPARING",
            "message": "Call ended from realtime events." if final else newest["message"],
            "display_goal": "Book a table for two",
            "activity": listed,
            "next_cursor": "",
            "transcript": None,
            "next_step": {
                "action": "report_result" if final else "poll_get_call_run",
                "tool_name": None if final else "get_call_run",
                "run_id": RUN,
                "poll_after_seconds": None if final else 5 + index,
                "instruction": "Report the final call result." if final else "Poll get_call_run again.",
            },
        }
        if final:
            said = "\n".join(f"[00:00:{i:02d}] {'BOT' if u.speaker == 'agent' else 'USER'}: {u.text}"
                             for i, u in enumerate(self.utterances))  # fmt: skip
            page["result"] = {
                "summary": "The table is booked.",
                "transcript": said,
                "outcome": {"task_completed": True, "completion_confidence": {"score": 0.9, "label": "high"}},
                "extracted": {"calling": {"duration_seconds": 42, "status": "finished"}},
            }
        return page

    def page(self, index: int, *, cumulative: bool = False) -> GetCallRunResult:
        return read_run_page(self.raw_page(index, cumulative=cumulative))


@st.composite
def sentences(draw) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
    return (" ".join(words)[:1].upper() + " ".join(words)[1:]).replace(" the", ", the") + draw(st.sampled_from(".?!"))


@st.composite
def calls(draw, *, finished: bool | None = None) -> Call:
    history = [entry(0, "stage_start", "run_call started."), entry(0.2, "external_call", "botlab create bot."),
               entry(39, "progress", "Call is ringing."), entry(43, "progress", "Call connected.")]  # fmt: skip
    utterances: list[Utterance] = []
    at = 44.0
    for _ in range(draw(st.integers(1, 8))):
        speaker = draw(st.sampled_from(["agent", "callee"]))
        text = draw(sentences())
        if speaker == "agent":
            lines = (entry(at, "progress", f"Bot is speaking: {text}"),)
        else:
            rough = text.rstrip(".!?").lower().replace(",", "")
            corrected = entry(at + ROUGH_AFTER, "callee_realtime", f"Callee said: {text}")
            lines = (
                (entry(at, "callee_realtime", f"Callee said: {rough}"), corrected) if draw(st.booleans()) else (corrected,)
            )
        utterances.append(Utterance(speaker, text, lines))
        history.extend(lines)
        # Lines of one person further apart than a correction can be are two lines, however alike.
        at += draw(st.floats(4, 20))
    if draw(st.booleans()):
        history.append(entry(at, "progress", "Call is on hold."))  # listed last, though earlier than the next
        history.append(entry(at - 2, "progress", "Hold music."))
    history.append(entry(at + 1, "progress", "Call ended; syncing final Calling result."))
    cuts = sorted(draw(st.sets(st.integers(1, len(history) - 1), max_size=5)))
    bounds = [0, *cuts, len(history)]
    # The server lists a page's entries in an order of its own (not always by time).
    chunks = tuple(tuple(draw(st.permutations(history[a:b]))) for a, b in pairwise(bounds))
    return Call(tuple(utterances), chunks, draw(st.booleans()) if finished is None else finished)


def update(page: GetCallRunResult) -> RunUpdate:
    return RunUpdate(run_id=RUN, status=page.status, poll_state="polling", result=page, status_text=page.status_text)


def fold(events) -> RunView:
    view = RunView(run_id=RUN)
    for event in events:
        view = apply(view, event)
    return view


def once_in_order(call: Call) -> RunView:
    return fold(update(call.page(i)) for i in range(len(call.chunks)))


def expected_said(call: Call, arrived: set[str]) -> list[tuple[str, str]]:
    """One line per utterance heard so far: the text of its newest entry that has arrived."""
    lines = []
    for utterance in call.utterances:
        have = [e for e in utterance.entries if e["ts"] in arrived]
        if have:
            text = have[-1]["message"].split(": ", 1)[1]
            lines.append((utterance.speaker, text))
    return lines


SETTINGS = settings(max_examples=150, deadline=None)


# --- 1. twice, out of order, cumulatively: the same view ----------------------------------------------------


@SETTINGS
@given(call=calls(), data=st.data())
def test_pages_twice_give_the_view_of_pages_once(call, data):
    pages = len(call.chunks)
    order = sorted(list(range(pages)) + data.draw(st.lists(st.integers(0, pages - 1), max_size=pages)))
    assert fold(update(call.page(i)) for i in order) == once_in_order(call)


@SETTINGS
@given(call=calls(), data=st.data())
def test_pages_out_of_order_give_the_view_of_pages_in_order(call, data):
    order = data.draw(st.permutations(range(len(call.chunks))))
    assert fold(update(call.page(i)) for i in order) == once_in_order(call)


@SETTINGS
@given(call=calls(), data=st.data())
def test_cumulative_pages_give_the_view_of_new_entries_only(call, data):
    """Production re-sends the whole history on every poll; a follower may also see them late or twice."""
    pages = len(call.chunks)
    in_order = [update(call.page(i, cumulative=True)) for i in range(pages)]
    assert fold(in_order) == once_in_order(call)
    shuffled = data.draw(st.permutations(list(range(pages)) * 2))
    assert fold(update(call.page(i, cumulative=True)) for i in shuffled) == once_in_order(call)


# --- 2. a rough line and its corrected copy: one line, live ---------------------------------------------------


@SETTINGS
@given(call=calls(), cumulative=st.booleans(), data=st.data())
def test_a_corrected_callee_line_replaces_its_rough_line_live(call, cumulative, data):
    order = data.draw(st.one_of(st.just(list(range(len(call.chunks)))), st.permutations(range(len(call.chunks)))))
    view = RunView(run_id=RUN)
    arrived: set[str] = set()
    for i in order:
        view = apply(view, update(call.page(i, cumulative=cumulative)))
        arrived |= {e["ts"] for chunk in call.chunks[: i + 1 if cumulative else 0] for e in chunk}
        arrived |= {e["ts"] for e in call.chunks[i]}
        # While the call goes on (and after: the live transcript is its own), each line is shown once.
        assert [(t.speaker, t.text) for t in view.said] == expected_said(call, arrived)
        if not view.terminal:
            assert view.best_transcript == view.said


def test_a_rough_line_then_its_correction_on_the_next_poll():
    rough, fixed = entry(44, "callee_realtime", "Callee said: yes at seven"), entry(44.4, "callee_realtime",
                                                                                   "Callee said: Yes, at seven.")  # fmt: skip
    call = Call((Utterance("callee", "Yes, at seven.", (rough, fixed)),), ((rough,), (fixed,)), finished=False)
    view = apply(RunView(run_id=RUN), update(call.page(0)))
    assert [t.text for t in view.said] == ["yes at seven"]
    view = apply(view, update(call.page(1, cumulative=True)))
    assert [t.text for t in view.said] == ["Yes, at seven."] and not view.terminal


def test_the_same_words_later_are_a_second_line():
    first, again = entry(44, "callee_realtime", "Callee said: Hello?"), entry(50, "callee_realtime", "Callee said: Hello?")
    call = Call((), ((first, again),), finished=False)
    assert [t.text for t in apply(RunView(run_id=RUN), update(call.page(0))).said] == ["Hello?", "Hello?"]


# --- 3. the server's time order -------------------------------------------------------------------------------


@SETTINGS
@given(call=calls(), cumulative=st.booleans(), data=st.data())
def test_activity_is_in_the_servers_time_order(call, cumulative, data):
    order = data.draw(st.permutations(range(len(call.chunks))))
    view = fold(update(call.page(i, cumulative=cumulative)) for i in order)
    times = [parse_time(e.at) for e in view.entries]
    assert times == sorted(times)  # type: ignore[type-var]
    assert len(view.entries) == sum(len(chunk) for chunk in call.chunks)


def test_an_entry_without_a_time_stays_after_the_one_before_it_on_its_page():
    page = read_run_page({"run_id": RUN, "status": "PREPARING", "activity": [
        entry(5, "progress", "Call connected."), {"message": "Still waiting"}, entry(1, "progress", "Call is ringing.")]})  # fmt: skip
    view = apply(RunView(run_id=RUN), update(page))
    assert [e.text for e in view.entries] == ["Call is ringing.", "Call connected.", "Still waiting"]


# --- 4. a finished page twice -----------------------------------------------------------------------------------


@SETTINGS
@given(call=calls(finished=True), cumulative=st.booleans(), data=st.data())
def test_a_finished_page_applied_twice_changes_nothing(call, cumulative, data):
    last = len(call.chunks) - 1
    before = fold(update(call.page(i, cumulative=cumulative)) for i in range(data.draw(st.integers(0, last))))
    page = call.page(last, cumulative=cumulative)
    finished = RunFinished(run_id=RUN, status=page.status, result=page, status_text=page.status_text)
    for event in (update(page), finished):
        once = apply(before, event)
        assert once.terminal and once.poll_state == "finished"
        assert apply(once, event) == once
    both = apply(apply(before, update(page)), finished)
    assert apply(both, finished) == both and apply(both, update(page)) == both
    # A late poll of an earlier page cannot undo the end either.
    if last:
        assert apply(both, update(call.page(0))).status == "completed"
