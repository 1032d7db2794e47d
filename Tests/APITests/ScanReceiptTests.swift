import Attendance
import HTTP
import JSON
import TestSupport
import XCTest

/// Scan receipts (`POST /v1/receipts`) and offline check-ins over REST, against a real Redis.
final class ScanReceiptTests: APITestCase {
    struct Student {
        let classId: String
        let id: String
        let token: String
        let device: TestDeviceKey
    }

    /// A class (QR every 15 s) with `student` joined by code and bound to a fresh device key.
    func enrolled(_ body: String = #"{"name":"Receipts"}"#, student: String = "ann",
                  file: StaticString = #filePath, line: UInt = #line) -> (JSONValue, Student) {
        let created = createClass(body, file: file, line: line)
        let device = TestDeviceKey()
        let response = join(#""code":"\#(created["code"]!.string!)","device_key":\#(device.jwk)"#, student: student)
        XCTAssertEqual(response.status, 200, response.bodyText, file: file, line: line)
        return (created, Student(classId: created["class_id"]!.string!, id: student,
                                 token: json(response)["access_token"]?.string ?? "", device: device))
    }

    func receipt(qr: String, device: TestDeviceKey) -> HTTPClientResponse {
        request("POST", "/v1/receipts", json: #"{"qr":"\#(qr)","device_key":\#(device.jwk)}"#)
    }

    func issued(qr: String, device: TestDeviceKey, file: StaticString = #filePath, line: UInt = #line) -> String {
        let response = receipt(qr: qr, device: device)
        XCTAssertEqual(response.status, 200, response.bodyText, file: file, line: line)
        return json(response)["receipt"]?.string ?? ""
    }

    /// A check-in with `field` (`qr` or `receipt`) = `proof`, signed by `device` at `clientTimeMs`.
    func checkin(_ student: Student, _ field: String, _ proof: String, signedBy device: TestDeviceKey?,
                 clientTimeMs: Int64? = nil, offline: Bool = false) -> HTTPClientResponse {
        var body = #"{"\#(field)":"\#(proof)""#
        if let device {
            let time = clientTimeMs ?? clock.now()
            let sig = device.deviceSig(classId: student.classId, studentId: student.id, proof: proof, clientTimeMs: time)
            body += #","device_sig":"\#(sig)","client_time_ms":\#(time)"#
        }
        if offline { body += #","offline":true"# }
        return request("POST", "/v1/classes/\(student.classId)/checkins", token: student.token, json: body + "}")
    }

    func lastCheckin(_ classId: String) -> JSONValue? {
        let events = json(request("GET", "/v1/classes/\(classId)/events", token: teacher))["events"]?.array ?? []
        return events.last { $0["event"] == "checked_in" }
    }

    func testReceiptOutlivesItsQR() {
        let (created, ann) = enrolled()
        let qr = created["qr"]!.string!
        let response = receipt(qr: qr, device: ann.device)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        XCTAssertEqual(body["class_id"]?.string, ann.classId)
        XCTAssertEqual(body["class_name"]?.string, "Receipts")
        XCTAssertEqual(body["expires_at_ms"]?.int, clock.now() + 120_000, accuracy: 5_000)
        let receipt = body["receipt"]?.string ?? ""

        // A minute later the QR is long gone; the receipt still checks in, signed by its key.
        clock.offsetMs = 60_000
        assertError(checkin(ann, "qr", qr, signedBy: ann.device), 422, "qr_expired")
        let done = checkin(ann, "receipt", receipt, signedBy: ann.device)
        XCTAssertEqual(done.status, 200, done.bodyText)
        XCTAssertEqual(json(done)["status"]?.string, "present")
        let event = lastCheckin(ann.classId)
        XCTAssertEqual(event?["method"]?.string, "qr")
        XCTAssertEqual(event?["device"]?.string, DeviceKey(point: ann.device.point)?.keyId)
        XCTAssertNil(event?["flags"])
    }

    func testReceiptNeedsTheKeyItWasIssuedTo() {
        let (created, ann) = enrolled()
        let other = TestDeviceKey()
        // Issued to another key: even the student's own bound key cannot use it.
        let foreign = issued(qr: created["qr"]!.string!, device: other)
        assertError(checkin(ann, "receipt", foreign, signedBy: ann.device), 422, "device_invalid")
        assertError(checkin(ann, "receipt", foreign, signedBy: other), 422, "device_invalid")
        // Unsigned: refused before anything is read.
        let own = issued(qr: created["qr"]!.string!, device: ann.device)
        XCTAssertTrue(assertError(checkin(ann, "receipt", own, signedBy: nil), 400, "bad_request").contains("device_sig"))
        XCTAssertNil(attendanceRow(ann.classId, "ann")?["at_ms"]?.int, "nothing recorded")
    }

    func testForgedExpiredAndForeignReceipts() {
        let (created, ann) = enrolled()
        let receipt = issued(qr: created["qr"]!.string!, device: ann.device)
        // One character of the MAC changed: like a forged QR.
        var forged = Array(receipt)
        forged[forged.count - 2] = forged[forged.count - 2] == "A" ? "B" : "A"
        assertError(checkin(ann, "receipt", String(forged), signedBy: ann.device), 422, "qr_invalid")
        assertError(checkin(ann, "receipt", "not-a-receipt", signedBy: ann.device), 422, "qr_invalid")
        // A receipt of another class.
        let (otherClass, _) = enrolled(student: "bob")
        let elsewhere = issued(qr: otherClass["qr"]!.string!, device: ann.device)
        assertError(checkin(ann, "receipt", elsewhere, signedBy: ann.device), 422, "qr_invalid")
        // Two minutes later it has expired.
        clock.offsetMs = 121_000
        assertError(checkin(ann, "receipt", receipt, signedBy: ann.device), 422, "qr_expired")
    }

    func testOnlyAValidQRGetsAReceipt() {
        let (_, ann) = enrolled()
        let window = currentWindow()
        XCTAssertEqual(receipt(qr: qr(classId: ann.classId, window: window - 1), device: ann.device).status, 200,
                       "the previous window is still valid")
        assertError(receipt(qr: qr(classId: ann.classId, window: window - 2), device: ann.device), 422, "qr_expired")
        assertError(receipt(qr: ann.classId + ".\(window).AAAAAAAAAAAAAAAAAAAAAA", device: ann.device), 422, "qr_invalid")
        assertError(receipt(qr: "garbage", device: ann.device), 422, "qr_invalid")
        assertError(request("POST", "/v1/receipts", json: #"{"qr":"x"}"#), 400, "bad_request")
        assertError(request("POST", "/v1/receipts", json: #"{"qr":"x","device_key":{"kty":"EC"}}"#), 400, "bad_request")
        assertError(request("POST", "/v1/receipts", json: #"{"qr":"x","device_key":{},"extra":1}"#), 400, "bad_request")
    }

    /// Failed exchanges count against the address like failed joins.
    func testReceiptFailuresAreLimited() throws {
        stopServer()
        // Other tests fail from 127.0.0.1 too: a clean count before and after.
        let failures = Keys.failures(address: "127.0.0.1")
        RedisServer.shared.cli("DEL", failures)
        addTeardownBlock { RedisServer.shared.cli("DEL", failures) }
        try startServer { $0.limits.failuresPerAddress = 3 }
        let (created, ann) = enrolled()
        for _ in 0..<2 { assertError(receipt(qr: "garbage", device: ann.device), 422, "qr_invalid") }
        assertError(receipt(qr: qr(classId: ann.classId, window: currentWindow() - 5), device: ann.device), 422, "qr_expired")
        assertError(receipt(qr: created["qr"]!.string!, device: ann.device), 429, "rate_limited")
    }

    func testReceiptOfAPreviousWindowIsStale() {
        let (_, ann) = enrolled()
        let stale = issued(qr: qr(classId: ann.classId, window: currentWindow() - 1), device: ann.device)
        XCTAssertEqual(checkin(ann, "receipt", stale, signedBy: ann.device).status, 200)
        XCTAssertEqual(lastCheckin(ann.classId)?["flags"], ["stale_qr"])
    }

    func testJoinWithAReceipt() {
        let created = createClass(#"{"name":"Receipts"}"#)
        let classId = created["class_id"]!.string!
        let phone = TestDeviceKey()
        let receipt = issued(qr: created["qr"]!.string!, device: phone)
        clock.offsetMs = 90_000
        let now = clock.now()
        let sig = phone.deviceSig(classId: classId, studentId: "cy", proof: receipt, clientTimeMs: now)
        let unsigned = request("POST", "/v1/join", json: #"{"receipt":"\#(receipt)","student_id":"cy","device_key":\#(phone.jwk)}"#)
        assertError(unsigned, 400, "bad_request")
        let other = TestDeviceKey()
        let otherSig = other.deviceSig(classId: classId, studentId: "cy", proof: receipt, clientTimeMs: now)
        assertError(request("POST", "/v1/join", json: #"{"receipt":"\#(receipt)","student_id":"cy","device_key":\#(other.jwk),"device_sig":"\#(otherSig)","client_time_ms":\#(now)}"#),
                    422, "device_invalid")
        let response = request("POST", "/v1/join", json: #"{"receipt":"\#(receipt)","student_id":"cy","device_key":\#(phone.jwk),"device_sig":"\#(sig)","client_time_ms":\#(now)}"#)
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(json(response)["status"]?.string, "present")
        XCTAssertEqual(attendanceRow(classId, "cy")?["device"]?.string, DeviceKey(point: phone.point)?.keyId)
    }

    // MARK: - Offline check-ins

    func testOfflineCheckinAfterTheQRExpired() {
        let (created, ann) = enrolled(#"{"name":"Offline","late_after_s":120}"#)
        let qr = created["qr"]!.string!
        let scannedAt = clock.now()
        clock.offsetMs = 10 * 60_000
        // Not claimed offline: expired as ever.
        assertError(checkin(ann, "qr", qr, signedBy: ann.device, clientTimeMs: scannedAt), 422, "qr_expired")
        // Claimed, but unsigned: a bad request.
        assertError(request("POST", "/v1/classes/\(ann.classId)/checkins", token: ann.token,
                            json: #"{"qr":"\#(qr)","offline":true}"#), 400, "bad_request")
        // Claimed with a time outside the QR's window (± a period): expired.
        assertError(checkin(ann, "qr", qr, signedBy: ann.device, clientTimeMs: scannedAt + 60_000, offline: true),
                    422, "qr_expired")
        let response = checkin(ann, "qr", qr, signedBy: ann.device, clientTimeMs: scannedAt, offline: true)
        XCTAssertEqual(response.status, 200, response.bodyText)
        // Present: the scan happened before late_after_s, though it arrived ten minutes later.
        XCTAssertEqual(json(response)["status"]?.string, "present")
        XCTAssertEqual(json(response)["at_ms"]?.int, clock.now(), accuracy: 5_000)
        let event = lastCheckin(ann.classId)
        XCTAssertEqual(event?["flags"], ["offline", "late_delivery"])
        XCTAssertEqual(event?["client_time_ms"]?.int, scannedAt)
        XCTAssertEqual(attendanceRow(ann.classId, "ann")?["client_time_ms"]?.int, scannedAt)
    }

    func testOfflineCheckinWithAValidQRIsFlagged() {
        let (created, ann) = enrolled()
        let response = checkin(ann, "qr", created["qr"]!.string!, signedBy: ann.device, clientTimeMs: clock.now(), offline: true)
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(lastCheckin(ann.classId)?["flags"], ["offline"])
        XCTAssertEqual(attendanceRow(ann.classId, "ann")?["flags"], ["offline"])
    }

    func testOfflineCheckinsHaveDeadlines() {
        let (created, ann) = enrolled()
        let qr = created["qr"]!.string!
        let scannedAt = clock.now()
        // More than 30 minutes after the scan: too late.
        clock.offsetMs = 31 * 60_000
        assertError(checkin(ann, "qr", qr, signedBy: ann.device, clientTimeMs: scannedAt, offline: true), 422, "qr_expired")
        // Signed by another key: refused as any wrong signature.
        clock.offsetMs = 5 * 60_000
        assertError(checkin(ann, "qr", qr, signedBy: TestDeviceKey(), clientTimeMs: scannedAt, offline: true),
                    422, "device_invalid")
        // A code is no offline proof.
        assertError(request("POST", "/v1/classes/\(ann.classId)/checkins", token: ann.token,
                            json: #"{"code":"123456","device_sig":"\#(String(repeating: "A", count: 86))","client_time_ms":1,"offline":true}"#),
                    400, "bad_request")
    }

    func testOfflineCheckinShortlyAfterTheClassClosed() {
        let (created, ann) = enrolled(#"{"name":"Offline","roster":["ann","bob"]}"#)
        let bobsPhone = TestDeviceKey()
        let bob = json(join(#""code":"\#(created["code"]!.string!)","device_key":\#(bobsPhone.jwk)"#, student: "bob"))
        XCTAssertNotNil(bob["access_token"]?.string)
        let qr = created["qr"]!.string!
        let scannedAt = clock.now()
        XCTAssertEqual(request("POST", "/v1/classes/\(ann.classId)/close", token: teacher).status, 200)
        XCTAssertEqual(attendanceRow(ann.classId, "ann")?["status"]?.string, "absent")
        clock.offsetMs = 5 * 60_000
        // Closed five minutes ago: the offline check-in still counts and turns absent into present.
        let response = checkin(ann, "qr", qr, signedBy: ann.device, clientTimeMs: scannedAt, offline: true)
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(attendanceRow(ann.classId, "ann")?["status"]?.string, "present")
        // Eleven minutes after the close: class_closed.
        clock.offsetMs = 11 * 60_000
        let bobRow = Student(classId: ann.classId, id: "bob", token: bob["access_token"]?.string ?? "", device: bobsPhone)
        assertError(checkin(bobRow, "qr", qr, signedBy: bobRow.device, clientTimeMs: scannedAt, offline: true), 409, "class_closed")
    }

    func testOfflineReceiptAndOfflineJoin() {
        let (created, ann) = enrolled()
        let receipt = issued(qr: created["qr"]!.string!, device: ann.device)
        let signedAt = clock.now() + 60_000
        clock.offsetMs = 20 * 60_000
        let response = checkin(ann, "receipt", receipt, signedBy: ann.device, clientTimeMs: signedAt, offline: true)
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(lastCheckin(ann.classId)?["flags"], ["offline", "late_delivery"])

        // A join with an expired QR, offline, registering the key that signs it.
        let phone = TestDeviceKey()
        let qr = created["qr"]!.string!
        let scannedAt = clock.now() - 20 * 60_000
        let sig = phone.deviceSig(classId: ann.classId, studentId: "dee", proof: qr, clientTimeMs: scannedAt)
        let joined = request("POST", "/v1/join", json: #"{"qr":"\#(qr)","student_id":"dee","device_key":\#(phone.jwk),"device_sig":"\#(sig)","client_time_ms":\#(scannedAt),"offline":true}"#)
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        XCTAssertEqual(json(joined)["status"]?.string, "present")
        XCTAssertEqual(attendanceRow(ann.classId, "dee")?["flags"], ["offline", "late_delivery"])
    }
}

private func XCTAssertEqual(_ value: Int64?, _ expected: Int64, accuracy: Int64, file: StaticString = #filePath, line: UInt = #line) {
    guard let value else { return XCTFail("no value", file: file, line: line) }
    XCTAssertTrue(abs(value - expected) <= accuracy, "\(value) is not within \(accuracy) of \(expected)", file: file, line: line)
}
