"""Outbox: webhook deliveries per second to a local receiver, and ingest with webhooks subscribed.

Deliveries: N messages for one Standard Webhooks endpoint go through the delivery worker
(claim with a lease, sign, POST, record outcome and log line) to a minimal HTTP/1.1
receiver in its own process that answers 204. Physical limit, in the same run: the same
worker threads POSTing the same bodies with the same HTTP client, nothing signed or stored.

Ingest: the same punches ingested into two fresh stores side by side, one with no target
and one with a webhook endpoint subscribed to punch.created (each punch then also writes
its outbox row in the ingest's transaction). The delivery worker does not run meanwhile:
this measures what subscribing costs the write path.

Targets: ≥ 1,000 deliveries/s (at 20,000 messages); ingest with webhooks ≥ 0.8× without
(at 200,000 punches), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from common import PG_URL, WORK, emit, fresh_pg_database, target

from collector.normalize import RawPunch
from collector.outbound.events import EventType
from collector.outbound.targets import create_target
from collector.outbound.worker import OutboxWorker, http_client
from collector.runtime import Store, utcnow
from collector.settings import Settings
from collector.store.db import make_engine, make_sessionmaker, upgrade
from collector.store.ingest import ingest_batch
from rules.vocabulary import SourceKind

SECRET_KEY = "n1UQzNrqH0K9qV1yJ4f3l8rP6xw2sC5bE7dA0gH3kT4="
TARGET_DELIVERIES = 20_000
TARGET_PER_S = 1000
TARGET_ROWS = 200_000
TARGET_RATIO = 0.8
START = datetime(2026, 1, 5, 7, 0)
EMPLOYEES = 5000
HEADERS = {"content-type": "application/json"}


async def _serve() -> None:
    """Answer every request 204 over keep-alive connections; print the port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def start_receiver() -> tuple[subprocess.Popen[str], str]:
    """The receiver in a process of its own, and its URL."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--receiver"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/hook"


def open_bench_store(url: str, settings: Settings) -> Store:
    """A migrated store on `url`."""
    engine = make_engine(url, pool_size=20)
    upgrade(engine)
    return Store(settings=settings, engine=engine, sessions=make_sessionmaker(engine))


def fresh_sqlite(name: str) -> str:
    WORK.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (WORK / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{WORK / name}.sqlite3"


def subscribe(store: Store, url: str) -> None:
    with store.sessions.begin() as session:
        create_target(
            session,
            name="bench",
            kind="webhook",
            url=url,
            events=[EventType.PUNCH_CREATED],
            config={},
            secret=None,
            box=store.box,
            now=utcnow(),
        )


def punches(total: int, size: int, offset: int = 0) -> Iterator[list[RawPunch]]:
    """Deterministic terminal punches in batches."""
    for n in range(0, total, size):
        yield [
            RawPunch(
                employee_code=str(10000 + i % EMPLOYEES),
                timestamp=START + timedelta(minutes=(i // EMPLOYEES) * 7, seconds=i % 60),
                source_kind=SourceKind.TERMINAL,
                tz="Europe/Berlin",
                device_code=f"door-{i % 20}",
                state=(i // EMPLOYEES) % 2,
                verify=1,
            )
            for i in range(offset + n, offset + min(n + size, total))
        ]


def deliveries(url: str, receiver: str, count: int, settings: Settings) -> dict[str, Any]:
    """Deliver `count` messages through the worker; the raw POST rate beside it."""
    store = open_bench_store(url, settings)
    subscribe(store, receiver)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    for batch in punches(count, 10_000):
        ingest_batch(store.engine, batch, now=now, policy=store.policy)
    body = b'{"type":"punch.created","timestamp":"2026-11-27T12:00:00Z","data":{}}'
    client = http_client(store)
    with ThreadPoolExecutor(settings.outbox_concurrency) as pool:
        started = time.perf_counter()
        codes = list(pool.map(lambda _: client.post(receiver, body, HEADERS).status, range(count)))
        raw_s = time.perf_counter() - started
    client.close()
    assert set(codes) == {204}
    worker = OutboxWorker(store)
    started = time.perf_counter()
    worker.start()
    while _count(store, "delivered") < count:
        time.sleep(0.05)
    ours_s = time.perf_counter() - started
    worker.stop()
    store.engine.dispose()
    return {
        "messages": count,
        "ours_per_s": round(count / ours_s),
        "raw_post_per_s": round(count / raw_s),
        "ratio_ours_to_raw": round(raw_s / ours_s, 2),
    }


def _count(store: Store, status: str) -> int:
    with store.engine.connect() as conn:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(f"SELECT count(*) FROM outbox WHERE status = {mark}", (status,))
        return int(cursor.fetchone()[0])


def ingest_side_by_side(
    urls: tuple[str, str], receiver: str, rows: int, settings: Settings
) -> dict[str, Any]:
    """The same punches into a store without targets and one with a subscribed webhook."""
    plain, hooked = (open_bench_store(u, settings) for u in urls)
    subscribe(hooked, receiver)
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    times = {"without": 0.0, "with": 0.0}
    # Batch by batch, alternating, so both see the same machine load over the run.
    for batch in punches(rows, 10_000):
        for name, store in (("without", plain), ("with", hooked)):
            started = time.perf_counter()
            ingest_batch(store.engine, batch, now=now, policy=store.policy)
            times[name] += time.perf_counter() - started
    written = _count(hooked, "pending")
    for store in (plain, hooked):
        store.engine.dispose()
    return {
        "punches": rows,
        "without_per_s": round(rows / times["without"]),
        "with_per_s": round(rows / times["with"]),
        "ratio_with_to_without": round(times["without"] / times["with"], 3),
        "outbox_rows": written,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--messages", type=int, default=TARGET_DELIVERIES)
    parser.add_argument("--rows", type=int, default=TARGET_ROWS)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_serve())
        return
    settings = Settings(secret_key=SECRET_KEY, config=None)
    proc, receiver = start_receiver()
    result: dict[str, Any] = {"bench": "outbox", "concurrency": settings.outbox_concurrency}
    try:
        result["sqlite"] = {
            "deliveries": deliveries(fresh_sqlite("outbox"), receiver, args.messages, settings),
            "ingest": ingest_side_by_side(
                (fresh_sqlite("outbox-plain"), fresh_sqlite("outbox-hooked")),
                receiver,
                args.rows,
                settings,
            ),
        }
        if not args.skip_postgres:
            url = fresh_pg_database(PG_URL)
            if url is None:
                result["postgresql"] = "unreachable"
            else:
                second = fresh_pg_database(PG_URL + "_hooked")
                assert second is not None
                deliv = deliveries(url, receiver, args.messages, settings)
                url = fresh_pg_database(PG_URL)
                assert url is not None
                result["postgresql"] = {
                    "deliveries": deliv,
                    "ingest": ingest_side_by_side((url, second), receiver, args.rows, settings),
                }
    finally:
        proc.kill()
        proc.wait()
    result["targets"] = targets(result, args.messages, args.rows)
    emit(result)


def targets(result: dict[str, Any], messages: int, rows: int) -> list[dict[str, Any]]:
    """Each target with this run's figure; a backend not run or unreachable is not judged."""
    out: list[dict[str, Any]] = []
    for backend, name in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        run = result.get(backend)
        rate = run["deliveries"]["ours_per_s"] if isinstance(run, dict) else None
        ratio = run["ingest"]["ratio_with_to_without"] if isinstance(run, dict) else None
        out += [
            target(
                f"webhook deliveries to a local receiver, {name} (per s)",
                f"≥ {TARGET_PER_S:,}",
                rate,
                rate is not None and rate >= TARGET_PER_S,
                at_size=rate is not None and messages >= TARGET_DELIVERIES,
            ),
            target(
                f"ingest with a webhook subscribed vs without, {name} (×)",
                f"≥ {TARGET_RATIO}",
                ratio,
                ratio is not None and ratio >= TARGET_RATIO,
                at_size=ratio is not None and rows >= TARGET_ROWS,
            ),
        ]
    return out


if __name__ == "__main__":
    main()
