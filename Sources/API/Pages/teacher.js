// The teacher's page: which view shows (sign-in, my classes, one class), and the sign-in itself.
// Every value from the network reaches the page through textContent or attributes, never as HTML.
"use strict";
import { session, login, logout, refresh, methods } from "./teacher-session.js";
import { showClasses, initHome } from "./teacher-classes.js";
import { openClass, leaveClass, initClassView } from "./teacher-live.js";

export const $ = (id) => document.getElementById(id);

export function say(id, text, kind) {
  const el = $(id);
  el.textContent = text || "";
  el.classList.toggle("error", kind === "error");
  el.classList.toggle("ok", kind === "ok");
}

/// The view for the URL: `#class=<id>` is one class, anything else my classes.
export async function route() {
  if (!session.token) return showSignIn();
  $("signOut").hidden = false;
  $("who").textContent = session.user ? (session.user.name || session.user.id) : "";
  const match = /^#class=([A-Za-z0-9_.:-]{1,64})$/.exec(location.hash);
  for (const id of ["signIn", "home", "classView"]) $(id).hidden = true;
  if (match) {
    $("classView").hidden = false;
    await openClass(match[1]);
  } else {
    leaveClass();
    $("home").hidden = false;
    document.title = "Attendance — my classes";
    await showClasses();
  }
}

const HASH_KEY = "att.teacher.hash";

async function showSignIn() {
  leaveClass();
  for (const id of ["home", "classView"]) $(id).hidden = true;
  $("signOut").hidden = true;
  $("who").textContent = "";
  $("signIn").hidden = false;
  document.title = "Attendance — sign in";
  const m = await methods();
  const sso = $("sso");
  sso.textContent = "";
  if (m.oidc && m.oidc.teacher) {
    const a = document.createElement("a");
    a.className = "button secondary";
    a.textContent = "Sign in with school account";
    a.href = self.AttendanceSSO.startURL("teacher");
    // The sign-in comes back without the fragment (`next` takes none): the class to reopen waits here.
    a.addEventListener("click", () => { if (location.hash) sessionStorage.setItem(HASH_KEY, location.hash); });
    sso.appendChild(a);
  }
  sso.hidden = !sso.firstChild;
  $("loginId").focus();
}

$("loginForm").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const id = $("loginId").value.trim();
  const password = $("loginPassword").value;
  if (!id || !password) return say("loginMsg", "Enter your id and your password.", "error");
  say("loginMsg", "Signing in…");
  try {
    await login(id, password);
    $("loginPassword").value = "";
    say("loginMsg", "");
    await route();
  } catch (e) {
    say("loginMsg", e.message, "error");
  }
});

$("signOut").addEventListener("click", () => logout());
session.onSignedOut = () => { showSignIn(); };
window.addEventListener("hashchange", () => { route(); });

initHome();
initClassView();
const ssoError = self.AttendanceSSO.takeFromURL();
if (ssoError) say("loginMsg", self.AttendanceSSO.message(ssoError, "teacher"), "error");
// A refresh cookie from an earlier visit (or an SSO sign-in) signs in without a password.
refresh().catch(() => false).then((signedIn) => {
  const hash = sessionStorage.getItem(HASH_KEY);
  sessionStorage.removeItem(HASH_KEY);
  if (signedIn && hash && !location.hash) history.replaceState(null, "", location.pathname + location.search + hash);
  route();
});
