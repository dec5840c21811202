"""The sign-in link as a QR code drawn with text, so a phone can open it from any terminal (no I/O).

Half blocks put two module rows in one character row, so a 120-character link (version 6, 41 modules)
with a 1-module margin takes 43 columns by 22 rows: it fits an 80x24 terminal beside or above a few lines
of text. The glyphs mark the LIGHT modules (quiet zone included): the screen should draw these lines with
an explicit light foreground on a dark background, which reads correctly whatever the terminal's theme.
Error correction is L (the most data per module; a screen is a clean, flat surface).
"""

from __future__ import annotations

import segno
from textual.content import Content

# (top light, bottom light) -> glyph
_GLYPHS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def qr_matrix(url: str, border: int = 1) -> list[list[bool]]:
    """segno's own matrix for `url` with a `border`-module quiet zone: True for a dark module."""
    code = segno.make(url, error="l", boost_error=False, micro=False)
    return [[bool(v) for v in row] for row in code.matrix_iter(border=border)]


def qr_lines(url: str, border: int = 1) -> list[str]:
    """`url` as QR code lines, two module rows per line (the last line's lower half is light margin)."""
    matrix = qr_matrix(url, border)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))  # light, like the quiet zone
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        lines.append("".join(_GLYPHS[(not t, not b)] for t, b in zip(top, bottom, strict=True)))
    return lines


def qr_content(url: str, border: int = 1) -> Content:
    """The lines ready to draw: light glyphs on black, so the code reads the same in any terminal theme."""
    return Content("\n".join(qr_lines(url, border))).stylize("#ffffff on #000000")
