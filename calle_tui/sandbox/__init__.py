"""The local CALL-E sandbox: OAuth 2.1 authorization server + MCP resource server + simulated calls.

Modules: config (knobs, counters), store (SQLite state), oauth (the authorization server's policy),
planner (plan_call's reading of a message), simulator (calls as a function of the clock), tools (the three
tools), app (the Starlette app from the mcp SDK's pieces), harness (run it in-process for tests), cli
(`calle-tui sandbox`). See README.md, "The sandbox". Nothing here imports Textual.
"""
