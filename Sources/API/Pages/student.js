// The student page: `/checkin?qr=…` (the room's QR), `/j/<link_token>` (a class or personal link)
// and `/c` (type the 6-digit code). It names the class, remembers the student id, signs check-ins
// with the device key, trades a scanned QR at once for a scan receipt where the server offers them,
// and keeps a check-in made without network in the outbox until it is delivered. Where the server
// offers school accounts, a signed-in student joins as that account (student-account.js) and the
// scan receipt waits in sessionStorage while the student is away at the school's sign-in page.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const Outbox = self.AttendanceOutbox, Device = self.AttendanceDevice, Scan = self.AttendanceScan;
  const Account = self.AttendanceAccount, SSO = self.AttendanceSSO;
  const RECEIPT_KEY = "att.student.receipt";
  const ID_RE = /^(?!@)[A-Za-z0-9_.:@-]{1,64}$/;
  const params = new URLSearchParams(location.search);
  const qr = params.get("qr");
  const link = location.pathname.startsWith("/j/") ? decodeURIComponent(location.pathname.slice(3)) : null;
  const mode = qr ? "qr" : link ? "link" : "code";
  /// `{receipt, class_id, class_name, expires_at_ms}` once the QR was exchanged (null: plain QR).
  let receipt = null;
  let receiptAsked = null;
  let busy = false;
  let retryWhenOnline = false;
  /// The signed-in school account `{token, user}`, or null: the student types an id.
  let account = null;

  // ---- display ----

  function show(kind, headline, detail) {
    const r = $("result");
    r.className = "result " + kind;
    r.textContent = "";
    const h = document.createElement("div");
    h.className = "big";
    h.textContent = headline;
    r.appendChild(h);
    if (detail) { const d = document.createElement("div"); d.textContent = detail; r.appendChild(d); }
  }

  function nameClass(name) {
    if (!name) return;
    $("className").textContent = name;
    document.title = name + " — check in";
  }

  const time = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

  function showStatus(data, sent) {
    const later = sent ? " (sent when the network came back)" : "";
    if (data.status === "present" || data.status === "late") {
      show("ok", (data.status === "late" ? "Checked in — late" : "Checked in") + (data.at_ms ? " at " + time(data.at_ms) : ""),
        "Student " + data.student_id + later);
    } else if (data.status === "excused") {
      show("info", "You are excused", "Your teacher already marked you excused.");
    } else if (data.status === "pending") {
      show("wait", "Waiting for your teacher", "Your teacher has to approve you. Keep this page open.");
    } else {
      show("info", "Joined", mode === "code" ? "Now scan the QR code in the room, or type the code if your teacher allows it."
        : "To check in, scan the QR code shown in the room.");
    }
  }

  function showError(status, data, res) {
    const e = data && data.error ? data.error : { code: "http_" + status, message: "Something went wrong (" + status + ")." };
    let detail = e.message;
    const wait = res && res.headers.get("Retry-After");
    if (status === 429 && wait) detail = "Too many attempts. Try again in " + wait + " s.";
    if (e.code === "qr_expired") detail = "The QR code changed. Scan the one on the screen now.";
    show("error", "Not checked in", detail);
  }

  // ---- the class's token, per class ----

  const tokenKey = (classId) => "att.student.token." + classId;
  function remembered(classId, sid) {
    try {
      const t = JSON.parse(localStorage.getItem(tokenKey(classId)) || "null");
      return t && t.student_id === sid ? t.token : null;
    } catch { return null; }
  }
  function remember(classId, sid, token) {
    localStorage.setItem(tokenKey(classId), JSON.stringify({ student_id: sid, token }));
  }

  // ---- requests ----

  async function post(url, body, token) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
    return { res, status: res.status, data: await res.json().catch(() => null) };
  }

  /// Exchanges the scanned QR for a receipt bound to the device key, so typing the id never makes
  /// the QR expire. A server without receipts (404) or no network leaves the plain QR.
  function askReceipt() {
    if (!receiptAsked) {
      receiptAsked = (async () => {
        const key = await Device.key();
        if (!key || !navigator.onLine) return null;
        try {
          const r = await post("/v1/receipts", { qr, device_key: key.jwk });
          if (r.status !== 200 || !r.data || !r.data.receipt) return null;
          receipt = r.data;
          // Kept for this tab, so a sign-in at the school's page in between never makes the QR expire.
          sessionStorage.setItem(RECEIPT_KEY, JSON.stringify({ qr, ...receipt }));
          nameClass(receipt.class_name);
          return receipt;
        } catch { return null; }
      })();
    }
    return receiptAsked;
  }

  /// The receipt this tab got for this very QR before leaving to sign in, while it is still valid.
  function keptReceipt() {
    try {
      const kept = JSON.parse(sessionStorage.getItem(RECEIPT_KEY) || "null");
      if (kept && kept.qr === qr && kept.expires_at_ms - Date.now() > 2000) {
        const { qr: _, ...found } = kept;
        return found;
      }
    } catch { /* unreadable: ask again */ }
    sessionStorage.removeItem(RECEIPT_KEY);
    return null;
  }

  /// `<class_id>.<window>.<mac>`: the class id is everything before the last two dots.
  function qrClassId(token) {
    const parts = token.split(".");
    return parts.length >= 3 ? parts.slice(0, -2).join(".") : null;
  }

  async function signed(body, classId, sid, proof) {
    const key = await Device.key();
    if (!key) return body;
    const t = Date.now();
    body.client_time_ms = t;
    body.device_sig = await Device.sign(key.privateKey, classId + "|" + sid + "|" + proof + "|" + t);
    return body;
  }

  // ---- the three ways in ----

  async function checkInByQR(sid, name) {
    await askReceipt();
    const kind = receipt ? "receipt" : "qr";
    const proof = receipt ? receipt.receipt : qr;
    const classId = receipt ? receipt.class_id : qrClassId(qr);
    if (!classId) return show("error", "This QR code is not one of ours", "Scan the code shown in the room.");
    const key = await Device.key();
    const classToken = remembered(classId, sid);
    let url, body, token = classToken;
    if (classToken) {
      url = "/v1/classes/" + encodeURIComponent(classId) + "/checkins";
      body = await signed({ [kind]: proof }, classId, sid, proof);
    } else {
      url = "/v1/join";
      token = account ? account.token : null;
      body = { [kind]: proof, student_id: sid };
      if (name) body.name = name;
      if (key) body.device_key = key.jwk;
      await signed(body, classId, sid, proof);
    }
    let r;
    try { r = await post(url, body, token); }
    catch {
      // No network: keep the check-in as made now (QR, time, signature) and send it later.
      await Outbox.add({ url, body: { ...body, offline: true }, token, classId, studentId: sid, createdMs: Date.now() });
      if (navigator.serviceWorker && navigator.serviceWorker.ready) {
        navigator.serviceWorker.ready.then((reg) => reg.sync && reg.sync.register("attendance-outbox")).catch(() => {});
      }
      return show("wait", "Saved on this phone", "No network right now. Your check-in from " + time(Date.now()) +
        " is sent as soon as the network is back — keep this page open if you can.");
    }
    if (classToken && r.status === 401) { localStorage.removeItem(tokenKey(classId)); return checkInByQR(sid, name); }
    if (r.status === 200 || r.status === 202) return joined(r.data, classId, sid);
    showError(r.status, r.data, r.res);
  }

  function joined(data, classId, sid) {
    if (data.access_token) remember(data.class_id || classId, sid, data.access_token);
    if (data.class_name) nameClass(data.class_name);
    showStatus({ student_id: sid, ...data });
    if (data.status === "pending") waitForApproval();
  }

  async function joinWith(credential, sid, name) {
    const key = await Device.key();
    const body = { ...credential };
    if (sid) body.student_id = sid;
    if (name) body.name = name;
    if (key) body.device_key = key.jwk;
    const r = await post("/v1/join", body, account ? account.token : null);
    if (r.status !== 200 && r.status !== 202) { showError(r.status, r.data, r.res); return null; }
    if (r.data.access_token) remember(r.data.class_id, r.data.student_id || sid, r.data.access_token);
    if (r.data.class_name) nameClass(r.data.class_name);
    return r.data;
  }

  async function checkInByCode(sid, name) {
    const code = $("code").value.replace(/\D/g, "");
    if (code.length !== 6) return show("error", "Check the code", "The class code has 6 digits.");
    const data = await joinWith({ code }, sid, name);
    if (!data) return;
    if (data.status !== "unmarked") return joined(data, data.class_id, sid);
    const body = await signed({ code }, data.class_id, sid, code);
    const r = await post("/v1/classes/" + encodeURIComponent(data.class_id) + "/checkins", body, data.access_token);
    if (r.status === 200) return showStatus({ student_id: sid, ...r.data });
    if (r.status === 403 && r.data && r.data.error && /code/.test(r.data.error.message)) {
      return show("info", "Joined", "This class checks in by QR only: scan the code shown in the room.");
    }
    showError(r.status, r.data, r.res);
  }

  async function joinByLink(sid, name) {
    const data = await joinWith({ link_token: link }, sid, name);
    if (data) joined(data, data.class_id, data.student_id || sid);
  }

  /// A student the roster does not know waits for the teacher: the join is asked again now and then
  /// until it answers 200 (approved) or an error.
  function waitForApproval() {
    setTimeout(() => { if (!document.hidden) submit(true); else waitForApproval(); }, 5000);
  }

  async function submit(quiet) {
    if (busy) return;
    busy = true;
    try { await signedInAccount(); } catch { /* no network: the check-in below says so */ }
    const sid = account ? account.user.id : $("sid").value.trim();
    const name = account ? (account.user.name !== sid ? account.user.name : "") : $("sname").value.trim();
    if (!ID_RE.test(sid) && !(mode === "link" && !sid)) {
      busy = false;
      return show("error", "Check your student id", "Use 1–64 letters, digits, or _ . : -");
    }
    if (!account) {
      localStorage.setItem("att.student.id", sid);
      localStorage.setItem("att.student.name", name);
    }
    $("go").disabled = true;
    if (!quiet) show("info", "Checking in…");
    try {
      retryWhenOnline = false;
      if (mode === "qr") await checkInByQR(sid, name);
      else if (mode === "code") await checkInByCode(sid, name);
      else await joinByLink(sid, name);
    } catch (e) {
      // The network failed before the server answered: try again when it is back.
      retryWhenOnline = true;
      show("error", "No connection", "This page tries again by itself when the network is back.");
    } finally {
      busy = false;
      $("go").disabled = false;
    }
  }

  // ---- outbox delivery ----

  async function deliver() {
    try { await Outbox.flush(); } catch { return; }
    for (const r of await Outbox.takeResults().catch(() => [])) {
      if (r.status === 200 || r.status === 202) {
        if (r.data && r.data.access_token) remember(r.data.class_id || r.classId, r.studentId, r.data.access_token);
        showStatus({ student_id: r.studentId, ...r.data }, true);
      } else {
        showError(r.status, r.data, null);
      }
    }
  }

  window.addEventListener("online", () => {
    deliver();
    if (retryWhenOnline) submit();
    if (mode === "qr" && !receipt) { receiptAsked = null; askReceipt(); }
  });
  if (navigator.serviceWorker) {
    navigator.serviceWorker.register("/sw.js").catch(() => {});
    navigator.serviceWorker.addEventListener("message", (ev) => { if (ev.data === "outbox-delivered") deliver(); });
  }

  // ---- the school account ----

  /// Asks for the session (a fresh token when the one in memory is about to run out) and shows who
  /// is signed in, or the typed id when nobody is.
  async function signedInAccount() {
    account = await Account.session();
    showAccount();
    return account;
  }

  function showAccount() {
    $("signedIn").hidden = !account;
    $("typedId").hidden = !!account;
    if (account) {
      $("account").hidden = false;
      $("ssoStart").hidden = true;
      const name = account.user.name || account.user.id;
      $("whoName").textContent = name;
      $("whoId").textContent = name !== account.user.id ? "(" + account.user.id + ")" : "";
    } else {
      $("ssoStart").hidden = !schoolAccounts;
      $("account").hidden = !schoolAccounts;
    }
  }

  let schoolAccounts = false;
  const ssoError = SSO.takeFromURL();
  if (ssoError) show("error", "Not signed in", SSO.message(ssoError, "student"));
  $("ssoStart").href = SSO.startURL("student");
  $("ssoStart").addEventListener("click", async (ev) => {
    // A QR page leaves only once its receipt is kept, so the QR cannot expire during the sign-in.
    ev.preventDefault();
    if (mode === "qr") await askReceipt();
    Account.expectSignIn();
    location.assign($("ssoStart").href);
  });
  $("signOut").addEventListener("click", async () => {
    const id = account && account.user.id;
    await Account.signOut();
    account = null;
    // The class tokens this account got stay with it: the next student on this phone starts afresh.
    for (const key of Object.keys(localStorage)) {
      if (!key.startsWith("att.student.token.")) continue;
      try { if (JSON.parse(localStorage.getItem(key)).student_id === id) localStorage.removeItem(key); } catch { /* skip */ }
    }
    showAccount();
    show("info", "Signed out", "");
    $("sid").focus();
  });
  Account.offered().then((offered) => { schoolAccounts = offered; showAccount(); });

  // ---- set-up ----

  $("sid").value = localStorage.getItem("att.student.id") || "";
  $("sname").value = localStorage.getItem("att.student.name") || "";
  if (mode === "qr") {
    $("hint").textContent = "The QR code changes every few seconds. If it expired, scan the current one.";
    receipt = keptReceipt();
    if (receipt) { receiptAsked = Promise.resolve(receipt); nameClass(receipt.class_name); }
    askReceipt();
  } else if (mode === "link") {
    $("title").textContent = "Join your class";
    $("go").textContent = "Join";
    $("hint").textContent = "To check in, scan the QR code shown in the room.";
  } else {
    $("title").textContent = "Check in with the class code";
    $("codeBox").hidden = false;
  }
  if (mode !== "qr" && Scan.available()) {
    const stop = { stopped: false };
    $("scan").hidden = false;
    $("scan").addEventListener("click", async () => {
      try {
        const url = await Scan.scan($("video"), stop);
        if (url) location.assign(url);
      } catch { show("error", "The camera is not available", "Use your phone's camera app to scan the QR code."); }
    });
  }
  $("form").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  deliver();
  // A scanned QR is valid only briefly: signed in or with a remembered id, check in at once.
  signedInAccount().catch(() => null).then((signed) => {
    if (mode === "qr" && !ssoError && (signed || ID_RE.test($("sid").value))) submit();
  });
})();
