"""The command line, run as a user would: import, db upgrade, demo."""

from __future__ import annotations

import json
import os
import re
import subprocess

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.helpers import PUNCHGATE, free_port, run_cli, wait_for


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


def test_demo_starts_and_answers_health(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNCHGATE_")}
    env["PYTHONUNBUFFERED"] = "1"  # the printed lines are read while the demo runs
    env["COLUMNS"] = "300"  # so that the console does not wrap the link
    proc = subprocess.Popen(
        [
            *PUNCHGATE,
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "demo"),
            "--duration",
            "60",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(healthy, timeout=60), "demo did not answer /health"
        punches = httpx.get(f"http://127.0.0.1:{port}/punches", timeout=5).json()
        assert len(punches) > 0
        # The demo prints a punch app enrolment link (before serving, so it is there by now).
        assert proc.stdout is not None
        lines = (proc.stdout.readline() for _ in range(200))
        app_line = next(line for line in lines if line.startswith("Punch app"))
        link = re.search(r"http://\S+/app/enrol/\S+", app_line)
        assert link is not None, app_line
        page = httpx.get(link.group(0), timeout=5)
        assert page.status_code == 200 and 'id="enrol"' in page.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
