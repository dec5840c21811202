"""The Textual app over the worker seam (core/worker_api.py); it does no I/O of its own.

Layered (pyproject.toml's import-linter contract), top down: launch (runs the app once; the command line and
the demo's sandbox are commands/launch.py's), app (the shell: keys, status line, bell), screens, widgets, runs
(formatting and what a screen reads of its app), bridge (worker events into Textual messages), then messages,
paths and deferred (the stand-in worker until the first paint).
"""
