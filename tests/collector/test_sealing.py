"""Stored secrets are sealed: key sources, plain legacy values, wrong keys."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import select

from collector.poller.terminals import load_terminals
from collector.runtime import open_store
from collector.sealing import KEY_FILE_NAME, SecretBox, SecretKeyError, generate_key
from collector.settings import Settings
from collector.store.models import Device
from tests.helpers import run_cli


def test_sqlite_file_gets_a_private_key_file_beside_it(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    sealed = SecretBox(settings).seal("4242")
    key_file = tmp_path / KEY_FILE_NAME
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sealed is not None and "4242" not in sealed
    # A second process (a new box) reads the same key and opens the value.
    assert SecretBox(settings).open(sealed) == "4242"


def test_postgresql_without_a_key_refuses_to_seal():
    settings = Settings(database_url="postgresql://u:pw@127.0.0.1/db")
    with pytest.raises(SecretKeyError, match="PUNCHGATE_SECRET_KEY"):
        SecretBox(settings).seal("4242")


def test_bad_or_changed_key_errors_never_show_the_key_or_secret(tmp_path):
    bad = Settings(database_url="sqlite://", secret_key="not-a-fernet-key")
    with pytest.raises(SecretKeyError) as caught:
        SecretBox(bad).seal("4242")
    assert "not-a-fernet-key" not in str(caught.value)
    sealed = SecretBox(Settings(secret_key=generate_key())).seal("4242")
    other = SecretBox(Settings(secret_key=generate_key()))
    with pytest.raises(SecretKeyError) as caught:
        other.open(sealed)
    assert "4242" not in str(caught.value)


def test_plain_legacy_comm_key_still_works_and_is_sealed_at_next_start(settings, store):
    with store.sessions.begin() as s:
        s.add(Device(code="old", kind="zk", host="127.0.0.1", comm_key_secret="4242", options={}))
    (terminal,) = load_terminals(store.engine, ["old"], box=store.box)
    assert terminal.comm_key == 4242
    reopened = open_store(settings, apply=False)
    try:
        with reopened.sessions() as s:
            stored = s.scalar(select(Device.comm_key_secret))
    finally:
        reopened.close()
    assert stored is not None and stored.startswith("fernet:") and "4242" not in stored
    (terminal,) = load_terminals(store.engine, ["old"], box=store.box)
    assert terminal.comm_key == 4242


def test_a_key_the_box_cannot_open_marks_the_terminal_misconfigured(store):
    foreign = SecretBox(Settings(secret_key=generate_key())).seal("4242")
    with store.sessions.begin() as s:
        s.add(Device(code="t", kind="zk", host="127.0.0.1", comm_key_secret=foreign, options={}))
    assert load_terminals(store.engine, ["t"], box=store.box) == []
    with store.sessions() as s:
        device = s.scalars(select(Device)).one()
    assert device.status == "offline" and "secret key" in (device.last_error or "")


def test_key_rotation_with_new_and_old_keys(store, db_url):
    old, new = generate_key(), generate_key()
    sealed = SecretBox(Settings(secret_key=old)).seal("4242")
    with store.sessions.begin() as s:
        s.add(Device(code="r", kind="zk", host="127.0.0.1", comm_key_secret=sealed, options={}))
    both = Settings(database_url=db_url, secret_key=f"{new},{old}")
    done = run_cli(
        "secrets",
        "reseal",
        "--rotate",
        env={"PUNCHGATE_DATABASE_URL": db_url, "PUNCHGATE_SECRET_KEY": f"{new},{old}"},
    )
    assert done.returncode == 0, done.stderr
    with store.sessions() as s:
        rotated = s.scalar(select(Device.comm_key_secret))
    assert rotated != sealed and SecretBox(both).open(rotated) == "4242"
    assert SecretBox(Settings(secret_key=new)).open(rotated) == "4242"  # the old key can go
