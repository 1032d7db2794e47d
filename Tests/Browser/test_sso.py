"""Sign-in with a school account in a real browser: Debian's chromium (Playwright) against a real
OpenID Connect provider (django-oauth-toolkit, Tests/OIDCProvider/provider.py, from var/oidc-venv)
and a real redis-server, hub and api started with the --oidc-* settings.

A teacher opens a class link, signs in with the school-account button on the provider's own login
form and lands on that class; a pupil trying the teacher sign-in is told why not in plain words. A
390×844 phone opens the room's QR, signs in with its school account, comes back after the QR itself
expired and checks in with the scan receipt it kept, in a class that admits new students only by
personal link; the teacher sees it live; the student signs out. axe-core on every new page state.
Skipped (exit 0, with the reason) only when scripts/setup-oidc-provider.sh cannot install the provider.

    var/browser-venv/bin/python Tests/Browser/test_sso.py [--artefacts DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright, expect
from axe_playwright_python.sync_playwright import Axe

sys.path.insert(0, os.path.dirname(__file__))
from servers import ROOT, Servers, free_ports, run_steps, wait_for  # noqa: E402

TIMEOUT_MS = 20_000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
OIDC_PYTHON = os.path.join(ROOT, "var", "oidc-venv", "bin", "python")
PROVIDER = os.path.join(ROOT, "Tests", "OIDCProvider", "provider.py")
QR_PERIOD_S = 5


class Provider:
    """provider.py serve on a free port; its users: ada (staff) and sam (pupil)."""

    def __init__(self, redirect_uri, secret, log_dir):
        self.port = free_ports(1)[0]
        self.issuer = f"http://127.0.0.1:{self.port}/o"
        self.data = tempfile.mkdtemp(prefix="attendance-oidc-")
        log = open(os.path.join(log_dir, "provider.log"), "ab")
        self.proc = subprocess.Popen([OIDC_PYTHON, PROVIDER, "serve", str(self.port), self.data, redirect_uri, secret],
                                     cwd=self.data, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the provider exited with {self.proc.returncode}; see provider.log")
            return os.path.exists(os.path.join(self.data, "ready"))
        # Migrating its database and making its RSA key take a few seconds, more on a loaded machine.
        wait_for(ready, 120, "the OpenID Connect provider")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


class Run:
    def __init__(self, args):
        self.args = args
        self.axe = Axe()
        self.pages = {}

    def accessible(self, page, state):
        found = self.axe.run(page).response["violations"]
        bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
               for v in found if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe in state '{state}':\n  " + "\n  ".join(bad)

    def provider_login(self, page, user, password):
        """The provider's own login form (Django's), as a person fills it in."""
        page.wait_for_url(self.provider.issuer.rsplit("/o", 1)[0] + "/accounts/login/**")
        page.fill("#id_username", user)
        page.fill("#id_password", password)
        page.click("button")

    # ---- the steps ----

    def step_teacher_signs_in(self):
        """The class link of a teacher not signed in: the school-account button, the provider's form,
        back on that very class (the fragment waited in sessionStorage)."""
        status, created = self.s.request("POST", "/v1/classes", {
            "name": "Physics 4A", "roster": ["sam@school.example", "s2"], "join_requires": "link",
            "qr_period_s": QR_PERIOD_S}, self.ada)
        assert status == 201, created
        self.class_id = created["class_id"]
        t = self.teacher
        t.goto(self.s.api + "/#class=" + self.class_id)
        button = t.get_by_role("link", name="Sign in with school account")
        expect(button).to_be_visible()
        self.accessible(t, "sign-in with a school account")
        button.click()
        self.provider_login(t, "ada", "correct horse")
        expect(t.locator("#classView")).to_be_visible()
        expect(t.locator("#who")).to_have_text("Ada Lovelace")
        expect(t.locator("#conn")).to_have_text("Live")
        assert t.url == self.s.api + "/#class=" + self.class_id, t.url
        expect(t.locator("#rows tr")).to_have_count(2)

    def step_pupil_is_no_teacher(self):
        p = self.phones[1]
        p.goto(self.s.api + "/")
        p.get_by_role("link", name="Sign in with school account").click()
        self.provider_login(p, "sam", "battery staple")
        expect(p.locator("#loginMsg")).to_contain_text("not set up as a teacher")
        assert "sso_error" not in p.url, p.url  # a reload does not repeat the message
        self.accessible(p, "teacher sign-in refused (not_allowed)")

    def step_student_error_words(self):
        p = self.phones[1]
        p.goto(self.s.api + "/c?sso_error=provider_unavailable")
        expect(p.locator("#result")).to_contain_text("cannot be reached right now")
        expect(p.get_by_role("link", name="Sign in with school account")).to_be_visible()
        self.accessible(p, "student: sign-in failed")

    def step_student_signs_in_and_checks_in_by_qr(self):
        """The QR expires while the student is at the provider: the receipt taken at the scan,
        kept in sessionStorage, checks in afterwards — a first QR join in a link-only class, allowed
        because the school account identifies the student."""
        status, body = self.s.get(f"/v1/classes/{self.class_id}/qr", self.ada)
        assert status == 200, body
        p = self.phones[0]
        p.goto(body["url"])
        expect(p.locator("#className")).to_have_text("Physics 4A")  # named by the receipt
        assert p.evaluate("!!sessionStorage.getItem('att.student.receipt')"), "no receipt kept"
        expect(p.locator("#sid")).to_be_visible()
        self.accessible(p, "student: school account offered")
        p.get_by_role("link", name="Sign in with school account").click()
        p.wait_for_url("**/accounts/login/**")
        # Stay on the provider's page until the scanned QR is no longer accepted (current or previous window).
        wait_for(lambda: time.time() * 1000 > body["expires_ms"] + QR_PERIOD_S * 1000 + 500, 3 * QR_PERIOD_S, "the QR to expire")
        self.provider_login(p, "sam", "battery staple")
        expect(p.locator("#result")).to_contain_text("Checked in")
        assert p.url == body["url"], p.url
        expect(p.locator("#whoName")).to_have_text("Sam Pupil")
        expect(p.locator("#whoId")).to_have_text("(sam@school.example)")
        expect(p.locator("#sid")).to_be_hidden()
        expect(p.locator("#result")).to_contain_text("sam@school.example")
        self.accessible(p, "student: signed in, checked in")
        row = self.teacher.locator('#rows tr:has(.sid:text-is("sam@school.example"))')
        expect(row).to_have_attribute("data-status", "present", timeout=TIMEOUT_MS)

    def step_student_signs_out(self):
        p = self.phones[0]
        p.get_by_role("button", name="Sign out").click()
        expect(p.locator("#sid")).to_be_visible()
        expect(p.get_by_role("link", name="Sign in with school account")).to_be_visible()
        expect(p.locator("#signedIn")).to_be_hidden()
        assert p.evaluate("!Object.keys(localStorage).some(k => k.startsWith('att.student.token.'))"), \
            "the account's class token stayed on the phone"
        self.accessible(p, "student: signed out")
        # The session is over on the server too: a reload shows no account.
        p.reload()
        expect(p.get_by_role("link", name="Sign in with school account")).to_be_visible()
        expect(p.locator("#signedIn")).to_be_hidden()

    STEPS = ["teacher_signs_in", "pupil_is_no_teacher", "student_error_words", "student_signs_in_and_checks_in_by_qr",
             "student_signs_out"]

    # ---- running ----

    def main(self):
        setup = subprocess.run([os.path.join(ROOT, "scripts", "setup-oidc-provider.sh")], capture_output=True)
        if setup.returncode != 0 or not os.path.exists(OIDC_PYTHON):
            print("SKIP  school-account browser tests: scripts/setup-oidc-provider.sh could not install the provider: "
                  + setup.stderr.decode(errors="replace")[-300:], flush=True)
            return 0
        art = self.args.artefacts
        shutil.rmtree(art, ignore_errors=True)
        os.makedirs(art)
        secret = "browser-client-secret-" + os.urandom(8).hex()
        # The ports first: the provider needs the api's callback URL and the api the provider's issuer.
        self.s = Servers(art)
        callback = self.s.api + "/v1/auth/oidc/callback"
        self.provider = Provider(callback, secret, art)
        self.s.api_args = ["--oidc-issuer", self.provider.issuer, "--oidc-client-id", "attendance",
                           "--oidc-redirect-url", callback, "--oidc-role-claim", "groups", "--oidc-teacher-values", "staff"]
        self.s.api_env = {"ATTENDANCE_OIDC_CLIENT_SECRET": secret}
        failed = 0
        started = time.monotonic()
        try:
            self.s.start()
            self.provider.wait_ready()
            self.ada = self.s.mint_token("teacher", "ada@school.example")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
                self.teacher = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
                self.phones = [browser.new_context(**PHONE).new_page() for _ in range(2)]
                self.pages = {"teacher": self.teacher, "phone1": self.phones[0], "phone2": self.phones[1]}
                for page in self.pages.values():
                    page.set_default_timeout(TIMEOUT_MS)
                # Every later step needs the teacher's class.
                failed = run_steps(self, self.STEPS, self.pages, art, essential=("teacher_signs_in",))
                browser.close()
        finally:
            self.s.stop()
            self.provider.stop()
        print(f"school-account browser tests: {len(self.STEPS)} steps, {failed} failed, {time.monotonic() - started:.0f} s"
              + (f"; artefacts in {art}" if failed else ""))
        return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--artefacts", default=os.path.join(ROOT, "var", "browser-artefacts-sso"))
    sys.exit(Run(parser.parse_args()).main())
