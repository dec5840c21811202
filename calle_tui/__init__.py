"""calle-tui: a terminal client for CALL-E's OAuth-protected MCP endpoint."""

__version__ = "0.1.0"

PRODUCTION_URL = "https://seleven-mcp-sg.airudder.com/mcp/openagent_oauth"
