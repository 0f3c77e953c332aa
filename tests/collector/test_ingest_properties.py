"""Ingest is idempotent whatever the order, the repetition or the batching."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from collector.normalize import NormalizePolicy, RawPunch
from collector.store.ingest import QuarantineItem, ingest_batch
from collector.store.models import Base
from rules.vocabulary import SourceKind
from tests.conftest import NOW

POLICY = NormalizePolicy()
BASE = datetime(2026, 3, 27, 6, 0)  # spans the Berlin DST change on the 29th

events = st.builds(
    lambda code, minutes, source, state: RawPunch(
        employee_code=code,
        timestamp=BASE + timedelta(minutes=minutes),
        source_kind=source,
        tz="Europe/Berlin",
        device_code="door-1" if source is not SourceKind.IMPORT else None,
        state=state,
        verify=1,
    ),
    code=st.sampled_from(["1001", "1002", "1003", "9999", "", "x" * 70]),
    minutes=st.integers(0, 5 * 24 * 60),
    source=st.sampled_from([SourceKind.TERMINAL, SourceKind.PUSH, SourceKind.IMPORT]),
    state=st.sampled_from([0, 1, 255, "in", "bogus"]),
)
bad = st.builds(
    lambda n: QuarantineItem(SourceKind.PUSH, reason="garbage line", raw=f"junk {n}"),
    st.integers(0, 5),
)
items = st.lists(st.one_of(events, events, bad), min_size=1, max_size=40)


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f"DELETE FROM {table.name}"))
        conn.execute(
            text(
                "INSERT INTO employees (id, code, name, identities, created_at) VALUES "
                "(1, '1001', 'A', '{}', '2026-01-01'), (2, '1002', 'B', '{}', '2026-01-01')"
            )
        )


def _snapshot(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as conn:
        punches = conn.execute(
            text("SELECT dedupe_key, employee_code, occurred_at, employee_id FROM punches")
        ).all()
        keys = [p[0] for p in punches]
        assert len(keys) == len(set(keys))
        quarantine = conn.execute(text("SELECT dedupe_key, reason FROM quarantine")).all()
        dirty = conn.execute(text("SELECT employee_id, local_date FROM dirty_days")).all()
    return (
        sorted(tuple(map(str, p)) for p in punches),
        sorted(tuple(q) for q in quarantine),
        sorted(tuple(map(str, d)) for d in dirty),
    )


def _ingest_split(engine: Engine, batch: list[RawPunch | QuarantineItem], cuts: list[int]) -> None:
    bounds = sorted({0, len(batch), *(c % (len(batch) + 1) for c in cuts)})
    for lo, hi in itertools.pairwise(bounds):
        ingest_batch(engine, batch[lo:hi], now=NOW, policy=POLICY)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=items, data=st.data())
def test_any_order_any_split_any_repetition_leaves_the_same_store(engine, batch, data):
    _reset(engine)
    ingest_batch(engine, batch, now=NOW, policy=POLICY)
    once = _snapshot(engine)

    _reset(engine)
    shuffled = data.draw(st.permutations(batch))
    cuts = data.draw(st.lists(st.integers(0, 100), max_size=4))
    _ingest_split(engine, shuffled, cuts)
    _ingest_split(engine, batch, list(reversed(cuts)))
    assert _snapshot(engine) == once
