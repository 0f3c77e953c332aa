"""The server side of HTTP Digest auth (RFC 7616, MD5, qop=auth) for the emulated terminals.

Hikvision and Dahua terminals both answer 401 with a Digest challenge; the emulators check
the client's answer here against the nonces they issued (a bounded set).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from urllib.request import parse_http_list, parse_keqv_list

MAX_NONCES = 10_000  # stale nonces just get a new challenge


class DigestServer:
    """Issues challenges for one realm and checks the answers to them."""

    def __init__(self, realm: str) -> None:
        self.realm = realm
        self.nonces: set[str] = set()
        self.lock = threading.Lock()

    def challenge(self) -> str:
        """A `WWW-Authenticate` value with a fresh nonce."""
        nonce = secrets.token_hex(16)
        with self.lock:
            if len(self.nonces) > MAX_NONCES:
                self.nonces.clear()
            self.nonces.add(nonce)
        return f'Digest qop="auth", realm="{self.realm}", nonce="{nonce}", stale="FALSE"'

    def check(self, header: str | None, method: str, username: str, password: str) -> bool:
        """Whether an `Authorization` header answers one of our challenges for this user."""
        if not header or not header.startswith("Digest "):
            return False
        # urllib's own helpers split a quoted comma list and unquote its key=value items.
        parts = parse_keqv_list(parse_http_list(header[7:]))
        with self.lock:
            known = parts.get("nonce") in self.nonces
        if not known or parts.get("username") != username:
            return False

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()  # RFC 7616 Digest: MD5

        ha1 = md5(f"{username}:{self.realm}:{password}")
        ha2 = md5(f"{method}:{parts.get('uri', '')}")
        if parts.get("qop"):
            expect = md5(
                f"{ha1}:{parts['nonce']}:{parts.get('nc', '')}:{parts.get('cnonce', '')}:"
                f"{parts['qop']}:{ha2}"
            )
        else:
            expect = md5(f"{ha1}:{parts['nonce']}:{ha2}")
        return secrets.compare_digest(expect, parts.get("response", ""))
