"""The pages' session cookie holds no key, and the server ends sessions for good: sign-out,
idle and absolute expiry, revocation (API and CLI), and an admin's sign-out everywhere."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from datetime import timedelta
from urllib.parse import unquote, unquote_to_bytes

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from api.ui.session import COOKIE
from collector import uisessions
from collector.apikeys import hash_secret
from collector.audit import entries
from collector.cli import app as cli
from collector.runtime import Store, utcnow
from collector.store.models import ApiKey, UiSession
from tests.api.conftest import auth
from tests.ui.conftest import csrf_of, sign_in


def browser(app, agent: str = "Firefox/140 (pytest)") -> TestClient:
    """A fresh browser: its own cookie jar and user agent."""
    return TestClient(app, raise_server_exceptions=False, headers={"User-Agent": agent})


def signed_in(browser_: TestClient) -> bool:
    answer = browser_.get("/ui/today", follow_redirects=False)
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/ui/sign-in?next=")
        return False
    assert answer.status_code == 200, answer.text
    return True


def replay(app, session_id: str) -> bool:
    """Whether a cookie copied into another browser still opens a page."""
    thief = browser(app, agent="curl/8")
    thief.cookies.set(COOKIE, session_id, path="/ui")
    return signed_in(thief)


def key_id_of(store: Store, token: str) -> int:
    with store.sessions() as s:
        key_id = s.scalar(select(ApiKey.id).where(ApiKey.prefix == token.split("_", 2)[1]))
    assert key_id is not None
    return key_id


def decodings(value: str) -> list[bytes]:
    """Every way a cookie's bytes might be read: raw, url-decoded, base64 (standard or url-safe,
    padded or not) of the whole and of each part between separators, and JSON of those."""
    texts = {value, unquote(value), unquote(unquote(value))}
    found: list[bytes] = [t.encode() for t in texts] + [unquote_to_bytes(value)]
    parts = set(texts)
    for text in texts:
        parts.update(p for p in re.split(r"[.:|;,\"' ]", text) if p)
    for part in parts:
        for candidate in (part, part.strip('"')):
            padded = candidate + "=" * (-len(candidate) % 4)
            for decode in (base64.urlsafe_b64decode, base64.b64decode):
                with contextlib.suppress(binascii.Error, ValueError):
                    found.append(decode(padded))
    for raw in list(found):
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            found.append(json.dumps(json.loads(raw), ensure_ascii=False).encode())
    return found


def test_the_cookie_holds_no_key_in_any_decoding(app, keys, store):
    token = keys.admin
    prefix, secret = token.split("_", 2)[1:]
    forbidden = [token, secret, secret[:16], secret[-16:], hash_secret(secret), f"{prefix}_"]
    client = browser(app)
    cookies: list[str] = []
    page = client.get("/ui/sign-in")
    cookies.append(page.cookies[COOKIE])
    done = client.post(
        "/ui/sign-in",
        data={"api_key": token, "csrf": csrf_of(page.text), "next": "/ui/today"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    cookies.append(done.cookies[COOKIE])
    assert "max-age=43200" in done.headers["set-cookie"].lower()
    assert signed_in(client)
    cookies.append(client.cookies[COOKIE])
    assert cookies[1] == cookies[2] != cookies[0]  # sign-in gives a new id
    for cookie in cookies:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie), cookie  # a random id, nothing else
        for decoded in decodings(cookie):
            for secret_part in forbidden:
                assert secret_part.encode() not in decoded, (cookie, decoded)
    # The database keeps only the id's hash.
    with store.sessions() as s:
        assert list(s.scalars(select(UiSession.id_hash))) == [uisessions.hash_id(cookies[1])]


def test_a_signed_out_cookie_is_refused_even_when_copied(app, keys):
    alice = sign_in(browser(app), keys.hr)
    copied = alice.cookies[COOKIE]
    assert replay(app, copied)
    page = alice.get("/ui/today")
    out = alice.post("/ui/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert not signed_in(alice)
    assert not replay(app, copied)
    # Signing in again ends the session the browser held before.
    bob = sign_in(browser(app), keys.viewer)
    first = bob.cookies[COOKIE]
    sign_in(bob, keys.viewer)
    assert bob.cookies[COOKIE] != first and not replay(app, first) and signed_in(bob)
    # So does a failed sign-in: the browser is signed out, and its old cookie with it.
    held = bob.cookies[COOKIE]
    form = bob.get("/ui/sign-in")
    wrong = bob.post("/ui/sign-in", data={"api_key": "pg_x_y", "csrf": csrf_of(form.text)})
    assert wrong.status_code == 401
    assert not signed_in(bob) and not replay(app, held)


def test_idle_and_absolute_expiry_are_enforced_by_the_server(app, keys, store):
    idle = timedelta(seconds=store.settings.ui_session_idle_s)
    dozing = sign_in(browser(app), keys.hr)
    busy = sign_in(browser(app), keys.hr)
    assert signed_in(dozing) and signed_in(busy)
    now = utcnow()
    with store.sessions.begin() as s:
        # As if the first had been left alone past the idle limit, and the second had been
        # signed in for its whole lifetime while in use a minute ago.
        s.execute(
            update(UiSession)
            .where(UiSession.id_hash == uisessions.hash_id(dozing.cookies[COOKIE]))
            .values(last_seen_at=now - idle - timedelta(seconds=1))
        )
        s.execute(
            update(UiSession)
            .where(UiSession.id_hash == uisessions.hash_id(busy.cookies[COOKIE]))
            .values(
                created_at=now - timedelta(hours=12),
                last_seen_at=now - timedelta(minutes=1),
                expires_at=now - timedelta(seconds=1),
            )
        )
    assert not signed_in(dozing)
    assert not signed_in(busy)
    assert not replay(app, dozing.cookies[COOKIE]) and not replay(app, busy.cookies[COOKIE])


def test_revoking_a_key_ends_its_sessions_at_once(app, client, keys, store, monkeypatch):
    hr = sign_in(browser(app), keys.hr)
    viewer = sign_in(browser(app), keys.viewer)
    admin = auth(keys.admin)
    assert {s["key_name"] for s in client.get("/ui-sessions", headers=admin).json()} == {
        "hr",
        "viewer",
    }
    revoked = client.post(f"/api-keys/{key_id_of(store, keys.hr)}/revoke", headers=admin)
    assert revoked.status_code == 200
    assert not signed_in(hr) and signed_in(viewer)
    assert [s["key_name"] for s in client.get("/ui-sessions", headers=admin).json()] == ["viewer"]
    # The command line's revoke does the same.
    monkeypatch.setenv("PUNCHGATE_DATABASE_URL", store.settings.database_url)
    monkeypatch.delenv("PUNCHGATE_CONFIG", raising=False)
    run = CliRunner().invoke(cli, ["apikey", "revoke", str(key_id_of(store, keys.viewer))])
    assert run.exit_code == 0, run.output
    assert not signed_in(viewer)
    assert client.get("/ui-sessions", headers=admin).json() == []


def test_an_admin_lists_sessions_and_signs_out_everywhere(app, client, keys, store):
    hr_id = key_id_of(store, keys.hr)
    hr1 = sign_in(browser(app, agent="Firefox/140"), keys.hr)
    hr2 = sign_in(browser(app, agent="Safari/18"), keys.hr)
    viewer = sign_in(browser(app, agent="Chrome/130"), keys.viewer)
    boss = sign_in(browser(app, agent="Edge/120"), keys.admin)
    admin = auth(keys.admin)
    listed = client.get("/ui-sessions", headers=admin)
    assert listed.status_code == 200
    rows = listed.json()
    assert [(r["key_name"], r["role"], r["user_agent"]) for r in rows] == [
        ("hr", "hr", "Firefox/140"),
        ("hr", "hr", "Safari/18"),
        ("viewer", "viewer", "Chrome/130"),
        ("admin", "admin", "Edge/120"),
    ]
    assert set(rows[0]) == {
        "id",
        "key_id",
        "key_name",
        "role",
        "created_at",
        "last_seen_at",
        "expires_at",
        "idle_expires_at",
        "user_agent",
    }
    for b in (hr1, hr2, viewer, boss):
        for secret in (b.cookies[COOKIE], uisessions.hash_id(b.cookies[COOKIE])):
            assert secret not in listed.text
    only_hr = client.get(f"/ui-sessions?key_id={hr_id}", headers=admin).json()
    assert [r["user_agent"] for r in only_hr] == ["Firefox/140", "Safari/18"]

    # One session ended by its number.
    assert client.delete(f"/ui-sessions/{rows[2]['id']}", headers=admin).status_code == 204
    assert client.delete(f"/ui-sessions/{rows[2]['id']}", headers=admin).status_code == 404
    assert not signed_in(viewer) and signed_in(hr1)
    # Every session of one key, then every session of every key.
    ended = client.post("/ui-sessions/sign-out-everywhere", json={"key_id": hr_id}, headers=admin)
    assert ended.status_code == 200 and ended.json() == {"ended": 2}
    assert not signed_in(hr1) and not signed_in(hr2) and signed_in(boss)
    missing = client.post("/ui-sessions/sign-out-everywhere", json={"key_id": 9999}, headers=admin)
    assert missing.status_code == 404
    everyone = client.post("/ui-sessions/sign-out-everywhere", json={}, headers=admin)
    assert everyone.json() == {"ended": 1}
    assert not signed_in(boss)
    assert client.get("/ui-sessions", headers=admin).json() == []
    with store.sessions() as s:
        audited = [(e.action, e.entity_id, e.details) for e in entries(s, entity=None)]
    assert [a for a in audited if a[0].startswith("ui_session.")] == [
        ("ui_session.end", str(rows[2]["id"]), {"key_id": rows[2]["key_id"]}),
        ("ui_session.end_all", str(hr_id), {"ended": 2}),
        ("ui_session.end_all", None, {"ended": 1}),
    ]


def test_only_admins_see_or_end_sessions(app, client, keys):
    hr = sign_in(browser(app), keys.hr)
    for token in (keys.hr, keys.viewer, keys.scoped_hr):
        assert client.get("/ui-sessions", headers=auth(token)).status_code == 403
        denied = client.post("/ui-sessions/sign-out-everywhere", json={}, headers=auth(token))
        assert denied.status_code == 403
    # A page session is no API credential, not even an admin's.
    boss = sign_in(browser(app), keys.admin)
    assert boss.get("/ui-sessions").status_code == 401
    assert signed_in(hr)
