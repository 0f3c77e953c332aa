"""No secret ever shows in logs, error messages or API responses.

Representative flows run with every log record captured at DEBUG (and the stderr of
CLI subprocesses): a configuration file with comm keys and a push token is applied, a
terminal is polled with the wrong comm key, the API is used and misused, push terminals
send right and wrong tokens, a key signs in to the pages, and CLI commands fail against a
database and a broker whose URLs carry passwords. Then everything captured is searched
for every secret value.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from collector.poller.worker import TerminalPollerWorker
from collector.runtime import open_store
from collector.store.models import Device
from tests.api.conftest import auth, keys  # noqa: F401  (fixture)
from tests.collector.poller.conftest import add_terminal, emulator, zk_store  # noqa: F401
from tests.conftest import TEST_SECRET_KEY
from tests.helpers import free_port, run_cli
from tests.ui.conftest import csrf_of

COMM_KEY = "73519468"
PUSH_TOKEN = "tok-PushSecret-55"
DB_PASSWORD = "Pw-DbSecret-42"
BROKER_PASSWORD = "Pw-Broker-77"
CONFIG = f"""
[[devices]]
code = "door-9"
kind = "zk"
host = "127.0.0.1"
port = 4370
comm_key = {COMM_KEY}

[[devices]]
code = "face-9"
kind = "push"
serial = "SECSN1"
comm_key = "{PUSH_TOKEN}"
"""


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def test_secrets_stay_out_of_logs_errors_and_responses(
    settings,
    store,
    zk_store,  # noqa: F811
    add_terminal,  # noqa: F811
    keys,  # noqa: F811
    tmp_path: Path,
    caplog,
):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    path = tmp_path / "punchgate.toml"
    path.write_text(CONFIG)

    # 1. The configuration file with a comm key and a push token, applied at start.
    applied = open_store(settings.model_copy(update={"config": path}))
    applied.close()
    with store.sessions() as s:
        stored = list(s.scalars(select(Device.comm_key_secret).where(Device.code.like("%-9"))))
    seen.extend(x or "" for x in stored)  # at rest: sealed, so neither secret may show

    # 2. A terminal polled with the wrong comm key (the terminal expects another).
    add_terminal("bad", comm_key=222, device_key=int(COMM_KEY))
    worker = TerminalPollerWorker(zk_store)
    try:
        worker.poll_all()
    finally:
        worker.stop()

    # 3. The API: devices listed and changed, errors provoked, keys misused.
    client = TestClient(create_app(settings, store), raise_server_exceptions=False)
    admin = auth(keys.admin)
    replies = [
        client.get("/devices", headers=admin),
        client.post("/devices", json={"code": "x", "comm_key": COMM_KEY, "port": 0}, headers=admin),
        client.post("/devices", json={"code": "y", "comm_key": COMM_KEY}, headers=admin),
        client.patch(
            "/devices/1", json={"comm_key": COMM_KEY, "timezone": "Mars/Base"}, headers=admin
        ),
        client.get("/devices", headers=auth(keys.admin + "x")),
        client.get("/devices", headers={"X-API-Key": keys.admin[:-2]}),
        client.get("/devices", headers=auth(keys.revoked)),
        client.get("/devices", headers=auth(keys.viewer)),
        client.get("/api-keys", headers=admin),
        client.get("/audit", headers=admin),
        client.get("/reports/devices", headers=admin),
        client.get("/reports/devices?format=csv", headers=admin),
        # 4. Push terminals: a wrong token, the right one, and one without.
        client.get("/iclock/cdata?SN=SECSN1&options=all&token=guess"),
        client.get(f"/iclock/cdata?SN=SECSN1&options=all&token={PUSH_TOKEN}"),
        client.post(
            "/iclock/cdata?SN=SECSN1&table=ATTLOG&Stamp=1", content="1\t2026-01-01 09:00:00\t0\t1\n"
        ),
    ]
    assert replies[2].status_code == 201 and replies[13].status_code == 200
    # 5. The pages: signing in with a key, a page, and the sessions listed for an admin.
    form = client.get("/ui/sign-in")
    signed = client.post(
        "/ui/sign-in",
        data={"api_key": keys.hr, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    replies += [form, signed, client.get("/ui/today"), client.get("/ui-sessions", headers=admin)]
    assert replies[-1].json()[0]["key_name"] == "hr"
    assert replies[12].status_code == 401 and replies[14].status_code == 401
    for reply in replies:
        seen.append(reply.text)
        seen.append(str(dict(reply.headers)))
    with store.sessions() as s:
        seen.extend(d.last_error or "" for d in s.scalars(select(Device)))

    # 6. CLI commands whose database or broker URL carries a password, at DEBUG.
    db = tmp_path / "cli.sqlite3"
    base = {"PUNCHGATE_LOG_LEVEL": "DEBUG", "PUNCHGATE_SECRET_KEY": TEST_SECRET_KEY}
    # The commands below refuse a database with no schema, so make this one first.
    made = run_cli("db", "upgrade", env=base | {"PUNCHGATE_DATABASE_URL": f"sqlite:///{db}"})
    assert made.returncode == 0, made.stderr
    runs = [
        run_cli(
            "db",
            "upgrade",
            env=base
            | {
                "PUNCHGATE_DATABASE_URL": f"postgresql://pg:{DB_PASSWORD}@127.0.0.1:{free_port()}/x"
            },
        ),
        run_cli(
            "mqtt",
            "consume",
            "--duration",
            "1.5",
            env=base
            | {
                "PUNCHGATE_DATABASE_URL": f"sqlite:///{db}",
                "PUNCHGATE_MQTT_URL": f"mqtt://phone:{BROKER_PASSWORD}@127.0.0.1:{free_port()}",
            },
        ),
        run_cli(
            "retention",
            "run",
            env=base | {"PUNCHGATE_DATABASE_URL": f"sqlite:///{db}", "PUNCHGATE_CONFIG": str(path)},
        ),
        run_cli(
            "retention",
            "run",
            env=base
            | {
                "PUNCHGATE_DATABASE_URL": f"sqlite:///{db}",
                "PUNCHGATE_CONFIG": str(_bad_config(tmp_path)),
            },
        ),
    ]
    assert runs[0].returncode != 0 and runs[2].returncode == 0 and runs[3].returncode == 2
    for run in runs:
        seen.extend([run.stdout, run.stderr])

    # The test's own HTTP client logs the URLs it requests (terminal tokens ride in the
    # query string); it is not the service, so its records are left out.
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    formatter = logging.Formatter("%(name)s %(message)s")  # with any traceback attached
    seen.extend(formatter.format(r) for r in ours)
    secrets = [COMM_KEY, PUSH_TOKEN, DB_PASSWORD, BROKER_PASSWORD, TEST_SECRET_KEY, keys.admin]
    secrets += [keys.hr, keys.viewer, keys.admin[-20:]]
    everything = "\n".join(seen)
    assert _leaks(everything, secrets) == []
    # The flows did run: the failures they provoke were logged and answered.
    assert "wrong comm key" in everything and "database error" in everything


def _bad_config(tmp_path: Path) -> Path:
    # A comm key next to a field pydantic rejects: its error must not echo the key.
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[[devices]]\ncode = "z"\ncomm_key = {COMM_KEY}\nport = "no"\n')
    return bad
