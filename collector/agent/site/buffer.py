"""The agent's local buffer: punches read and not yet acknowledged, and each terminal's cursor.

One SQLite file (the standard library's sqlite3, WAL). A read's punches and the terminal's
new cursor commit in one transaction, so the cursor never passes a punch that is not in
the buffer; a crash before that commit re-reads the same records next time.

Forwarding takes the oldest punches first: `next_batch` gives the batch already formed and
not yet acknowledged (the same id and punches, so a batch cut short by a crash is re-sent as
it was) or forms the next one from the oldest unbatched rows under a new id; `acknowledge`
deletes a batch only when the centre answered with its id.

The buffer is bounded (`max_rows`): a read that would pass the bound is not taken, so the
terminal keeps those records and its cursor stays — nothing is dropped, reading resumes
once forwarding makes room. `warning` says so before it happens: at `warn_ratio` of the
bound, or when the disk holding the file has less than `min_free_bytes` free.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS punches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    terminal TEXT NOT NULL,
    item TEXT NOT NULL,
    read_at TEXT NOT NULL,
    batch TEXT
);
CREATE INDEX IF NOT EXISTS ix_punches_batch ON punches (batch);
CREATE TABLE IF NOT EXISTS cursors (terminal TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kept (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class BufferFull(Exception):
    """A read would pass the buffer's bound; the terminal keeps the records for later."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A batch to send: its id and items, oldest first."""

    batch_id: str
    items: list[dict[str, Any]]


class Buffer:
    """The agent's buffer file; one connection per thread, each short transaction its own."""

    def __init__(
        self,
        path: Path,
        *,
        max_rows: int = 2_000_000,
        warn_ratio: float = 0.8,
        min_free_bytes: int = 200 * 1024 * 1024,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.max_rows = max_rows
        self.warn_ratio = warn_ratio
        self.min_free_bytes = min_free_bytes
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(SCHEMA)  # idempotent; executescript commits on its own
        path.chmod(0o600)  # it holds the credential and the terminals' secrets

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            # A lost last transaction after a power cut is re-read (cursor) or re-sent
            # (acknowledgement): both are safe, so the cheaper sync level is enough.
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # --- reading side ---

    def cursor(self, terminal: str) -> dict[str, Any] | None:
        """The terminal's committed cursor."""
        row = (
            self._conn()
            .execute("SELECT state FROM cursors WHERE terminal = ?", (terminal,))
            .fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def add(
        self,
        terminal: str,
        items: Iterable[dict[str, Any]],
        cursor: dict[str, Any],
        now: datetime,
        *,
        count: int,
    ) -> int:
        """Keep a read's `count` items and move the terminal's cursor, in one commit.

        `items` may be a generator: each is encoded as it is inserted, so a first read of a
        full terminal never holds all its punches as dicts and text at once (the Pi's RAM).
        BufferFull when `count` more would pass the bound.
        """
        with self._tx() as conn:
            depth = int(conn.execute("SELECT count(*) FROM punches").fetchone()[0])
            # An empty buffer takes any one read, so a read larger than the bound still passes.
            if count and depth and depth + count > self.max_rows:
                raise BufferFull(
                    f"buffer holds {depth} of {self.max_rows} punches: "
                    f"{count} more from {terminal} wait on the terminal"
                )
            at = now.astimezone(UTC).isoformat()
            added = conn.executemany(
                "INSERT INTO punches (terminal, item, read_at) VALUES (?, ?, ?)",
                ((terminal, json.dumps(item, separators=(",", ":")), at) for item in items),
            ).rowcount
            conn.execute(
                "INSERT INTO cursors (terminal, state) VALUES (?, ?)"
                " ON CONFLICT (terminal) DO UPDATE SET state = excluded.state",
                (terminal, json.dumps(cursor)),
            )
        return max(int(added), 0)

    # --- forwarding side ---

    def next_batch(self, size: int) -> Pending | None:
        """The batch formed and not yet acknowledged, else a new one of the oldest punches."""
        with self._tx() as conn:
            # At most one batch is open at a time; the index finds it without a scan.
            row = conn.execute(
                "SELECT batch FROM punches WHERE batch IS NOT NULL LIMIT 1"
            ).fetchone()
            if row is not None:
                batch_id = str(row[0])
            else:
                batch_id = uuid.uuid4().hex
                formed = conn.execute(
                    "UPDATE punches SET batch = ? WHERE id IN"
                    " (SELECT id FROM punches WHERE batch IS NULL ORDER BY id LIMIT ?)",
                    (batch_id, size),
                ).rowcount
                if not formed:
                    return None
            items = [
                json.loads(text)
                for (text,) in conn.execute(
                    "SELECT item FROM punches WHERE batch = ? ORDER BY id", (batch_id,)
                )
            ]
        return Pending(batch_id, items)

    def acknowledge(self, batch_id: str) -> int:
        """Delete a batch the centre committed; returns how many punches left the buffer."""
        with self._tx() as conn:
            return int(conn.execute("DELETE FROM punches WHERE batch = ?", (batch_id,)).rowcount)

    # --- state ---

    def depth(self) -> int:
        """Punches held (not yet acknowledged)."""
        return int(self._conn().execute("SELECT count(*) FROM punches").fetchone()[0])

    def oldest(self) -> datetime | None:
        """When the oldest punch held was read."""
        row = self._conn().execute("SELECT read_at FROM punches ORDER BY id LIMIT 1").fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def warning(self) -> str | None:
        """Why the buffer may soon refuse reads, or None while there is room."""
        depth = self.depth()
        if depth >= self.warn_ratio * self.max_rows:
            return f"buffer {depth / self.max_rows:.0%} full ({depth} of {self.max_rows} punches)"
        free = shutil.disk_usage(self.path.parent).free
        if free < self.min_free_bytes:
            return f"disk nearly full: {free // (1024 * 1024)} MB free beside the buffer"
        return None

    def get(self, name: str) -> Any:
        """A kept value (credential, centre URL, last configuration), or None."""
        row = self._conn().execute("SELECT value FROM kept WHERE name = ?", (name,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, name: str, value: Any) -> None:
        """Keep a value."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO kept (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, json.dumps(value)),
            )
