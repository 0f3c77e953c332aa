"""The outbound HTTP client: the standard library's http.client, one kept-alive connection per
sending thread and origin.

Why not httpx: at webhook rates the client is most of the work, and httpx spends about
three times the CPU of http.client per small POST (measured beside it: bench/bench_outbox.py
prints both). The pool is a thread-local dict of at most one connection per origin, dropped
on any error; a request that fails on a reused connection before any answer is sent once
more on a fresh one (the server may have closed an idle keep-alive), as urllib3 does.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024  # of an answer, kept for the delivery log and the connectors' errors


class HttpError(Exception):
    """No answer: refused, reset, timed out, bad URL, TLS failure."""


@dataclass(frozen=True, slots=True)
class Response:
    """An answer: its status and (the start of) its body."""

    status: int
    body: bytes

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")


Origin = tuple[str, str, int | None]  # scheme, host, port


class HttpClient:
    """Requests over per-thread keep-alive connections; safe to share between threads."""

    def __init__(self, *, timeout: float, tls: ssl.SSLContext | None = None) -> None:
        self.timeout = timeout
        self.tls = tls or ssl.create_default_context()
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()  # every thread's, for close()
        self._lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """One POST; HttpError when there is no answer."""
        return self.request("POST", url, body, headers)

    def request(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """One request; HttpError when there is no answer."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"not an http(s) URL: {url!r}")
        origin: Origin = (parts.scheme, parts.hostname, parts.port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        pool: dict[Origin, http.client.HTTPConnection]
        pool = self._local.__dict__.setdefault("pool", {})
        for fresh in (False, True):
            conn = pool.get(origin)
            reused = conn is not None and not fresh
            if conn is None or fresh:
                conn = self._connect(*origin)
                pool[origin] = conn
                with self._lock:
                    self._open.add(conn)
            try:
                conn.request(method, path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read(MAX_BODY + 1)
                if len(data) > MAX_BODY or answer.will_close:
                    self._drop(pool, origin, conn)
                return Response(answer.status, data[:MAX_BODY])
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop(pool, origin, conn)
                if not reused:
                    raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(pool, origin, conn)
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _connect(self, scheme: str, host: str, port: int | None) -> http.client.HTTPConnection:
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self.tls)
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def _drop(
        self,
        pool: dict[Origin, http.client.HTTPConnection],
        origin: Origin,
        conn: http.client.HTTPConnection,
    ) -> None:
        conn.close()
        pool.pop(origin, None)
        with self._lock:
            self._open.discard(conn)

    def close(self) -> None:
        """Close every connection, whichever thread opened it (once sending has stopped)."""
        with self._lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()
