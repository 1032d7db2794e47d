import Attendance
import HTTP
import JSON
import TestSupport
import XCTest

/// Class answers echo their settings; `PATCH /v1/classes/{id}` changes them while the class runs.
final class ClassSettingsTests: APITestCase {
    let settingKeys = ["device_policy", "join_requires", "enrol_unknown", "allowed_networks", "qr_period_s", "allow_code_checkin"]

    func testEveryClassAnswerEchoesTheSettings() {
        let created = createClass(#"{"name":"Echo","device_policy":"refuse","join_requires":"link","enrol_unknown":"approve","allowed_networks":["10.1.2.3/16"],"qr_period_s":30}"#)
        let classId = created["class_id"]!.string!
        let info = json(request("GET", "/v1/classes/\(classId)", token: teacher))
        let mine = json(request("GET", "/v1/classes?mine=1", token: teacher))["classes"]?.array?.first { $0["class_id"]?.string == classId }
        for answer in [created, info, mine ?? .null] {
            XCTAssertEqual(answer["device_policy"], "refuse")
            XCTAssertEqual(answer["join_requires"], "link")
            XCTAssertEqual(answer["enrol_unknown"], "approve")
            XCTAssertEqual(answer["allowed_networks"], ["10.1.0.0/16"])
            XCTAssertEqual(answer["qr_period_s"], 30)
            XCTAssertEqual(answer["allow_code_checkin"], false)
        }
        let defaults = createClass()
        XCTAssertEqual(settingKeys.map { defaults[$0] }, ["flag", "code", "refuse", [], 15, false])
    }

    func testPatchChangesSettingsAndIsAudited() {
        let created = createClass(#"{"name":"Patch","roster":["ann"]}"#)
        let classId = created["class_id"]!.string!, code = created["code"]!.string!
        assertError(join(#""code":"\#(code)""#, student: "zed"), 422, "code_invalid")
        let response = request("PATCH", "/v1/classes/\(classId)", token: teacher,
                               json: #"{"enrol_unknown":"approve","device_policy":"refuse","allowed_networks":["127.0.0.0/8"]}"#)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let body = json(response)
        XCTAssertEqual(body["enrol_unknown"], "approve")
        XCTAssertEqual(body["device_policy"], "refuse")
        XCTAssertEqual(body["join_requires"], "code", "untouched")
        XCTAssertEqual(body["allowed_networks"], ["127.0.0.0/8"])
        XCTAssertEqual(body["class_id"]?.string, classId)
        // Effective at once: the unknown id now waits for approval.
        XCTAssertEqual(join(#""code":"\#(code)""#, student: "zed").status, 202)
        // Networks: outside them a check-in is refused; an empty list returns to the site's default.
        let ann = studentToken(created, student: "ann")
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)", token: teacher, json: #"{"allowed_networks":["10.0.0.0/8"]}"#).status, 200)
        assertError(request("POST", "/v1/classes/\(classId)/checkins", token: ann, json: #"{"qr":"\#(qr(classId: classId, window: currentWindow()))"}"#),
                    403, "network_not_allowed")
        let cleared = request("PATCH", "/v1/classes/\(classId)", token: teacher, json: #"{"allowed_networks":[]}"#)
        XCTAssertEqual(json(cleared)["allowed_networks"], [])
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/checkins", token: ann,
                               json: #"{"qr":"\#(qr(classId: classId, window: currentWindow()))"}"#).status, 200)
        // join_requires: link stops code joins of new students.
        XCTAssertEqual(request("PATCH", "/v1/classes/\(classId)", token: teacher, json: #"{"join_requires":"link"}"#).status, 200)
        assertError(join(#""code":"\#(code)""#, student: "ann2"), 403, "forbidden")

        let audit = RedisServer.shared.cli("XRANGE", Keys.audit(classId), "-", "+")
        XCTAssertTrue(audit.contains("settings"), audit)
        XCTAssertTrue(audit.contains("enrol_unknown=approve"), audit)
    }

    func testPatchValidationAndPermissions() {
        let created = createClass()
        let classId = created["class_id"]!.string!
        func patch(_ body: String, as bearer: String? = nil) -> HTTPClientResponse {
            request("PATCH", "/v1/classes/\(classId)", token: bearer ?? teacher, json: body)
        }
        XCTAssertTrue(assertError(patch(#"{}"#), 400, "bad_request").contains("at least one"))
        XCTAssertTrue(assertError(patch(#"{"device_policy":"maybe"}"#), 400, "bad_request").contains("device_policy must be flag or refuse"))
        XCTAssertTrue(assertError(patch(#"{"join_requires":1}"#), 400, "bad_request").contains("join_requires"))
        XCTAssertTrue(assertError(patch(#"{"enrol_unknown":"yes"}"#), 400, "bad_request").contains("enrol_unknown must be refuse or approve"))
        XCTAssertTrue(assertError(patch(#"{"allowed_networks":["nowhere"]}"#), 400, "bad_request").contains("allowed_networks[0]"))
        XCTAssertTrue(assertError(patch(#"{"qr_period_s":20}"#), 400, "bad_request").contains("Unknown field 'qr_period_s'"))
        assertError(patch(#"{"device_policy":"refuse"}"#, as: token(.teacher, "t2")), 403, "forbidden")
        assertError(patch(#"{"device_policy":"refuse"}"#, as: studentToken(created, student: "s1")), 403, "forbidden")
        assertError(request("PATCH", "/v1/classes/nope", token: teacher, json: #"{"device_policy":"refuse"}"#), 404, "not_found")
        // Nothing changed by any of them.
        XCTAssertEqual(json(request("GET", "/v1/classes/\(classId)", token: teacher))["device_policy"], "flag")
        XCTAssertEqual(patch(#"{"device_policy":"refuse"}"#, as: token(.admin, "root")).status, 200)
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher).status, 200)
        assertError(patch(#"{"device_policy":"flag"}"#), 409, "class_closed")
    }
}
