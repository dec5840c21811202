"""A copy says "copied" never: it says sent, and under tmux's default it says how to copy instead."""

from __future__ import annotations

from calle_tui.core.support.clipboard import copy_sentence, osc52_reach


def test_outside_tmux_nothing_is_known_and_tmux_is_not_asked():
    asked: list[str] = []
    assert osc52_reach({}, lambda name: asked.append(name) or "on") == "unknown"
    assert asked == []


def test_tmux_default_blocks_and_on_passes():
    env = {"TMUX": "/tmp/tmux-1000/default,123,0"}
    assert osc52_reach(env, {"set-clipboard": "external"}.get) == "tmux-blocks"
    assert osc52_reach(env, {"set-clipboard": "off"}.get) == "tmux-blocks"
    assert osc52_reach(env, {"set-clipboard": "on"}.get) == "tmux-passes"
    assert osc52_reach(env, lambda name: None) == "unknown"  # tmux did not answer


def test_no_sentence_claims_a_copy():
    for reach in ("tmux-blocks", "tmux-passes", "unknown"):
        title, sentence = copy_sentence("sign-in link", reach)
        assert "copied" not in title.lower().replace("not copied", "")
        assert " copied." not in sentence or "was not copied" in sentence
    title, sentence = copy_sentence("sign-in link", "tmux-blocks")
    assert title == "Not copied" and "tmux set -g set-clipboard on" in sentence and "press l" in sentence
