#!/bin/sh
# Run the MCP conformance suite's client auth scenarios with calle-tui as the client (see README.md here).
# Needs node >= 22 (the suite uses fs.globSync) and network access once for `npx` to fetch the suite.
#   scripts/conformance/run.sh [results-dir]
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/results"}
suite=${CONFORMANCE:-"npx --yes @modelcontextprotocol/conformance@0.1.16"}
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 22 ]; then
  echo "The conformance suite needs node >= 22 (found $(node --version 2>/dev/null || echo none))." >&2
  exit 2
fi
mkdir -p "$out"
# Discovery, registration, PKCE, scopes, token endpoint auth, pre-registration and the scope step-up (test-tool).
$suite client --command "$here/client.sh" --suite auth -o "$out" 2>&1 | tee "$out/doctor.txt" | sed -n '/SUITE SUMMARY/,$p'
# The scenarios outside --suite auth that a sign-in client can take.
for scenario in auth/2025-03-26-oauth-endpoint-fallback auth/resource-mismatch auth/offline-access-scope \
  auth/offline-access-not-supported auth/scope-retry-limit auth/2025-03-26-oauth-metadata-backcompat; do
  $suite client --command "$here/client.sh" --scenario "$scenario" -o "$out" 2>&1 | tee "$out/$(basename "$scenario").txt" \
    | grep -E '^(Passed|Failed)|OVERALL' | sed "s|^|$scenario: |"
done
