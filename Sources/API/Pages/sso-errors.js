// Plain words for the `sso_error` codes a failed school-account sign-in comes back with
// (docs/PROTOCOL.md "Sign-in with a school account"), for the teacher and the student page.
"use strict";
self.AttendanceSSO = (() => {
  const WORDS = {
    provider_error: "The school sign-in was cancelled or did not finish. Try again.",
    bad_state: "The sign-in took too long or was started in another browser or tab. Try again.",
    provider_unavailable: "The school's sign-in service cannot be reached right now. Try again in a moment.",
    token_invalid: "The school's sign-in could not be confirmed. Try again; if it keeps happening, tell your school's IT.",
    rate_limited: "Too many sign-in attempts from this network. Wait a minute, then try again.",
  };
  const NOT_ALLOWED = {
    teacher: "This school account is not set up as a teacher here. Ask your school's IT to give it the teacher role.",
    student: "This school account has no id this service can use. Ask your school's IT.",
  };

  return {
    /// The sentence for a code (null when there is none); `as` is "teacher" or "student".
    message(code, as) {
      if (!code) return null;
      if (code === "not_allowed") return NOT_ALLOWED[as] || NOT_ALLOWED.student;
      return WORDS[code] || "The school-account sign-in failed. Try again.";
    },
    /// `sso_error` of this page's URL, removed from the address bar so a reload does not repeat it.
    takeFromURL() {
      const url = new URL(location.href);
      const code = url.searchParams.get("sso_error");
      if (code === null) return null;
      url.searchParams.delete("sso_error");
      history.replaceState(history.state, "", url.pathname + url.search + url.hash);
      return /^[a-z_]{1,40}$/.test(code) ? code : "unknown";
    },
    /// Where the sign-in should come back to: this page's path and query without an old
    /// `sso_error` (the server takes no `#`, so a fragment cannot go along).
    startURL(as) {
      const url = new URL(location.href);
      url.searchParams.delete("sso_error");
      return "/v1/auth/oidc/start?as=" + as + "&next=" + encodeURIComponent(url.pathname + url.search);
    },
  };
})();
