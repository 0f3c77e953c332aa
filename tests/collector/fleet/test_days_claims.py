"""The days queue across processes: concurrent claims take disjoint marks (SKIP LOCKED)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from collector.days.dirty import claim_dirty
from collector.store.ingest import mark_dirty
from collector.store.models import DirtyDay
from tests.collector.test_days import setup_office

START = date(2026, 10, 1)


def test_two_workers_claim_disjoint_marks_while_both_are_open(store: Any, now: Any) -> None:
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer: the second claim waits for the first to commit")
    emp, _ = setup_office(store, now)
    days = [(emp, START + timedelta(days=i)) for i in range(30)]
    with store.engine.begin() as conn:
        conn.execute(delete(DirtyDay))  # only this test's marks
        mark_dirty(conn, days)
    # Two collectors' days workers, each in its own open transaction at the same time.
    with store.engine.connect() as one, store.engine.connect() as two:
        first = one.begin()
        second = two.begin()
        a = claim_dirty(one, 20)
        b = claim_dirty(two, 20)  # does not wait for `one`: it skips the locked marks
        assert len(a) == 20 and len(b) == 10 and not a & b
        assert a | b == set(days)
        second.commit()
        first.rollback()  # the first collector dies: its marks are back for anyone
    with store.engine.connect() as conn:
        left = conn.scalar(select(func.count()).select_from(DirtyDay))
    assert left == 20
