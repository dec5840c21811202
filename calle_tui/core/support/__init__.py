"""Small process-level helpers with no other home: the clock (real or manual), settling the heap after start-up,
the clipboard, and phone numbers for display (never used to guess one)."""
