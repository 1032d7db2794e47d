import HTTP
import Attendance
import JSON
import TestSupport
import XCTest

final class JoinAndCheckinTests: APITestCase {
    func testJoinByCode() {
        let created = createClass()
        let response = join(#""code":"\#(created["code"]!.string!)""#, student: "s1", name: "Ann Lee")
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        XCTAssertEqual(body["class_id"], created["class_id"])
        XCTAssertEqual(body["student_id"], "s1")
        XCTAssertEqual(body["class_name"], "Algebra")
        XCTAssertEqual(body["status"], "unmarked")
        XCTAssertEqual(body["at_ms"], .null)
        let claims = try! signer.verify(body["access_token"]!.string!, nowS: clock.now() / 1000).get()
        XCTAssertEqual(claims.role, .student)
        XCTAssertEqual(claims.sub, "s1")
        XCTAssertEqual(claims.cls, created["class_id"]!.string!)
        XCTAssertEqual(attendanceRow(created["class_id"]!.string!, "s1")?["name"], "Ann Lee")
    }

    func testJoinByLink() {
        let created = createClass()
        let response = join(#""link_token":"\#(created["link_token"]!.string!)""#, student: "s2")
        XCTAssertEqual(response.status, 200, response.bodyText)
        XCTAssertEqual(json(response)["class_id"], created["class_id"])
        XCTAssertEqual(json(response)["status"], "unmarked")
        assertError(join(#""link_token":"Zm9v.YmFy""#, student: "s2"), 400, "bad_request")
    }

    func testJoinByQRAlsoChecksIn() {
        let created = createClass()
        let response = join(#""qr":"\#(created["qr"]!.string!)""#, student: "s3")
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        XCTAssertEqual(body["status"], "present")
        XCTAssertNotEqual(body["at_ms"], .null)
        XCTAssertEqual(attendanceRow(created["class_id"]!.string!, "s3")?["method"], "qr")
    }

    func testJoinValidation() {
        let created = createClass(#"{"name":"Roster","roster":["s1"]}"#)
        let code = created["code"]!.string!
        XCTAssertTrue(assertError(join(#""nothing":1"#, student: "s1"), 400, "bad_request").contains("nothing"))
        XCTAssertTrue(assertError(request("POST", "/v1/join", json: #"{"student_id":"s1"}"#), 400, "bad_request")
            .contains("exactly one of code, link_token, qr or receipt"))
        assertError(request("POST", "/v1/join", json: #"{"code":"\#(code)","qr":"x","student_id":"s1"}"#), 400, "bad_request")
        XCTAssertTrue(assertError(request("POST", "/v1/join", json: #"{"code":"\#(code)"}"#), 400, "bad_request").contains("student_id is required"))
        XCTAssertTrue(assertError(join(#""code":"\#(code)""#, student: "s 1"), 400, "bad_request").contains("student_id"))
        XCTAssertTrue(assertError(request("POST", "/v1/join", json: #"{"code":123456,"student_id":"s1"}"#), 400, "bad_request")
            .contains("code must be a string"))
        assertError(join(#""code":"12345""#, student: "s1"), 422, "code_invalid")
        assertError(join(#""code":"\#(code == "000000" ? "000001" : "000000")""#, student: "s1"), 422, "code_invalid")
        assertError(join(#""code":"\#(code)""#, student: "intruder"), 422, "code_invalid")
        assertError(join(#""qr":"garbage""#, student: "s1"), 422, "qr_invalid")
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "s1").status, 200)
    }

    func testCheckinByQRIsIdempotent() {
        let created = createClass()
        let classId = created["class_id"]!.string!
        let student = studentToken(created, student: "s1")
        let first = request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{"qr":"\#(created["qr"]!.string!)"}"#)
        XCTAssertEqual(first.status, 200, first.bodyText)
        let body = json(first)
        XCTAssertEqual(body["status"], "present")
        XCTAssertEqual(body.object?.count, 2)
        clock.offsetMs = 1000
        let again = request("POST", "/v1/classes/\(classId)/checkins", token: student,
                            json: #"{"qr":"\#(qr(classId: classId, window: currentWindow()))"}"#)
        XCTAssertEqual(again.status, 200)
        XCTAssertEqual(json(again), body, "a repeat answers the first result")
        let events = json(request("GET", "/v1/classes/\(classId)/events", token: teacher))["events"]!.array!
        XCTAssertEqual(events.filter { $0["event"] == "checked_in" }.count, 1)
    }

    func testQRWindowEdges() {
        let start: Int64 = 1_900_000_000_000 - 7_000  // 7 s into a 15 s window
        clock.fixedMs = start
        let created = createClass()
        let classId = created["class_id"]!.string!
        let window = start / 15_000
        var tokens: [String: String] = [:]
        for student in ["cur", "prev", "old", "forged", "future", "other"] { tokens[student] = studentToken(created, student: student) }
        func checkin(_ student: String, _ qr: String) -> HTTPClientResponse {
            request("POST", "/v1/classes/\(classId)/checkins", token: tokens[student], json: #"{"qr":"\#(qr)"}"#)
        }
        // Later on: the current window is `window + 2`.
        clock.fixedMs = start + 30_000
        XCTAssertEqual(json(checkin("cur", qr(classId: classId, window: window + 2)))["status"], "present")
        XCTAssertEqual(json(checkin("prev", qr(classId: classId, window: window + 1)))["status"], "present")
        assertError(checkin("old", qr(classId: classId, window: window)), 422, "qr_expired")
        var forged = qr(classId: classId, window: window + 2)
        forged.replaceSubrange(forged.index(forged.endIndex, offsetBy: -3)..., with: forged.hasSuffix("AAA") ? "BBB" : "AAA")
        assertError(checkin("forged", forged), 422, "qr_invalid")
        assertError(checkin("future", qr(classId: classId, window: window + 3)), 422, "qr_invalid")
        let otherClass = createClass()["class_id"]!.string!
        assertError(checkin("other", qr(classId: otherClass, window: window + 2)), 422, "qr_invalid")
        // Joining with a QR follows the same windows.
        assertError(join(#""qr":"\#(qr(classId: classId, window: window))""#, student: "late-joiner"), 422, "qr_expired")
        XCTAssertEqual(json(join(#""qr":"\#(qr(classId: classId, window: window + 1))""#, student: "late-joiner"))["status"], "present")
    }

    func testCheckinAfterLateThresholdIsLate() {
        let created = createClass(#"{"name":"A","late_after_s":60}"#)
        let classId = created["class_id"]!.string!
        let student = studentToken(created, student: "s1")
        clock.offsetMs = 61_000
        let response = request("POST", "/v1/classes/\(classId)/checkins", token: student,
                               json: #"{"qr":"\#(qr(classId: classId, window: currentWindow()))"}"#)
        XCTAssertEqual(json(response)["status"], "late")
    }

    func testCheckinByCode() {
        let allowed = createClass(#"{"name":"A","allow_code_checkin":true}"#)
        let allowedId = allowed["class_id"]!.string!
        let student = studentToken(allowed, student: "s1")
        let wrong = allowed["code"]!.string! == "000000" ? "000001" : "000000"
        assertError(request("POST", "/v1/classes/\(allowedId)/checkins", token: student, json: #"{"code":"\#(wrong)"}"#), 422, "code_invalid")
        let ok = request("POST", "/v1/classes/\(allowedId)/checkins", token: student, json: #"{"code":"\#(allowed["code"]!.string!)"}"#)
        XCTAssertEqual(json(ok)["status"], "present", ok.bodyText)
        XCTAssertEqual(attendanceRow(allowedId, "s1")?["method"], "code")

        let refused = createClass()
        let refusedId = refused["class_id"]!.string!
        let other = studentToken(refused, student: "s1")
        assertError(request("POST", "/v1/classes/\(refusedId)/checkins", token: other, json: #"{"code":"\#(refused["code"]!.string!)"}"#), 403, "forbidden")
    }

    func testCheckinAuthorization() {
        let created = createClass()
        let classId = created["class_id"]!.string!
        let qrBody = #"{"qr":"\#(created["qr"]!.string!)"}"#
        assertError(request("POST", "/v1/classes/\(classId)/checkins", json: qrBody), 401, "unauthorized")
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: teacher, json: qrBody), 403, "forbidden")
        let elsewhere = token(.student, "s1", classId: "c_elsewhere")
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: elsewhere, json: qrBody), 403, "forbidden")
        let student = studentToken(created, student: "s1")
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{}"#), 400, "bad_request")
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{"qr":"a","code":"b"}"#), 400, "bad_request")
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{"qr":7}"#), 400, "bad_request")
    }

    func testCheckinExcusedStudentIsAlreadyCheckedIn() {
        let created = createClass(#"{"name":"A","roster":["s1"]}"#)
        let classId = created["class_id"]!.string!
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)/attendance/s1", token: teacher, json: #"{"status":"excused"}"#).status, 200)
        let student = studentToken(created, student: "s1")
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: student, json: #"{"qr":"\#(created["qr"]!.string!)"}"#),
                    409, "already_checked_in")
    }
}

