"""What the screens about calls share, no screen itself: formatting (phones, times, status looks), the plan
card, the composer's fields and CALL-E's questions with their answers, the board's rows, the live transcript
and activity logs that stay at their last line, the app's store of run views (store: every run's state, folded
from the worker's events, which the screens watch) and what a screen reads of its app (app_context)."""
