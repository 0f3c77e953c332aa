"""A small in-process metrics registry rendered in the Prometheus text format (v0.0.4).

Workers update the module-level instruments (poll durations, MQTT backlog, ack latency);
figures that live in the database (punches by source, open quarantine, terminals online,
days waiting) are read at scrape time by `collector.metrics_db`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

LabelValues = tuple[str, ...]
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def escape(value: str) -> str:
    """A label value escaped for the text format."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, tuple(labels)
        self._lock = threading.Lock()

    def _key(self, labels: dict[str, str]) -> LabelValues:
        if set(labels) != set(self.label_names):
            raise ValueError(f"{self.name} takes labels {self.label_names}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.label_names)

    def header(self) -> list[str]:
        """The HELP and TYPE lines."""
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:  # pragma: no cover - every subclass overrides
        """The sample lines."""
        return []


class Counter(_Metric):
    """A value that only goes up (events since the process started)."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self._values: dict[LabelValues, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` (not negative)."""
        if amount < 0:
            raise ValueError("a counter cannot go down")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """The current value."""
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        """The sample lines."""
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{_labels(self.label_names, k)} {_num(v)}" for k, v in items]


class Gauge(Counter):
    """A value that goes up and down (a backlog, a count of things now)."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        """Set the current value."""
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add `amount` (may be negative)."""
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount


class Histogram(_Metric):
    """Observations counted into cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(buckets))
        self._series: dict[LabelValues, tuple[list[int], list[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        """Record one observation (e.g. seconds one poll took)."""
        self.observe_many((value,), **labels)

    def observe_many(self, values: Iterable[float], **labels: str) -> None:
        """Record several observations of one series (one lock for a batch)."""
        key = self._key(labels)
        with self._lock:
            counts, total = self._series.setdefault(key, ([0] * len(self.buckets), [0.0, 0.0]))
            for value in values:
                for i, bound in enumerate(self.buckets):
                    if value <= bound:
                        counts[i] += 1
                total[0] += value
                total[1] += 1

    def count(self, **labels: str) -> int:
        """How many observations were made."""
        series = self._series.get(self._key(labels))
        return 0 if series is None else int(series[1][1])

    def samples(self) -> list[str]:
        """Bucket, sum and count lines."""
        out: list[str] = []
        with self._lock:
            items = sorted((k, (list(c), list(t))) for k, (c, t) in self._series.items())
        for key, (counts, (total, n)) in items:
            for bound, c in zip(self.buckets, counts, strict=True):
                le = f'le="{_num(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.label_names, key, le)} {c}")
            inf = 'le="+Inf"'
            out.append(f"{self.name}_bucket{_labels(self.label_names, key, inf)} {_num(n)}")
            out.append(f"{self.name}_sum{_labels(self.label_names, key)} {_num(total)}")
            out.append(f"{self.name}_count{_labels(self.label_names, key)} {_num(n)}")
        return out


class Registry:
    """The instruments of one process, rendered together."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def _add(self, metric: _Metric) -> _Metric:
        with self._lock:
            found = self._metrics.get(metric.name)
            if found is not None:
                if type(found) is not type(metric) or found.label_names != metric.label_names:
                    raise ValueError(f"metric {metric.name} already registered differently")
                return found
            self._metrics[metric.name] = metric
            return metric

    def counter(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Counter:
        """The counter `name`, created on first use."""
        metric = self._add(Counter(name, help_text, labels))
        assert isinstance(metric, Counter)
        return metric

    def gauge(self, name: str, help_text: str, labels: Sequence[str] = ()) -> Gauge:
        """The gauge `name`, created on first use."""
        metric = self._add(Gauge(name, help_text, labels))
        assert isinstance(metric, Gauge)
        return metric

    def histogram(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        """The histogram `name`, created on first use."""
        metric = self._add(Histogram(name, help_text, labels, buckets))
        assert isinstance(metric, Histogram)
        return metric

    def render(self) -> str:
        """Every metric in the text exposition format."""
        lines: list[str] = []
        with self._lock:
            metrics = sorted(self._metrics.values(), key=lambda m: m.name)
        for metric in metrics:
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"


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
