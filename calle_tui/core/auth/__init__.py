"""Sign-in and secret keeping for the background worker.

secret_store: where secrets live (keyring / memory / opt-in file); token_storage: one JSON blob per
canonical server URL (tokens, absolute expiry, client registration, discovered metadata); login_flows: the
browser step (loopback listener, pasted redirect URL, auto-follow); provider: the SDK's OAuthClientProvider
with the fixes this app needs; errors: exceptions whose text is safe to show; broker: CALL-E's one-link
sign-in; cli_cache: the sign-in CALL-E's own CLI holds; refresh_lock: one token refresh at a time.
Nothing here imports Textual. The mcp SDK and httpx2 (about half a second of imports) load with errors,
login_flows and provider, which only a connection or a sign-in imports; broker, cli_cache and token_storage
load them only once they make a request or hand the SDK a token, so the worker's import and `calle-tui status`
never wait on them.
"""
