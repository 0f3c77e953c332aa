// The punch app's service worker: keeps the shell so /app opens offline. Punches are queued
// by the page in IndexedDB (the same id is resent until a receipt arrives); the JSON
// endpoints always go to the network, so a receipt is never an old copy.
const CACHE = "punchgate-app-v3";
const SHELL = ["/app", "/app/my-month", "/app/static/app.js", "/app/static/month.js",
  "/app/static/app.css", "/app/static/icon.svg", "/app/static/icon-192.png",
  "/app/manifest.webmanifest"];
// Cached once the worker controls the pages, so they do not lengthen the install (a page
// navigating while the worker activates is not claimed; a longer install makes that likelier).
const LATER = ["/app/my-requests", "/app/static/requests.js"];

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim())
    .then(() => caches.open(CACHE).then((c) => c.addAll(LATER)).catch(() => {})));
});

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  const shell = url.pathname === "/app" || url.pathname === "/app/my-month" ||
    url.pathname === "/app/my-requests" ||
    url.pathname === "/app/manifest.webmanifest" ||
    url.pathname.startsWith("/app/static/");
  if (e.request.method !== "GET" || url.origin !== self.location.origin || !shell) return;
  // Network first (the shell stays current), the cached copy when offline.
  e.respondWith(fetch(e.request).then((res) => {
    if (res.ok) {
      const copy = res.clone();
      caches.open(CACHE).then((c) => c.put(e.request, copy));
    }
    return res;
  }).catch(() => caches.match(e.request, { ignoreSearch: true })));
});
