"""Server-side web sessions on both backends: idle and absolute expiry, sign-out, revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from collector import uisessions
from collector.apikeys import Role, create_key, revoke_key
from collector.errors import NotFound
from collector.store.models import ApiKey, UiSession
from collector.uisessions import Limits

LIMITS = Limits(idle=timedelta(minutes=30), absolute=timedelta(hours=8))


@pytest.fixture
def key_ids(store, now) -> dict[str, int]:
    """Two live keys, by name."""
    with store.sessions.begin() as s:
        return {
            name: create_key(s, name=name, role=role, now=now).key.id
            for name, role in [("anna", Role.ADMIN), ("hugo", Role.HR)]
        }


def open_(store, key_id: int, at, agent: str = "Firefox/140") -> str:
    with store.sessions.begin() as s:
        return uisessions.start(s, key_id=key_id, now=at, limits=LIMITS, user_agent=agent)


def resume(store, session_id: str, at):
    with store.sessions() as s:
        return uisessions.resume(s, session_id, now=at, limits=LIMITS)


def touch(store, session_id: str, at) -> None:
    live = resume(store, session_id, at)
    assert live is not None
    assert uisessions.touch_due(live, at)
    with store.sessions.begin() as s:
        uisessions.touch(s, live, now=at)


def test_only_the_hash_of_the_id_is_stored(store, now, key_ids):
    session_id = open_(store, key_ids["anna"], now, agent="x" * 500)
    assert len(session_id) == 43  # 32 random bytes, base64url
    with store.sessions() as s:
        row = s.scalars(select(UiSession)).one()
        stored = [str(v) for v in (row.id, row.id_hash, row.user_agent, row.key_id)]
    assert session_id not in "".join(stored)
    assert row.id_hash == uisessions.hash_id(session_id)
    assert len(row.user_agent) == uisessions.USER_AGENT_MAX
    assert (row.created_at, row.last_seen_at, row.expires_at) == (now, now, now + LIMITS.absolute)
    live = resume(store, session_id, now)
    assert live is not None and (live.key_id, live.name, live.role) == (
        key_ids["anna"],
        "anna",
        "admin",
    )
    # The CSRF token is tied to the id without showing it.
    token = uisessions.csrf_token(session_id)
    assert (
        token
        == uisessions.csrf_token(session_id)
        != uisessions.csrf_token(open_(store, key_ids["hugo"], now))
    )
    assert session_id not in token and token not in session_id


def test_an_idle_session_ends_and_a_used_one_lives_on(store, now, key_ids):
    session_id = open_(store, key_ids["anna"], now)
    assert resume(store, session_id, now + LIMITS.idle - timedelta(seconds=1)) is not None
    assert resume(store, session_id, now + LIMITS.idle) is None
    # Used before the idle limit, it lives on from that use.
    other = open_(store, key_ids["anna"], now)
    later = now + timedelta(minutes=20)
    touch(store, other, later)
    assert resume(store, other, later + LIMITS.idle - timedelta(seconds=1)) is not None
    assert resume(store, other, later + LIMITS.idle) is None


def test_last_seen_is_written_at_most_once_a_minute(store, now, key_ids):
    session_id = open_(store, key_ids["hugo"], now)
    touch(store, session_id, now + timedelta(minutes=1))
    soon = resume(store, session_id, now + timedelta(minutes=1, seconds=59))
    assert soon is not None and not uisessions.touch_due(
        soon, now + timedelta(minutes=1, seconds=59)
    )
    with store.sessions() as s:
        key = s.get(ApiKey, key_ids["hugo"])
        assert key is not None and key.last_used_at == now + timedelta(minutes=1)


def test_a_session_ends_at_its_absolute_expiry_however_busy(store, now, key_ids):
    session_id = open_(store, key_ids["anna"], now)
    at = now
    while at + timedelta(minutes=20) < now + LIMITS.absolute:
        at += timedelta(minutes=20)
        touch(store, session_id, at)
    assert resume(store, session_id, now + LIMITS.absolute - timedelta(seconds=1)) is not None
    assert resume(store, session_id, now + LIMITS.absolute) is None


def test_sign_out_sign_out_everywhere_and_revocation_end_sessions(store, now, key_ids):
    anna1, anna2 = open_(store, key_ids["anna"], now), open_(store, key_ids["anna"], now)
    hugo = open_(store, key_ids["hugo"], now)
    with store.sessions.begin() as s:
        assert uisessions.end(s, anna1) is True
        assert uisessions.end(s, anna1) is False
    assert resume(store, anna1, now) is None
    assert resume(store, anna2, now) is not None
    with store.sessions.begin() as s:
        assert uisessions.end_all(s, key_id=key_ids["hugo"]) == 1
        with pytest.raises(NotFound):
            uisessions.end_all(s, key_id=999)
    assert resume(store, hugo, now) is None and resume(store, anna2, now) is not None
    with store.sessions.begin() as s:
        revoke_key(s, key_id=key_ids["anna"], now=now)
    assert resume(store, anna2, now) is None
    with store.sessions() as s:
        assert s.scalar(select(func.count()).select_from(UiSession)) == 0


def test_a_revoked_keys_leftover_session_is_refused(store, now, key_ids):
    session_id = open_(store, key_ids["hugo"], now)
    with store.sessions.begin() as s:
        key = s.get(ApiKey, key_ids["hugo"])
        assert key is not None
        key.revoked_at = now  # revoked by hand, bypassing revoke_key: the lookup still refuses
    assert resume(store, session_id, now) is None


def test_listing_shows_live_sessions_and_sign_in_clears_dead_ones(store, now, key_ids):
    old = open_(store, key_ids["anna"], now, agent="Old/1")
    later = now + LIMITS.idle + timedelta(minutes=1)
    fresh = open_(store, key_ids["hugo"], later, agent="Chrome/130")
    mine = open_(store, key_ids["anna"], later, agent="Safari/18")
    with store.sessions() as s:
        listed = uisessions.list_live(s, now=later, limits=LIMITS)
        assert [(i.key_name, i.role, i.user_agent) for i in listed] == [
            ("hugo", "hr", "Chrome/130"),
            ("anna", "admin", "Safari/18"),
        ]
        assert listed[0].idle_expires_at == later + LIMITS.idle
        assert listed[0].expires_at == later + LIMITS.absolute
        annas = uisessions.list_live(s, now=later, limits=LIMITS, key_id=key_ids["anna"])
        assert [i.user_agent for i in annas] == ["Safari/18"]
        # The idle one was removed when the later sessions started.
        hashes = set(s.scalars(select(UiSession.id_hash)))
    assert hashes == {uisessions.hash_id(fresh), uisessions.hash_id(mine)}
    assert uisessions.hash_id(old) not in hashes


@pytest.mark.parametrize("bad", [None, "", "x" * 65, "pg_abc_def"])
def test_ids_that_are_not_ours_resume_nothing(store, now, key_ids, bad):
    open_(store, key_ids["anna"], now)
    assert resume(store, bad, now) is None
