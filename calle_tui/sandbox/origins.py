"""The sandbox's own origin as each client spells it: http://127.0.0.1:PORT, http://localhost:PORT, ...

Strict clients (the TypeScript SDK, MCP Inspector) require the protected-resource metadata's `resource` to
match the URL they connect to, origin included, and the issuer to match the authorization server URL they
discovered. A person who types `localhost` where the banner says `127.0.0.1` is still talking to us, so
metadata, challenges and token audiences follow the Host the request came in on, as long as it is one of our
own loopback names (and our port); anything else gets the canonical base URL.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

from starlette.types import Scope

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


class Origins:
    def __init__(self, base_url: str, host: str) -> None:
        self.base_url = base_url
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.port = parts.port
        own = f"[{host}]" if ":" in host else host
        self.names = tuple(dict.fromkeys([_host(parts), *LOOPBACK_NAMES, own.lower()]))

    def all(self) -> list[str]:
        """Every spelling of our origin, the canonical one first."""
        spelled = [f"{self.scheme}://{name}:{self.port}" for name in self.names]
        return [self.base_url] + [origin for origin in spelled if origin != self.base_url]

    def of(self, scope: Scope) -> str:
        """The origin this request addressed, when it is one of ours; else the canonical one."""
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        if name.lower() in self.names and port == str(self.port):
            return f"{self.scheme}://{name.lower()}:{self.port}"
        return self.base_url

    def canonical(self, url: str) -> str:
        """`url` with our origin spelled the canonical way (other servers' URLs are left alone)."""
        parts = urlsplit(url)
        if (parts.scheme, _host(parts), parts.port) in {(self.scheme, n, self.port) for n in self.names}:
            base = urlsplit(self.base_url)
            return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
        return url


def _host(parts: SplitResult) -> str:
    name = (parts.hostname or "").lower()
    return f"[{name}]" if ":" in name else name
