import Attendance
import HTTP
import JSON
import TestSupport
import XCTest

/// `enrol_unknown: approve`: unknown ids wait for the teacher, who approves or denies them.
final class EnrolmentRequestTests: APITestCase {
    func approveClass(_ extra: String = "") -> (id: String, code: String) {
        let created = createClass(#"{"name":"Open house","roster":["ann"],"enrol_unknown":"approve"\#(extra)}"#)
        XCTAssertEqual(created["enrol_unknown"]?.string, "approve")
        return (created["class_id"]!.string!, created["code"]!.string!)
    }

    func events(_ classId: String, _ name: String) -> [JSONValue] {
        let all = json(request("GET", "/v1/classes/\(classId)/events", token: teacher))["events"]?.array ?? []
        return all.filter { $0["event"]?.string == name }
    }

    func pending(_ classId: String, as bearer: String? = nil) -> [String] {
        let list = json(request("GET", "/v1/classes/\(classId)/pending", token: bearer ?? teacher))
        return list["pending"]?.array?.compactMap { $0["student_id"]?.string } ?? []
    }

    func testUnknownStudentWaitsForApprovalThenJoins() {
        let (classId, code) = approveClass()
        let response = join(#""code":"\#(code)""#, student: "zed", name: "Zed")
        XCTAssertEqual(response.status, 202, response.bodyText)
        XCTAssertEqual(json(response), ["status": "pending", "class_id": .string(classId), "class_name": "Open house", "student_id": "zed"])
        // Asking again changes nothing.
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "zed", name: "Zed").status, 202)
        let requested = events(classId, "enrol_requested")
        XCTAssertEqual(requested.count, 1)
        XCTAssertEqual(requested.first?["name"]?.string, "Zed")
        XCTAssertEqual(pending(classId), ["zed"])
        let list = json(request("GET", "/v1/classes/\(classId)/pending", token: teacher))
        XCTAssertEqual(list["pending"]?.array?.first?["name"]?.string, "Zed")
        XCTAssertNotNil(list["pending"]?.array?.first?["at_ms"]?.int)
        // Roster students join as ever.
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "ann").status, 200)

        let approved = request("POST", "/v1/classes/\(classId)/students/zed:approve", token: teacher)
        XCTAssertEqual(approved.status, 200, approved.bodyText)
        XCTAssertEqual(json(approved), ["student_id": "zed", "status": "approved", "name": "Zed"])
        XCTAssertEqual(pending(classId), [])
        XCTAssertEqual(events(classId, "enrol_approved").first?["by"]?.string, "t1")
        let joined = join(#""code":"\#(code)""#, student: "zed", name: "Zed")
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        XCTAssertNotNil(json(joined)["access_token"]?.string)
        XCTAssertEqual(json(request("GET", "/v1/classes/\(classId)", token: teacher))["roster_size"], 2)
        // Approved once: a second approval has nothing to answer.
        assertError(request("POST", "/v1/classes/\(classId)/students/zed:approve", token: teacher), 404, "not_found")
    }

    func testDeniedStudentIsRefusedLikeAWrongCode() {
        let (classId, code) = approveClass()
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "mal").status, 202)
        let denied = request("POST", "/v1/classes/\(classId)/students/mal:deny", token: teacher)
        XCTAssertEqual(denied.status, 200, denied.bodyText)
        XCTAssertEqual(json(denied), ["student_id": "mal", "status": "denied"])
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/students/mal:deny", token: teacher).status, 200)
        XCTAssertEqual(events(classId, "enrol_denied").count, 1, "denying again emits nothing")
        XCTAssertEqual(pending(classId), [])
        assertError(join(#""code":"\#(code)""#, student: "mal"), 422, "code_invalid")
        // A change of mind: a denied id can still be approved.
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/students/mal:approve", token: teacher).status, 200)
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "mal").status, 200)
    }

    func testOnlyTheTeacherAnswersAndOnlyWhileOpen() {
        let (classId, code) = approveClass()
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "zed").status, 202)
        let other = token(.teacher, "t2")
        assertError(request("POST", "/v1/classes/\(classId)/students/zed:approve", token: other), 403, "forbidden")
        assertError(request("GET", "/v1/classes/\(classId)/pending", token: other), 403, "forbidden")
        let student = studentToken(["code": .string(code)], student: "ann")
        assertError(request("POST", "/v1/classes/\(classId)/students/zed:approve", token: student), 403, "forbidden")
        assertError(request("POST", "/v1/classes/\(classId)/students/zed:promote", token: teacher), 404, "not_found")
        assertError(request("POST", "/v1/classes/\(classId)/students/zed", token: teacher), 404, "not_found")
        assertError(request("POST", "/v1/classes/\(classId)/students/nobody:approve", token: teacher), 404, "not_found")
        assertError(request("POST", "/v1/classes/nope/students/zed:approve", token: teacher), 404, "not_found")
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher).status, 200)
        assertError(request("POST", "/v1/classes/\(classId)/students/zed:approve", token: teacher), 409, "class_closed")
        XCTAssertEqual(pending(classId), [], "closing drops the requests")
    }

    func testRefuseClassesKeepTheirAnswer() {
        let created = createClass(#"{"name":"Closed door","roster":["ann"]}"#)
        XCTAssertEqual(created["enrol_unknown"]?.string, "refuse")
        assertError(join(#""code":"\#(created["code"]!.string!)""#, student: "zed"), 422, "code_invalid")
        XCTAssertEqual(pending(created["class_id"]!.string!), [])
        assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A","enrol_unknown":"maybe"}"#),
                    400, "bad_request")
    }

    func testWaitingRequestsAreBounded() {
        let (classId, code) = approveClass()
        for n in 0..<ClassStore.pendingLimit {
            let response = join(#""code":"\#(code)""#, student: "u\(n)")
            XCTAssertEqual(response.status, 202, response.bodyText)
            if response.status != 202 { return }
        }
        let refused = join(#""code":"\#(code)""#, student: "one-too-many")
        assertError(refused, 429, "rate_limited")
        XCTAssertEqual(refused.headers["Retry-After"], "60")
        // Already waiting: still answered 202. A denial makes room.
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "u0").status, 202)
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/students/u0:deny", token: teacher).status, 200)
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "one-too-many").status, 202)
    }
}
