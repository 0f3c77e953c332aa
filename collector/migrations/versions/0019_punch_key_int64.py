"""punches keyed by a 64-bit integer in wall-clock order instead of a random 128-bit hex string

Revision ID: 0019
Revises: 0015

The dedupe key was 32 hex characters of a hash: a random place in a wide unique index for
every new punch. It is now a BIGINT laid out in wall-clock order (see docs/store.md and
collector/normalize.py `wall_key`), so the index grows at its end like the table.

Every stored punch gets the key today's ingest would give it, computed from its stored
columns (code, wall time as read, kind, reference). Where two rows would share one:
- the same punch stored twice (rows 0008 kept apart as doubles): the row 0008 kept under
  the rule's key keeps it, the other gets a key of its own (`legacy|<old key>`);
- two different punches (a true collision): the later one is re-keyed as the ingest
  re-keys a newcomer, so reading it again finds it.

On PostgreSQL the punch table is not locked for long: the new column is added empty, its
unique index built CONCURRENTLY, the keys filled in batches of 10,000 committed one by one
(readers and writers go on), and only the last step — filling rows written meanwhile and
swapping the columns — holds a lock that blocks writers, for a moment. Stop the old
collector before upgrading: its inserts fail once the swap is done. SQLite rebuilds the
table (batch mode), as every SQLite schema change of a constrained column does.

The key rule is copied here rather than imported, as 0008 did, so this migration does what
it did when it was written whatever normalize.py becomes.
"""

import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

PAGE = 10_000
DST_GAP = 1 << 8
KEY_EPOCH = datetime(2000, 1, 1)
WALL_EPOCH = datetime(1970, 1, 1)
SECOND = timedelta(seconds=1)
CODE_MASK = (1 << 30) - 1
MAX_REKEYS = 3

Row = tuple[Any, ...]  # id, code, kind, ref, old key, occurred_at, tz, flags


# The key rule as of this revision (collector/normalize.py).
def _keyed_on_ref(kind: str, ref: str | None) -> bool:
    return kind == "manual" or (kind == "mobile" and bool(ref))


def _hashed(basis: str) -> int:
    digest = hashlib.blake2b(basis.encode("utf-8", "replace"), digest_size=8).digest()
    return -1 - (int.from_bytes(digest, "big") >> 1)


def _wall_basis(code: str, wall: datetime) -> str:
    seconds = (wall - WALL_EPOCH) // SECOND
    return f"w|{code}|{seconds}|f1" if wall.fold else f"w|{code}|{seconds}"


def _ref_basis(kind: str, code: str, ref: str) -> str:
    return f"{kind}|{code}|{ref}"


def _wall_key(code: str, wall: datetime) -> int:
    seconds = (wall - KEY_EPOCH) // SECOND
    if 0 <= seconds < 1 << 32:
        digest = hashlib.blake2b(code.encode(), digest_size=4).digest()
        return (seconds << 31) | (wall.fold << 30) | (int.from_bytes(digest, "big") & CODE_MASK)
    return _hashed(_wall_basis(code, wall))


def _rekey(key: int, identity: tuple[Any, ...]) -> int:
    return _hashed(f"rekey|{key}|" + "|".join(str(part) for part in identity))


def _identity(code: str, kind: str, ref: str | None) -> tuple[Any, ...]:
    return (code, kind, ref) if _keyed_on_ref(kind, ref) else (code,)


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
    """The naive local time a stored punch was read as (as 0008 worked it out)."""
    local = occurred_at.astimezone(tz)
    if flags & DST_GAP:
        after = local.utcoffset()
        for hours in range(1, 27):
            before = (occurred_at - timedelta(hours=hours)).astimezone(tz).utcoffset()
            if before is not None and before != after:
                return (occurred_at + before).replace(tzinfo=None)
    return local.replace(tzinfo=None)


def _rule(row: Row, zones: dict[str, ZoneInfo]) -> tuple[int, str]:
    """The row's key under this revision's rule, and its key under the rule before it."""
    _, code, kind, ref, _, at, tz, flags = row
    if _keyed_on_ref(kind, ref):
        basis = _ref_basis(kind, code, ref)
        return _hashed(basis), hashlib.blake2b(basis.encode(), digest_size=16).hexdigest()
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    wall = _wall(at.replace(tzinfo=UTC), _zone(tz, zones), flags or 0)
    old = hashlib.blake2b(_wall_basis(code, wall).encode(), digest_size=16).hexdigest()
    return _wall_key(code, wall), old


SELECT = "SELECT id, employee_code, source_kind, source_ref, dedupe_key, occurred_at, tz, flags"


def _pages(conn: sa.Connection, where: str, *, windows: bool = True) -> Iterator[list[Row]]:
    """Rows matching `where`, a page at a time in id order.

    With `windows`, each query reads one stretch of ids, so it walks the primary key whatever
    the planner makes of `where`: on a column just added and not yet analysed, PostgreSQL
    estimated `dedupe_id IS NULL` as rare and combined both indexes for every page, a full
    pass over the new index per page. Without, pages follow `where` (few rows left, after
    ANALYZE: the final pass under the lock).
    """
    if not windows:
        last = 0
        while True:
            rows = conn.execute(
                sa.text(
                    f"{SELECT} FROM punches WHERE id > :last AND {where} ORDER BY id LIMIT {PAGE}"
                ),
                {"last": last},
            ).all()
            if not rows:
                return
            yield [tuple(r) for r in rows]
            last = rows[-1][0]
    top = conn.execute(sa.text("SELECT max(id) FROM punches")).scalar() or 0
    for low in range(0, top, PAGE):
        rows = conn.execute(
            sa.text(
                f"{SELECT} FROM punches WHERE id > :low AND id <= :high AND {where} ORDER BY id"
            ),
            {"low": low, "high": low + PAGE},
        ).all()
        if rows:
            yield [tuple(r) for r in rows]


def _holders(conn: sa.Connection, keys: Sequence[int]) -> dict[int, tuple[Any, ...]]:
    """The identity of the row already holding each of `keys` under the new column."""
    out: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(keys), 900):
        chunk = list(keys[start : start + 900])
        found = conn.execute(
            sa.text(
                "SELECT dedupe_id, employee_code, source_kind, source_ref FROM punches"
                " WHERE dedupe_id IN :keys"
            ).bindparams(sa.bindparam("keys", expanding=True)),
            {"keys": chunk},
        )
        out.update({k: _identity(c, s, r) for k, c, s, r in found})
    return out


def _assign(
    conn: sa.Connection, rows: list[Row], zones: dict[str, ZoneInfo], *, only_canonical: bool
) -> None:
    """Give `rows` their new keys; with `only_canonical`, only rows whose old key was the rule's."""
    pending: list[tuple[Row, int, tuple[Any, ...]]] = []
    for row in rows:
        key, old = _rule(row, zones)
        if only_canonical and row[4] != old:
            continue  # a double or a row keyed otherwise: its turn comes after every keeper's
        pending.append((row, key, _identity(row[1], row[2], row[3])))
    values: list[dict[str, Any]] = []
    taken: dict[int, tuple[Any, ...]] = {}
    for _ in range(MAX_REKEYS + 1):
        if not pending:
            break
        held = _holders(conn, [key for _, key, _ in pending])
        retry = []
        for row, key, ident in pending:
            holder = held.get(key, taken.get(key))
            if holder is None:
                taken[key] = ident
                values.append({"id": row[0], "k": key})
            elif holder == ident:  # the same punch stored twice: a key of its own
                retry.append((row, _hashed(f"legacy|{row[4]}"), ident))
            else:  # another punch holds it: the ingest's next key
                retry.append((row, _rekey(key, ident), ident))
        pending = retry
    if pending:
        raise RuntimeError(f"punch keys still colliding after {MAX_REKEYS} re-keys: {pending}")
    if not values:
        return
    if conn.dialect.name == "postgresql":  # one statement a page, not one a row
        conn.execute(
            sa.text(
                "UPDATE punches SET dedupe_id = v.k FROM unnest(CAST(:ids AS bigint[]),"
                " CAST(:keys AS bigint[])) AS v (id, k) WHERE punches.id = v.id"
            ),
            {"ids": [v["id"] for v in values], "keys": [v["k"] for v in values]},
        )
    else:
        conn.execute(sa.text("UPDATE punches SET dedupe_id = :k WHERE id = :id"), values)


def _fill(
    conn: sa.Connection, zones: dict[str, ZoneInfo], *, commit_each: bool, windows: bool = True
) -> None:
    # Keepers first, so a double never takes the key from the row 0008 kept.
    for only_canonical in (True, False):
        for rows in _pages(conn, "dedupe_id IS NULL", windows=windows):
            _assign(conn, rows, zones, only_canonical=only_canonical)
            if commit_each:
                conn.commit()


def upgrade() -> None:
    conn = op.get_bind()
    zones: dict[str, ZoneInfo] = {}
    if conn.dialect.name != "postgresql":
        op.add_column("punches", sa.Column("dedupe_id", sa.BigInteger(), nullable=True))
        op.create_index("uq_punches_dedupe_id", "punches", ["dedupe_id"], unique=True)
        _fill(conn, zones, commit_each=False)
        op.drop_index("uq_punches_dedupe_id", table_name="punches")
        with op.batch_alter_table("punches", recreate="always") as batch:
            batch.drop_constraint("uq_punches_dedupe_key", type_="unique")
            batch.drop_column("dedupe_key")
            # Named by its column before the rename: batch mode renames it with the column.
            batch.create_unique_constraint("uq_punches_dedupe_key", ["dedupe_id"])
            batch.alter_column(
                "dedupe_id",
                new_column_name="dedupe_key",
                existing_type=sa.BigInteger(),
                nullable=False,
            )
        return
    with op.get_context().autocommit_block():
        conn = op.get_bind()
        conn.execute(sa.text("ALTER TABLE punches ADD COLUMN dedupe_id BIGINT"))
        conn.execute(
            sa.text("CREATE UNIQUE INDEX CONCURRENTLY uq_punches_dedupe_id ON punches (dedupe_id)")
        )
    conn = op.get_bind()
    _fill(conn, zones, commit_each=True)
    conn.commit()
    # Fresh statistics first: the rows still without a key are few now, found by the index.
    conn.execute(sa.text("ANALYZE punches"))
    conn.commit()
    # The swap: rows written meanwhile get their keys under a lock that holds off writers.
    conn.execute(sa.text("LOCK TABLE punches IN SHARE ROW EXCLUSIVE MODE"))
    _fill(conn, zones, commit_each=False, windows=False)
    conn.execute(
        sa.text(
            "ALTER TABLE punches ADD CONSTRAINT ck_punches_dedupe_id_set"
            " CHECK (dedupe_id IS NOT NULL) NOT VALID"
        )
    )
    conn.commit()
    # Checked without blocking writers; SET NOT NULL then trusts the check, no second scan.
    conn.execute(sa.text("ALTER TABLE punches VALIDATE CONSTRAINT ck_punches_dedupe_id_set"))
    conn.commit()
    for statement in (
        "ALTER TABLE punches ALTER COLUMN dedupe_id SET NOT NULL",
        "ALTER TABLE punches DROP CONSTRAINT ck_punches_dedupe_id_set",
        "ALTER TABLE punches DROP CONSTRAINT uq_punches_dedupe_key",
        "ALTER TABLE punches DROP COLUMN dedupe_key",
        "ALTER TABLE punches RENAME COLUMN dedupe_id TO dedupe_key",
        "ALTER INDEX uq_punches_dedupe_id RENAME TO uq_punches_dedupe_key",
        "ALTER TABLE punches ADD CONSTRAINT uq_punches_dedupe_key"
        " UNIQUE USING INDEX uq_punches_dedupe_key",
        "ANALYZE punches",
    ):
        conn.execute(sa.text(statement))


def downgrade() -> None:
    # Back to the hex keys of the rule before: each row's own, and for the rows that hold a
    # key of their own because they double another (0008's doubles) "double|<id>" again.
    conn = op.get_bind()
    zones: dict[str, ZoneInfo] = {}
    op.add_column("punches", sa.Column("dedupe_hex", sa.String(32), nullable=True))
    for rows in _pages(conn, "dedupe_hex IS NULL"):
        values = []
        for row in rows:
            key, old = _rule(row, zones)
            double = hashlib.blake2b(f"double|{row[0]}".encode(), digest_size=16).hexdigest()
            if row[4] == _hashed(f"legacy|{double}"):
                old = double
            elif row[4] not in (key, _rekey(key, _identity(row[1], row[2], row[3]))):
                old = hashlib.blake2b(f"legacy|{row[0]}".encode(), digest_size=16).hexdigest()
            values.append({"id": row[0], "k": old})
        conn.execute(sa.text("UPDATE punches SET dedupe_hex = :k WHERE id = :id"), values)
    with op.batch_alter_table("punches", recreate="auto") as batch:
        batch.drop_constraint("uq_punches_dedupe_key", type_="unique")
        batch.drop_column("dedupe_key")
        batch.create_unique_constraint("uq_punches_dedupe_key", ["dedupe_hex"])
        batch.alter_column(
            "dedupe_hex",
            new_column_name="dedupe_key",
            existing_type=sa.String(32),
            nullable=False,
        )
