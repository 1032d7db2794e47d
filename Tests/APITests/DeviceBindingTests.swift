import Attendance
import EventLoop
import HTTP
import JSON
import TestSupport
import XCTest

/// Device binding over REST: keys registered on join, signed check-ins, the class's device policy.
final class DeviceBindingTests: APITestCase {
    struct Enrolled {
        let classId: String
        let token: String
        let qr: String
    }

    /// A class with the given policy (QR valid now); its teacher is t1.
    func makeClass(policy: String = "flag") -> JSONValue {
        createClass(#"{"name":"Devices","allow_code_checkin":true,"device_policy":"\#(policy)"}"#)
    }

    func joinWithKey(_ created: JSONValue, _ student: String, _ device: TestDeviceKey?) -> HTTPClientResponse {
        let key = device.map { #","device_key":\#($0.jwk)"# } ?? ""
        return join(#""code":"\#(created["code"]!.string!)"\#(key)"#, student: student)
    }

    func enrol(_ created: JSONValue, _ student: String, _ device: TestDeviceKey?,
               file: StaticString = #filePath, line: UInt = #line) -> Enrolled {
        let response = joinWithKey(created, student, device)
        XCTAssertEqual(response.status, 200, response.bodyText, file: file, line: line)
        return Enrolled(classId: created["class_id"]!.string!, token: json(response)["access_token"]?.string ?? "",
                        qr: created["qr"]!.string!)
    }

    func checkin(_ enrolled: Enrolled, as student: String, signedBy device: TestDeviceKey?,
                 clientTimeMs: Int64? = nil, qr: String? = nil) -> HTTPClientResponse {
        // The QR on screen now: the class's first one turns stale when a window passes on a slow machine.
        let qr = qr ?? self.qr(classId: enrolled.classId, window: currentWindow())
        var body = #"{"qr":"\#(qr)""#
        if let device {
            let time = clientTimeMs ?? clock.now()
            let sig = device.deviceSig(classId: enrolled.classId, studentId: student, proof: qr, clientTimeMs: time)
            body += #","device_sig":"\#(sig)","client_time_ms":\#(time)"#
        }
        return request("POST", "/v1/classes/\(enrolled.classId)/checkins", token: enrolled.token, json: body + "}")
    }

    func checkedIn(_ classId: String, _ student: String) -> JSONValue? {
        let events = json(request("GET", "/v1/classes/\(classId)/events", token: teacher))["events"]?.array ?? []
        return events.last { $0["event"] == "checked_in" && $0["student_id"]?.string == student }
    }

    func keyId(_ device: TestDeviceKey) -> String { DeviceKey(point: device.point)!.keyId }

    /// Time stands still in the middle of a 15 s window, so no check-in here turns `stale_qr`
    /// because a window ended between writing the request and the server reading it.
    override func setUpWithError() throws {
        let now = EventLoop.wallClockMs()
        clock.fixedMs = now - now % 15_000 + 7_500
        try super.setUpWithError()
    }

    func testSignedCheckinRecordsTheDevice() {
        let created = makeClass()
        let phone = TestDeviceKey()
        let ann = enrol(created, "ann", phone)
        let response = checkin(ann, as: "ann", signedBy: phone)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let event = checkedIn(ann.classId, "ann")
        XCTAssertEqual(event?["device"]?.string, keyId(phone))
        XCTAssertNil(event?["flags"], "no flags field when there are none")
        let row = attendanceRow(ann.classId, "ann")
        XCTAssertEqual(row?["device"]?.string, keyId(phone))
        XCTAssertEqual(row?["flags"], [])
        let csv = request("GET", "/v1/classes/\(ann.classId)/attendance?format=csv", token: teacher).bodyText
        XCTAssertTrue(csv.hasPrefix("student_id,name,status,at_ms,method,by,flags,device,at\r\n"), csv)
        XCTAssertTrue(csv.contains(keyId(phone)), csv)
    }

    /// A code check-in signs the code in place of the QR.
    func testSignedCodeCheckinSignsTheCode() {
        let created = makeClass()
        let code = created["code"]!.string!
        let phone = TestDeviceKey()
        let ann = enrol(created, "ann", phone)
        let now = clock.now()
        let overQR = phone.deviceSig(classId: ann.classId, studentId: "ann", proof: ann.qr, clientTimeMs: now)
        let path = "/v1/classes/\(ann.classId)/checkins"
        assertError(request("POST", path, token: ann.token,
                            json: #"{"code":"\#(code)","device_sig":"\#(overQR)","client_time_ms":\#(now)}"#),
                    422, "device_invalid")
        let overCode = phone.deviceSig(classId: ann.classId, studentId: "ann", proof: code, clientTimeMs: now)
        let response = request("POST", path, token: ann.token,
                               json: #"{"code":"\#(code)","device_sig":"\#(overCode)","client_time_ms":\#(now)}"#)
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(checkedIn(ann.classId, "ann")?["method"], "code")
        XCTAssertEqual(checkedIn(ann.classId, "ann")?["device"]?.string, keyId(phone))
    }

    func testWrongKeyOrTamperedMessageIsRefused() {
        let created = makeClass()
        let phone = TestDeviceKey(), other = TestDeviceKey()
        let ann = enrol(created, "ann", phone)
        assertError(checkin(ann, as: "ann", signedBy: other), 422, "device_invalid")
        // Signed for another student id: the message differs from the one verified.
        assertError(checkin(ann, as: "bob", signedBy: phone), 422, "device_invalid")
        // The signed time differs from the one sent.
        let now = clock.now()
        let sig = phone.deviceSig(classId: ann.classId, studentId: "ann", proof: ann.qr, clientTimeMs: now)
        assertError(request("POST", "/v1/classes/\(ann.classId)/checkins", token: ann.token,
                            json: #"{"qr":"\#(ann.qr)","device_sig":"\#(sig)","client_time_ms":\#(now + 1)}"#),
                    422, "device_invalid")
        // A signature from a student without a bound key cannot verify either.
        let bob = enrol(created, "bob", nil)
        assertError(checkin(bob, as: "bob", signedBy: phone), 422, "device_invalid")
        XCTAssertNil(checkedIn(ann.classId, "ann"), "nothing was recorded")
        XCTAssertEqual(checkin(ann, as: "ann", signedBy: phone).status, 200)
    }

    func testMalformedKeysAndSignaturesAnswer400() {
        let created = makeClass()
        let code = created["code"]!.string!
        for bad in [#"{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}"#, #""key""#,
                    #"{"kty":"EC","crv":"P-256","x":"\#(String(repeating: "A", count: 43))","y":"\#(String(repeating: "A", count: 43))"}"#] {
            assertError(join(#""code":"\#(code)","device_key":\#(bad)"#, student: "ann"), 400, "bad_request")
        }
        let phone = TestDeviceKey()
        let withPrivate = phone.jwk.dropLast() + #","d":"AAAA"}"#
        assertError(join(#""code":"\#(code)","device_key":\#(withPrivate)"#, student: "ann"), 400, "bad_request")
        let ann = enrol(created, "ann", phone)
        let path = "/v1/classes/\(ann.classId)/checkins"
        for body in [#"{"qr":"\#(ann.qr)","device_sig":"abc","client_time_ms":1}"#,
                     #"{"qr":"\#(ann.qr)","device_sig":"\#(String(repeating: "A", count: 86))"}"#,
                     #"{"qr":"\#(ann.qr)","client_time_ms":1}"#,
                     #"{"qr":"\#(ann.qr)","device_sig":"\#(String(repeating: "A", count: 86))","client_time_ms":"1"}"#] {
            assertError(request("POST", path, token: ann.token, json: body), 400, "bad_request")
        }
        // device_sig on a join needs the QR it signs and the key it is made with.
        assertError(join(#""code":"\#(code)","device_sig":"\#(String(repeating: "A", count: 86))","client_time_ms":1"#,
                         student: "ann"), 400, "bad_request")
    }

    func testUnsignedCheckinAfterBindingIsFlaggedOrRefused() {
        let flagging = makeClass()
        let ann = enrol(flagging, "ann", TestDeviceKey())
        XCTAssertEqual(checkin(ann, as: "ann", signedBy: nil).status, 200)
        XCTAssertEqual(checkedIn(ann.classId, "ann")?["flags"], ["unsigned"])
        XCTAssertEqual(attendanceRow(ann.classId, "ann")?["flags"], ["unsigned"])

        let refusing = makeClass(policy: "refuse")
        let bob = enrol(refusing, "bob", TestDeviceKey())
        XCTAssertTrue(assertError(checkin(bob, as: "bob", signedBy: nil), 409, "device_refused").contains("unsigned"))
        // A join with the QR from another phone gets a token, but its check-in is refused.
        let viaQR = join(#""qr":"\#(bob.qr)""#, student: "bob")
        XCTAssertEqual(viaQR.status, 200, viaQR.bodyText)
        XCTAssertEqual(json(viaQR)["status"], "unmarked")
        XCTAssertNil(checkedIn(bob.classId, "bob"))
        // Students without a bound key check in as before.
        let cid = enrol(refusing, "cid", nil)
        XCTAssertEqual(checkin(cid, as: "cid", signedBy: nil).status, 200)
        XCTAssertNil(checkedIn(cid.classId, "cid")?["flags"])
    }

    func testSecondDeviceIsFlaggedOrRefused() {
        let flagging = makeClass()
        let first = TestDeviceKey(), second = TestDeviceKey()
        _ = enrol(flagging, "ann", first)
        let ann = enrol(flagging, "ann", second)
        XCTAssertEqual(checkin(ann, as: "ann", signedBy: second).status, 200)
        XCTAssertEqual(checkedIn(ann.classId, "ann")?["flags"], ["new_device"])
        XCTAssertEqual(checkedIn(ann.classId, "ann")?["device"]?.string, keyId(second))

        let refusing = makeClass(policy: "refuse")
        let bob = enrol(refusing, "bob", first)
        XCTAssertTrue(assertError(joinWithKey(refusing, "bob", second), 409, "device_refused").contains("new_device"))
        XCTAssertEqual(attendanceRow(bob.classId, "bob")?["rejoins"], 0, "a refused re-join writes nothing")
        XCTAssertEqual(joinWithKey(refusing, "bob", first).status, 200, "the bound device re-joins")
        XCTAssertEqual(checkin(bob, as: "bob", signedBy: first).status, 200)
        XCTAssertNil(checkedIn(bob.classId, "bob")?["flags"])
    }

    func testSharedDeviceIsFlaggedOrRefused() {
        let flagging = makeClass()
        let phone = TestDeviceKey()
        _ = enrol(flagging, "ann", phone)
        // Ann's phone, with Ann's forwarded QR, checks in Bob.
        let bob = enrol(flagging, "bob", phone)
        XCTAssertEqual(checkin(bob, as: "bob", signedBy: phone).status, 200)
        XCTAssertEqual(checkedIn(bob.classId, "bob")?["flags"], ["shared_device"])

        let refusing = makeClass(policy: "refuse")
        _ = enrol(refusing, "ann", phone)
        XCTAssertTrue(assertError(joinWithKey(refusing, "bob", phone), 409, "device_refused").contains("shared_device"))
        XCTAssertNil(attendanceRow(refusing["class_id"]!.string!, "bob"), "a refused join writes nothing")
    }

    func testTimeAndStaleQRFlags() {
        let created = makeClass()
        let phone = TestDeviceKey()
        let ann = enrol(created, "ann", phone)
        XCTAssertEqual(checkin(ann, as: "ann", signedBy: phone, clientTimeMs: clock.now() - 180_000).status, 200)
        XCTAssertEqual(checkedIn(ann.classId, "ann")?["flags"], ["late_delivery"])
        let bob = enrol(created, "bob", nil)
        let previous = qr(classId: bob.classId, window: currentWindow() - 1)
        XCTAssertEqual(checkin(bob, as: "bob", signedBy: nil, qr: previous).status, 200)
        XCTAssertEqual(checkedIn(bob.classId, "bob")?["flags"], ["stale_qr"])
    }

    func testSignedJoinWithQRChecksInWithTheNewKey() {
        let created = makeClass(policy: "refuse")
        let classId = created["class_id"]!.string!, qr = created["qr"]!.string!
        let phone = TestDeviceKey()
        let now = clock.now()
        let sig = phone.deviceSig(classId: classId, studentId: "ann", proof: qr, clientTimeMs: now)
        let response = join(#""qr":"\#(qr)","device_key":\#(phone.jwk),"device_sig":"\#(sig)","client_time_ms":\#(now)"#,
                            student: "ann")
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(json(response)["status"], "present")
        XCTAssertEqual(checkedIn(classId, "ann")?["device"]?.string, keyId(phone))
        let forged = join(#""qr":"\#(qr)","device_key":\#(TestDeviceKey().jwk),"device_sig":"\#(sig)","client_time_ms":\#(now)"#,
                          student: "bob")
        assertError(forged, 422, "device_invalid")
    }

    func testTeacherResetsADevice() {
        let created = makeClass(policy: "refuse")
        let classId = created["class_id"]!.string!
        let lost = TestDeviceKey(), replacement = TestDeviceKey()
        _ = enrol(created, "ann", lost)
        let path = "/v1/classes/\(classId)/students/ann/device:reset"
        let student = json(joinWithKey(created, "ann", lost))["access_token"]!.string!
        assertError(request("POST", path, token: student), 403, "forbidden")
        assertError(request("POST", path, token: token(.teacher, "t2")), 403, "forbidden")
        let reset = request("POST", path, token: teacher)
        XCTAssertEqual(reset.status, 200, reset.bodyText)
        XCTAssertEqual(json(reset)["device"]?.string, keyId(lost))
        XCTAssertEqual(json(request("POST", path, token: teacher))["device"], .null, "nothing left to reset")
        // The replacement binds afresh, unflagged; the lost phone may now be bound by someone else.
        let ann = enrol(created, "ann", replacement)
        XCTAssertEqual(checkin(ann, as: "ann", signedBy: replacement).status, 200)
        XCTAssertNil(checkedIn(classId, "ann")?["flags"])
        _ = enrol(created, "bob", lost)
        assertError(request("POST", "/v1/classes/\(classId)/students/nobody/device:reset", token: teacher), 403, "not_on_roster")
    }
}
