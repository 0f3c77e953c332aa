"""`serve --roles`: which workers and which HTTP parts a process runs."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.main import web_app
from collector.cli.serve import http_app, workers
from collector.fleet import FleetMember, Role, parse_roles
from collector.runtime import Store
from collector.service import Service
from collector.settings import Settings


def test_push_only_node_serves_the_push_endpoints_and_health(
    settings: Settings, store: Store
) -> None:
    app = http_app(lambda s: create_app(settings, s), store, parse_roles("push"))
    assert app is not None
    client = TestClient(app)
    assert client.get("/health").status_code == 200
    # The push endpoint answers (an unknown terminal is told so), the HR API is not here.
    assert client.get("/iclock/cdata?SN=NOPE&options=all").status_code != 404
    assert client.get("/employees").status_code == 404
    assert client.get("/ui/").status_code == 404


def test_api_role_serves_everything_and_worker_roles_no_http(store: Store) -> None:
    assert http_app(web_app, store, parse_roles("api")) is not None
    assert http_app(web_app, store, parse_roles("poller,days,mqtt")) is None


@pytest.mark.parametrize(
    ("roles", "names"),
    [
        ("api,push", []),
        ("poller", ["zk-poller"]),
        ("days,retention", ["attendance-days", "retention"]),
        ("outbox", ["outbox"]),
    ],
)
def test_each_role_starts_its_workers(store: Store, roles: str, names: list[str]) -> None:
    chosen = parse_roles(roles)
    member = FleetMember(store.engine, node_id="n", roles=chosen)
    started = [w.name for w in workers(store, chosen, member)]
    assert started == names


def test_worker_only_service_runs_until_stopped(store: Store) -> None:
    member = FleetMember(store.engine, node_id="solo", roles={Role.DAYS}, lease_s=3)
    service = Service(None, [member])
    thread = threading.Thread(target=service.run, kwargs={"host": "127.0.0.1", "port": 0})
    thread.start()
    assert service.started.wait(10)
    assert member.beats >= 1
    service.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_deploy_role_files_name_real_roles() -> None:
    from pathlib import Path

    roles_dir = Path(__file__).resolve().parents[3] / "deploy" / "fleet" / "roles"
    files = sorted(roles_dir.glob("*.env"))
    assert files
    for path in files:
        values = dict(
            line.split("=", 1) for line in path.read_text().splitlines() if line[:1].isupper()
        )
        assert parse_roles(values["PUNCHGATE_ROLES"]), path.name
