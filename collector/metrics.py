"""The service's Prometheus instruments, kept by `prometheus_client`.

Workers update the module-level instruments (poll durations, MQTT backlog, ack latency);
figures that live in the database (punches by source, open quarantine, terminals online,
days waiting) are read at scrape time by `collector.metrics_db`. The MQTT ingest child
process updates nothing here: it returns its counts with each batch and the consumer, in
the serving process, records them (so no multiprocess mode is needed).

The thin wrappers keep one calling style for every instrument (labels as keywords, one
call per update) and let a worker ask for an instrument by name wherever it starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

import prometheus_client as prom
from prometheus_client.metrics import MetricWrapperBase

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# In the v0.0.4 text each `_created` sample is a gauge series of its own: one more per
# device for every counter and histogram, which no dashboard of ours reads.
prom.disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream

P = TypeVar("P", bound=MetricWrapperBase, covariant=True)


class _Metric(Generic[P]):
    """One prometheus_client instrument and the label names it takes."""

    def __init__(self, metric: P, name: str, label_names: Sequence[str]) -> None:
        self.name, self.label_names, self._metric = name, tuple(label_names), metric

    def _check(self, labels: dict[str, str]) -> dict[str, str]:
        """`labels` as strings (ValueError when they are not this metric's)."""
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return {k: str(v) for k, v in labels.items()}

    def _child(self, labels: dict[str, str]) -> P:
        """The series for `labels`, created on first use."""
        checked = self._check(labels)
        return self._metric.labels(**checked) if checked else self._metric

    def _read(self, sample_name: str, labels: dict[str, str]) -> float:
        """A sample's current value, 0 for a series never updated (reading creates none)."""
        wanted = self._check(labels)
        for family in self._metric.collect():
            for sample in family.samples:
                if sample.name == sample_name and sample.labels == wanted:
                    return float(sample.value)
        return 0.0


class Counter(_Metric[prom.Counter]):
    """A value that only goes up (events since the process started)."""

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` (not negative: prometheus_client raises ValueError)."""
        self._child(labels).inc(amount)

    def value(self, **labels: str) -> float:
        """The current value."""
        # prometheus_client names a counter's sample with `_total` whether or not we did.
        return self._read(self.name.removesuffix("_total") + "_total", labels)


class Gauge(_Metric[prom.Gauge]):
    """A value that goes up and down (a backlog, a count of things now)."""

    def set(self, value: float, **labels: str) -> None:
        """Set the current value."""
        self._child(labels).set(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` (may be negative)."""
        self._child(labels).inc(amount)

    def value(self, **labels: str) -> float:
        """The current value."""
        return self._read(self.name, labels)


class Histogram(_Metric[prom.Histogram]):
    """Observations counted into cumulative buckets, with their sum and count."""

    def observe(self, value: float, **labels: str) -> None:
        """Record one observation (e.g. seconds one poll took)."""
        self._child(labels).observe(value)

    def observe_many(self, values: Iterable[float], **labels: str) -> None:
        """Record several observations of one series."""
        child = self._child(labels)
        for value in values:
            child.observe(value)

    def count(self, **labels: str) -> int:
        """How many observations were made."""
        return int(self._read(self.name + "_count", labels))


M = TypeVar("M", bound=_Metric[MetricWrapperBase])


class Registry:
    """The instruments of one process, rendered together."""

    def __init__(self) -> None:
        self.collectors = prom.CollectorRegistry()
        self._metrics: dict[str, _Metric[MetricWrapperBase]] = {}
        self._lock = threading.Lock()

    def _once(
        self, kind: type[M], name: str, labels: Sequence[str], make: Callable[[], MetricWrapperBase]
    ) -> M:
        """The metric registered as `name`, made now if it is new (registered the same way)."""
        with self._lock:
            found = self._metrics.get(name)
            if found is None:
                made = self._metrics[name] = kind(make(), name, labels)
                return made
        if type(found) is not kind or found.label_names != tuple(labels):
            raise ValueError(f"metric {name} already registered differently")
        return found

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        """The counter `name`, created on first use."""
        reg = self.collectors
        return self._once(
            Counter, name, labels, lambda: prom.Counter(name, help_text, labels, registry=reg)
        )

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        """The gauge `name`, created on first use."""
        reg = self.collectors
        return self._once(
            Gauge, name, labels, lambda: prom.Gauge(name, help_text, labels, registry=reg)
        )

    def histogram(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """The histogram `name`, created on first use."""
        bounds, reg = tuple(sorted(buckets)), self.collectors
        return self._once(
            Histogram,
            name,
            labels,
            lambda: prom.Histogram(name, help_text, labels, registry=reg, buckets=bounds),
        )

    def render(self) -> str:
        """Every metric in the text exposition format (v0.0.4)."""
        return prom.generate_latest(self.collectors).decode()


REGISTRY = Registry()

# Hooks for the workers (they import these and update them; nothing else to wire).
POLL_DURATION = REGISTRY.histogram(
    "punchgate_poll_duration_seconds", "Time one poll of a terminal took.", ("device",)
)
POLL_FAILURES = REGISTRY.counter(
    "punchgate_poll_failures_total", "Polls of a terminal that failed.", ("device",)
)
MQTT_BACKLOG = REGISTRY.gauge(
    "punchgate_mqtt_backlog", "MQTT messages received and not yet committed and acknowledged."
)
MQTT_ACK_LATENCY = REGISTRY.histogram(
    "punchgate_mqtt_ack_latency_seconds", "Time from receiving a phone punch to its ack."
)
MQTT_RECEIPTS_FAILED = REGISTRY.counter(
    "punchgate_mqtt_receipts_failed_total",
    "Receipts to phones that could not be sent (their punches were stored and acknowledged).",
)
MQTT_RESPONSE_TOPICS_REFUSED = REGISTRY.counter(
    "punchgate_mqtt_response_topics_refused_total",
    "MQTT 5 response topics refused (outside the phone's replies namespace, or invalid).",
)
BAD_INPUT = REGISTRY.counter(
    "punchgate_bad_input_total",
    "Input from terminals, push terminals and phones refused into quarantine, by source kind "
    "(each line or message, however the quarantine keeps it).",
    ("source",),
)
