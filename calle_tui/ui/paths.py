"""Find the top-level `styles/` folder both in a source checkout and in an installed wheel.

The wheel ships `styles/` as `calle_tui/styles` (pyproject force-include); in the source tree it sits beside
the package. The app and the screens that load their own stylesheet (composer, confirm, monitor) share this.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parents[1]  # .../calle_tui


def styles_dir() -> Path:
    for candidate in (_PACKAGE_ROOT / "styles", _PACKAGE_ROOT.parent / "styles"):
        if candidate.is_dir():
            return candidate
    return _PACKAGE_ROOT.parent / "styles"  # let Textual report the missing file by its path


def styles_path(name: str) -> Path:
    return styles_dir() / name
