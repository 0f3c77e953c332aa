"""terminal, push and import punches keyed on the wall-clock time, not the UTC second

Revision ID: 0008
Revises: 0007

Until now such a punch was keyed on its employee code and its UTC second, so a terminal
read again with another zone setting stored every record a second time, hours off. The
key is now the code and the local time the punch was read as (see collector/normalize.py),
which a zone setting does not change. Every stored punch of those sources is re-keyed.

Rows the old rule had already doubled (the same code and wall-clock second, read with two
zones) now share a key. One is kept under it: a row nobody has voided, read with its
device's configured zone, stored first, in that order of preference. Each other one keeps
its row under a key of its own ("double|<id>") and, unless HR voided it already, is voided
through the ordinary void mechanism: a manual void punch naming it, noted with the punch it
doubles, one audit entry each (actor "migration:0008"), and its day marked for
recomputation. Nothing is deleted; HR can add a punch back if a void was wrong.

The key rule is copied here rather than imported, so that this migration does what it did
when it was written whatever normalize.py becomes.
"""

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

PAGE = 10_000
DST_GAP = 1 << 8
UNKNOWN_EMPLOYEE = 1 << 5
ACTOR = "migration:0008"

punches = sa.table(
    "punches",
    sa.column("id", sa.BigInteger),
    sa.column("dedupe_key", sa.String),
    sa.column("employee_code", sa.String),
    sa.column("employee_id", sa.Integer),
    sa.column("occurred_at", sa.DateTime),
    sa.column("tz", sa.String),
    sa.column("local_date", sa.Date),
    sa.column("source_kind", sa.String),
    sa.column("device_code", sa.String),
    sa.column("verify", sa.String),
    sa.column("state", sa.String),
    sa.column("flags", sa.Integer),
    sa.column("source_ref", sa.String),
    sa.column("voids_punch_id", sa.BigInteger),
    sa.column("note", sa.Text),
    sa.column("received_at", sa.DateTime),
)
devices = sa.table("devices", sa.column("code", sa.String), sa.column("timezone", sa.String))
audit_log = sa.table(
    "audit_log",
    sa.column("at", sa.DateTime),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("entity_id", sa.String),
    sa.column("reason", sa.Text),
    sa.column("details", sa.JSON),
)
rekey = sa.table("rekey_0008", sa.column("id", sa.BigInteger), sa.column("new_key", sa.String))

# The punches both rules key on their time: all but manual ones and phone ones with an id.
KEYED_ON_TIME = sa.not_(
    sa.or_(
        punches.c.source_kind == "manual",
        sa.and_(
            punches.c.source_kind == "mobile",
            punches.c.source_ref.is_not(None),
            punches.c.source_ref != "",
        ),
    )
)


def _hash(basis: str) -> str:
    return hashlib.blake2b(basis.encode(), digest_size=16).hexdigest()


def _zone(name: str, cache: dict[str, ZoneInfo]) -> ZoneInfo:
    found = cache.get(name)
    if found is None:
        try:
            found = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            found = ZoneInfo("UTC")  # cannot happen: ingest refuses unknown zones
        cache[name] = found
    return found


def _wall(occurred_at: datetime, tz: ZoneInfo, flags: int) -> datetime:
    """The naive local time a stored punch was read as (normalize.wall_time as of 0008)."""
    local = occurred_at.astimezone(tz)
    if flags & DST_GAP:
        # A spring-forward gap time was read with the offset before the jump.
        after = local.utcoffset()
        for hours in range(1, 27):
            before = (occurred_at - timedelta(hours=hours)).astimezone(tz).utcoffset()
            if before is not None and before != after:
                return (occurred_at + before).replace(tzinfo=None)
    return local.replace(tzinfo=None)


def new_key(code: str, occurred_at: datetime, tz: ZoneInfo, flags: int) -> str:
    """The key normalize.py gives such a punch from revision 0008 on."""
    wall = _wall(occurred_at, tz, flags)
    seconds = (wall - datetime(1970, 1, 1)) // timedelta(seconds=1)
    return _hash(f"w|{code}|{seconds}|f1" if wall.fold else f"w|{code}|{seconds}")


def old_key(code: str, occurred_at: datetime) -> str:
    """The key of revisions before 0008: the code and the UTC second."""
    return _hash(f"p|{code}|{int(occurred_at.timestamp())}")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def _pages(conn: sa.Connection):
    """The time-keyed punches, a page at a time, in id order."""
    last = 0
    while True:
        rows = conn.execute(
            sa.select(
                punches.c.id, punches.c.employee_code, punches.c.occurred_at, punches.c.tz,
                punches.c.flags,
            )
            .where(KEYED_ON_TIME, punches.c.id > last)
            .order_by(punches.c.id)
            .limit(PAGE)
        ).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _create_rekey(conn: sa.Connection) -> None:
    conn.execute(sa.text(
        "CREATE TEMPORARY TABLE rekey_0008 (id BIGINT PRIMARY KEY, new_key VARCHAR(64) NOT NULL)"
    ))


def _apply_rekey(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(
            "UPDATE punches SET dedupe_key = r.new_key FROM rekey_0008 r WHERE r.id = punches.id"
        ))
    else:
        conn.execute(sa.text(
            "UPDATE punches SET dedupe_key ="
            " (SELECT r.new_key FROM rekey_0008 r WHERE r.id = punches.id)"
            " WHERE id IN (SELECT id FROM rekey_0008)"
        ))
    conn.execute(sa.text("DROP TABLE rekey_0008"))


def upgrade() -> None:
    conn = op.get_bind()
    _create_rekey(conn)
    zones: dict[str, ZoneInfo] = {}
    for rows in _pages(conn):
        conn.execute(
            rekey.insert(),
            [
                {"id": pid, "new_key": new_key(code, _utc(at), _zone(tz, zones), flags or 0)}
                for pid, code, at, tz, flags in rows
            ],
        )
    shared = [
        k for (k,) in conn.execute(
            sa.select(rekey.c.new_key)
            .group_by(rekey.c.new_key)
            .having(sa.func.count() > 1)
            .order_by(rekey.c.new_key)
        )
    ]
    now = datetime.now(UTC).replace(tzinfo=None)
    for key in shared:
        _part_doubles(conn, key, now)
    _apply_rekey(conn)


def _part_doubles(conn: sa.Connection, key: str, now: datetime) -> None:
    """Keep one of the rows that share `key`; give the others keys of their own and void them."""
    voider = sa.alias(punches, "voider")
    voided = (
        sa.select(sa.func.count())
        .select_from(voider)
        .where(voider.c.voids_punch_id == punches.c.id)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(
            punches.c.id, punches.c.employee_code, punches.c.employee_id, punches.c.occurred_at,
            punches.c.tz, punches.c.local_date, devices.c.timezone, voided,
        )
        .select_from(
            punches.join(rekey, rekey.c.id == punches.c.id).outerjoin(
                devices, devices.c.code == punches.c.device_code
            )
        )
        .where(rekey.c.new_key == key)
    ).all()
    ranked = sorted(
        rows, key=lambda r: (r[7] > 0, r[6] is not None and r[4] != r[6], r[0])
    )
    keeper = ranked[0]
    for pid, code, emp, at, tz, day, _, already in ranked[1:]:
        conn.execute(
            rekey.update().where(rekey.c.id == pid).values(new_key=_hash(f"double|{pid}"))
        )
        if already:
            continue  # HR voided it already
        ref = f"{ACTOR}:{pid}"
        note = (
            f"stored twice: the same record as punch {keeper[0]} (read with zone {tz} here,"
            f" {keeper[4]} there); voided when keys became zone-independent"
        )
        void_key = _hash(f"manual|{code}|{ref}")
        conn.execute(
            punches.insert().values(
                dedupe_key=void_key, employee_code=code, employee_id=emp, occurred_at=at,
                tz=tz, local_date=day, source_kind="manual", device_code=None,
                verify="manual", state="void", flags=UNKNOWN_EMPLOYEE if emp is None else 0,
                source_ref=ref, voids_punch_id=pid, note=note, received_at=now,
            )
        )
        void_id = conn.execute(
            sa.select(punches.c.id).where(punches.c.dedupe_key == void_key)
        ).scalar_one()
        conn.execute(
            audit_log.insert().values(
                at=now, actor=ACTOR, action="punch.void", entity="punch",
                entity_id=str(void_id), reason=note,
                details={"voids_punch_id": pid, "employee_code": code, "kept_punch_id": keeper[0]},
            )
        )
        if emp is not None:
            conn.execute(
                sa.text(
                    "INSERT INTO dirty_days (employee_id, local_date) VALUES (:emp, :day)"
                    " ON CONFLICT (employee_id, local_date) DO NOTHING"
                ).bindparams(sa.bindparam("day", type_=sa.Date)),
                {"emp": emp, "day": day},
            )


def downgrade() -> None:
    # Back to the UTC-second keys; rows distinct now but one then keep their current key
    # (the lowest id takes the old one). Voids written by the upgrade stay: they are HR data.
    conn = op.get_bind()
    _create_rekey(conn)
    taken: set[str] = set()
    for rows in _pages(conn):
        values = []
        for pid, code, at, _tz, _flags in rows:
            key = old_key(code, _utc(at))
            if key not in taken:
                taken.add(key)
                values.append({"id": pid, "new_key": key})
        if values:
            conn.execute(rekey.insert(), values)
    _apply_rekey(conn)
