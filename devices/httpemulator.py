"""What the HTTP device emulators (Hikvision, Dahua, BioTime) share: the handler's replies and
the loopback server they run in."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class EmulatorHandler(BaseHTTPRequestHandler):
    """A device's request handler: keep-alive HTTP/1.1, no log lines, whole replies."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the devices' web servers do
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        return

    def reply(self, status: int, body: bytes, kind: str, *, challenge: str | None = None) -> None:
        """Send a whole reply; `challenge` is a `WWW-Authenticate` value to send with it."""
        self.send_response(status)
        if challenge is not None:
            self.send_header("WWW-Authenticate", challenge)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, status: int, body: dict[str, Any]) -> None:
        """Send a JSON reply."""
        self.reply(status, json.dumps(body).encode(), "application/json")

    def drop_link(self) -> None:
        """End the connection without a reply, as a link that dies does."""
        self.close_connection = True
        self.wfile.flush()
        self.connection.shutdown(2)


class LoopbackServer:
    """Serves a handler class on 127.0.0.1 in a background thread; a context manager."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int, name: str) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=f"{name}-{self.port}", daemon=True
        )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
