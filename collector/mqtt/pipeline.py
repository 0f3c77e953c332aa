"""Deciding and storing a batch of phone messages in one transaction, and the receipts.

The consumer runs a Pipeline in its ingest thread, or in a process of its own
(`collector.mqtt.ingestproc`); either way a batch is committed before `run` returns, and
the caller acknowledges and answers only then.

`run` raises only when the batch could not be committed (retrying it is safe: whatever
part was committed comes back as duplicates). Nothing after the commit may raise out of
it: a receipt that cannot be written or sent is logged and counted in the result
(`receipts_failed`), never a reason to store a committed batch again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from collector.mqtt.client import Reply
from collector.mqtt.directory import Directory
from collector.mqtt.handling import Decider, Handled, Inbound, flag_names
from collector.mqtt.options import MqttOptions
from collector.runtime import Store
from collector.store.ingest import IngestResult, Outcome, QuarantineItem, ingest
from devices.mobile.native import receipt_json
from rules.geofence import FixPolicy
from rules.vocabulary import SourceKind

log = logging.getLogger(__name__)

STATUS: dict[Outcome, Literal["accepted", "rejected", "duplicate"]] = {
    Outcome.INSERTED: "accepted",
    Outcome.DUPLICATE: "duplicate",
    Outcome.QUARANTINED: "rejected",
}


@dataclass(slots=True)
class BatchResult:
    """What a committed batch came to: receipts per message, in order, and the counts."""

    replies: list[list[Reply]] = field(default_factory=list)
    inserted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    ignored: int = 0
    receipts_failed: int = 0  # receipts that could not be written or sent
    response_topics_refused: int = 0  # MQTT 5 response topics not answered on

    def add(self, other: BatchResult) -> None:
        """Append another committed result (a batch stored one message at a time)."""
        self.replies.extend(other.replies)
        self.inserted += other.inserted
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        self.ignored += other.ignored
        self.receipts_failed += other.receipts_failed
        self.response_topics_refused += other.response_topics_refused


class Pipeline:
    """Turns messages into punches, stores them, and writes the receipts."""

    def __init__(self, store: Store, options: MqttOptions, fix_policy: FixPolicy) -> None:
        self.store = store
        self.directory = Directory(
            store.engine,
            identity_key=options.owntracks_identity,
            default_tz=store.settings.default_timezone,
        )
        self.decider = Decider(self.directory, options.topics, fix_policy)

    def start(self) -> None:
        """Load employees and sites (a failure is retried by the first batch)."""
        try:
            self.directory.refresh(force=True)
        except Exception:  # a database hiccup must not stop startup
            log.warning("could not load employees and sites yet", exc_info=True)

    def stop(self) -> None:
        """Nothing to release (the store belongs to the caller)."""

    def run(self, batch: list[Inbound], now: datetime) -> BatchResult:
        """Decide and commit `batch`; raises only when it could not be committed."""
        try:
            return self._run(batch, now)
        except Exception:
            # The fix caches may name fixes that were never committed.
            self.directory.forget_pending()
            raise

    def _run(self, batch: list[Inbound], now: datetime) -> BatchResult:
        self.directory.refresh()
        policy = self.store.policy
        try:
            with self.store.engine.begin() as conn:
                handled = self._decide(conn, batch, now)
                items = [h.item for h in handled if h.item is not None]
                result = ingest(conn, items, now=now, policy=policy)
        except Exception:
            if len(batch) == 1:
                raise
            # Perhaps one message the store cannot take: go one by one to find it.
            log.warning("batch of %d failed; storing one by one", len(batch), exc_info=True)
            self.directory.forget_pending()
            out = BatchResult()
            for msg in batch:
                out.add(self._run_one(msg, now))
            return out
        return self._result(batch, handled, result)

    def _run_one(self, msg: Inbound, now: datetime) -> BatchResult:
        policy = self.store.policy
        try:
            with self.store.engine.begin() as conn:
                handled = self._decide(conn, [msg], now)
                items = [h.item for h in handled if h.item is not None]
                result = ingest(conn, items, now=now, policy=policy)
        except (OperationalError, InterfaceError):
            # The database's trouble, not the message's (down, a lock or statement timeout,
            # a dropped connection): unacked, the batch is retried until it can be stored.
            raise
        except Exception as exc:
            self.directory.forget_pending()
            bad = QuarantineItem(
                SourceKind.MOBILE,
                reason=f"could not store: {exc!r}"[:500],
                raw=msg.payload.decode("utf-8", "replace"),
                reference=msg.topic,
                origin=msg.topic,
            )
            handled = [Handled(bad)]
            with self.store.engine.begin() as conn:  # raises if the database is down
                result = ingest(conn, [bad], now=now, policy=policy)
        return self._result([msg], handled, result)

    def _decide(self, conn: Any, batch: list[Inbound], now: datetime) -> list[Handled]:
        out = []
        for msg in batch:
            try:
                out.append(self.decider.handle(msg, conn, now))
            except DBAPIError:
                raise  # the database failed, not the message: the whole batch is retried
            except Exception as exc:  # one odd message must never stop the rest
                log.exception("deciding a message on %s failed", msg.topic)
                out.append(Handled(self.decider.quarantine(msg, f"internal error: {exc!r}"[:500])))
        return out

    def _result(
        self, batch: list[Inbound], handled: list[Handled], result: IngestResult
    ) -> BatchResult:
        # After the commit: whatever goes wrong here costs a receipt, never the batch.
        out = BatchResult(
            inserted=result.inserted,
            duplicates=result.duplicates,
            quarantined=result.quarantined,
        )
        outcomes = iter(result.outcomes)
        index = 0
        for msg, h in zip(batch, handled, strict=True):
            if h.response_topic_refused is not None:
                out.response_topics_refused += 1
            if h.item is None:
                out.ignored += 1
                out.replies.append([])
                continue
            outcome = next(outcomes)
            reason = result.reasons.get(index)
            index += 1
            replies: list[Reply] = []
            if h.reply_to:
                try:
                    replies = self._replies(msg, h, outcome, reason)
                except Exception:
                    log.exception("could not write the receipt of a message on %s", msg.topic)
                    out.receipts_failed += 1
            out.replies.append(replies)
        return out

    def _replies(
        self, msg: Inbound, h: Handled, outcome: Outcome, reason: str | None
    ) -> list[Reply]:
        d = h.decision
        body = receipt_json(
            STATUS[outcome],
            h.ref_id,
            reason if outcome is Outcome.QUARANTINED else (d.reason if d else None),
            d.site_code if d else None,
            None if d is None or d.distance_m is None else round(d.distance_m, 1),
            flag_names(int(d.flags)) if d else [],
            h.response_topic_refused,
        )
        return [
            (topic, body, msg.correlation if topic == msg.response_topic else None)
            for topic in h.reply_to
        ]
