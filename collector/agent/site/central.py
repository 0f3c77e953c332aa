"""The agent's calls to the central service: enrol, contact (health out, config in), forward.

Outbound HTTPS only (httpx, the certificate checked against the system's or a given CA
bundle). Errors are translated here, once: the centre refusing the credential is
`AgentRefused` (revoked: the agent stops), anything else that keeps a batch from being
acknowledged is `CentralUnavailable` (the agent keeps the batch and tries again later).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from collector.agent.wire import (
    BATCHES_PATH,
    CONTACT_PATH,
    ENROL_PATH,
    AgentConfig,
    BatchReceipt,
    EnrolReply,
    EnrolRequest,
    Health,
)

M = TypeVar("M", bound=BaseModel)


class CentralError(Exception):
    """A call to the central service did not succeed."""


class CentralUnavailable(CentralError):
    """No answer, or not a usable one: try again later (nothing was lost)."""


class AgentRefused(CentralError):
    """The centre refused this agent's credential or token (revoked, unknown, expired)."""


class Central:
    """A kept-alive HTTP client to the central service."""

    def __init__(
        self,
        url: str,
        *,
        credential: str | None = None,
        ca_file: Path | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        self._http = httpx.Client(
            base_url=url.rstrip("/"),
            headers=headers,
            timeout=timeout_s,
            verify=str(ca_file) if ca_file else True,
        )

    def close(self) -> None:
        """Close the connection."""
        self._http.close()

    def __enter__(self) -> Central:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def enrol(self, request: EnrolRequest) -> EnrolReply:
        """Exchange a one-time token for the agent's credential."""
        return self._post(ENROL_PATH, request, EnrolReply)

    def contact(self, health: Health) -> AgentConfig:
        """Report health; get the configuration back."""
        return self._post(CONTACT_PATH, health, AgentConfig)

    def forward(self, batch_id: str, items: list[dict[str, Any]]) -> BatchReceipt:
        """Send a batch; the receipt names the batch id once it is committed centrally."""
        body = {"batch_id": batch_id, "items": items}
        receipt = self._post(BATCHES_PATH, body, BatchReceipt)
        if receipt.batch_id != batch_id:
            raise CentralUnavailable(f"receipt for {receipt.batch_id}, not {batch_id}")
        return receipt

    def _post(self, path: str, body: BaseModel | dict[str, Any], reply: type[M]) -> M:
        payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        try:
            response = self._http.post(path, json=payload)
        except httpx.HTTPError as exc:
            raise CentralUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in (401, 403) or (
            path == ENROL_PATH and response.status_code == 404
        ):
            raise AgentRefused(_detail(response))
        if response.status_code != 200:
            raise CentralUnavailable(f"HTTP {response.status_code}: {_detail(response)}")
        try:
            return reply.model_validate_json(response.content)
        except ValidationError as exc:
            raise CentralUnavailable(f"unreadable answer: {exc.error_count()} errors") from exc


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text[:200]))
    except ValueError:
        return response.text[:200]
