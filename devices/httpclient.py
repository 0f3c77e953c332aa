"""What the HTTP device clients (Hikvision, Dahua, BioTime) share: the target, the connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Self

import httpx

from devices.errors import DeviceError, DeviceProtocolError, DeviceTimeout, DeviceUnreachable


@dataclass(frozen=True, slots=True, repr=False)
class HTTPTarget:
    """Where a device is and how to log in (the password kept out of repr)."""

    host: str
    port: int = 80
    username: str = "admin"
    password: str = field(default="", repr=False)
    https: bool = False
    timeout: float = 10.0

    @property
    def base_url(self) -> str:
        """The device's URL."""
        return f"{'https' if self.https else 'http'}://{self.host}:{self.port}"

    def __repr__(self) -> str:  # the password never appears in logs or tracebacks
        return f"{type(self).__name__}({self.base_url}, user={self.username})"


class HTTPClient:
    """One device's API over a kept-alive httpx connection; use as a context manager."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._http.close()

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        """A reply's JSON body; one that is not JSON is a protocol error."""
        try:
            return response.json()
        except ValueError as exc:
            raise DeviceProtocolError(f"reply is not JSON: {exc}") from None


def digest_http(target: HTTPTarget, transport: httpx.BaseTransport | None) -> httpx.Client:
    """An httpx client logging in to `target` with HTTP Digest."""
    return httpx.Client(
        base_url=target.base_url,
        auth=httpx.DigestAuth(target.username, target.password),
        timeout=target.timeout,
        transport=transport,
        verify=False,  # terminals and controllers ship self-signed certificates
    )


@contextmanager
def transport_errors(peer: str, dropped: tuple[str, ...] = ("disconnected",)) -> Iterator[None]:
    """httpx's failures as `DeviceError`s; a protocol error naming one of `dropped` is a link
    that died before the reply, any other a garbled reply."""
    try:
        yield
    except DeviceError:
        raise
    except httpx.TimeoutException as exc:
        raise DeviceTimeout(f"timed out waiting for {peer}") from exc
    except httpx.RemoteProtocolError as exc:
        if any(word in str(exc).lower() for word in dropped):
            raise DeviceUnreachable(f"connection dropped: {exc}") from exc
        raise DeviceProtocolError(f"garbled reply: {exc}") from exc
    except httpx.TransportError as exc:
        raise DeviceUnreachable(f"network error: {exc}") from exc
