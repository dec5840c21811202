"""The sign-in QR code: the half-block rendering decodes back to segno's own matrix, and it fits 80x24."""

from __future__ import annotations

import segno

from calle_tui.ui.widgets.qr import qr_lines, qr_matrix

LOGIN_URL = "https://seleven-mcp-sg.airudder.com/openagent-auth/sessions/3f6c1d2e-9b8a-4c7d-8e5f-0a1b2c3d4e5f/start?from=calle-tui-cli"
TOP = {"█": True, "▀": True, "▄": False, " ": False}  # is the upper module light?
BOTTOM = {"█": True, "▀": False, "▄": True, " ": False}


def decode(lines: list[str]) -> list[list[bool]]:
    """Back from glyphs to modules (True = dark), two rows per line."""
    rows = []
    for line in lines:
        rows.append([not TOP[c] for c in line])
        rows.append([not BOTTOM[c] for c in line])
    return rows


def test_the_rendering_decodes_to_segnos_matrix():
    for url, border in ((LOGIN_URL, 1), ("http://127.0.0.1:8765/openagent-auth/sessions/abc/start", 2)):
        expected = [
            [bool(v) for v in row]
            for row in segno.make(url, error="l", boost_error=False, micro=False).matrix_iter(border=border)
        ]
        assert qr_matrix(url, border) == expected
        decoded = decode(qr_lines(url, border))
        assert decoded[: len(expected)] == expected
        assert all(not any(row) for row in decoded[len(expected) :])  # a padding row is light margin


def test_a_typical_login_url_fits_80x24_with_text():
    assert 115 <= len(LOGIN_URL) <= 125
    lines = qr_lines(LOGIN_URL)
    width, height = len(lines[0]), len(lines)
    assert (width, height) == (43, 22)  # version 6: 41 modules + a 1-module margin each side
    assert height + 2 <= 24 and width + 30 <= 80  # two lines below it, or a 30-column text column beside it
    assert len(set(map(len, lines))) == 1
