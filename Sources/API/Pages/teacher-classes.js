// My classes (GET /v1/classes?mine=1, open ones first) and starting a class (POST /v1/classes).
"use strict";
import { api } from "./teacher-session.js";
import { $, say } from "./teacher.js";

const ID_RE = /^(?!@)[A-Za-z0-9_.:@-]{1,64}$/;

export async function showClasses() {
  say("classesMsg", "Loading…");
  let list;
  try { list = (await api("GET", "/v1/classes?mine=1")).classes; }
  catch (e) { return say("classesMsg", e.message, "error"); }
  const ul = $("classes");
  ul.textContent = "";
  say("classesMsg", list.length ? "" : "No classes yet. Start one on the right.");
  for (const c of list) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    const name = document.createElement("span");
    name.textContent = c.name;
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = new Date(c.start_ms).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    const state = document.createElement("span");
    state.className = "state " + c.state;
    const here = c.counts ? c.counts.present + c.counts.late : 0;
    state.textContent = (c.state === "open" ? "open" : "closed") + " · " + here + " here";
    b.append(name, when, state);
    b.addEventListener("click", () => { location.hash = "#class=" + c.class_id; });
    li.appendChild(b);
    ul.appendChild(li);
  }
}

/// The form's values as a create body, or a message saying what to fix.
function createBody() {
  const name = $("name").value.trim();
  if (!name) return "Give the class a name.";
  const minutes = (id, min, max, what) => {
    const v = Number($(id).value);
    return Number.isInteger(v) && v >= min && v <= max ? v : what + " must be a whole number from " + min + " to " + max + ".";
  };
  const late = minutes("late", 0, 1440, "Late after");
  const duration = minutes("duration", 1, 1440, "Length");
  const period = minutes("period", 5, 60, "New QR every");
  for (const v of [late, duration, period]) if (typeof v === "string") return v;
  const roster = $("roster").value.split(/[\s,;]+/).filter(Boolean);
  const bad = roster.find((s) => !ID_RE.test(s));
  if (bad) return "“" + bad.slice(0, 70) + "” is not a student id: use up to 64 letters, digits or _ . : -";
  const body = { name, late_after_s: late * 60, duration_s: duration * 60, qr_period_s: period,
    allow_code_checkin: $("allowCode").checked };
  if (roster.length) body.roster = [...new Set(roster)];
  return body;
}

export function initHome() {
  $("createForm").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = createBody();
    if (typeof body === "string") return say("createMsg", body, "error");
    say("createMsg", "Starting…");
    try {
      const created = await api("POST", "/v1/classes", body);
      say("createMsg", "");
      $("name").value = "";
      location.hash = "#class=" + created.class_id;
    } catch (e) { say("createMsg", e.message, "error"); }
  });
}
