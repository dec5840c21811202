"""One calle-tui "window" for the two-process sign-in test: the app's own stores (the opt-in token file and
the sign-in details file in one state folder) and provider, with no way to sign in by itself. It opens a
session REQUESTS times and prints one JSON line: how many worked, and the first failure's kind."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from auth_helpers import leaves, list_tools
from calle_fakes import EventLog

from calle_tui.core.auth.provider import build_oauth_provider
from calle_tui.core.auth.secret_store import FileStore
from calle_tui.core.auth.token_storage import ServerTokenStorage


async def main(url: str, state: Path, requests: int) -> dict:
    storage = ServerTokenStorage(FileStore(state / "tokens.json"), url, meta_dir=state / "auth")
    await storage.load()
    ok, failure = 0, None
    for _ in range(requests):
        provider = build_oauth_provider(url, storage, None, EventLog(), interactive=False)
        try:
            await list_tools(url, provider)
            ok += 1
        except BaseException as exc:
            failure = failure or ",".join(sorted({type(leaf).__name__ for leaf in leaves(exc)}))
    return {"ok": ok, "failure": failure}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])))))
