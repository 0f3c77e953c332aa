"""The store's read sessions: autocommit on PostgreSQL, and it never leaks to writers."""

from __future__ import annotations

from sqlalchemy import func, select

from collector.store.models import Department


def driver(session):
    return session.connection().connection.driver_connection


def test_read_sessions_skip_transactions_on_postgresql_only(store):
    with store.readers() as reader:
        assert reader.scalar(select(func.count()).select_from(Department)) == 0
        autocommit = getattr(driver(reader), "autocommit", None)
    if store.engine.dialect.name == "postgresql":
        assert autocommit is True  # no BEGIN / ROLLBACK round trips around a GET
    else:
        assert store.readers is store.sessions
    # The pooled connection goes back to writers transactional: a failed write rolls back.
    for _ in range(3):
        try:
            with store.sessions.begin() as writer:
                if store.engine.dialect.name == "postgresql":
                    assert driver(writer).autocommit is False
                writer.add(Department(code="X", name="x"))
                writer.flush()
                raise RuntimeError("abort")
        except RuntimeError:
            pass
    with store.readers() as reader:
        assert reader.scalar(select(func.count()).select_from(Department)) == 0
