"""The command line, run as a user would: import, db upgrade, a database with no schema."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from collector.cli.demo import SAMPLE_EXPORT
from collector.store.db import make_engine
from tests.helpers import run_cli


def test_import_command_summary_exit_codes_and_reimport(db_url, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("pin,time\n1001,2026-01-05 08:00:00\n1002,2026-01-05 08:01:00\n")
    env = {"PUNCHGATE_DATABASE_URL": db_url}
    first = run_cli("import", str(good), "--timezone", "Europe/Berlin", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["inserted"] == 2
    again = run_cli("import", str(good), "--timezone", "Europe/Berlin", "--json", env=env)
    summary = json.loads(again.stdout)
    assert (summary["inserted"], summary["duplicates"]) == (0, 2)

    bad = tmp_path / "bad.csv"
    bad.write_text("pin,time\n1003,2026-01-05 08:00:00\n1004,noon\n")
    out = run_cli("import", str(bad), "--timezone", "UTC", env=env)
    assert out.returncode == 1
    assert "1 inserted" in out.stderr and "1 quarantined" in out.stderr
    assert "noon" in out.stderr  # the table lists the rejected row's reason

    missing = tmp_path / "missing.csv"
    missing.write_text("a,b\n1,2\n")
    out = run_cli("import", str(missing), env=env)
    assert out.returncode == 2
    assert "no employee column" in out.stderr


@pytest.mark.postgres
def test_db_upgrade_never_prints_the_password(pg_url):
    # Trust auth accepts any password, so a secret in the URL still connects.
    url = make_url(pg_url).set(password="hunter2-secret")
    out = run_cli("db", "upgrade", env={"PUNCHGATE_DATABASE_URL": url.render_as_string(False)})
    assert out.returncode == 0, out.stderr
    assert "hunter2-secret" not in out.stdout + out.stderr
    assert "***" in out.stderr
    missing = url.set(database="punchgate_no_such_db")
    out = run_cli("db", "upgrade", env={"PUNCHGATE_DATABASE_URL": missing.render_as_string(False)})
    assert out.returncode == 3
    assert "database error" in out.stderr and "punchgate_no_such_db" in out.stderr
    assert "hunter2-secret" not in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("import", "{sample}", "--timezone", "Europe/Berlin"),
        ("sync", "door-fp"),
        ("days", "recompute", "--from", "2026-11-02", "--to", "2026-11-03"),
        ("apikey", "list"),
    ],
)
def test_a_command_refuses_a_database_with_no_schema(tmp_path, command):
    sample = str(SAMPLE_EXPORT)
    args = [a.format(sample=sample) for a in command]
    missing = tmp_path / "typo.sqlite3"
    out = run_cli(*args, env={"PUNCHGATE_DATABASE_URL": f"sqlite:///{missing}"})
    assert out.returncode == 2, out.stderr
    assert f"sqlite:///{missing}" in out.stderr and "does not exist" in out.stderr
    assert "punchgate db upgrade" in out.stderr  # the command to run
    assert not missing.exists()  # no empty database left behind

    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).close()  # a file, but not a punchgate database
    out = run_cli(*args, env={"PUNCHGATE_DATABASE_URL": f"sqlite:///{empty}"})
    assert out.returncode == 2 and "no punchgate tables" in out.stderr, out.stderr

    made = run_cli("db", "upgrade", env={"PUNCHGATE_DATABASE_URL": f"sqlite:///{missing}"})
    assert made.returncode == 0, made.stderr
    out = run_cli(*args, env={"PUNCHGATE_DATABASE_URL": f"sqlite:///{missing}"})
    assert "no punchgate database" not in out.stderr


@pytest.mark.postgres
def test_a_command_refuses_a_postgresql_database_with_no_schema(pg_url):
    base = make_url(pg_url)
    name = f"{base.database}_unmigrated"
    admin = make_engine(
        base.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(False)
        out = run_cli("apikey", "list", env={"PUNCHGATE_DATABASE_URL": url})
        assert out.returncode == 2 and "no punchgate tables" in out.stderr, out.stderr
        assert name in out.stderr
        probe = make_engine(url)
        with probe.connect() as conn:  # left as it was: not migrated behind the user's back
            assert not inspect(conn).has_table("alembic_version")
        probe.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
