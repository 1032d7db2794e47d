// The class's students as the hub reports them, and their display. Events are queued and applied
// in one batch per animation frame, touching only the rows that changed. Above LECTURE_HALL students
// the page shows counts, the latest arrivals and a search instead of one row per student.
"use strict";
import { $ } from "./teacher.js";

export const STATUSES = ["unmarked", "present", "late", "absent", "excused"];
const LECTURE_HALL = 200;
const ARRIVALS = 30;
const FOUND = 20;
/// A hidden tab gets no animation frames; past this many queued events they are applied at once.
const QUEUE_LIMIT = 5000;

export const roster = {
  students: new Map(), pending: new Map(), arrivals: [], rows: new Map(), selected: new Set(),
  queue: [], scheduled: false, lecture: false, closed: false,
  // Set by the class view.
  onOverride: (id, status) => {}, onApprove: (id) => {}, onResetDevice: (id) => {}, onEvent: (event) => {},
};

export function reset() {
  roster.students = new Map(); roster.pending = new Map(); roster.arrivals = [];
  roster.rows = new Map(); roster.selected = new Set(); roster.queue = []; roster.lecture = false;
  $("rows").textContent = ""; $("arrivals").textContent = ""; $("found").textContent = "";
  $("counts").textContent = ""; $("find").value = "";
  renderPending();
}

/// Replaces everything with a snapshot's (or the attendance list's) students.
export function load(students) {
  roster.students = new Map(students.map((s) => [s.student_id, { ...s, flags: s.flags || [] }]));
  roster.arrivals = students.filter((s) => s.at_ms && (s.status === "present" || s.status === "late"))
    .sort((a, b) => b.at_ms - a.at_ms).slice(0, ARRIVALS);
  for (const id of roster.students.keys()) roster.pending.delete(id);
  roster.rows = new Map();
  $("rows").textContent = "";
  render(null);
}

export function enqueue(event) {
  roster.queue.push(event);
  if (roster.queue.length >= QUEUE_LIMIT) return flush();
  if (roster.scheduled) return;
  roster.scheduled = true;
  if (document.hidden) setTimeout(flush, 200); else requestAnimationFrame(flush);
}

function flush() {
  roster.scheduled = false;
  const batch = roster.queue;
  roster.queue = [];
  const changed = new Set();
  for (const e of batch) {
    const id = apply(e);
    if (id) changed.add(id);
  }
  if (changed.size) render(changed);
  renderPending();
}

/// Applies one event to the model; answers the student id whose row changed.
function apply(e) {
  roster.onEvent(e);
  if (e.event === "enrol_requested" && e.student_id) {
    roster.pending.set(e.student_id, { student_id: e.student_id, name: e.name });
    return null;
  }
  if (!e.student_id || !["joined", "checked_in", "status_changed"].includes(e.event)) return null;
  roster.pending.delete(e.student_id);
  const s = roster.students.get(e.student_id) || { student_id: e.student_id, status: "unmarked", flags: [] };
  if (e.event === "joined") {
    if (e.name) s.name = e.name;
    if (e.status) s.status = e.status;
  } else if (e.event === "checked_in") {
    Object.assign(s, { status: e.status, at_ms: e.at_ms, method: e.method, by: null, flags: e.flags || [], device: e.device || null });
    roster.arrivals.unshift(s);
    if (roster.arrivals.length > ARRIVALS) roster.arrivals.pop();
  } else {
    const unmarked = e.status === "unmarked";
    Object.assign(s, { status: e.status, at_ms: unmarked ? null : e.at_ms, method: unmarked ? null : e.method, by: e.by });
  }
  roster.students.set(e.student_id, s);
  return e.student_id;
}

// ---- display ----

function time(ms) { return ms ? new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : ""; }

function flagCell(td, flags) {
  td.textContent = "";
  for (const f of flags || []) {
    const span = document.createElement("span");
    span.className = "flag";
    span.textContent = f.replace(/_/g, " ");
    td.appendChild(span);
  }
}

function statusSelect(s) {
  const sel = document.createElement("select");
  sel.setAttribute("aria-label", "Status of " + s.student_id);
  for (const v of STATUSES) {
    const o = document.createElement("option");
    o.value = v; o.textContent = v;
    sel.appendChild(o);
  }
  sel.value = s.status;
  sel.disabled = roster.closed;
  sel.addEventListener("change", () => roster.onOverride(s.student_id, sel.value));
  return sel;
}

function describe(s) {
  const how = s.by ? (s.method || "") + " by " + s.by : s.method || "";
  return [time(s.at_ms), how].filter(Boolean).join(" · ");
}

function makeRow(s) {
  const tr = document.createElement("tr");
  const pick = document.createElement("td");
  pick.className = "pick";
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.setAttribute("aria-label", "Select " + s.student_id);
  box.addEventListener("change", () => {
    if (box.checked) roster.selected.add(s.student_id); else roster.selected.delete(s.student_id);
    $("bulkSelected").disabled = roster.closed || roster.selected.size === 0;
  });
  label.appendChild(box);
  pick.appendChild(label);
  const who = document.createElement("td");
  const statusTd = document.createElement("td");
  const when = document.createElement("td");
  when.className = "hide-narrow";
  const flags = document.createElement("td");
  tr.append(pick, who, statusTd, when, flags);
  return tr;
}

function fillRow(tr, s) {
  const [, who, statusTd, when, flags] = tr.children;
  who.textContent = "";
  const id = document.createElement("div");
  id.className = "sid"; id.textContent = s.student_id;
  who.appendChild(id);
  if (s.name) { const n = document.createElement("div"); n.className = "muted"; n.textContent = s.name; who.appendChild(n); }
  statusTd.textContent = "";
  statusTd.appendChild(statusSelect(s));
  statusTd.className = "s-" + s.status;
  when.textContent = describe(s);
  flagCell(flags, s.flags);
  // A lost or replaced phone: forget the bound key, so the next one binds afresh.
  if (!roster.closed && (s.flags || []).some((f) => f === "new_device" || f === "shared_device")) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "Reset device";
    b.setAttribute("aria-label", "Reset the device of " + s.student_id);
    b.addEventListener("click", () => roster.onResetDevice(s.student_id));
    flags.appendChild(b);
  }
  tr.dataset.status = s.status;
}

/// Redraws the changed rows (all when `changed` is null) and the counts.
export function render(changed) {
  const lecture = roster.students.size > LECTURE_HALL;
  if (lecture !== roster.lecture) { roster.lecture = lecture; changed = null; }
  $("hall").hidden = !lecture;
  $("tableView").hidden = lecture;
  renderCounts();
  if (lecture) {
    renderArrivals();
    renderFound();
    return;
  }
  const body = $("rows");
  let added = false;
  for (const id of changed || roster.students.keys()) {
    const s = roster.students.get(id);
    let tr = roster.rows.get(id);
    if (!tr) { tr = makeRow(s); roster.rows.set(id, tr); added = true; }
    fillRow(tr, s);
  }
  if (added || !changed) {
    const ids = [...roster.rows.keys()].sort((a, b) => a.localeCompare(b));
    for (const id of ids) body.appendChild(roster.rows.get(id));
  }
  $("rosterCaption").textContent = roster.students.size + (roster.students.size === 1 ? " student" : " students");
}

export function counts() {
  const c = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const s of roster.students.values()) c[s.status] = (c[s.status] || 0) + 1;
  c.total = roster.students.size;
  return c;
}

function renderCounts() {
  const c = counts();
  const ul = $("counts");
  ul.textContent = "";
  for (const st of STATUSES) {
    const li = document.createElement("li");
    li.className = "pill s-" + st + (roster.lecture ? " big-counts" : "");
    li.textContent = st + ": " + c[st];
    ul.appendChild(li);
  }
  roster.onEvent({ event: "counts", counts: c });
}

function renderArrivals() {
  const ul = $("arrivals");
  ul.textContent = "";
  for (const s of roster.arrivals) {
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.textContent = s.student_id + (s.name ? " — " + s.name : "");
    const what = document.createElement("span");
    what.className = "muted";
    what.textContent = s.status + " · " + time(s.at_ms);
    li.append(who, what);
    if (s.flags && s.flags.length) { const f = document.createElement("span"); flagCell(f, s.flags); li.appendChild(f); }
    ul.appendChild(li);
  }
}

function renderFound() {
  const q = $("find").value.trim().toLowerCase();
  const body = $("found");
  body.textContent = "";
  if (!q) return;
  let n = 0;
  for (const s of roster.students.values()) {
    if (!s.student_id.toLowerCase().includes(q) && !(s.name || "").toLowerCase().includes(q)) continue;
    const tr = document.createElement("tr");
    const who = document.createElement("td"); who.textContent = s.student_id + (s.name ? " — " + s.name : "");
    const st = document.createElement("td"); st.appendChild(statusSelect(s));
    const fl = document.createElement("td"); flagCell(fl, s.flags);
    tr.append(who, st, fl);
    body.appendChild(tr);
    if (++n >= FOUND) break;
  }
}

function renderPending() {
  const ul = $("pendingList");
  ul.textContent = "";
  for (const p of roster.pending.values()) {
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.textContent = p.student_id + (p.name ? " — " + p.name : "");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "Approve";
    b.setAttribute("aria-label", "Approve " + p.student_id);
    b.addEventListener("click", () => roster.onApprove(p.student_id));
    li.append(who, b);
    ul.appendChild(li);
  }
  $("pending").hidden = roster.pending.size === 0 || roster.closed;
}

export function initRoster() {
  $("find").addEventListener("input", renderFound);
  $("pickAll").addEventListener("change", () => {
    const on = $("pickAll").checked;
    roster.selected = on ? new Set(roster.students.keys()) : new Set();
    for (const tr of roster.rows.values()) tr.querySelector("input[type=checkbox]").checked = on;
    $("bulkSelected").disabled = roster.closed || roster.selected.size === 0;
  });
}
