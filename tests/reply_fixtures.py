"""Recorded-shape tool replies (tests/fixtures/replies/<dialect>/<tool>-<case>.json), typed from the public
facts in CALLE-DIALECT.md (production) and from our sandbox (reference), and helpers that turn one into the
SDK's CallToolResult or straight into our normalised model through the one reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcp.types import CallToolResult

from calle_tui.core.wire import replies

ROOT = Path(__file__).parent / "fixtures" / "replies"


def names(dialect: str, tool: str | None = None) -> list[str]:
    return sorted(
        p.stem for p in (ROOT / dialect).glob("*.json")
        if not p.stem.endswith(".expected") and (tool is None or p.stem.startswith(tool + "-"))
    )  # fmt: skip


def raw(dialect: str, name: str) -> dict[str, Any]:
    return json.loads((ROOT / dialect / f"{name}.json").read_text(encoding="utf-8"))


def tool_result(dialect: str, name: str) -> CallToolResult:
    """A fixture as the SDK hands it over. A fixture that records only structuredContent gets the text block
    servers send beside it (the same JSON), as MCP asks of tools with an output schema."""
    data = raw(dialect, name)
    if "content" not in data:
        data = {**data, "content": [{"type": "text", "text": json.dumps(data.get("structuredContent"))}]}
    return CallToolResult.model_validate(data)


def plan(name: str, dialect: str = "calle"):
    return replies.read_plan(replies.extract(tool_result(dialect, name)))


def run_start(name: str, dialect: str = "calle"):
    return replies.read_run_start(replies.extract(tool_result(dialect, name)))


def run_page(name: str, dialect: str = "calle", asked: str | None = None):
    return replies.read_run_page(replies.extract(tool_result(dialect, name)), asked_run_id=asked)
