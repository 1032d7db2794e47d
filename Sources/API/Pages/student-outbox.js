// Check-ins made without network, kept in IndexedDB until they are delivered. Shared by the student
// page and its service worker (importScripts), so either sends them when the network is back.
// An entry is {id, url, body, token, classId, studentId, createdMs}; its body carries the QR (or
// receipt), the time of the scan and the device signature made then, plus `"offline": true`.
"use strict";
self.AttendanceOutbox = (() => {
  const DB = "attendance", VERSION = 1;

  function open() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("keys")) db.createObjectStore("keys");
        if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
        if (!db.objectStoreNames.contains("results")) db.createObjectStore("results", { keyPath: "id" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  async function run(store, mode, work) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(store, mode);
        let value;
        Promise.resolve(work(tx.objectStore(store))).then((v) => { value = v; });
        tx.oncomplete = () => resolve(value);
        tx.onerror = tx.onabort = () => reject(tx.error);
      });
    } finally { db.close(); }
  }
  const request = (req) => new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });

  const add = (entry) => run("outbox", "readwrite", (s) => request(s.add(entry)));
  const all = () => run("outbox", "readonly", (s) => request(s.getAll()));
  const remove = (id) => run("outbox", "readwrite", (s) => request(s.delete(id)));
  const takeResults = () => run("results", "readwrite", async (s) => { const r = await request(s.getAll()); s.clear(); return r; });
  const putResult = (result) => run("results", "readwrite", (s) => request(s.put(result)));

  /// Sends one entry. Answers the outcome {status, data} once the server decided (2xx or 4xx), or
  /// null when it should be tried again later (no network, 5xx, 429).
  async function send(entry) {
    let body = entry.body;
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers = { "Content-Type": "application/json" };
      if (entry.token) headers.Authorization = "Bearer " + entry.token;
      let res;
      try { res = await fetch(entry.url, { method: "POST", headers, body: JSON.stringify(body) }); }
      catch { return null; }
      const data = await res.json().catch(() => null);
      if (res.status >= 500 || res.status === 429) return null;
      // A server that does not know `offline` refuses the field by name: send the check-in without it.
      const message = data && data.error ? data.error.message : "";
      if (res.status === 400 && /'offline'/.test(message) && body.offline) {
        body = { ...body }; delete body.offline;
        continue;
      }
      return { status: res.status, data };
    }
    return null;
  }

  let flushing = null;
  /// Sends every stored entry once; delivered ones move to `results` for the page to show.
  function flush() {
    if (!flushing) {
      flushing = (async () => {
        const delivered = [];
        for (const entry of await all()) {
          const outcome = await send(entry);
          if (!outcome) continue;
          await remove(entry.id);
          const result = { id: entry.id, classId: entry.classId, studentId: entry.studentId, createdMs: entry.createdMs, ...outcome };
          await putResult(result);
          delivered.push(result);
        }
        return delivered;
      })().finally(() => { flushing = null; });
    }
    return flushing;
  }

  return { open, run, request, add, all, flush, takeResults };
})();
