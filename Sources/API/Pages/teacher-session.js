// The teacher's session: a 15-minute access token kept in memory only, renewed through the HttpOnly
// refresh cookie (POST /v1/auth/refresh), and `api()`, which every request goes through.
"use strict";

export const session = { token: null, user: null, expiresAt: 0, onSignedOut: () => {} };
let refreshing = null;
let renewTimer = null;

/// An error a person can act on, from an API error body, a status or a failed fetch.
export class ApiError extends Error {
  constructor(message, code, status) { super(message); this.code = code; this.status = status; }
}

const FRIENDLY = {
  unavailable: "The server cannot reach its database right now. Try again in a moment.",
  payload_too_large: "That is too much at once.",
};

async function errorFrom(res) {
  const data = await res.json().catch(() => null);
  const e = data && data.error ? data.error : { code: "http_" + res.status, message: "The server answered " + res.status + "." };
  let message = FRIENDLY[e.code] || e.message;
  const wait = res.headers.get("Retry-After");
  if (e.code === "rate_limited" && wait) message = "Too many attempts. Try again in " + wait + " s.";
  return new ApiError(message, e.code, res.status);
}

function offline() { return new ApiError("No connection to the server. Check the network and try again.", "network", 0); }

function accept(data) {
  session.token = data.access_token;
  session.user = data.user;
  session.expiresAt = Date.now() + data.expires_in * 1000;
  clearTimeout(renewTimer);
  // Renew a minute before the token runs out, so a WebSocket reconnect always has a valid token.
  renewTimer = setTimeout(() => refresh(), Math.max(10_000, data.expires_in * 1000 - 60_000));
}

export async function login(id, password) {
  let res;
  try {
    res = await fetch("/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id, password }), credentials: "same-origin" });
  } catch { throw offline(); }
  if (!res.ok) throw await errorFrom(res);
  accept(await res.json());
}

/// One refresh at a time, across tabs too (a Web Lock): the server ends the whole session when the
/// same refresh cookie is presented twice. Resolves true with a fresh token, false when signed out.
export function refresh() {
  if (!refreshing) {
    const run = async () => {
      let res;
      try { res = await fetch("/v1/auth/refresh", { method: "POST", credentials: "same-origin" }); }
      catch { throw offline(); }
      if (res.status === 401) { signedOut(); return false; }
      if (!res.ok) throw await errorFrom(res);
      accept(await res.json());
      return true;
    };
    const locked = navigator.locks ? navigator.locks.request("attendance-refresh", run) : run();
    refreshing = locked.finally(() => { refreshing = null; });
  }
  return refreshing;
}

function signedOut() {
  session.token = null; session.user = null;
  clearTimeout(renewTimer);
  session.onSignedOut();
}

export async function logout() {
  try { await fetch("/v1/auth/logout", { method: "POST", credentials: "same-origin" }); } catch { /* signed out here anyway */ }
  signedOut();
}

/// The sign-in methods the server offers; a server without `/v1/auth/methods` (404) offers none
/// besides local accounts.
export async function methods() {
  try {
    const res = await fetch("/v1/auth/methods");
    return res.ok ? await res.json() : {};
  } catch { return {}; }
}

/// A request with the access token. A 401 refreshes once and retries; `raw` returns the Response.
export async function api(method, path, body, raw) {
  for (let attempt = 0; ; attempt++) {
    if (!session.token && !(await refresh())) throw new ApiError("Please sign in again.", "unauthorized", 401);
    const headers = { "Authorization": "Bearer " + session.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try { res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }); }
    catch { throw offline(); }
    if (res.status === 401 && attempt === 0) { session.token = null; continue; }
    if (!res.ok) throw await errorFrom(res);
    if (raw) return res;
    return res.status === 204 ? null : res.json();
  }
}
