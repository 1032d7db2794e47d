/// `GET /`: the teacher dashboard, one self-contained page (inline CSS and JS, no external assets).
///
/// The teacher pastes an access token (kept in localStorage), creates a class or reopens one by id,
/// and sees the join code, the share link, the rotating QR image (fetched from the API, refreshed
/// when its window ends or on the hub's `qr_rotated`), and a live roster fed by the hub WebSocket.
/// On reconnect it subscribes with `since` = the last offset it applied, so nothing is lost or
/// applied twice. Every value from the network reaches the DOM through `textContent`, never as HTML.
enum DashboardPage {
    static func html(hubURL: String) -> [UInt8] {
        Array((head + #"<meta name="hub-url" content="\#(PageEscaping.attribute(hubURL))">"# + body).utf8)
    }

    private static let head = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Attendance — teacher dashboard</title>
"""#

    private static let body = #"""
<style>
:root { --fg:#1d2330; --muted:#667085; --line:#e3e6ec; --accent:#2456d3; --bg:#f6f7fb; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:.75rem 1rem; display:flex; gap:1rem; align-items:center; flex-wrap:wrap; }
header h1 { font-size:1.1rem; margin:0; flex:1; }
main { max-width:1100px; margin:0 auto; padding:1rem; display:grid; gap:1rem; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:1rem; }
h2 { font-size:1rem; margin:0 0 .75rem; }
label { display:block; font-size:.85rem; color:var(--muted); margin:.5rem 0 .2rem; }
input, textarea, select, button { font:inherit; }
input[type=text], input[type=password], input[type=number], textarea { width:100%; padding:.5rem; border:1px solid var(--line); border-radius:6px; }
textarea { min-height:4rem; }
button { padding:.5rem .9rem; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; }
button.secondary { background:#fff; color:var(--accent); }
button.danger { background:#b42318; border-color:#b42318; }
button:disabled { opacity:.5; cursor:default; }
.row { display:flex; gap:.75rem; flex-wrap:wrap; align-items:end; }
.row > * { flex:1 1 10rem; }
.grid2 { display:grid; gap:1rem; grid-template-columns: minmax(0,1fr) minmax(0,1fr); }
@media (max-width: 760px) { .grid2 { grid-template-columns: 1fr; } }
#code { font-size:3rem; font-weight:700; letter-spacing:.3rem; font-variant-numeric:tabular-nums; }
#qr { width:100%; max-width:420px; aspect-ratio:1; display:block; margin:0 auto; image-rendering:pixelated; background:#fff; }
.muted { color:var(--muted); font-size:.85rem; }
.msg { min-height:1.2rem; font-size:.9rem; }
.msg.error { color:#b42318; }
.counts { display:flex; gap:.5rem; flex-wrap:wrap; margin:.5rem 0; }
.pill { padding:.15rem .55rem; border-radius:999px; font-size:.8rem; background:#eef1f6; }
.s-present { background:#d1fadf; } .s-late { background:#fef0c7; } .s-absent { background:#fee4e2; }
.s-excused { background:#e0eaff; } .s-unmarked { background:#eef1f6; }
table { width:100%; border-collapse:collapse; font-size:.92rem; }
th, td { text-align:left; padding:.45rem .4rem; border-bottom:1px solid var(--line); vertical-align:middle; }
th { font-size:.8rem; color:var(--muted); font-weight:600; }
.table-wrap { overflow-x:auto; }
#conn { font-size:.8rem; }
.dot { display:inline-block; width:.6rem; height:.6rem; border-radius:50%; background:#b42318; margin-right:.3rem; }
.dot.on { background:#12b76a; }
.hidden { display:none !important; }
.link { word-break:break-all; font-size:.85rem; }
</style>
</head>
<body>
<header>
  <h1>Attendance</h1>
  <span id="conn"><span class="dot" id="dot"></span><span id="connText">hub: not connected</span></span>
</header>
<main>
  <section id="tokenSection">
    <h2>Teacher access token</h2>
    <div class="row">
      <div><input type="password" id="token" autocomplete="off" placeholder="paste the token from `attendance token --role teacher --sub …`"></div>
      <div style="flex:0 0 auto"><button id="saveToken">Save</button> <button class="secondary" id="forgetToken">Forget</button></div>
    </div>
    <div class="msg" id="tokenMsg"></div>
  </section>

  <section id="createSection">
    <h2>New class session</h2>
    <form id="createForm">
      <div class="row">
        <div><label for="name">Name</label><input type="text" id="name" required maxlength="200" placeholder="Algebra, period 2"></div>
        <div><label for="late">Late after (minutes)</label><input type="number" id="late" min="0" max="1440" value="10"></div>
        <div><label for="duration">Duration (minutes)</label><input type="number" id="duration" min="1" max="1440" value="60"></div>
        <div><label for="period">QR changes every (s)</label><input type="number" id="period" min="5" max="300" value="15"></div>
      </div>
      <label for="roster">Roster (optional: student ids separated by spaces, commas or lines; empty lets anyone with the code join)</label>
      <textarea id="roster" placeholder="s1 s2 s3"></textarea>
      <label><input type="checkbox" id="allowCode"> Allow check-in with the 6-digit code (without scanning the QR)</label>
      <div class="row" style="margin-top:.75rem">
        <div style="flex:0 0 auto"><button type="submit">Start class</button></div>
        <div><input type="text" id="openId" placeholder="…or reopen a class by id (c_…)"></div>
        <div style="flex:0 0 auto"><button type="button" class="secondary" id="openBtn">Open</button></div>
      </div>
    </form>
    <div class="msg" id="createMsg"></div>
  </section>

  <section id="classSection" class="hidden">
    <div class="row" style="align-items:center">
      <div><h2 id="className" style="margin:0"></h2><div class="muted" id="classMeta"></div></div>
      <div style="flex:0 0 auto" class="row">
        <button class="secondary" id="bulkAbsent">Mark unmarked absent</button>
        <button class="secondary" id="csvBtn">Download CSV</button>
        <button class="danger" id="closeBtn">Close class</button>
      </div>
    </div>
    <div class="msg" id="classMsg"></div>
    <div class="grid2">
      <div>
        <div class="muted">Join code</div>
        <div id="code">——————</div>
        <div class="muted">Share link</div>
        <div class="link"><a id="link" target="_blank" rel="noopener"></a> <button class="secondary" id="copyLink" style="padding:.2rem .5rem;font-size:.8rem">Copy</button></div>
        <div class="counts" id="counts"></div>
      </div>
      <div>
        <img id="qr" alt="QR code for check-in">
        <div class="muted" style="text-align:center" id="qrInfo"></div>
      </div>
    </div>
  </section>

  <section id="rosterSection" class="hidden">
    <h2>Students <span class="muted" id="rosterCount"></span></h2>
    <div class="table-wrap">
      <table>
        <thead><tr><th>Student</th><th>Name</th><th>Status</th><th>Time</th><th>How</th><th>Set</th></tr></thead>
        <tbody id="rows"></tbody>
      </table>
    </div>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const HUB = document.querySelector('meta[name="hub-url"]').content;
const STATUSES = ["unmarked", "present", "late", "absent", "excused"];
const S = {
  token: localStorage.getItem("att.teacher.token") || "",
  cls: null, closed: false, students: new Map(), offset: null,
  ws: null, wsRetry: 0, wsTimer: null, qrTimer: null, qrUrl: null, qrExpires: 0, tick: null,
};

function msg(id, text, isError) { const el = $(id); el.textContent = text || ""; el.classList.toggle("error", !!isError); }
function fmtTime(ms) { return ms ? new Date(ms).toLocaleTimeString() : ""; }

async function api(method, path, body, raw) {
  const headers = { "Authorization": "Bearer " + S.token };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (raw && res.ok) return res;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data && data.error ? data.error : { code: "http_" + res.status, message: "HTTP " + res.status };
    const err = new Error(e.message + " (" + e.code + ")");
    err.code = e.code;
    throw err;
  }
  return data;
}

function cmpOffset(a, b) {
  const [am, as] = a.split("-").map(BigInt), [bm, bs] = b.split("-").map(BigInt);
  return am < bm ? -1 : am > bm ? 1 : as < bs ? -1 : as > bs ? 1 : 0;
}

// ---- token ----
$("token").value = S.token;
$("saveToken").onclick = () => {
  S.token = $("token").value.trim();
  localStorage.setItem("att.teacher.token", S.token);
  msg("tokenMsg", S.token ? "Saved in this browser." : "");
  if (S.cls) { connectHub(); refreshQR(); }
};
$("forgetToken").onclick = () => {
  S.token = ""; $("token").value = ""; localStorage.removeItem("att.teacher.token"); msg("tokenMsg", "Forgotten.");
};

// ---- create / open ----
$("createForm").onsubmit = async (ev) => {
  ev.preventDefault();
  msg("createMsg", "");
  const roster = $("roster").value.split(/[\s,;]+/).filter(Boolean);
  const body = {
    name: $("name").value.trim(),
    late_after_s: Math.round(Number($("late").value) * 60),
    duration_s: Math.round(Number($("duration").value) * 60),
    qr_period_s: Math.round(Number($("period").value)),
    allow_code_checkin: $("allowCode").checked,
  };
  if (roster.length) body.roster = roster;
  try {
    const created = await api("POST", "/v1/classes", body);
    openClass(created.class_id);
  } catch (e) { msg("createMsg", e.message, true); }
};
$("openBtn").onclick = () => { const id = $("openId").value.trim(); if (id) openClass(id); };

async function openClass(id) {
  msg("createMsg", "");
  let info;
  try { info = await api("GET", "/v1/classes/" + encodeURIComponent(id)); }
  catch (e) { msg("createMsg", e.message, true); return; }
  localStorage.setItem("att.teacher.class", info.class_id);
  if (S.ws) { S.ws.onclose = null; S.ws.close(); S.ws = null; }
  S.cls = info; S.closed = info.state !== "open"; S.students = new Map(); S.offset = null;
  $("classSection").classList.remove("hidden");
  $("rosterSection").classList.remove("hidden");
  $("className").textContent = info.name;
  renderClass();
  try {
    const list = await api("GET", "/v1/classes/" + encodeURIComponent(info.class_id) + "/attendance");
    if (S.offset === null) { for (const s of list.students) S.students.set(s.student_id, s); renderRows(); }
  } catch (e) { msg("classMsg", e.message, true); }
  refreshQR();
  connectHub();
}

function renderClass() {
  const c = S.cls;
  $("classMeta").textContent = c.class_id + " · started " + fmtTime(c.start_ms) + " · ends " + fmtTime(c.closes_at_ms) +
    " · late after " + Math.round(c.late_after_s / 60) + " min" + (c.allow_code_checkin ? " · code check-in allowed" : "") +
    (S.closed ? " · CLOSED" : "");
  $("code").textContent = !S.closed && c.code ? c.code : "closed";
  const link = $("link");
  link.textContent = !S.closed && c.link ? c.link : "";
  link.href = !S.closed && c.link ? c.link : "#";
  for (const id of ["bulkAbsent", "closeBtn"]) $(id).disabled = S.closed;
  $("qr").classList.toggle("hidden", S.closed);
  if (S.closed) { $("qrInfo").textContent = "This class is closed."; clearTimeout(S.qrTimer); clearInterval(S.tick); }
}
$("copyLink").onclick = () => { const t = $("link").textContent; if (t && navigator.clipboard) navigator.clipboard.writeText(t); };

// ---- QR ----
async function refreshQR() {
  clearTimeout(S.qrTimer);
  if (!S.cls || S.closed) return;
  const id = S.cls.class_id;
  try {
    const res = await api("GET", "/v1/classes/" + encodeURIComponent(id) + "/qr?format=svg", undefined, true);
    const expires = Number(res.headers.get("X-QR-Expires-Ms")) || (Date.now() + S.cls.qr_period_s * 1000);
    const blob = await res.blob();
    if (!S.cls || S.cls.class_id !== id) return;
    if (S.qrUrl) URL.revokeObjectURL(S.qrUrl);
    S.qrUrl = URL.createObjectURL(blob);
    $("qr").src = S.qrUrl;
    S.qrExpires = expires;
    // The server's window boundary is absolute; a small delay absorbs clock differences.
    S.qrTimer = setTimeout(refreshQR, Math.max(1000, expires - Date.now() + 300));
  } catch (e) {
    if (e.code === "class_closed") { S.closed = true; renderClass(); return; }
    $("qrInfo").textContent = "QR: " + e.message;
    S.qrTimer = setTimeout(refreshQR, 5000);
  }
  clearInterval(S.tick);
  S.tick = setInterval(() => {
    const left = Math.max(0, Math.round((S.qrExpires - Date.now()) / 1000));
    $("qrInfo").textContent = "Scan to check in · new code in " + left + " s";
  }, 500);
}

// ---- hub ----
function connectHub() {
  if (!S.cls || !S.token) return;
  clearTimeout(S.wsTimer);
  if (S.ws) { S.ws.onclose = null; S.ws.close(); }
  const url = HUB + (HUB.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(S.token);
  let ws;
  try { ws = new WebSocket(url); } catch (e) { setConn(false, "hub: " + e.message); return; }
  S.ws = ws;
  const classId = S.cls.class_id;
  ws.onopen = () => {
    S.wsRetry = 0;
    const sub = { type: "subscribe", class_id: classId, id: "sub" };
    if (S.offset) sub.since = S.offset;
    ws.send(JSON.stringify(sub));
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    if (m.class_id && m.class_id !== classId) return;
    if (m.type === "subscribed") {
      setConn(true, "hub: live");
      if (m.snapshot) {
        S.students = new Map();
        for (const s of m.snapshot.students) S.students.set(s.student_id, s);
        renderRows();
      }
      S.offset = m.offset;
    } else if (m.type === "event") {
      applyEvent(m);
    } else if (m.type === "error") {
      // A `since` the log no longer has: start over with a snapshot.
      if (m.id === "sub" && S.offset) { S.offset = null; ws.send(JSON.stringify({ type: "subscribe", class_id: classId, id: "sub" })); }
      else msg("classMsg", "hub: " + m.message, true);
    }
  };
  ws.onclose = (ev) => {
    setConn(false, "hub: disconnected" + (ev.reason ? " (" + ev.reason + ")" : "") + ", retrying…");
    S.wsRetry = Math.min(S.wsRetry + 1, 5);
    S.wsTimer = setTimeout(connectHub, 1000 * 2 ** (S.wsRetry - 1));
  };
}
function setConn(on, text) { $("dot").classList.toggle("on", on); $("connText").textContent = text; }

function applyEvent(e) {
  if (e.event === "qr_rotated") {
    if (e.expires_ms !== S.qrExpires) refreshQR();
    return;
  }
  if (typeof e.offset !== "string") return; // ephemeral events never move the resume point
  if (S.offset && cmpOffset(e.offset, S.offset) <= 0) return;
  S.offset = e.offset;
  if (e.event === "class_closed") {
    S.closed = true; renderClass();
    msg("classMsg", "Class closed at " + fmtTime(e.at_ms) + ".");
    return;
  }
  if (!e.student_id) return;
  const s = S.students.get(e.student_id) || { student_id: e.student_id, status: "unmarked" };
  if (e.event === "joined") { if (e.name) s.name = e.name; if (e.status) s.status = e.status; }
  else if (e.event === "checked_in") { s.status = e.status; s.at_ms = e.at_ms; s.method = e.method; s.by = null; }
  else if (e.event === "status_changed") {
    s.status = e.status; s.at_ms = e.status === "unmarked" ? null : e.at_ms;
    s.method = e.status === "unmarked" ? null : e.method; s.by = e.by;
  }
  S.students.set(e.student_id, s);
  renderRows();
}

// ---- roster ----
function renderRows() {
  const rows = $("rows");
  rows.textContent = "";
  const list = [...S.students.values()].sort((a, b) => a.student_id.localeCompare(b.student_id));
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const s of list) {
    counts[s.status] = (counts[s.status] || 0) + 1;
    const tr = document.createElement("tr");
    const cell = (text) => { const td = document.createElement("td"); td.textContent = text == null ? "" : String(text); tr.appendChild(td); return td; };
    cell(s.student_id);
    cell(s.name);
    const st = cell("");
    const pill = document.createElement("span");
    pill.className = "pill s-" + s.status; pill.textContent = s.status; st.appendChild(pill);
    cell(fmtTime(s.at_ms));
    cell(s.by ? s.method + " by " + s.by : s.method);
    const td = cell("");
    const sel = document.createElement("select");
    for (const v of STATUSES) { const o = document.createElement("option"); o.value = v; o.textContent = v; o.selected = v === s.status; sel.appendChild(o); }
    sel.onchange = () => override(s.student_id, sel.value);
    td.appendChild(sel);
    rows.appendChild(tr);
  }
  $("rosterCount").textContent = "(" + list.length + ")";
  const c = $("counts");
  c.textContent = "";
  for (const st of STATUSES) {
    const p = document.createElement("span"); p.className = "pill s-" + st; p.textContent = st + ": " + counts[st]; c.appendChild(p);
  }
}

async function override(studentId, status) {
  try {
    const r = await api("PATCH", "/v1/classes/" + encodeURIComponent(S.cls.class_id) + "/attendance/" + encodeURIComponent(studentId), { status });
    if (!S.ws || S.ws.readyState !== WebSocket.OPEN) {
      const s = S.students.get(studentId); if (s) { s.status = r.status; s.at_ms = r.at_ms; renderRows(); }
    }
    msg("classMsg", "");
  } catch (e) { msg("classMsg", e.message, true); renderRows(); }
}

$("bulkAbsent").onclick = async () => {
  if (!confirm("Mark every unmarked student absent?")) return;
  try {
    const r = await api("POST", "/v1/classes/" + encodeURIComponent(S.cls.class_id) + "/attendance:bulk", { student_ids: "all_unmarked", status: "absent" });
    msg("classMsg", r.count + " student(s) marked absent.");
  } catch (e) { msg("classMsg", e.message, true); }
};

$("closeBtn").onclick = async () => {
  if (!confirm("Close this class now? Unmarked students become absent.")) return;
  try {
    const r = await api("POST", "/v1/classes/" + encodeURIComponent(S.cls.class_id) + "/close");
    S.closed = true; renderClass();
    msg("classMsg", "Closed; " + r.marked_absent + " student(s) marked absent.");
  } catch (e) { msg("classMsg", e.message, true); }
};

$("csvBtn").onclick = async () => {
  try {
    const res = await api("GET", "/v1/classes/" + encodeURIComponent(S.cls.class_id) + "/attendance?format=csv", undefined, true);
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement("a");
    a.href = url; a.download = "attendance-" + S.cls.class_id + ".csv";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (e) { msg("classMsg", e.message, true); }
};

const last = localStorage.getItem("att.teacher.class");
if (S.token && last) openClass(last);
</script>
</body>
</html>
"""#
}
