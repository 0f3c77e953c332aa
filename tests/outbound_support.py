"""A Standard Webhooks receiver on 127.0.0.1 for the outbox tests: verifies, records, answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from collector.outbound.events import EventType
from collector.outbound.targets import create_target
from collector.runtime import Store
from collector.store.models import OutboundTarget


@dataclass
class Received:
    """What the receiver has seen."""

    deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (id, body)
    bad_signatures: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)  # of every request, answered or not
    answers: list[int] = field(default_factory=list)  # status codes to give next, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        """webhook-id of every delivery, repeats included."""
        with self.lock:
            return [i for i, _ in self.deliveries]

    def unique(self) -> dict[str, dict[str, Any]]:
        """Deliveries deduplicated by webhook-id, as a receiver keeps them."""
        with self.lock:
            return dict(self.deliveries)


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not print the connections its clients drop."""

    def handle_error(self, request: object, client_address: object) -> None:
        """A sender killed mid-request resets its connection: expected here."""


class JsonHandler(BaseHTTPRequestHandler):
    """Base of the test servers: HTTP/1.1 keep-alive, JSON answers, no request log."""

    protocol_version = "HTTP/1.1"

    def answer(self, status: int, payload: Any) -> None:
        """Send `payload` as JSON with `status`."""
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Serve `handler` on 127.0.0.1 in a thread; yields the port."""
    server = QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def webhook_receiver(secrets: list[str], *, delay_s: float = 0.0) -> Iterator[tuple[str, Received]]:
    """Serve a receiver verifying with any of `secrets`; yields its URL and what it saw.

    `delay_s`: each answer waits this long after the delivery is recorded, so a sender
    killed meanwhile has delivered without hearing so (the case receivers dedupe for).
    """
    seen = Received()
    verifiers = [Webhook(s) for s in secrets]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            ok = False
            for v in verifiers:
                try:
                    v.verify(body, headers)
                    ok = True
                    break
                except WebhookVerificationError:
                    continue
            with seen.lock:
                seen.headers.append(headers)
                seen.bodies.append(body)
                code = seen.answers.pop(0) if seen.answers else 204
                if not ok:
                    seen.bad_signatures += 1
                    code = 401
                elif 200 <= code < 300:
                    seen.deliveries.append((headers["webhook-id"], json.loads(body)))
            if delay_s:
                time.sleep(delay_s)
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    with serving(Handler) as port:
        yield f"http://127.0.0.1:{port}/hook", seen


def add_webhook(
    store: Store,
    url: str,
    now: datetime,
    events: list[EventType] | None = None,
    name: str = "hook",
) -> tuple[int, str]:
    """A webhook target subscribed to `events` (all by default): its id and its secret."""
    with store.sessions.begin() as session:
        target, secret = create_target(
            session,
            name=name,
            kind="webhook",
            url=url,
            events=list(EventType) if events is None else events,
            config={},
            secret=None,
            box=store.box,
            now=now,
        )
        assert secret is not None and secret.startswith("whsec_")
        return target.id, secret


def set_url(store: Store, target_id: int, url: str) -> None:
    """Point a target somewhere else."""
    with store.sessions.begin() as session:
        session.get_one(OutboundTarget, target_id).url = url
