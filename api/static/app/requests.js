// My requests: the employee's own requests from /app/requests (newest first) and a form per
// kind posted to the same service HR uses. Each form submission carries a UUID; a retry after
// a lost answer resends the same one, so the server returns the first request, never a second.
"use strict";
const L = JSON.parse(document.getElementById("labels").textContent);
const $ = (id) => document.getElementById(id);
const fmt = (key, n) => L[key].replace("{n}", n);
const form = $("ask");
let kind = "missed_punch";
let key = null; // this submission's idempotency key, kept until the server has answered

function uuid() {
  // crypto.randomUUID needs a secure context; getRandomValues works over plain http too.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function choose(k) {
  kind = k;
  form.dataset.kind = k;
  for (const b of document.querySelectorAll(".kind")) b.setAttribute("aria-pressed", String(b.dataset.kind === k));
  for (const f of form.querySelectorAll("fieldset")) f.hidden = !f.dataset.for.split(" ").includes(k);
  $("ask-problem").hidden = true;
}

const FIELD = { timestamp: "app_req_time", state: "app_req_direction", leave_type: "app_req_leave_type",
  start_date: "app_req_from", end_date: "app_req_to", part: "app_req_part", reason: "app_req_reason" };
const PART = { full: "app_part_full", am: "app_part_am", pm: "app_part_pm", hours: "app_part_hours" };
function what(r) {
  const d = r.details;
  if (r.kind === "missed_punch") {
    const [day, time] = d.timestamp.split("T");
    return `${day} ${time.slice(0, 5)} · ${L["app_dir_" + d.state] || d.state}`;
  }
  const span = r.end_date !== r.date ? `${r.date} – ${r.end_date}` : r.date;
  const type = r.kind === "leave" ? (L["lt_" + d.leave_type] || d.leave_type) + " · " : "";
  return `${type}${span} · ${L[PART[d.part]] || d.part}`;
}

function draw(rows) {
  const list = $("mine");
  list.replaceChildren();
  if (!rows.length) list.append(el("li", "muted", L.app_no_requests));
  for (const r of rows) {
    const li = el("li", "req");
    li.dataset.id = r.id;
    li.dataset.state = r.state;
    li.dataset.kind = r.kind;
    const head = el("div", "req-head");
    head.append(el("strong", "", L["rk_" + r.kind] || r.kind), el("span", "badge rs-" + r.state, L["rs_" + r.state] || r.state));
    li.append(head, el("div", "", what(r)), el("div", "muted", `${L.app_req_asked} ${r.created_at.slice(0, 10)} · ${r.reason}`));
    if (r.comment) li.append(el("div", "comment", `${L.app_req_comment}: ${r.comment}`));
    if (r.cancellable) {
      const b = el("button", "link cancel", L.app_req_cancel);
      b.type = "button";
      b.addEventListener("click", () => cancel(r.id));
      li.append(b);
    }
    list.append(li);
  }
  document.body.dataset.loaded = String(rows.length);
}

const KEPT = "punchgate-requests";
async function load() {
  let res;
  try {
    res = await fetch("/app/requests", { credentials: "same-origin" });
  } catch (err) {
    $("net").hidden = false;
    const kept = localStorage.getItem(KEPT);
    if (kept) draw(JSON.parse(kept));
    return;
  }
  $("net").hidden = true;
  if (res.status === 401) { localStorage.removeItem(KEPT); $("enrol-needed").hidden = false; return; }
  if (!res.ok) return;
  const rows = await res.json();
  localStorage.setItem(KEPT, JSON.stringify(rows));
  draw(rows);
}

function problem(text) {
  const p = $("ask-problem");
  p.textContent = text;
  p.hidden = !text;
}

// The body for the kind on screen; the labels of required fields left empty.
function body() {
  const v = (n) => form.elements[n].value.trim();
  const out = { idempotency_key: key, kind, reason: v("reason") };
  const need = [];
  if (kind === "missed_punch") {
    if (!v("punch_date")) need.push(L.app_req_date);
    if (!v("punch_time")) need.push(L.app_req_time);
    out.timestamp = `${v("punch_date")}T${v("punch_time")}`;
    out.state = v("state");
  } else {
    if (!v("start_date")) need.push(L.app_req_from);
    out.start_date = v("start_date");
    if (v("end_date")) out.end_date = v("end_date");
    out.part = v("part");
    if (kind === "leave") out.leave_type = v("leave_type");
  }
  if (!out.reason) need.push(L.app_req_reason);
  return [out, need];
}

async function send(ev) {
  ev.preventDefault();
  $("ask-done").hidden = true;
  if (!key) key = uuid();
  const [data, need] = body();
  if (need.length) { problem(fmt("app_req_need", need.join(", "))); return; }
  $("send").disabled = true;
  let res;
  try {
    res = await fetch("/app/requests", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data),
    });
  } catch (err) {
    // No answer: the key is kept, so sending again cannot make a second request.
    $("send").disabled = false;
    $("net").hidden = false;
    return;
  }
  $("send").disabled = false;
  $("net").hidden = true;
  if (res.status === 401) { $("enrol-needed").hidden = false; return; }
  if (res.ok) {
    const made = await res.json();
    key = null;
    form.reset();
    choose(kind);
    problem("");
    $("ask-done").hidden = false;
    $("ask-done").dataset.id = made.id;
    await load();
    return;
  }
  const p = await res.json().catch(() => ({}));
  // The field in the page's language; the server's own words after it.
  const errors = p.errors || [];
  const fields = errors.map((e) => `${L[FIELD[e.field]] || e.field}: ${e.message}`).join("; ");
  const why = fields || p.detail || String(res.status);
  problem(res.status === 409 ? fmt("app_req_limit", p.detail || "") : fmt("app_req_problem", why));
  $("ask-problem").dataset.status = String(res.status);
}

async function cancel(id) {
  let res;
  try {
    res = await fetch(`/app/requests/${id}/cancel`, { method: "POST", credentials: "same-origin" });
  } catch (err) { $("net").hidden = false; return; }
  if (res.ok) $("ask-done").hidden = true;
  await load();
}

for (const b of document.querySelectorAll(".kind")) b.addEventListener("click", () => choose(b.dataset.kind));
form.addEventListener("submit", send);
choose(kind);
const known = localStorage.getItem("punchgate-who");
if (known) $("who").textContent = known;
load();
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => {});
