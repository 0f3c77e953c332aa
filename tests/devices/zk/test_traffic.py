"""The seeded traffic generator looks like a real office, and is reproducible."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

from devices.zk.emulator.traffic import FACE, FINGERPRINT, history, make_users
from devices.zk.protocol import decode_time


def test_history_is_seeded_sorted_and_realistic():
    users = make_users(60)
    recs = history(users, 5000, end=date(2026, 11, 26), seed=5)
    assert recs == history(users, 5000, end=date(2026, 11, 26), seed=5)
    assert len(recs) == 5000
    times = [decode_time(r.stamp) for r in recs]
    assert times == sorted(times)
    assert all(t.weekday() < 5 for t in times)
    states = Counter(r.state for r in recs)
    assert {0, 1, 2, 3, 255} <= set(states)
    verifies = Counter(r.verify for r in recs)
    assert verifies[FACE] and verifies[FINGERPRINT]
    arrivals = [t for r, t in zip(recs, times, strict=True) if r.state == 0]
    morning = sum(1 for t in arrivals if 7 <= t.hour < 11)
    assert morning / len(arrivals) > 0.9
    taps = sum(
        1
        for a, b in itertools.pairwise(recs)
        if a.user_id == b.user_id and 0 < b.stamp - a.stamp <= 8
    )
    assert taps > 0  # double taps within seconds
    days = {(r.user_id, t.date()) for r, t in zip(recs, times, strict=True)}
    outs = {(r.user_id, t.date()) for r, t in zip(recs, times, strict=True) if r.state == 1}
    assert len(outs) < len(days)  # some forgot to check out
