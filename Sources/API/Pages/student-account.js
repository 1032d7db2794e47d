// The student's school account on the student page: after "Sign in with school account" the
// server's refresh cookie (HttpOnly) gives a 15-minute access token through POST /v1/auth/refresh.
// That token is good only for POST /v1/join, which then joins as the signed-in id. The token stays
// in memory; `att.student.sso` in localStorage only says that a refresh is worth asking for, so a
// student who never signs in costs the server no extra request.
"use strict";
self.AttendanceAccount = (() => {
  const FLAG = "att.student.sso";
  let current = null; // {token, user: {id, name, role}, expiresAt}
  let refreshing = null;

  /// Whether the server offers school accounts to students (GET /v1/auth/methods).
  async function offered() {
    try {
      const res = await fetch("/v1/auth/methods");
      const m = res.ok ? await res.json() : {};
      return !!(m.oidc && m.oidc.student);
    } catch { return false; }
  }

  /// One refresh at a time, across tabs and the teacher page too (the same Web Lock): presenting a
  /// refresh cookie twice ends the whole session. A session that is not a student's (a teacher
  /// signed in on this browser) is left alone and not used here.
  function refresh() {
    if (!refreshing) {
      const run = async () => {
        const res = await fetch("/v1/auth/refresh", { method: "POST", credentials: "same-origin" });
        if (res.status === 401) { forget(); return null; }
        if (!res.ok) return null;
        const data = await res.json();
        if (!data.user || data.user.role !== "student") return null;
        current = { token: data.access_token, user: data.user, expiresAt: Date.now() + data.expires_in * 1000 };
        localStorage.setItem(FLAG, "1");
        return current;
      };
      const locked = navigator.locks ? navigator.locks.request("attendance-refresh", run) : run();
      refreshing = locked.finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  function forget() {
    current = null;
    localStorage.removeItem(FLAG);
  }

  return {
    offered,
    /// The signed-in student `{token, user}` with a token good for another minute, or null.
    /// Throws only when the network fails.
    async session() {
      if (current && current.expiresAt - Date.now() > 60_000) return current;
      if (!current && localStorage.getItem(FLAG) !== "1") return null;
      return refresh();
    },
    /// Called before leaving for the school's sign-in page, so the page asks for a session on return.
    expectSignIn() { localStorage.setItem(FLAG, "1"); },
    /// Ends the session on the server (its whole refresh family) and here.
    async signOut() {
      try { await fetch("/v1/auth/logout", { method: "POST", credentials: "same-origin" }); } catch { /* signed out here anyway */ }
      forget();
    },
  };
})();
