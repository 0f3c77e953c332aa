"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, insert, select, table

from collector.normalize import NormalizePolicy, RawPunch, normalize
from collector.store.db import MIGRATIONS
from collector.store.ingest import ingest_batch
from collector.store.models import AuditLog, Base, Device, DirtyDay, Employee, Punch
from rules.vocabulary import PunchFlag, PunchState, SourceKind

BERLIN = "Europe/Berlin"
POLICY = NormalizePolicy()


def test_migrations_match_models(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def _alembic(engine, step, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        step(cfg, revision)
        conn.commit()


def _before_0008() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    down = ScriptDirectory.from_config(cfg).get_revision("0008").down_revision
    assert isinstance(down, str)
    return down


def _old_key(code: str, occurred_at: datetime) -> str:
    # The rule before 0008: the employee code and the UTC second.
    basis = f"p|{code}|{int(occurred_at.timestamp())}"
    return hashlib.blake2b(basis.encode(), digest_size=16).hexdigest()


def _store_as_before(engine, raw: RawPunch, employees: dict[str, int], now: datetime) -> int:
    """Store a punch the way the code before 0008 did (keyed on the UTC second)."""
    row: dict[str, Any] = dict(normalize(raw, now=now, policy=POLICY))
    if raw.source_kind in (SourceKind.TERMINAL, SourceKind.PUSH, SourceKind.IMPORT):
        row["dedupe_key"] = _old_key(row["employee_code"], row["occurred_at"])
    else:  # keyed on the reference: a hex hash until 0019
        basis = f"{raw.source_kind.value}|{row['employee_code']}|{raw.source_ref}"
        row["dedupe_key"] = hashlib.blake2b(basis.encode(), digest_size=16).hexdigest()
    emp = employees.get(row["employee_code"])
    row.update(employee_id=emp, received_at=now)
    if emp is None:
        row["flags"] |= int(PunchFlag.UNKNOWN_EMPLOYEE)
    with engine.begin() as conn:
        # The table as it was then (a text key), not as the models declare it now.
        then = table("punches", column("id"), *(column(name) for name in row))
        pk: int = conn.execute(insert(then).values(**row).returning(then.c.id)).scalar_one()
    return pk


def _terminal(code: str, when: datetime, tz: str, device: str = "door", **kw) -> RawPunch:
    return RawPunch(code, when, SourceKind.TERMINAL, tz=tz, device_code=device, state=0, **kw)


def test_0008_rekeys_old_punches_and_voids_what_the_zone_defect_doubled(engine, now):
    with engine.begin() as conn:
        emp = conn.execute(
            insert(Employee)
            .values(code="1001", name="A", identities={}, created_at=now)
            .returning(Employee.id)
        ).scalar_one()
        conn.execute(
            insert(Device).values(
                code="door", kind="zk", timezone=BERLIN, options={}, sync_state={}
            )
        )
    employees = {"1001": emp}
    nine = datetime(2026, 1, 15, 9, 0, 7)
    skew = int(PunchFlag.CLOCK_SKEW)
    raws = {
        # Read with UTC first (the doubled copy, an hour off), then with the device's zone.
        "a_utc": _terminal("1001", nine, "UTC", flags=skew),
        "a_berlin": _terminal("1001", nine, BERLIN),
        # `sync --host` twice (no device row): the one stored first is kept.
        "b_berlin": _terminal("1002", nine, BERLIN, device="127.0.0.1:4370"),
        "b_utc": _terminal("1002", nine, "UTC", device="127.0.0.1:4370", flags=skew),
        # A pair of which HR already voided one: the other is kept and nothing more voided.
        "c_berlin": _terminal("1001", datetime(2026, 1, 16, 9, 0), BERLIN),
        "c_utc": _terminal("1001", datetime(2026, 1, 16, 9, 0), "UTC"),
        "gap": _terminal("1001", datetime(2026, 3, 29, 2, 30), BERLIN),
        "fold": _terminal("1001", datetime(2026, 10, 25, 2, 30), BERLIN),
        "fold_second": RawPunch(
            "1001", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), SourceKind.IMPORT, tz=BERLIN
        ),
        "push": RawPunch("1003", nine, SourceKind.PUSH, tz=BERLIN, device_code="face"),
        "phone": RawPunch(
            "1001", datetime(2026, 1, 15, 8, 0, tzinfo=UTC), SourceKind.MOBILE, source_ref="m1"
        ),
    }
    _alembic(engine, command.downgrade, _before_0008())
    try:
        ids = {name: _store_as_before(engine, raw, employees, now) for name, raw in raws.items()}
        hr_void = _store_as_before(
            engine,
            RawPunch(
                "1001",
                datetime(2026, 1, 16, 8, 0, tzinfo=UTC),
                SourceKind.MANUAL,
                tz=BERLIN,
                state=PunchState.VOID,
                source_ref="hr-1",
                voids_punch_id=ids["c_berlin"],
            ),
            employees,
            now,
        )
        with engine.connect() as conn:
            before = dict(conn.execute(select(Punch.id, Punch.dedupe_key)).all())
    finally:
        _alembic(engine, command.upgrade, "head")

    with engine.connect() as conn:
        keys = dict(conn.execute(select(Punch.id, Punch.dedupe_key)).all())
        voids = conn.execute(
            select(Punch.voids_punch_id, Punch.note, Punch.id, Punch.employee_id)
            .where(Punch.state == "void", Punch.id != hr_void)
            .order_by(Punch.voids_punch_id)
        ).all()
        audit = conn.execute(select(AuditLog.actor, AuditLog.action, AuditLog.entity_id)).all()
        dirty = conn.execute(select(DirtyDay.employee_id, DirtyDay.local_date)).all()
    now_key = {
        name: normalize(raw, now=now, policy=POLICY)["dedupe_key"] for name, raw in raws.items()
    }
    kept = ("a_berlin", "b_berlin", "c_utc", "gap", "fold", "fold_second", "push", "phone")
    assert {name: keys[ids[name]] for name in kept} == {name: now_key[name] for name in kept}
    assert isinstance(before[hr_void], str) and isinstance(keys[hr_void], int)
    # Each double keeps its row under a key of its own.
    distinct = set(now_key.values())
    doubled = {keys[ids[name]] for name in ("a_utc", "b_utc", "c_berlin")}
    assert len(distinct) == len(raws) - 3 and len(doubled) == 3 and not doubled & distinct
    # The doubles HR had not voided are voided now, each noted, audited, its day marked.
    assert [(v[0], v[3]) for v in voids] == [(ids["a_utc"], emp), (ids["b_utc"], None)]
    assert all(
        f"the same record as punch {ids[k]}" in v[1]
        for v, k in zip(voids, ("a_berlin", "b_berlin"), strict=True)
    )
    assert sorted(audit) == sorted(("migration:0008", "punch.void", str(v[2])) for v in voids)
    assert (emp, date(2026, 1, 15)) in dirty

    # Every record read again, with either zone, is recognised.
    again = ingest_batch(engine, list(raws.values()), now=now, policy=POLICY)
    assert (again.inserted, again.duplicates) == (0, len(raws))
    with engine.connect() as conn:
        assert len(conn.execute(select(Punch.id)).all()) == len(raws) + 1 + len(voids)
        keys_after = dict(conn.execute(select(Punch.id, Punch.dedupe_key)).all())

    # Downgrading gives the rows back their old keys (the doubles too: apart then).
    _alembic(engine, command.downgrade, _before_0008())
    try:
        with engine.connect() as conn:
            old = dict(conn.execute(select(Punch.id, Punch.dedupe_key)).all())
    finally:
        _alembic(engine, command.upgrade, "head")
    assert {pid: old[pid] for pid in before} == before
    with engine.connect() as conn:
        # Upgrading again gives the same keys and voids nothing twice.
        assert dict(conn.execute(select(Punch.id, Punch.dedupe_key)).all()) == keys_after
