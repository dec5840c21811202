#!/bin/sh
# The suite's client command for scenarios that need a tool call: tool_client.py with the project's venv.
here=$(cd "$(dirname "$0")" && pwd)
exec "${PYTHON:-$here/../../.venv/bin/python}" "$here/tool_client.py" "$@"
