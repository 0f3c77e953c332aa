"""Standard Webhooks delivery: a signed POST of the stored body; only 2xx counts, 410 disables.

Signing is the `standardwebhooks` reference implementation's: `v1,` + base64 of
HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, one signature per secret in
force (several while a secret is being rotated), separated by spaces.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from collector.outbound.delivery import Attempt, Claimed, Outcome
from collector.outbound.http import HttpClient, HttpError
from collector.outbound.targets import TargetInfo

USER_AGENT = "punchgate-webhooks/1"


def signed_headers(target: TargetInfo, msg: Claimed, *, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt at `at`."""
    stamp = datetime.fromtimestamp(int(at.timestamp()), UTC)
    signatures = " ".join(s.sign(msg.msg_id, stamp, msg.payload) for s in target.signers)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg.msg_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": signatures,
    }


def outcome_of(status: int) -> Outcome:
    """2xx delivered, 410 gone, anything else (3xx included: no redirects) retried."""
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410:
        return Outcome.GONE
    return Outcome.RETRY


class WebhookSender:
    """Sends outbox messages to Standard Webhooks endpoints."""

    kind = "webhook"

    def __init__(self, client: HttpClient) -> None:
        self.client = client

    def send(self, target: TargetInfo, msg: Claimed) -> Attempt:
        """One attempt; never raises for what the network or the endpoint does."""
        started = time.monotonic()
        try:
            response = self.client.post(
                target.url,
                msg.payload.encode(),
                signed_headers(target, msg, at=datetime.now(UTC)),
            )
        except HttpError as exc:
            return Attempt(msg, Outcome.RETRY, None, str(exc), _ms(started))
        outcome = outcome_of(response.status)
        error = None if outcome is Outcome.DELIVERED else response.text[:500]
        return Attempt(msg, outcome, response.status, error, _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
