"""One screen per module: login (sign in and out), composer (plan a call), confirm (the typed gate before a
real call, shared by the batch's confirmation), reconcile (the same gate before checking a lost answer),
monitor (one call live), board (every followed call) and history (past calls), both run tables
(run_table), batch (a JSONL file of calls) and help (the keys of the screen underneath)."""
