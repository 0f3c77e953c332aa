"""Seeded, realistic terminal traffic: users, a working day's punches, and long histories."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from devices.zk.records import AttRecord, ZKUser, att_record

FIRST = ["Anna", "Ben", "Chen", "Dara", "Emil", "Fatma", "Goran", "Hui", "Ines", "Jonas"]
LAST = ["Weber", "Li", "Novak", "Schulz", "Wang", "Okafor", "Silva", "Kowalski"]
GBK_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"]
FINGERPRINT, FACE = 1, 15


def make_users(
    count: int, *, first_code: int = 1001, chinese: bool = False, seed: int = 1
) -> list[ZKUser]:
    """Enrolled users with PINs first_code… and plausible names."""
    rng = random.Random(seed)
    users = []
    for i in range(count):
        if chinese:
            name = GBK_NAMES[i % len(GBK_NAMES)]
        else:
            name = f"{FIRST[rng.randrange(len(FIRST))]} {LAST[rng.randrange(len(LAST))]}"
        users.append(ZKUser(uid=i + 1, user_id=str(first_code + i), name=name))
    return users


def day_punches(
    day: date, users: list[ZKUser], rng: random.Random, *, face_share: float = 0.3
) -> list[tuple[datetime, ZKUser, int, int]]:
    """One working day: arrivals over a morning spread, breaks, departures, human mistakes."""
    out: list[tuple[datetime, ZKUser, int, int]] = []
    start = datetime.combine(day, time(8, 0))
    for user in users:
        if rng.random() < 0.06:  # absent
            continue
        verify = FACE if rng.random() < face_share else FINGERPRINT
        arrive = start + timedelta(minutes=max(-60.0, rng.gauss(45, 30)))
        leave = arrive + timedelta(hours=8.5, minutes=rng.gauss(0, 35))
        events = [(arrive, 0)]
        if rng.random() < 0.4:  # a lunch break punched out and in
            out_at = start + timedelta(hours=4, minutes=rng.uniform(0, 90))
            events += [(out_at, 2), (out_at + timedelta(minutes=rng.uniform(25, 50)), 3)]
        if rng.random() > 0.05:  # otherwise a forgotten check-out
            events.append((leave, 1))
        for when, state in events:
            when = when.replace(microsecond=0)
            code = 255 if rng.random() < 0.05 else state  # "undefined" state on some firmware
            out.append((when, user, code, verify))
            if rng.random() < 0.03:  # a double tap within seconds
                out.append((when + timedelta(seconds=rng.randint(1, 8)), user, code, verify))
    out.sort(key=lambda e: e[0])
    return out


def history(
    users: list[ZKUser], count: int, *, end: date, seed: int = 42, face_share: float = 0.3
) -> list[AttRecord]:
    """Exactly `count` records of past working days ending on `end`, oldest first."""
    rng = random.Random(seed)
    days: list[list[AttRecord]] = []
    total = 0
    day = end
    while total < count:
        if day.weekday() < 5:
            recs = [
                att_record(u.uid, u.user_id, when, state, verify)
                for when, u, state, verify in day_punches(day, users, rng, face_share=face_share)
            ]
            days.append(recs)
            total += len(recs)
        day -= timedelta(days=1)
    flat = [r for recs in reversed(days) for r in recs]
    return flat[len(flat) - count :]
