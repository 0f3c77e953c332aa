"""The running service's shared pieces: the store handle built from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from collector.config import apply_config, load_config
from collector.normalize import NormalizePolicy, QuarantineLimits
from collector.sealing import SecretBox, SecretKeyError, reseal_plain
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade

log = logging.getLogger(__name__)


@dataclass
class Store:
    """The database engine, session factory and the settings they came from."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def policy(self) -> NormalizePolicy:
        """Normalisation tolerances from settings."""
        s = self.settings
        return NormalizePolicy(
            default_timezone=s.default_timezone,
            future_tolerance=timedelta(seconds=s.future_tolerance_s),
            plausible_year_min=s.plausible_year_min,
            plausible_years_ahead=s.plausible_years_ahead,
            quarantine=QuarantineLimits(
                per_upload=s.quarantine_max_per_upload,
                per_origin=s.quarantine_max_per_origin,
                window=timedelta(seconds=s.quarantine_window_s),
            ),
        )

    @cached_property
    def readers(self) -> sessionmaker[Session]:
        """Sessions for work that only reads (the API's GET requests).

        On PostgreSQL they run in autocommit: no BEGIN and ROLLBACK round trips around
        each request. Reads see what they would in a transaction, since READ COMMITTED
        takes a snapshot per statement anyway. SQLite's are the ordinary sessions.
        """
        if self.engine.dialect.name != "postgresql":
            return self.sessions
        return make_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    @cached_property
    def box(self) -> SecretBox:
        """Seals and opens stored secrets (comm keys, push tokens) with the settings' key."""
        return SecretBox(self.settings)

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()


def open_store(settings: Settings, *, migrate: bool = True, apply: bool = True) -> Store:
    """Connect, bring the schema up to date, and apply the configuration file."""
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    if migrate:
        upgrade(engine)
    store = Store(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    if migrate:
        _reseal(store)
    if apply and settings.config is not None:
        cfg = load_config(settings.config)
        with store.sessions.begin() as session:
            counts = apply_config(
                session,
                cfg,
                now=utcnow(),
                box=store.box,
                punch_policy=store.policy,
                actor=f"config:{settings.config}",
            )
        log.info("configuration applied from %s: %s", settings.config, counts)
    return store


def _reseal(store: Store) -> None:
    # Comm keys written plain before sealing existed are sealed on the first start after.
    try:
        with store.sessions.begin() as session:
            count = reseal_plain(session, store.box)
    except SecretKeyError as exc:
        log.warning("plain comm keys left unsealed: %s", exc)
        return
    if count:
        log.info("sealed %d comm keys stored in plain text", count)


def utcnow() -> datetime:
    """The current time, aware, in UTC (the one place the collector reads the clock)."""
    return datetime.now(UTC)
