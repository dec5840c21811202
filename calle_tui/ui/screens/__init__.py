"""One screen per module: login, composer, confirm, monitor, history, help."""
