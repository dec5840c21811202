"""The session with the MCP endpoint: the connection and its transport (`connection`), where the endpoint is
(`endpoint`), and the shared request budget (`request_budget`). Sign-in lives in `calle_tui.core.auth`."""
