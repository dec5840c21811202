"""Our own secrets, remembered by value so they can be masked wherever they appear: tokens, sign-in codes,
client secrets, session secrets and confirm tokens, in raw, URL-encoded and base64 forms (base64 also when
the secret sits inside a longer encoded string, as in a Basic auth header), and the password of a URL.

A leaf of the core: the reply reader (wire) masks what a server repeats back, the log (store/logs.py) masks
every record, and screens mask what they show, all through this one registry.
"""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
_MIN_SECRET_LEN = 8  # shorter values would scrub ordinary words; real tokens and codes are far longer
_URL_USERINFO = re.compile(r"(?i)\b(https?://)([^\s/?#\"'<>\\\[\]{}|^`]*)@")

_lock = threading.RLock()
_secrets: set[str] = set()
_forms: set[str] = set()  # every registered secret in each form it may be written in
_secret_re: re.Pattern[str] | None = None


def _b64_fragments(raw: bytes) -> set[str]:
    """Substrings that appear in any base64 text that encodes `raw` at some byte offset.

    A secret inside a longer encoded string (b64("client:secret")) starts at offset 0, 1 or 2 of a 3-byte
    group; for each, keep only the characters that depend on the secret's bytes alone."""
    out: set[str] = set()
    n = len(raw)
    for k in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            enc = encode(b"\0" * k + raw).decode("ascii")
            start = -(-8 * k // 6)  # ceil
            end = (8 * (k + n)) // 6
            fragment = enc[start:end]
            if len(fragment) >= _MIN_SECRET_LEN:
                out.add(fragment)
    return out


def _variants(secret: str) -> set[str]:
    forms = {secret, quote(secret, safe=""), quote_plus(secret, safe=""), quote(quote(secret, safe=""), safe="")}
    raw = secret.encode("utf-8")
    forms |= _b64_fragments(raw)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode("ascii")
        forms.add(whole)
        forms.add(whole.rstrip("="))
    return {f for f in forms if len(f) >= _MIN_SECRET_LEN}


def register_secret(value: str | None) -> None:
    """Remember a secret so `redact` scrubs it (and its encoded forms) from now on."""
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LEN:
        return
    global _secret_re
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _forms.update(_variants(value))
        # Compiled on the next use, not here: a sign-in registers several values in a row, and rebuilding
        # the pattern of every form for each of them made each registration cost more than the last.
        _secret_re = None


def forget_secrets() -> None:
    """Forget every registered value: for a process that starts over with nothing signed in (each test)."""
    global _secret_re
    with _lock:
        _secrets.clear()
        _forms.clear()
        _secret_re = None


def _pattern() -> re.Pattern[str] | None:
    global _secret_re
    pattern = _secret_re
    if pattern is not None or not _forms:
        return pattern
    with _lock:
        if _secret_re is None and _forms:
            ordered = sorted(_forms, key=len, reverse=True)  # longest first: a form never half-matches
            _secret_re = re.compile("|".join(re.escape(f) for f in ordered))
        return _secret_re


def mask_known_secrets(text: str) -> str:
    """`text` with every registered secret (our tokens, codes, client secret, confirm tokens) and the userinfo
    of every http(s) URL replaced, and nothing else: for words people read, where a server's `code: "..."` or
    `state=CA` must stay as written. Only the log file also gets the field-name patterns of `redact`."""
    if not text:
        return text
    if not isinstance(text, str):
        text = str(text)
    pattern = _pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _URL_USERINFO.sub(_hide_userinfo, text) if "@" in text else text


def shown_url(url: str) -> str:
    """A URL as people may see it (the server's address on screen, in doctor, status and login): its
    userinfo hidden (`http://user:[redacted]@host/mcp`, `https://[redacted]@host/mcp`), any registered secret
    masked, the rest as given. The worker keeps using the URL itself."""
    return mask_known_secrets(url)


def _hide_userinfo(match: re.Match[str]) -> str:
    scheme, userinfo = match.group(1), match.group(2)
    if not userinfo:
        return match.group(0)
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}{user}:{MASK}@" if colon and user else f"{scheme}{MASK}@"
