"""Secrets the service must use again (comm keys, push tokens), sealed with Fernet.

Stored form: ``fernet:<token>``. A value without the prefix is a plain value written
before sealing existed: it is still read (so terminals keep working after an upgrade)
and is sealed by the next config apply, device update, or ``punchgate secrets reseal``
(which the service also runs at start).

Key rotation: set ``PUNCHGATE_SECRET_KEY=new,old`` (seal with the first, open with any),
run ``punchgate secrets reseal --rotate``, then drop the old key.

Where the key comes from, first match wins:
1. ``PUNCHGATE_SECRET_KEY`` (a Fernet key: 32 url-safe base64 bytes) — production;
2. ``PUNCHGATE_SECRET_KEY_FILE``, created with mode 0600 if missing;
3. for a SQLite database file, ``punchgate.secret.key`` beside it, created if missing
   (the demo and single-machine installs: the key lives with the data it protects);
4. an in-memory SQLite database gets a key for the life of the process;
5. otherwise (PostgreSQL without a key) sealing refuses: set ``PUNCHGATE_SECRET_KEY``.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from collector.settings import Settings
from collector.store.models import Device

PREFIX = "fernet:"
KEY_FILE_NAME = "punchgate.secret.key"


class SecretKeyError(RuntimeError):
    """No usable key, or a sealed value the key cannot open (never says the secret)."""


class SecretBox:
    """Seals and opens stored secrets with the key the settings name."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def _fernet(self) -> MultiFernet:
        # "new,old": seal with the first key, open with any (key rotation).
        keys = [k.strip() for k in _resolve_key(self.settings).split(b",") if k.strip()]
        try:
            return MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError):
            raise SecretKeyError(
                "the secret key is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None

    def seal(self, plain: str | None) -> str | None:
        """The stored form of `plain` (None and empty stay as they are)."""
        if not plain:
            return plain
        return PREFIX + self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        """The plain secret from its stored form; an unprefixed legacy value as it is."""
        if not stored or not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretKeyError(
                "a stored secret cannot be opened with this secret key (was the key changed?)"
            ) from None

    def rotate(self, stored: str) -> str:
        """`stored` re-sealed with the first (newest) key."""
        try:
            token = self._fernet.rotate(stored[len(PREFIX) :].encode("ascii"))
        except (InvalidToken, ValueError):
            raise SecretKeyError("a stored secret cannot be opened with these keys") from None
        return PREFIX + token.decode("ascii")

    def reseal(self, stored: str | None, plain: str | None) -> str | None:
        """`stored` when it already holds `plain` (no needless rewrite), else `plain` sealed."""
        if stored and is_sealed(stored) and plain:
            try:
                if self.open(stored) == plain:
                    return stored
            except SecretKeyError:
                pass
        return self.seal(plain)


def reseal_plain(session: Session, box: SecretBox, *, rotate: bool = False) -> int:
    """Seal every comm key still stored plain (and with `rotate`, re-seal every sealed one
    with the first key); returns how many rows changed."""
    count = 0
    for device in session.scalars(select(Device).where(Device.comm_key_secret.is_not(None))):
        stored = device.comm_key_secret
        if stored and not is_sealed(stored):
            device.comm_key_secret = box.seal(stored)
            count += 1
        elif stored and rotate:
            device.comm_key_secret = box.rotate(stored)
            count += 1
    return count


def is_sealed(stored: str) -> bool:
    """Whether a stored value is in sealed form."""
    return stored.startswith(PREFIX)


def generate_key() -> str:
    """A new Fernet key, as text for PUNCHGATE_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


_EPHEMERAL: dict[str, bytes] = {}


def _resolve_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if settings.secret_key_file is not None:
        return _key_file(settings.secret_key_file)
    try:
        url = make_url(settings.database_url)
    except Exception:  # a URL SQLAlchemy cannot read fails later, at connect
        url = None
    if url is not None and url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            return _key_file(Path(database).resolve().parent / KEY_FILE_NAME)
        # An in-memory database: its secrets die with the process, so may the key.
        return _EPHEMERAL.setdefault(settings.database_url, Fernet.generate_key())
    raise SecretKeyError(
        "PUNCHGATE_SECRET_KEY is not set: a database other than a SQLite file needs it "
        "to store terminal comm keys (generate one with `punchgate secrets generate-key`)"
    )


def _key_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return key
