"""The BioTime REST client: JWT (or token) login, the transactions pages, terminal info.

`POST /jwt-api-token-auth/` with the user name and password gives a token sent as
`Authorization: JWT <token>`; servers without it (404), or whose licence refuses it (403,
"IsNotOpenAPI"), are asked `POST /api-token-auth/` for `Authorization: Token <token>`. A 401
on a call means the token expired: the client logs in again once and repeats the call.

httpx's exceptions and the server's statuses become `devices.errors` at one boundary
(`_send`):

httpx.TimeoutException            → DeviceTimeout
httpx.TransportError (connect…)   → DeviceUnreachable (also a link dropped before the reply)
httpx.RemoteProtocolError         → DeviceProtocolError
login refused (400/401)           → DeviceAuthError
403 on both logins, other 4xx/5xx → DeviceRefused (with the server's detail)
unreadable body                   → DeviceProtocolError
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from devices.biotime.transactions import TransactionPage, WireError, parse_page
from devices.errors import (
    DeviceAuthError,
    DeviceProtocolError,
    DeviceRefused,
)
from devices.httpclient import HTTPClient, HTTPTarget, transport_errors
from devices.types import DeviceInfo

JWT_LOGIN = "/jwt-api-token-auth/"
TOKEN_LOGIN = "/api-token-auth/"
TRANSACTIONS = "/iclock/api/transactions/"
TERMINALS = "/iclock/api/terminals/"
PAGE_SIZE = 500


@dataclass(frozen=True, slots=True, repr=False)
class BioTimeTarget(HTTPTarget):
    """Where the server is, how to log in, and which terminal to read (password kept out)."""

    page_size: int = PAGE_SIZE
    terminal_sn: str | None = None  # one terminal's punches; None: every terminal's
    auth: str = "auto"  # auto (JWT, then token), jwt, token

    def __repr__(self) -> str:  # the password never appears in logs or tracebacks
        return f"BioTimeTarget({self.base_url}, user={self.username}, sn={self.terminal_sn})"


class BioTimeClient(HTTPClient):
    """One BioTime server's API over a kept-alive connection; use as a context manager."""

    def __init__(self, target: BioTimeTarget, *, transport: httpx.BaseTransport | None = None):
        self.target = target
        self.scheme: str | None = None  # JWT or Token, once logged in
        self._token: str | None = None
        super().__init__(
            httpx.Client(
                base_url=target.base_url,
                timeout=target.timeout,
                transport=transport,
                verify=False,  # on-premises servers often run self-signed certificates
                headers={"Accept": "application/json"},
            )
        )

    def login(self) -> None:
        """Get a token: JWT where the server and licence allow, else token auth."""
        body = {"username": self.target.username, "password": self.target.password}
        refusals: list[str] = []
        choices = {"jwt": [("JWT", JWT_LOGIN)], "token": [("Token", TOKEN_LOGIN)]}
        for scheme, path in choices.get(self.target.auth, choices["jwt"] + choices["token"]):
            with transport_errors("the server"):
                reply = self._http.post(path, json=body)
            if reply.status_code in (404, 405, 403):
                refusals.append(f"{path}: HTTP {reply.status_code} {_detail(reply)}".strip())
                continue  # not offered, or not licensed: the other login may be
            if reply.status_code in (400, 401):
                raise DeviceAuthError(f"user name or password refused: {_detail(reply)}")
            token = self._json(reply).get("token") if reply.status_code == 200 else None
            if not isinstance(token, str) or not token:
                raise DeviceProtocolError(f"login answered {reply.status_code} without a token")
            self.scheme, self._token = scheme, token
            return
        raise DeviceRefused("no login accepted: " + "; ".join(refusals))

    def page(self, number: int, size: int | None = None) -> TransactionPage:
        """One page of the transactions (the server's default order: ascending id)."""
        params: dict[str, str] = {
            "page": str(number),
            "page_size": str(size or self.target.page_size),
        }
        if self.target.terminal_sn:
            params["terminal_sn"] = self.target.terminal_sn
        try:
            return parse_page(self._get(TRANSACTIONS, params))
        except WireError as exc:
            raise DeviceProtocolError(f"unreadable transactions reply: {exc}") from None

    def pages_after(self, cursor: int) -> Iterator[TransactionPage]:
        """The pages holding ids above `cursor`, from the last page backwards.

        Ids grow as punches arrive and the default order is ascending id, so new punches
        (late uploads of old punches included) are on the last pages: the walk stops at the
        first page reaching down to the cursor. A punch arriving meanwhile lands after the
        pages walked and is read next time.
        """
        size = self.target.page_size
        first = self.page(1, size)
        last = max(1, math.ceil(first.count / size))
        number = last
        while number >= 1:
            page = first if number == 1 else self.page(number, size)
            yield page
            if any(item.id <= cursor for item in page.items):
                return
            number -= 1

    def terminal_info(self, sn: str) -> DeviceInfo | None:
        """What the server knows of one terminal (`/iclock/api/terminals/?sn=`), or None."""
        body = self._get(TERMINALS, {"sn": sn, "page_size": "10"})
        data = body.get("data") if isinstance(body, dict) else None
        for item in data if isinstance(data, list) else []:
            if isinstance(item, dict) and str(item.get("sn")) == sn:
                return DeviceInfo(
                    serial=sn,
                    platform=str(item.get("alias") or "") or None,
                    firmware=str(item.get("fw_ver") or "") or None,
                    users=_int(item.get("user_count")),
                    records=_int(item.get("transaction_count")),
                    extra={k: str(item[k]) for k in ("terminal_tz", "last_activity") if k in item},
                )
        return None

    def _get(self, path: str, params: dict[str, str]) -> Any:
        if self._token is None:
            self.login()
        reply = self._send(path, params)
        if reply.status_code == 401:  # the token expired: log in again, once
            self.login()
            reply = self._send(path, params)
            if reply.status_code == 401:
                raise DeviceAuthError(f"token refused after a fresh login: {_detail(reply)}")
        if reply.status_code >= 400:
            raise DeviceRefused(f"HTTP {reply.status_code}: {_detail(reply)}")
        return self._json(reply)

    def _send(self, path: str, params: dict[str, str]) -> httpx.Response:
        headers = {"Authorization": f"{self.scheme} {self._token}"}
        with transport_errors("the server"):
            return self._http.get(path, params=params, headers=headers)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _detail(response: httpx.Response) -> str:
    """The server's error words (`detail`, `msg`, `non_field_errors`) as one line."""
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:120]
    if isinstance(body, dict):
        for key in ("detail", "msg", "non_field_errors", "message"):
            value = body.get(key)
            if value:
                return " ".join(map(str, value)) if isinstance(value, list) else str(value)
    return str(body)[:120]
