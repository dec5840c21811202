"""The composer's draft (request text + structured fields), kept on disk so nothing typed is ever lost.

Written atomically (temp file + rename in the same folder) so a crash mid-write leaves the previous draft,
never half a file. A draft holds only what the user typed: no tokens, no plan identifiers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from calle_tui.core.store.private import write_private_text


class DraftStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, Any] | None:
        """The saved draft, or None when there is none or it cannot be read (a bad file is not fatal)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def save(self, draft: dict[str, Any]) -> None:
        # A draft can hold phone numbers: private, and a crash mid-write leaves the previous draft.
        write_private_text(self.path, json.dumps(draft, ensure_ascii=False, indent=1), prefix=".draft-")

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
