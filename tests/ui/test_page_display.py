"""What the pages show: zones, Chinese values and punctuation, hours, the weekly trend."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest

from api.ui.i18n import EN, ZH
from collector.days import process_dirty
from collector.store.ingest import ingest_batch
from collector.store.models import Device
from rules.geofence import Tier
from rules.policy import PolicyKind
from rules.vocabulary import DayStatus, PunchFlag, PunchState, SourceKind
from tests.api.conftest import auth
from tests.factories import raw_punch
from tests.ui.conftest import BERLIN, MON, TUE, WED, sign_in

CJK = "\u3400-\u9fff\uff00-\uffef\u3000-\u303f"
ASCII_AFTER_CJK = re.compile(rf"[{CJK}][.,:;()!?]|[.,:;()!?][{CJK}]")


def text_of(html: str) -> str:
    """A page's visible text: markup, scripts and styles dropped."""
    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def test_devices_show_times_in_each_devices_zone(client, keys, office, store, now):
    with store.sessions.begin() as s:
        s.add(
            Device(
                code="sh-1",
                name="Shanghai gate",
                kind="zk",
                timezone="Asia/Shanghai",
                status="online",
                last_seen_at=now,
            )
        )
    rows = {
        r["device_code"]: r
        for r in client.get("/reports/devices", headers=auth(keys.admin)).json()["rows"]
    }
    assert rows["sh-1"]["timezone"] == "Asia/Shanghai" and rows["door-1"]["timezone"] == BERLIN
    page = sign_in(client, keys.viewer).get("/ui/devices").text

    def seen(code: str) -> str:
        row = page.split(f'data-device="{code}"')[1].split("</tr>")[0]
        found = re.search(r"<td data-seen[^>]*>([^<]+)", row)
        assert found is not None, row
        return found.group(1).strip()

    # now is 12:00 UTC: 13:00 at the Berlin door, 20:00 at the Shanghai gate.
    assert seen("door-1") == now.astimezone(ZoneInfo(BERLIN)).strftime("%Y-%m-%d %H:%M:%S")
    assert seen("door-1").endswith("13:00:00") and seen("sh-1").endswith("20:00:00")


VOCABULARY = [
    *(("p_", s.value) for s in PunchState),
    *(("k_", k.value) for k in SourceKind),
    *(("d_", t.value) for t in Tier),
    *(("f_", f.name.lower()) for f in PunchFlag if f.value and f.name),
    *(("s_", d.value) for d in DayStatus),
    *(("pk_", k.value) for k in PolicyKind),
]


@pytest.mark.parametrize(("prefix", "value"), VOCABULARY)
def test_every_stored_value_has_words_in_both_languages(prefix, value):
    key = prefix + value
    assert key in EN and key in ZH
    assert re.search(rf"[{CJK}]", ZH[key]), f"{key} is not Chinese: {ZH[key]!r}"


def test_chinese_labels_use_chinese_punctuation():
    wrong = {k: v for k, v in ZH.items() if re.search(r"[(),:;!?]|\.(?!\w)", v)}
    assert wrong == {}


def test_chinese_pages_translate_every_value_shown(client, keys, office):
    sign_in(client, keys.hr)
    client.get("/ui/today?lang=zh")
    punches = client.get("/ui/punches").text
    states = re.findall(r'<td data-state="(\w+)">([^<{]+)', punches)
    sources = re.findall(r'<td data-source="(\w+)">([^<]+)<', punches)
    decisions = re.findall(r'data-decision="(\w+)">([^<]+)<', punches)
    assert states and sources and decisions
    for prefix, shown in (("p_", states), ("k_", sources), ("d_", decisions)):
        for value, words in shown:
            assert words.strip() == ZH[prefix + value], (value, words)
    assert ("in", "签到") in {(v, w.strip()) for v, w in states}
    assert ("mobile", "手机") in set(sources)
    devices = client.get("/ui/devices").text
    header = devices.split('id="pulled"')[1].split("</thead>")[0]
    assert "设备名称" in header and "姓名" not in header


@pytest.mark.parametrize(
    "path",
    [
        f"/ui/today?day={TUE}",
        f"/ui/lateness?from={MON}&to={WED}",
        "/ui/employee?month=2026-11&day=2026-11-24",
        "/ui/punches",
        "/ui/devices",
        "/ui/nowhere",
    ],
)
def test_chinese_pages_have_no_ascii_punctuation_in_chinese_text(client, keys, office, path):
    sign_in(client, keys.hr)
    client.get("/ui/today?lang=zh")
    answer = client.get(path)
    text = text_of(answer.text)
    assert re.search(rf"[{CJK}]", text)
    assert ASCII_AFTER_CJK.findall(text) == []


def test_hours_are_hours_and_minutes(client, keys, office):
    emp = office.employees["1001"]
    page = sign_in(client, keys.viewer).get(
        f"/ui/employee?employee_id={emp}&month=2026-11&day={TUE}"
    )
    cell = re.search(r'data-worked-s="(\d+)">([^<]+)<', page.text)
    assert cell is not None
    worked_s, total = cell.groups()
    minutes = int(worked_s) // 60
    assert total == f"{minutes // 60}:{minutes % 60:02d}"
    api = client.get(
        f"/reports/employee-day?employee_id={emp}&date={TUE}", headers=auth(keys.admin)
    )
    worked = round(api.json()["result"]["worked_minutes"])
    shown = re.search(r"<span data-worked>([^<]+)<", page.text)
    assert shown is not None
    day = shown.group(1)
    assert day == f"{worked // 60}:{worked % 60:02d}" == "8:05"  # 08:55-17:30, 30 min break
    assert not re.search(r"\b\d+\.\d\d\b", text_of(page.text))


def circles(html: str) -> list[dict[str, str]]:
    """The trend's points with their series, week, rate, colour and provisional mark."""
    return [
        {"colour": c, "series": s, "week": w, "rate": r, "provisional": p}
        for c, s, w, r, p in re.findall(
            r'<circle [^>]*stroke="(#\w+)" data-series="([^"]+)" data-week="([^"]+)" '
            r'data-rate="([^"]+)"( data-provisional)?',
            html,
        )
    ]


def test_a_week_in_progress_is_not_a_zero_and_colours_hold(client, keys, office, store, now):
    # One punch today: the day is open, so nobody has worked a full day this week yet.
    berlin_now = datetime.now(ZoneInfo(BERLIN))
    today = berlin_now.date()
    # Five minutes ago, but never yesterday (just after midnight: at midnight).
    midnight = berlin_now.replace(hour=0, minute=0, second=0, microsecond=0)
    taken = max(berlin_now - timedelta(minutes=5), midnight)
    early = raw_punch("1003", taken.replace(tzinfo=None))
    assert ingest_batch(store.engine, [early], now=berlin_now, policy=store.policy).inserted == 1
    process_dirty(store.engine, now=berlin_now)
    period = f"from={MON}&to={today}"
    weeks = client.get(f"/reports/departments?{period}", headers=auth(keys.admin)).json()["rows"]
    iso = today.isocalendar()
    this_week = f"{iso.year}-W{iso.week:02d}"
    assert [w["days_worked"] for w in weeks if w["week"] == this_week] == [0]
    page = sign_in(client, keys.viewer).get(f"/ui/lateness?{period}").text
    points = circles(page)
    assert points and not [p for p in points if p["week"] == this_week]  # no 0 % drawn
    assert f"{this_week}*</text>" in page and 'id="in-progress"' in page
    colour = {p["series"]: p["colour"] for p in points}
    assert len(set(colour.values())) == len(colour) == 3  # overall, ENG, OPS
    chosen = circles(sign_in(client, keys.viewer).get(f"/ui/lateness?{period}&department=OPS").text)
    assert {p["series"]: p["colour"] for p in chosen if p["series"] == "OPS"} == {
        "OPS": colour["OPS"]
    }
