"""Collectors starting together on an empty PostgreSQL database migrate it once, in turn."""

from __future__ import annotations

import threading

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from collector.store.db import make_engine, upgrade


def test_three_upgrades_at_once_on_an_empty_database(pg_url: str) -> None:
    base = make_url(pg_url)
    name = f"{base.database}_together"
    admin = make_engine(
        base.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        barrier.wait()
        try:
            upgrade(engine)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        assert {"leases", "fleet_nodes", "punches"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
