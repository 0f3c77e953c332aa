// The punch screen: position and the server's preview, one punch button, the offline queue
// (IndexedDB; each punch keeps its id, time and position and is resent until a receipt
// arrives) and my day. No framework; every label comes from the page (English or Chinese).
"use strict";
const L = JSON.parse(document.getElementById("labels").textContent);
const $ = (id) => document.getElementById(id);
const fmt = (key, n) => L[key].replace("{n}", n);
let fix = null; // the latest position: {lat, lon, acc, at}
let kind = "in"; // what the big button punches next: in, out or break_in (ending a break)
let breaks = false; // the employee's policy has punched breaks (from /app/me)
// What follows a punch: after in (or a break's end) out, after a break's start its end.
const NEXT = { in: "out", out: "in", break_out: "break_in", break_in: "out" };
const MAIN = { in: "app_punch_in", out: "app_punch_out", break_in: "app_break_end" };
let flushing = false;

// --- the queue in IndexedDB -------------------------------------------------------------
function openDb() {
  return new Promise((ok, fail) => {
    const req = indexedDB.open("punchgate-app", 1);
    req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "id" });
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
}
async function store(mode, work) {
  const db = await openDb();
  return new Promise((ok, fail) => {
    const tx = db.transaction("queue", mode);
    const req = work(tx.objectStore("queue"));
    tx.oncomplete = () => { db.close(); ok(req.result); };
    tx.onerror = () => { db.close(); fail(tx.error); };
  });
}
const queued = () => store("readonly", (s) => s.getAll());
const enqueue = (p) => store("readwrite", (s) => s.put(p));
const dequeue = (id) => store("readwrite", (s) => s.delete(id));

function newId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return "app-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
const flagLabels = (flags) => flags.map((f) => L["f_" + f] || f).join(", ");
const clock = (iso) => new Date(iso).toLocaleTimeString();

async function showQueue() {
  const items = (await queued()).sort((a, b) => a.ts.localeCompare(b.ts));
  $("queue-count").textContent = String(items.length);
  const list = $("queue");
  list.replaceChildren();
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = L.app_queue_empty;
    list.append(li);
  }
  for (const p of items) {
    const li = document.createElement("li");
    li.dataset.id = p.id;
    li.textContent = `${stateLabel(p.kind)} · ${L.app_taken} ${clock(p.ts)} · ±${Math.round(p.acc)} m`;
    list.append(li);
  }
}

// --- sending: the same id until a receipt arrives ---------------------------------------
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    for (const p of await queued()) {
      let res;
      try {
        res = await fetch("/app/punches", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(p),
          credentials: "same-origin",
        });
      } catch (err) {
        break; // offline: keep it, try again when the network is back
      }
      if (res.status === 401) { enrolNeeded(); break; }
      if (!res.ok) break; // busy or down: keep it for the next try
      const receipt = await res.json();
      await dequeue(p.id);
      showReceipt(receipt, p);
    }
  } finally {
    flushing = false;
    await showQueue();
    showDay();
  }
}

function showReceipt(r, p) {
  const box = $("receipt");
  box.hidden = false;
  box.className = "receipt " + r.status;
  box.dataset.status = r.status;
  box.dataset.id = r.id || "";
  const parts = [`${L.app_taken} ${clock(p.ts)}`];
  if (r.site) parts.push(`${L.app_site} ${r.site}`);
  if (r.distance_m !== null && r.distance_m !== undefined) parts.push(`${L.app_distance} ${r.distance_m} m`);
  if (r.flags && r.flags.length) parts.push(`${L.app_flags} ${flagLabels(r.flags)}`);
  const title = document.createElement("strong");
  title.textContent = `${L.app_receipt}: ${L["app_r_" + r.status] || r.status}`;
  const detail = document.createElement("p");
  detail.textContent = parts.join(" · ");
  box.replaceChildren(title, detail);
  if (r.reason) {
    const why = document.createElement("p");
    why.className = "why";
    why.textContent = r.reason;
    box.append(why);
  }
}

async function punch(what) {
  if (!fix) return;
  const p = {
    schema_version: 1,
    id: newId(),
    ts: new Date().toISOString(), // when the button was pressed, kept however late it is sent
    lat: fix.lat,
    lon: fix.lon,
    acc: fix.acc,
    kind: what,
  };
  await enqueue(p);
  setKind(NEXT[what]);
  await showQueue();
  await flush();
}

function setKind(next) {
  kind = next;
  const b = $("punch");
  b.className = "big " + kind;
  b.textContent = L[MAIN[kind]];
  b.dataset.kind = kind;
  $("break").hidden = !(breaks && kind === "out"); // a break starts only while at work
}
const stateLabel = (s) => L["p_" + s] || L[s] || s;

// --- position and the server's preview ---------------------------------------------------
function locate() {
  if (!navigator.geolocation) { $("position").textContent = L.app_no_position; return; }
  navigator.geolocation.getCurrentPosition(onFix, () => {
    $("position").textContent = L.app_no_position;
  }, { enableHighAccuracy: true, maximumAge: 0, timeout: 20000 });
}

async function onFix(pos) {
  const c = pos.coords;
  fix = { lat: c.latitude, lon: c.longitude, acc: c.accuracy, at: pos.timestamp };
  $("position").textContent = `${c.latitude.toFixed(5)}, ${c.longitude.toFixed(5)} · ${fmt("app_accuracy", Math.round(c.accuracy))}`;
  $("punch").disabled = false;
  $("break").disabled = false;
  const will = $("will");
  try {
    const q = new URLSearchParams({ lat: c.latitude, lon: c.longitude, acc: c.accuracy });
    const res = await fetch("/app/preview?" + q, { credentials: "same-origin" });
    if (res.status === 401) { enrolNeeded(); return; }
    if (!res.ok) throw new Error(String(res.status));
    const v = await res.json();
    will.className = "will " + v.outcome;
    will.dataset.outcome = v.outcome;
    will.textContent = L["app_will_" + v.outcome];
    const where = v.to_fence_m ? fmt("app_to_fence", Math.round(v.to_fence_m)) : L.app_at_fence;
    $("site").textContent = v.site ? `${L.app_nearest}: ${v.site} · ${where}` : "";
  } catch (err) {
    will.className = "will";
    will.dataset.outcome = "unknown";
    will.textContent = L.app_will_unknown;
  }
}

// --- who and my day ----------------------------------------------------------------------
function enrolNeeded() {
  $("enrol-needed").hidden = false;
  $("who").textContent = "";
  for (const k of Object.keys(localStorage)) {
    if (k === "punchgate-who" || k.startsWith("punchgate-month-")) localStorage.removeItem(k);
  }
  $("punch").disabled = true;
}

async function showWho() {
  const known = localStorage.getItem("punchgate-who");
  if (known) $("who").textContent = known; // offline, the name last seen
  try {
    const res = await fetch("/app/me", { credentials: "same-origin" });
    if (res.status === 401) { enrolNeeded(); return; }
    if (res.ok) {
      const me = await res.json();
      const who = `${me.name || me.code} (${me.code})`;
      breaks = Boolean(me.breaks);
      setKind(kind);
      $("who").textContent = who;
      localStorage.setItem("punchgate-who", who);
    }
  } catch (err) { /* offline: the queue still works */ }
}

async function showDay() {
  let day;
  try {
    const res = await fetch("/app/day", { credentials: "same-origin" });
    if (!res.ok) return;
    day = await res.json();
  } catch (err) { return; }
  const status = day.status ? (L["s_" + day.status] || day.status) : L.app_not_computed;
  let line = `${L.app_day_status}: ${status}`;
  if (day.status) line += ` · ${L.app_worked} ${Math.round(day.worked_s / 60)} min · ${L.app_late} ${Math.round(day.late_s / 60)} min`;
  $("day-status").textContent = line;
  const list = $("day");
  list.replaceChildren();
  if (!day.punches.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = L.app_no_punches;
    list.append(li);
  }
  for (const p of day.punches) {
    const li = document.createElement("li");
    const bits = [p.local_time, stateLabel(p.state)];
    if (p.site) bits.push(`${p.site}${p.distance_m !== null ? ` (${p.distance_m} m)` : ""}`);
    if (p.flags.length) bits.push(flagLabels(p.flags));
    li.textContent = bits.join(" · ");
    list.append(li);
  }
  const last = day.punches[day.punches.length - 1];
  if (last && NEXT[last.state]) setKind(NEXT[last.state]);
}

function showNet() { $("net").hidden = navigator.onLine; }

// --- start -------------------------------------------------------------------------------
$("punch").addEventListener("click", () => punch(kind));
$("break").addEventListener("click", () => punch("break_out"));
$("switch").addEventListener("click", () => setKind(kind === "in" ? "out" : "in"));
$("locate").addEventListener("click", locate);
if (!localStorage.getItem("punchgate-privacy-seen")) $("privacy").hidden = false;
$("privacy-ok").addEventListener("click", () => {
  localStorage.setItem("punchgate-privacy-seen", "1");
  $("privacy").hidden = true;
});
window.addEventListener("online", () => { showNet(); flush(); });
window.addEventListener("offline", showNet);
document.addEventListener("visibilitychange", () => { if (!document.hidden) { locate(); flush(); } });
setInterval(() => { if (!document.hidden) flush(); }, 15000);
if ("serviceWorker" in navigator) navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => {});
showNet();
showWho();
showQueue().then(flush);
locate();
