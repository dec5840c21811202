"""The session with the MCP endpoint: the connection and its transport (`connection`), the supervisor that names
the session's state (`supervisor`), the sign-in flows (`sign_in`), the shared request budget (`request_budget`)
and the server's Retry-After (`retry_after`). OAuth itself lives in `calle_tui.core.auth`."""
