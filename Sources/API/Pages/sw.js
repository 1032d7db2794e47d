// The student page's service worker: it keeps the page (network first, the cached copy without
// network) and delivers check-ins stored in the outbox when the network is back (Background Sync
// where the browser has it; the page itself also sends them on its `online` event).
"use strict";
importScripts("/assets/student-outbox.js");

const CACHE = "attendance-student-v1";
const PAGE = "/checkin";
const FILES = [PAGE, "/assets/style.css", "/assets/student.js", "/assets/student-outbox.js",
  "/assets/student-device.js", "/assets/student-scan.js", "/assets/student-account.js", "/assets/sso-errors.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/// The student page's URLs: all three serve the same file, which reads its own URL.
function isStudentPage(url) {
  return url.pathname === "/checkin" || url.pathname === "/c" || url.pathname.startsWith("/j/");
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== location.origin) return;
  const page = req.mode === "navigate" && isStudentPage(url);
  if (!page && !FILES.includes(url.pathname)) return; // the teacher's page and the API pass through
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (res.ok) await cache.put(page ? PAGE : url.pathname, res.clone());
      return res;
    } catch (e) {
      const cached = await cache.match(page ? PAGE : url.pathname);
      if (cached) return cached;
      throw e;
    }
  })());
});

async function deliver() {
  const delivered = await self.AttendanceOutbox.flush();
  for (const client of await self.clients.matchAll({ type: "window" })) if (delivered.length) client.postMessage("outbox-delivered");
  // Failing the sync event makes the browser try again later.
  if ((await self.AttendanceOutbox.all()).length) throw new Error("check-ins still waiting for the network");
}

self.addEventListener("sync", (event) => {
  if (event.tag === "attendance-outbox") event.waitUntil(deliver());
});
