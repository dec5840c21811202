"""Short garbage-collector pauses for a long-running full-screen app.

CPython's full collection walks every object that the collector tracks. Once the app is up, most of those
are modules, classes, functions, the SDK's and pydantic's models and the first screen's widgets: they stay
for the whole session, yet each full pass walks them again. With the calls board open over a hundred calls
that pass took 38-67 ms (about 115,000 objects), and it runs every few seconds while the followers poll,
so a key press that lands on it waits that long for its repaint (benchmarks/bench_many_runs.py: the
filter's p95). `settle()` collects once and then moves what is alive out of the collector's reach
(gc.freeze): later passes walk only what was made since, and what was made since is collected as before.
The price is that a frozen object that later ends up in a garbage cycle is never freed: the objects alive at
start-up and after the first connection, a bounded set in a process that holds one app.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect, then freeze what is alive. Call at a quiet moment (start-up, after the first connection):
    the collection itself is one full pass."""
    gc.collect()
    gc.freeze()
