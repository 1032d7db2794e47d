// One class, live: its QR and code, the hub WebSocket that feeds the roster, and the teacher's
// actions (override, bulk mark, approve, close, CSV). On reconnect it subscribes with `since` = the
// last offset it applied, so nothing is lost or applied twice.
"use strict";
import { api, refresh, session } from "./teacher-session.js";
import { $, say } from "./teacher.js";
import { roster, reset, load, enqueue, render, counts, initRoster } from "./teacher-roster.js";
import { showProjector, hideProjector, updateProjector, initProjector } from "./teacher-projector.js";

const HUB = document.querySelector('meta[name="hub-url"]').content;
const path = (id, rest) => "/v1/classes/" + encodeURIComponent(id) + (rest || "");

/// Everything about the open class; replaced whole when another class opens, so nothing of the
/// previous one (messages, timers, sockets) can show on the next.
let C = null;

export function leaveClass() {
  if (!C) return;
  clearTimeout(C.qrTimer); clearInterval(C.tick); clearTimeout(C.wsTimer);
  if (C.ws) { C.ws.onclose = null; C.ws.close(); }
  if (C.qrUrl) URL.revokeObjectURL(C.qrUrl);
  C = null;
  hideProjector();
  setConn(null);
}

export async function openClass(id) {
  leaveClass();
  C = { id, info: null, offset: null, ws: null, wsRetry: 0, qrExpires: 0, gotSnapshot: false };
  const mine = C;
  say("classMsg", "");
  $("className").textContent = "";
  $("classMeta").textContent = "";
  reset();
  roster.closed = false;
  let info;
  try { info = await api("GET", path(id)); }
  catch (e) { if (C === mine) say("classMsg", e.message, "error"); return; }
  if (C !== mine) return;
  C.info = info;
  roster.closed = info.state !== "open";
  document.title = info.name + " — Attendance";
  showClass();
  connectHub();
  refreshQR();
  // The list answers even while the hub is out of reach; the hub's snapshot replaces it.
  api("GET", path(id, "/attendance")).then((list) => {
    if (C === mine && !C.gotSnapshot) load(list.students);
  }).catch(() => {});
}

/// The short address students type the code at: the public host and `/c`.
function where(info) {
  try { const u = new URL(info.link || location.href); return u.host + "/c"; }
  catch { return location.host + "/c"; }
}

function showClass() {
  const c = C.info;
  const closed = roster.closed;
  $("className").textContent = c.name;
  const when = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  $("classMeta").textContent = closed
    ? "Closed" + (c.closed_at_ms ? " at " + when(c.closed_at_ms) : "") + " · started " + new Date(c.start_ms).toLocaleString()
    : "Started " + when(c.start_ms) + " · ends " + when(c.closes_at_ms) + " · late after " + Math.round(c.late_after_s / 60) + " min";
  $("joinPanel").hidden = closed;
  $("code").textContent = c.code ? c.code.slice(0, 3) + " " + c.code.slice(3) : "";
  $("where").textContent = c.allow_code_checkin ? where(c) : "";
  $("where").previousElementSibling.textContent = c.allow_code_checkin ? "Or type the code at" : "Code to join (check-in by QR only)";
  for (const b of ["closeBtn", "bulkAbsent", "projectorBtn"]) $(b).disabled = closed;
  $("bulkSelected").disabled = closed || roster.selected.size === 0;
  $("bulkStatus").disabled = closed;
  if (closed) { clearTimeout(C.qrTimer); clearInterval(C.tick); hideProjector(); setConn(null); }
  render(null);
  updateProjector(projectorState());
}

function projectorState() {
  if (!C || !C.info) return null;
  const c = counts();
  return { name: C.info.name, code: $("code").textContent, where: C.info.allow_code_checkin ? where(C.info) : "",
    qr: C.qrUrl, counts: (c.present + c.late) + " here · " + c.total + " in the class" };
}

// ---- QR ----

async function refreshQR() {
  if (!C || roster.closed) return;
  const mine = C;
  clearTimeout(C.qrTimer);
  try {
    const res = await api("GET", path(C.id, "/qr?format=svg"), undefined, true);
    const expires = Number(res.headers.get("X-QR-Expires-Ms")) || Date.now() + C.info.qr_period_s * 1000;
    const blob = await res.blob();
    if (C !== mine) return;
    if (C.qrUrl) URL.revokeObjectURL(C.qrUrl);
    C.qrUrl = URL.createObjectURL(blob);
    $("qr").src = C.qrUrl;
    C.qrExpires = expires;
    updateProjector(projectorState());
    // The window boundary is absolute; a little slack absorbs clock differences.
    C.qrTimer = setTimeout(refreshQR, Math.max(1000, expires - Date.now() + 300));
  } catch (e) {
    if (C !== mine) return;
    if (e.code === "class_closed") return closedNow();
    $("qrInfo").textContent = "QR: " + e.message;
    C.qrTimer = setTimeout(refreshQR, 3000);
    return;
  }
  clearInterval(C.tick);
  C.tick = setInterval(() => {
    const left = Math.max(0, Math.round((C.qrExpires - Date.now()) / 1000));
    $("qrInfo").textContent = "Scan to check in · new code in " + left + " s";
  }, 500);
}

// ---- hub ----

function setConn(state) {
  const el = $("conn");
  el.hidden = state === null;
  el.className = "conn" + (state === "live" ? " live" : state ? " retrying" : "");
  el.textContent = state === "live" ? "Live" : state === "retrying" ? "Reconnecting…" : state === "connecting" ? "Connecting…" : "";
}

function connectHub() {
  if (!C || roster.closed) return;
  clearTimeout(C.wsTimer);
  if (C.ws) { C.ws.onclose = null; C.ws.close(); }
  const mine = C;
  if (!C.wsRetry) setConn("connecting");
  const ws = new WebSocket(HUB + (HUB.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(session.token || ""));
  C.ws = ws;
  ws.onopen = () => {
    const sub = { type: "subscribe", class_id: mine.id, id: "sub" };
    if (mine.offset) sub.since = mine.offset;
    ws.send(JSON.stringify(sub));
  };
  ws.onmessage = (ev) => {
    if (C !== mine) return;
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.class_id && m.class_id !== mine.id) return;
    if (m.type === "subscribed") {
      mine.wsRetry = 0;
      setConn("live");
      if (m.snapshot) { mine.gotSnapshot = true; roster.queue = []; load(m.snapshot.students); }
      mine.offset = m.offset;
    } else if (m.type === "event") {
      onHubEvent(m);
    } else if (m.type === "error" && m.id === "sub" && mine.offset) {
      // A `since` the log no longer has: start over with a snapshot.
      mine.offset = null;
      ws.send(JSON.stringify({ type: "subscribe", class_id: mine.id, id: "sub" }));
    } else if (m.type === "error") {
      say("classMsg", m.message, "error");
    }
  };
  ws.onclose = async (ev) => {
    if (C !== mine || roster.closed) return;
    setConn("retrying");
    // The hub closes with 1008 when the 15-minute token ran out: renew it before reconnecting.
    if (ev.code === 1008 && !(await refresh().catch(() => false))) return;
    mine.wsRetry = Math.min(mine.wsRetry + 1, 4);
    mine.wsTimer = setTimeout(connectHub, 500 * 2 ** (mine.wsRetry - 1));
  };
}

function cmpOffset(a, b) {
  const [am, as = "0"] = a.split("-"), [bm, bs = "0"] = b.split("-");
  const x = BigInt(am) - BigInt(bm);
  return x !== 0n ? (x < 0n ? -1 : 1) : Math.sign(Number(BigInt(as) - BigInt(bs)));
}

function onHubEvent(e) {
  if (e.event === "qr_rotated") { if (e.expires_ms !== C.qrExpires) refreshQR(); return; }
  if (typeof e.offset !== "string") return; // only stored events move the resume point
  if (C.offset && cmpOffset(e.offset, C.offset) <= 0) return;
  C.offset = e.offset;
  if (e.event === "class_closed") return closedNow(e.at_ms);
  enqueue(e);
}

function closedNow(atMs) {
  if (!C) return;
  roster.closed = true;
  C.info.state = "closed";
  if (atMs) C.info.closed_at_ms = atMs;
  if (C.ws) { C.ws.onclose = null; C.ws.close(); C.ws = null; }
  showClass();
  say("classMsg", "This class is closed. Unmarked students were marked absent.", "ok");
}

// ---- actions ----

async function act(work, done) {
  try { const r = await work(); if (done) say("classMsg", done(r), "ok"); }
  catch (e) { say("classMsg", e.message, "error"); render(null); }
}

function csvName(info) {
  const d = new Date(info.start_ms);
  const date = d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  const safe = info.name.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, " ").trim().slice(0, 80) || "class";
  return safe + " " + date + ".csv";
}

export function initClassView() {
  initRoster();
  initProjector();
  roster.onOverride = (id, status) => act(() => api("PATCH", path(C.id, "/attendance/" + encodeURIComponent(id)), { status }));
  roster.onApprove = (id) => act(() => api("POST", path(C.id, "/students/" + encodeURIComponent(id) + ":approve")), () => id + " approved.");
  roster.onResetDevice = (id) => act(() => api("POST", path(C.id, "/students/" + encodeURIComponent(id) + "/device:reset")),
    () => "The device of " + id + " was reset; the next phone it uses is bound afresh.");
  roster.onEvent = (e) => { if (e.event === "counts") updateProjector(projectorState()); };
  $("back").addEventListener("click", () => { location.hash = ""; });
  $("projectorBtn").addEventListener("click", () => showProjector(projectorState()));
  $("bulkAbsent").addEventListener("click", () => {
    if (!confirm("Mark every unmarked student absent?")) return;
    act(() => api("POST", path(C.id, "/attendance:bulk"), { student_ids: "all_unmarked", status: "absent" }),
      (r) => r.count + (r.count === 1 ? " student" : " students") + " marked absent.");
  });
  $("bulkSelected").addEventListener("click", () => {
    const ids = [...roster.selected];
    const status = $("bulkStatus").value;
    act(() => api("POST", path(C.id, "/attendance:bulk"), { student_ids: ids, status }), (r) => {
      roster.selected.clear(); $("pickAll").checked = false;
      for (const tr of roster.rows.values()) tr.querySelector("input[type=checkbox]").checked = false;
      $("bulkSelected").disabled = true;
      return r.count + (r.count === 1 ? " student" : " students") + " marked " + status + ".";
    });
  });
  $("closeBtn").addEventListener("click", () => {
    if (!confirm("Close this class now? Unmarked students become absent.")) return;
    act(() => api("POST", path(C.id, "/close")).then(() => closedNow(Date.now())));
  });
  $("csvBtn").addEventListener("click", () => act(async () => {
    const offset = -new Date().getTimezoneOffset();
    const res = await api("GET", path(C.id, "/attendance?format=csv&utc_offset_min=" + offset), undefined, true);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url; a.download = csvName(C.info);
    a.textContent = "CSV";
    a.hidden = true;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }));
  window.addEventListener("online", () => { if (C && !roster.closed && (!C.ws || C.ws.readyState > 1)) connectHub(); });
}
