"""Calls after `run_call`: polling cadence (`polling`), following runs (`follow`), the run view and its reducer
(`runview`), checking an attempt whose outcome is unknown (`reconcile`), and exports (`export`)."""
