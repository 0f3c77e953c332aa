"""The TOML configuration is validated with clear messages and applied idempotently."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from collector.config import ConfigError, apply_config, load_config, parse_config
from collector.normalize import NormalizePolicy
from collector.store.ingest import ingest_batch
from collector.store.models import Department, Device, Employee, PolicyAssignment, Punch, Site
from tests.factories import raw_punch

TOML = """
[[departments]]
code = "ENG"
name = "Engineering"

[[sites]]
code = "hq"
name = "HQ"
timezone = "Europe/Berlin"

[[devices]]
code = "door-1"
site = "hq"
host = "127.0.0.1"
port = 4370
comm_key = "123456"

[[policies]]
name = "flex"
kind = "flexitime"
[policies.document]
target_min = 480
[policies.document.flex]
earliest_start = "07:00"
latest_start = "10:00"
earliest_end = "16:00"
latest_end = "20:00"

[[employees]]
code = "1001"
name = "Anna"
department = "ENG"
site = "hq"
policy = "flex"
policy_from = 2026-01-01
"""


def test_apply_twice_changes_nothing_and_devices_take_the_site_zone(store, now, tmp_path):
    path = tmp_path / "punchgate.toml"
    path.write_text(TOML)
    cfg = load_config(path)
    stored = []
    for _ in range(2):
        with store.sessions.begin() as s:
            apply_config(s, cfg, now=now, box=store.box)
        with store.sessions() as s:
            stored.append(s.scalars(select(Device)).one().comm_key_secret)
    with store.sessions() as s:
        counts = [
            s.scalar(select(func.count()).select_from(m))
            for m in (Department, Site, Device, Employee, PolicyAssignment)
        ]
        device = s.scalars(select(Device)).one()
    assert counts == [1, 1, 1, 1, 1]
    assert device.timezone == "Europe/Berlin"
    # Sealed, never plain; an unchanged key keeps its stored form across applies.
    assert "123456" not in device.comm_key_secret and stored[0] == stored[1]
    assert store.box.open(device.comm_key_secret) == "123456"


def test_punches_stored_before_the_employee_existed_get_linked(engine, store, now, tmp_path):
    ingest_batch(
        engine, [raw_punch("1001", datetime(2026, 1, 5, 9))], now=now, policy=NormalizePolicy()
    )
    path = tmp_path / "punchgate.toml"
    path.write_text(TOML)
    with store.sessions.begin() as s:
        apply_config(s, load_config(path), now=now, box=store.box)
    with store.sessions() as s:
        punch = s.scalars(select(Punch)).one()
        emp = s.scalars(select(Employee)).one()
    assert punch.employee_id == emp.id
    assert punch.flags == 0  # no longer an unknown employee


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"sites": [{"code": "x", "name": "X", "timezone": "Mars/Base"}]}, "sites.0.timezone"),
        ({"devices": [{"code": "d", "port": 70000}]}, "devices.0.port"),
        ({"devices": [{"code": "d", "colour": "red"}]}, "devices.0.colour: Extra inputs"),
        ({"sites": [{"code": "x", "name": "X", "lat": 91}]}, "sites.0.lat"),
    ],
)
def test_invalid_config_names_the_field(data, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        parse_config(data)


def test_unknown_reference_and_broken_toml(store, now, tmp_path):
    cfg = parse_config({"employees": [{"code": "1", "department": "NOPE"}]})
    with pytest.raises(ConfigError, match="unknown department 'NOPE'"), store.sessions.begin() as s:
        apply_config(s, cfg, now=now)
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sites]\n")
    with pytest.raises(ConfigError, match=str(bad.name)):
        load_config(Path(bad))


def test_comm_key_is_not_shown_in_errors_or_reprs():
    cfg = parse_config({"devices": [{"code": "d", "comm_key": "s3cret-key"}]})
    assert "s3cret-key" not in repr(cfg)
    with pytest.raises(ConfigError) as err:
        parse_config({"devices": [{"code": "d", "comm_key": "s3cret-key", "port": 0}]})
    assert "s3cret-key" not in str(err.value)
