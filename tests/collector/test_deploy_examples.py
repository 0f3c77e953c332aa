"""The files under deploy/ stay true to the code: the example configuration applies, and
every variable of the example environment file is a real setting."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from collector.config import apply_config, load_config
from collector.settings import Settings
from collector.store.models import Device

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_example_configuration_applies_with_sealed_comm_keys(store, now):
    cfg = load_config(DEPLOY / "punchgate.toml.example")
    with store.sessions.begin() as s:
        counts = apply_config(s, cfg, now=now, box=store.box)
    assert counts["devices"] == 2 and counts["employees"] == 1 and counts["policies"] == 1
    with store.sessions() as s:
        keys = {c: k for c, k in s.execute(select(Device.code, Device.comm_key_secret))}
    assert all(v and v.startswith("fernet:") for v in keys.values())
    assert store.box.open(keys["door-1"]) == "123456"


def test_example_environment_names_only_real_settings():
    names = [
        line.split("=", 1)[0]
        for line in (DEPLOY / "punchgate.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    fields = {f"PUNCHGATE_{name.upper()}" for name in Settings.model_fields}
    assert names and [n for n in names if n not in fields] == []


def test_every_setting_the_documentation_names_exists():
    root = DEPLOY.parent
    fields = {f"PUNCHGATE_{name.upper()}" for name in Settings.model_fields}
    files = [root / "README.md", *root.glob("docs/*.md"), *DEPLOY.rglob("*.*")]
    named = {
        (path.name, name)
        for path in files
        for name in re.findall(r"PUNCHGATE_[A-Z0-9_]*[A-Z0-9]", path.read_text())
        if not name.startswith("PUNCHGATE_TEST_")  # the test suite's own variables
    }
    assert len(named) > 20
    assert sorted(n for n in named if n[1] not in fields) == []
