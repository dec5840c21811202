#!/bin/sh
# The client command for the MCP conformance suite: `calle-tui doctor --try-tool test-tool` against the URL the
# suite appends (every scenario's server offers test-tool; calling it is what brings the step-up scenario's 403),
# signing in with auto-follow (the suite's authorization servers approve at once). Each run gets a fresh
# HOME so no sign-in of the user's own is read or written; a pre-registered client from the suite's
# MCP_CONFORMANCE_CONTEXT (auth/pre-registration) goes in through the settings' environment variables.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
calle=${CALLE_TUI:-"$here/../../.venv/bin/calle-tui"}
for url; do :; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME="$tmp" XDG_CONFIG_HOME="$tmp/config" XDG_STATE_HOME="$tmp/state" XDG_DATA_HOME="$tmp/data"
export PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
if [ -n "${MCP_CONFORMANCE_CONTEXT:-}" ]; then
  eval "$(python3 -c '
import json, os, shlex
ctx = json.loads(os.environ["MCP_CONFORMANCE_CONTEXT"])
for key, env in (("client_id", "CALLE_TUI_CLIENT_ID"), ("client_secret", "CALLE_TUI_CLIENT_SECRET")):
    if ctx.get(key):
        print(f"export {env}={shlex.quote(str(ctx[key]))}")
')"
fi
if [ -n "${CONFORMANCE_CLIENT_LOG:-}" ]; then
  "$calle" doctor --login auto-follow --try-tool test-tool --url "$url" >>"$CONFORMANCE_CLIENT_LOG" 2>&1 || true
else
  "$calle" doctor --login auto-follow --try-tool test-tool --url "$url" || true
fi
