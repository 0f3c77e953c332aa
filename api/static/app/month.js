// My month: the calendar of the employee's own month from /app/month (HR's figures: the
// days, totals and balance of the employee-month statement). No framework; labels from the page.
"use strict";
const L = JSON.parse(document.getElementById("labels").textContent);
const $ = (id) => document.getElementById(id);
const fmt = (key, n) => L[key].replace("{n}", n);
let shown = null; // the month on screen, "YYYY-MM"
let data = null;

// Durations as h:mm, signed where a balance can go below zero.
function hm(s, signed) {
  const sign = s < 0 ? "−" : signed && s > 0 ? "+" : "";
  const m = Math.round(Math.abs(s) / 60);
  return `${sign}${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}`;
}
const statusLabel = (s) => L["s_" + s] || s.replace("leave:", "").replace(/_/g, " ");
const statusClass = (s) => "s-" + (s.startsWith("leave:") ? "leave" : s);
function leaveLabel(mark) {
  const [type, part] = mark.split(":");
  const name = L["s_leave:" + type] || type;
  return part ? `${name} (${L["app_part_" + part] || part})` : name;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawCalendar() {
  const body = $("cal").querySelector("tbody");
  body.replaceChildren();
  const byDate = new Map(data.days.map((d) => [d.date, d]));
  const [y, m] = data.month.split("-").map(Number);
  const lead = (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7; // Monday first
  const count = new Date(Date.UTC(y, m, 0)).getUTCDate();
  let row = el("tr");
  for (let i = 0; i < lead; i++) row.append(el("td", "empty"));
  for (let n = 1; n <= count; n++) {
    const iso = `${data.month}-${String(n).padStart(2, "0")}`;
    const day = byDate.get(iso);
    const leave = data.leave_on[iso] || [];
    const td = el("td");
    const b = el("button", "cell");
    b.type = "button";
    b.dataset.day = iso;
    if (iso === data.today) td.classList.add("today");
    b.append(el("span", "dnum", String(n)));
    if (day) {
      b.dataset.status = day.status;
      b.classList.add(statusClass(day.status));
      b.append(el("span", "dsub", day.worked_s || day.target_s ? hm(day.worked_s) : ""));
      if (day.late_s > 0) b.append(el("span", "dot late"));
      if (day.provisional) b.append(el("span", "prov", "*"));
    } else if (leave.length) {
      b.classList.add("s-leave", "booked");
    }
    if (leave.length) b.dataset.leave = leave.join(",");
    b.addEventListener("click", () => showDay(iso));
    td.append(b);
    row.append(td);
    if ((lead + n) % 7 === 0) { body.append(row); row = el("tr"); }
  }
  if (row.children.length) {
    while (row.children.length < 7) row.append(el("td", "empty"));
    body.append(row);
  }
}

function pair(dl, label, value, attrs) {
  const dd = el("dd", "", value);
  for (const [k, v] of Object.entries(attrs || {})) dd.dataset[k] = String(v);
  dl.append(el("dt", "", label), dd);
}

function showDay(iso) {
  const box = $("day-detail");
  box.replaceChildren();
  box.dataset.day = iso;
  for (const c of document.querySelectorAll("#cal .cell")) c.classList.toggle("chosen", c.dataset.day === iso);
  const day = data.days.find((d) => d.date === iso);
  const leave = data.leave_on[iso] || [];
  const head = el("h2", "", iso);
  if (day) head.append(" ", el("span", "badge " + statusClass(day.status), statusLabel(day.status)));
  box.append(head);
  if (!day) box.append(el("p", "muted", L.app_no_day));
  if (day) {
    const dl = el("dl", "pairs");
    pair(dl, L.app_first_last, `${day.first_in || "—"} / ${day.last_out || "—"}`);
    pair(dl, L.app_worked_target, `${hm(day.worked_s)} / ${hm(day.target_s)}`, { workedS: day.worked_s, targetS: day.target_s });
    pair(dl, L.app_late, fmt("app_min_n", Math.round(day.late_s / 60)), { lateS: day.late_s });
    pair(dl, L.app_balance_day, hm(day.balance_delta_s, true), { deltaS: day.balance_delta_s });
    box.append(dl);
    if (day.provisional) box.append(el("p", "muted", L.app_provisional));
  }
  if (leave.length) box.append(el("p", "", leave.map(leaveLabel).join(" · ")));
}

function drawStatuses() {
  const list = $("statuses");
  list.replaceChildren();
  for (const [status, n] of Object.entries(data.statuses)) {
    const li = el("li", "badge " + statusClass(status), `${statusLabel(status)} ${n}`);
    li.dataset.status = status;
    li.dataset.count = n;
    list.append(li);
  }
}

function drawTotals() {
  const wt = $("worked-target");
  wt.textContent = `${hm(data.worked_s)} / ${hm(data.target_s)}`;
  wt.dataset.workedS = data.worked_s;
  wt.dataset.targetS = data.target_s;
  $("late-days").textContent = String(data.late_days);
  $("late-total").textContent = fmt("app_min_n", Math.round(data.late_s / 60));
  $("late-total").dataset.lateS = data.late_s;
  $("early-leaves").textContent = String(data.early_leave_days);
  const bal = $("balance");
  bal.replaceChildren();
  if (data.balance) {
    const b = data.balance;
    pair(bal, L.app_opening, hm(b.opening_s, true), { s: b.opening_s });
    pair(bal, L.app_change, hm(b.change_s, true), { s: b.change_s, change: 1 });
    pair(bal, L.app_closing, hm(b.closing_s, true), { s: b.closing_s });
    pair(bal, L.app_carried, hm(b.carried_s, true), { s: b.carried_s });
  } else {
    bal.append(el("dd", "muted", L.app_no_balance));
  }
  const leave = $("leave");
  leave.replaceChildren();
  const types = Object.entries(data.leave_days);
  if (!types.length) leave.append(el("li", "muted", L.app_no_leave));
  for (const [type, days] of types) {
    const n = days === 1 ? L.app_day_one : fmt("app_days_n", days);
    const li = el("li", "", `${leaveLabel(type)} · ${n}`);
    li.dataset.type = type;
    li.dataset.days = days;
    leave.append(li);
  }
}

// The last answer per month is kept on the phone, so a month seen once opens offline.
const KEPT = "punchgate-month-";
function forget() {
  for (const k of Object.keys(localStorage)) if (k.startsWith(KEPT)) localStorage.removeItem(k);
}

async function load(month) {
  const q = month ? "?month=" + month : "";
  let res;
  try {
    res = await fetch("/app/month" + q, { credentials: "same-origin" });
  } catch (err) {
    $("net").hidden = false;
    const kept = localStorage.getItem(KEPT + (month || localStorage.getItem(KEPT + "last")));
    if (kept) show(JSON.parse(kept));
    return;
  }
  $("net").hidden = true;
  if (res.status === 401) { forget(); $("enrol-needed").hidden = false; return; }
  if (!res.ok) return;
  const got = await res.json();
  localStorage.setItem(KEPT + got.month, JSON.stringify(got));
  if (!month) localStorage.setItem(KEPT + "last", got.month);
  show(got);
}

function show(got) {
  data = got;
  shown = data.month;
  $("month-title").textContent = data.month;
  $("zone-note").textContent = fmt("app_month_zone", data.timezone);
  drawCalendar();
  drawStatuses();
  drawTotals();
  const pick = data.month === data.today.slice(0, 7) ? data.today : null;
  if (pick) showDay(pick);
  document.body.dataset.loaded = data.month;
}

$("prev").addEventListener("click", () => data && load(data.prev_month));
$("next").addEventListener("click", () => data && load(data.next_month));
const known = localStorage.getItem("punchgate-who");
if (known) $("who").textContent = known;
load(new URLSearchParams(location.search).get("month") || shown);
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => {});
