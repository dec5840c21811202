"""Sign-in and secret keeping for the background worker.

secret_store: where secrets live (keyring / memory / opt-in file); token_storage: one JSON blob per
canonical server URL (tokens, absolute expiry, client registration, discovered metadata); login_flows: the
browser step (loopback listener, pasted redirect URL, auto-follow); provider: the SDK's OAuthClientProvider
with the fixes this app needs; errors: exceptions whose text is safe to show.
Nothing here imports Textual; the mcp SDK is imported only by provider and token_storage.
"""
