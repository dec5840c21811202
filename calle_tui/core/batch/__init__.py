"""Batches of calls: the file (`file`), planning each line (`plan`), the session that holds a batch (`session`),
sending it one confirmation for all (`send`), and the results files (`results`)."""
