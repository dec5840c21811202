"""The notifications a person sees: the toasts on the screen in front, read as they are drawn."""

from __future__ import annotations

from textual.app import App
from textual.widget import Widget


def toasts(app: App) -> list[Widget]:
    """The toasts shown now, oldest first. A warning's has the class `-warning` (its colour)."""
    return list(app.screen.query("Toast"))


def toast_texts(app: App) -> list[str]:
    """Each toast as drawn: its title, a new line, then its message."""
    return [str(toast.render()) for toast in toasts(app)]
