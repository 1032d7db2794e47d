"""The pages in a real browser: Debian's chromium driven by Playwright for Python, axe-core from the
axe-playwright-python wheel, against a real redis-server, hub and api (servers.py).

One teacher page (1366×768, then 1920×1080 and a 390 px phone) and three 390×844 phones in one
browser run one class from sign-in to CSV. Steps run in order and share state; a failing step
screenshots every page into the artefact folder and the run exits non-zero. A step that needs a
server feature this build lacks is reported as SKIP with the reason.

    var/browser-venv/bin/python Tests/Browser/test_pages.py [--artefacts DIR] [--docs-screenshots]
"""
import argparse
import csv
import io
import os
import re
import shutil
import sys
import time

from playwright.sync_api import sync_playwright, expect
from axe_playwright_python.sync_playwright import Axe

sys.path.insert(0, os.path.dirname(__file__))
from servers import ROOT, Servers, run_steps, wait_for  # noqa: E402

TIMEOUT_MS = 20_000
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}




class Run:
    def __init__(self, args):
        self.args = args
        self.axe = Axe()
        self.pages = {}
        self.results = []

    # ---- checks used by several steps ----

    def accessible(self, page, state):
        """axe-core over the whole page: no serious or critical violation."""
        found = self.axe.run(page).response["violations"]
        bad = [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
               for v in found if v["impact"] in ("serious", "critical")]
        assert not bad, f"axe in state '{state}':\n  " + "\n  ".join(bad)

    def fits(self, page, what):
        """Nothing scrolls: the document is no larger than the viewport in either direction."""
        size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight, innerWidth, innerHeight]")
        assert size[0] <= size[2] and size[1] <= size[3], f"{what}: document {size[0]}×{size[1]} in a {size[2]}×{size[3]} viewport"

    def no_horizontal_overflow(self, page, what):
        w = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert w[0] <= w[1], f"{what}: {w[0]} px wide in a {w[1]} px viewport"

    def inside_viewport(self, page, selector, what, min_side=0):
        box = page.locator(selector).bounding_box()
        vp = page.viewport_size
        assert box, f"{what}: {selector} is not shown"
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= vp["width"] + 0.5 \
            and box["y"] + box["height"] <= vp["height"] + 0.5, f"{what}: {selector} at {box} leaves the {vp} viewport"
        assert min(box["width"], box["height"]) >= min_side, f"{what}: {selector} is only {box['width']}×{box['height']}"
        loaded = page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")
        assert loaded, f"{what}: {selector} has no image"

    def touch_targets(self, page, what):
        small = page.evaluate("""() => [...document.querySelectorAll('button, select, input, a, label.check, td.pick label')]
            .filter(e => e.offsetParent !== null && !e.closest('[hidden]'))
            .filter(e => !(e.type === 'checkbox' && e.closest('label')))
            .map(e => [e.id || e.textContent.trim().slice(0, 20) || e.tagName, e.getBoundingClientRect()])
            .filter(([, r]) => r.height < 44 || r.width < 44)
            .map(([n, r]) => n + ' ' + Math.round(r.width) + '×' + Math.round(r.height))""")
        assert not small, f"{what}: touch targets under 44 px: {small[:8]}"

    def row_status(self, student):
        return f'#rows tr:has(.sid:text-is("{student}"))'

    # ---- the steps ----

    def step_sign_in(self):
        t = self.teacher
        t.goto(self.s.api + "/")
        expect(t.locator("#signIn")).to_be_visible()
        self.accessible(t, "sign-in")
        t.fill("#loginId", "t1")
        t.fill("#loginPassword", "wrong password!")
        t.click("#loginForm button[type=submit]")
        expect(t.locator("#loginMsg")).to_contain_text("The id or password is wrong")
        self.accessible(t, "sign-in error")
        t.fill("#loginPassword", "correct horse battery")
        t.click("#loginForm button[type=submit]")
        expect(t.locator("#home")).to_be_visible()
        expect(t.locator("#classesMsg")).to_contain_text("No classes yet")
        expect(t.locator("#conn")).to_be_hidden()  # no alarming "not connected" without a class
        self.accessible(t, "my classes (empty)")

    def step_create_class(self):
        t = self.teacher
        t.fill("#createForm #name", "")
        t.click("#createForm button[type=submit]")
        expect(t.locator("#createMsg")).to_contain_text("Give the class a name")
        t.fill("#name", "Biology 101")
        t.fill("#roster", "s1 s2 s3\ns4, s5 s6 s7")
        started = time.monotonic()
        t.click("#createForm button[type=submit]")
        expect(t.locator("#classView")).to_be_visible()
        expect(t.locator("#conn")).to_have_text("Live")
        wait_for(lambda: t.eval_on_selector("#qr", "img => img.complete && img.naturalWidth > 0"), 10, "the QR image")
        self.tap_to_qr_s = time.monotonic() - started
        # The whole QR is on screen at 1366×768 right after Start, without scrolling.
        self.inside_viewport(t, "#qr", "QR after Start at 1366×768", min_side=300)
        box = t.locator("#code").bounding_box()
        assert box["y"] + box["height"] <= 768, f"the code is below the fold: {box}"
        self.class_id = re.search(r"#class=(.+)$", t.url).group(1)
        self.token = self.s.teacher_token()
        status, info = self.s.get("/v1/classes/" + self.class_id, self.token)
        assert status == 200, info
        self.info = info
        expect(t.locator("#code")).to_have_text(info["code"][:3] + " " + info["code"][3:])
        expect(t.locator("#where")).to_have_text(f"127.0.0.1:{self.s.api_port}/c")
        expect(t.locator("#rows tr")).to_have_count(7)
        self.accessible(t, "live class")

    def qr_url(self):
        status, body = self.s.get(f"/v1/classes/{self.class_id}/qr", self.token)
        assert status == 200, body
        return body["url"]

    def expect_row(self, student, status):
        expect(self.teacher.locator(self.row_status(student))).to_have_attribute("data-status", status, timeout=TIMEOUT_MS)

    def step_qr_checkin(self):
        p = self.phones[0]
        p.goto(self.qr_url())
        p.fill("#sid", "s1")
        p.fill("#sname", "Ana Lima")
        p.click("#go")
        expect(p.locator("#result")).to_contain_text("Checked in")
        self.no_horizontal_overflow(p, "student page after a QR check-in")
        self.accessible(p, "student: checked in by QR")
        self.expect_row("s1", "present")  # live, without a reload
        expect(self.teacher.locator(self.row_status("s1"))).to_contain_text("Ana Lima")

    def step_link_checkin(self):
        p = self.phones[1]
        p.goto(self.info["link"])
        expect(p.locator("#title")).to_have_text("Join your class")
        self.accessible(p, "student: join link")
        p.fill("#sid", "s2")
        p.click("#go")
        expect(p.locator("#result")).to_contain_text("Joined")
        self.expect_row("s2", "unmarked")
        # Then the room's QR: the remembered id checks in at once, signed with the registered key.
        p.goto(self.qr_url())
        expect(p.locator("#result")).to_contain_text("Checked in")
        self.expect_row("s2", "present")

    def step_code_checkin(self):
        p = self.phones[2]
        p.goto(self.s.api + "/c")
        expect(p.locator("#code")).to_be_visible()
        self.accessible(p, "student: code entry")
        p.fill("#code", "000000" if self.info["code"] != "000000" else "111111")
        p.fill("#sid", "s3")
        p.click("#go")
        expect(p.locator("#result")).to_contain_text("Not checked in")
        self.accessible(p, "student: error")
        p.fill("#code", self.info["code"])
        p.click("#go")
        expect(p.locator("#result")).to_contain_text("Checked in")
        self.expect_row("s3", "present")
        expect(self.teacher.locator(self.row_status("s3"))).to_contain_text("code")

    def step_override(self):
        t = self.teacher
        t.select_option(self.row_status("s4") + " select", "excused")
        self.expect_row("s4", "excused")
        expect(t.locator("#counts")).to_contain_text("excused: 1")

    def step_reconnect(self):
        """kill -9 of the hub: the dashboard shows it is reconnecting, a check-in made meanwhile (over
        REST) appears once it is back, and nothing appears twice."""
        t = self.teacher
        self.s.kill_hub()
        expect(t.locator("#conn")).to_have_text("Reconnecting…")
        status, body = self.s.request("POST", "/v1/join", {"qr": self.qr_url().split("qr=")[1], "student_id": "s5"})
        assert status == 200 and body["status"] == "present", body
        self.s.start_hub()
        expect(t.locator("#conn")).to_have_text("Live", timeout=TIMEOUT_MS)
        self.expect_row("s5", "present")
        expect(t.locator("#rows tr")).to_have_count(7)
        expect(t.locator("#counts")).to_contain_text("present: 4")

    def step_phone_dashboard(self):
        t = self.teacher
        if self.args.docs_screenshots:
            t.screenshot(path=os.path.join(ROOT, "docs", "dashboard.png"))
        t.set_viewport_size({"width": 390, "height": 844})
        self.no_horizontal_overflow(t, "dashboard on a 390 px phone")
        self.touch_targets(t, "dashboard on a 390 px phone")
        self.accessible(t, "live class on a phone")
        t.set_viewport_size({"width": 1366, "height": 768})

    def step_projector(self):
        t = self.teacher
        t.click("#projectorBtn")
        expect(t.locator("#projector")).to_be_visible()
        expect(t.locator("#pCode")).to_have_text(self.info["code"][:3] + " " + self.info["code"][3:])
        expect(t.locator("#pCounts")).to_contain_text("4 here")
        for w, h, side in ((1366, 768, 650), (1920, 1080, 950)):
            t.set_viewport_size({"width": w, "height": h})
            t.wait_for_timeout(50)  # one layout
            self.fits(t, f"projector at {w}×{h}")
            self.inside_viewport(t, "#pQr", f"projector QR at {w}×{h}", min_side=side)
            for sel in ("#pCode", "#pWhere", "#pCounts"):
                box = t.locator(sel).bounding_box()
                assert box and box["y"] + box["height"] <= h and box["x"] + box["width"] <= w, f"{sel} off screen at {w}×{h}: {box}"
        self.accessible(t, "projector")
        t.click("#pExit")
        expect(t.locator("#projector")).to_be_hidden()
        t.set_viewport_size({"width": 1366, "height": 768})

    def step_flags_live(self):
        """One phone checking in a second student: the check-in shows `shared device` live, and the
        teacher resets that student's device."""
        p = self.phones[0]  # bound to s1 since its QR check-in
        p.goto(self.qr_url())
        expect(p.locator("#result")).to_contain_text("Checked in")  # s1 again, answered with the first result
        p.fill("#sid", "s7")
        p.click("#go")
        expect(p.locator("#result")).to_contain_text("Checked in")
        row = self.teacher.locator(self.row_status("s7"))
        expect(row.locator(".flag")).to_have_text(["shared device"])
        self.accessible(self.teacher, "flagged check-in")
        row.get_by_role("button", name="Reset the device of s7").click()
        expect(self.teacher.locator("#classMsg")).to_contain_text("The device of s7 was reset")

    def step_offline_checkin(self):
        """A phone without network: the service worker serves the page, the check-in is stored with its
        QR, time and signature, and is delivered when the network is back."""
        p, ctx = self.phones[2], self.phone_contexts[2]
        p.goto(self.s.api + "/c")
        p.evaluate("navigator.serviceWorker.ready.then(() => true)")
        wait_for(lambda: p.evaluate("caches.open('attendance-student-v1').then(c => c.match('/checkin')).then(r => !!r)"),
                 10, "the service worker's cached page")
        url = self.qr_url()
        ctx.set_offline(True)
        p.goto(url)
        p.fill("#sid", "s6")
        p.click("#go")
        expect(p.locator("#result")).to_contain_text("Saved on this phone")
        self.accessible(p, "student: stored offline")
        ctx.set_offline(False)
        expect(p.locator("#result")).to_contain_text("Checked in", timeout=TIMEOUT_MS)
        expect(p.locator("#result")).to_contain_text("sent when the network came back")
        self.expect_row("s6", "present")
        expect(self.teacher.locator(self.row_status("s6") + " .flag")).to_contain_text(["offline"])

    def step_csv(self):
        t = self.teacher
        with t.expect_download() as info:
            t.click("#csvBtn")
        download = info.value
        assert re.fullmatch(r"Biology 101 \d{4}-\d{2}-\d{2}\.csv", download.suggested_filename), download.suggested_filename
        text = open(download.path(), encoding="utf-8", newline="").read()
        rows = list(csv.DictReader(io.StringIO(text)))
        header = text.split("\r\n", 1)[0]
        assert header == "student_id,name,status,at_ms,method,by,flags,device,at", header
        s1 = next(r for r in rows if r["student_id"] == "s1")
        # Berlin in winter: the page asks for its own offset, +01:00.
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+01:00", s1["at"]), s1
        assert s1["status"] == "present" and s1["device"], s1

    def step_close(self):
        t = self.teacher
        t.once("dialog", lambda d: d.accept())
        t.click("#closeBtn")
        expect(t.locator("#classMsg")).to_contain_text("This class is closed")
        expect(t.locator("#joinPanel")).to_be_hidden()
        expect(t.locator("#closeBtn")).to_be_disabled()
        expect(t.locator("#conn")).to_be_hidden()
        self.accessible(t, "closed class")
        t.click("#back")
        expect(t.locator("#classes li")).to_have_count(1)
        expect(t.locator("#classes")).to_contain_text("closed")
        self.accessible(t, "my classes")

    def step_lecture_hall(self):
        """Over 200 students: counts, latest arrivals and a search instead of a row per student; the
        check-ins arrive while the page is open and are applied in batches."""
        t = self.teacher
        status, created = self.s.request("POST", "/v1/classes", {"name": "Lecture hall", "allow_code_checkin": True}, self.token)
        assert status == 201, created
        cid = created["class_id"]
        for i in range(210):
            status, body = self.s.request("POST", "/v1/join", {"code": created["code"], "student_id": f"h{i:03}"})
            assert status == 200, body
        t.goto(self.s.api + "/#class=" + cid)
        expect(t.locator("#hall")).to_be_visible()
        expect(t.locator("#tableView")).to_be_hidden()
        expect(t.locator("#conn")).to_have_text("Live")
        status, qr = self.s.get(f"/v1/classes/{cid}/qr", self.token)
        for i in range(40):
            status, body = self.s.request("POST", "/v1/join", {"qr": qr["qr"], "student_id": f"h{i:03}"})
            assert status == 200, body
        expect(t.locator("#counts")).to_contain_text("present: 40", timeout=TIMEOUT_MS)
        expect(t.locator("#arrivals li")).to_have_count(30)
        expect(t.locator("#arrivals li").first).to_contain_text("h039")
        t.fill("#find", "h20")
        expect(t.locator("#found tr")).to_have_count(10)
        self.accessible(t, "lecture hall")

    def step_receipt_names_class(self):
        status, created = self.s.request("POST", "/v1/classes", {"name": "Chemistry 2B"}, self.token)
        assert status == 201, created
        status, qr = self.s.get(f"/v1/classes/{created['class_id']}/qr", self.token)
        p = self.phones[0]
        p.goto(qr["url"])
        expect(p.locator("#className")).to_have_text("Chemistry 2B")
        expect(p.locator("#result")).to_contain_text("Checked in")

    def step_pending_approval(self):
        status, created = self.s.request("POST", "/v1/classes", {"name": "Approvals", "roster": ["a1"], "enrol_unknown": "approve",
                                                                "allow_code_checkin": True}, self.token)
        assert status == 201, created
        t, p = self.teacher, self.phones[1]
        t.goto(self.s.api + "/#class=" + created["class_id"])
        expect(t.locator("#conn")).to_have_text("Live")
        p.goto(self.s.api + "/c")
        p.fill("#code", created["code"])
        p.fill("#sid", "newcomer")
        p.click("#go")
        expect(p.locator("#result")).to_contain_text("Waiting for your teacher")
        expect(t.locator("#pendingList li")).to_contain_text("newcomer")
        self.accessible(t, "pending approval")
        t.click('#pendingList button[aria-label="Approve newcomer"]')
        expect(p.locator("#result")).to_contain_text("Checked in", timeout=TIMEOUT_MS)

    def step_student_screenshot(self):
        if self.args.docs_screenshots:
            self.phones[0].screenshot(path=os.path.join(ROOT, "docs", "student.png"))

    # ---- running ----

    STEPS = ["sign_in", "create_class", "qr_checkin", "link_checkin", "code_checkin", "override", "reconnect",
             "phone_dashboard", "projector", "flags_live", "offline_checkin", "csv", "student_screenshot", "close", "lecture_hall",
             "receipt_names_class", "pending_approval"]

    def main(self):
        art = self.args.artefacts
        shutil.rmtree(art, ignore_errors=True)
        os.makedirs(art)
        self.s = Servers(art)
        failed = 0
        started = time.monotonic()
        try:
            self.s.start()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
                tctx = browser.new_context(viewport={"width": 1366, "height": 768}, timezone_id="Europe/Berlin",
                                           accept_downloads=True)
                self.teacher = tctx.new_page()
                self.phone_contexts = [browser.new_context(**PHONE) for _ in range(3)]
                self.phones = [c.new_page() for c in self.phone_contexts]
                self.pages = {"teacher": self.teacher, **{f"phone{i + 1}": p for i, p in enumerate(self.phones)}}
                for page in self.pages.values():
                    page.set_default_timeout(TIMEOUT_MS)
                # Every later step needs a signed-in teacher and a class.
                failed = run_steps(self, self.STEPS, self.pages, art, essential=("sign_in", "create_class"))
                browser.close()
        finally:
            self.s.stop()
        print(f"browser tests: {len(self.STEPS)} steps, {failed} failed, {time.monotonic() - started:.0f} s"
              + (f", tap → QR {self.tap_to_qr_s * 1000:.0f} ms" if hasattr(self, "tap_to_qr_s") else "")
              + (f"; artefacts in {art}" if failed else ""))
        return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--artefacts", default=os.path.join(ROOT, "var", "browser-artefacts"))
    parser.add_argument("--docs-screenshots", action="store_true", help="write docs/dashboard.png and docs/student.png")
    sys.exit(Run(parser.parse_args()).main())
