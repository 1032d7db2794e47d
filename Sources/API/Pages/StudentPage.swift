/// The student page, served at `GET /j/{link_token}` (a shared join link) and `GET /checkin?qr=…`
/// (what the classroom QR code encodes). It reads the credential from its own URL, asks for the
/// student id and name (remembered in localStorage, so a scan checks in with one tap or none), posts
/// `/v1/join`, shows the result and keeps the student token per class in localStorage. Without a
/// credential in the URL it asks for the 6-digit code.
enum StudentPage {
    static let html: [UInt8] = Array(source.utf8)

    private static let source = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Attendance — check in</title>
<style>
* { box-sizing: border-box; }
body { margin:0; font:17px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:#1d2330; background:#f6f7fb; }
main { max-width:28rem; margin:0 auto; padding:1.25rem 1rem; }
h1 { font-size:1.3rem; margin:.25rem 0 1rem; }
.card { background:#fff; border:1px solid #e3e6ec; border-radius:12px; padding:1.1rem; }
label { display:block; font-size:.9rem; color:#667085; margin:.8rem 0 .25rem; }
input { width:100%; font:inherit; padding:.65rem; border:1px solid #d0d5dd; border-radius:8px; }
#code { font-size:1.6rem; letter-spacing:.4rem; text-align:center; font-variant-numeric:tabular-nums; }
button { width:100%; margin-top:1.1rem; font:inherit; font-weight:600; padding:.8rem; border:0; border-radius:8px; background:#2456d3; color:#fff; }
button:disabled { opacity:.6; }
.result { margin-top:1rem; padding:1rem; border-radius:10px; display:none; }
.result.ok { display:block; background:#d1fadf; }
.result.info { display:block; background:#e0eaff; }
.result.error { display:block; background:#fee4e2; }
.big { font-size:1.5rem; font-weight:700; }
.muted { color:#667085; font-size:.85rem; margin-top:.75rem; }
.hidden { display:none; }
</style>
</head>
<body>
<main>
  <h1 id="title">Check in</h1>
  <div class="card">
    <form id="form">
      <div id="codeBox" class="hidden">
        <label for="code">Class code (6 digits)</label>
        <input id="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="off">
      </div>
      <label for="sid">Student id</label>
      <input id="sid" required maxlength="64" autocomplete="username" autocapitalize="off" spellcheck="false">
      <label for="sname">Name (optional)</label>
      <input id="sname" maxlength="100" autocomplete="name">
      <button id="go" type="submit">Check in</button>
    </form>
    <div id="result" class="result" role="status" aria-live="polite"></div>
    <div class="muted" id="hint"></div>
  </div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const qr = params.get("qr");
const link = location.pathname.startsWith("/j/") ? decodeURIComponent(location.pathname.slice(3)) : null;
const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

$("sid").value = localStorage.getItem("att.student.id") || "";
$("sname").value = localStorage.getItem("att.student.name") || "";
if (qr) { $("title").textContent = "Check in"; $("hint").textContent = "The QR code changes every few seconds; if it expired, scan the current one."; }
else if (link) { $("title").textContent = "Join class"; $("go").textContent = "Join"; $("hint").textContent = "To check in, scan the QR code shown in the room."; }
else { $("title").textContent = "Join class"; $("go").textContent = "Join"; $("codeBox").classList.remove("hidden"); $("code").required = true; }

function show(kind, headline, detail) {
  const r = $("result");
  r.className = "result " + kind;
  r.textContent = "";
  const h = document.createElement("div"); h.className = "big"; h.textContent = headline; r.appendChild(h);
  if (detail) { const d = document.createElement("div"); d.textContent = detail; r.appendChild(d); }
}

async function submit() {
  const sid = $("sid").value.trim();
  const name = $("sname").value.trim();
  if (!ID_RE.test(sid)) { show("error", "Check your student id", "Use 1–64 letters, digits, or _ . : -"); return; }
  const body = { student_id: sid };
  if (name) body.name = name;
  if (qr) body.qr = qr; else if (link) body.link_token = link; else body.code = $("code").value.trim();
  localStorage.setItem("att.student.id", sid);
  localStorage.setItem("att.student.name", name);
  $("go").disabled = true;
  try {
    const res = await fetch("/v1/join", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const e = data && data.error ? data.error : { message: "Something went wrong (HTTP " + res.status + ")" };
      let detail = e.message;
      const wait = res.headers.get("Retry-After");
      if (res.status === 429 && wait) detail = "Too many attempts; try again in " + wait + " s.";
      show("error", "Not checked in", detail);
      return;
    }
    localStorage.setItem("att.student.token." + data.class_id, data.access_token);
    const when = data.at_ms ? " at " + new Date(data.at_ms).toLocaleTimeString() : "";
    if (data.status === "present" || data.status === "late") {
      show("ok", data.status === "late" ? "Checked in (late)" + when : "Checked in" + when, "Student " + data.student_id);
    } else if (data.status === "excused") {
      show("info", "You are excused", "Your teacher already marked you excused.");
    } else {
      show("info", "Joined", "Now scan the QR code shown in the room to check in.");
    }
  } catch (e) {
    show("error", "No connection", "Check your network and try again.");
  } finally {
    $("go").disabled = false;
  }
}

$("form").onsubmit = (ev) => { ev.preventDefault(); submit(); };
// A scanned QR is only valid for a short time: with a remembered id, check in at once.
if (qr && ID_RE.test($("sid").value)) submit();
</script>
</body>
</html>
"""#
}
