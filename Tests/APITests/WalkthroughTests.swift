import Attendance
import HTTP
import JSON
import TestSupport
import XCTest

final class WalkthroughTests: APITestCase {
    /// The whole flow over REST: the teacher creates a class and shows its QR, a student joins by
    /// code and checks in by scanning it, and the teacher's list shows the student present.
    func testTeacherToStudentWalkthrough() throws {
        let created = createClass(#"{"name":"Physics 101","roster":["s1","s2"]}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)
        let code = try XCTUnwrap(created["code"]?.string)

        let joined = request("POST", "/v1/join", json: #"{"code":"\#(code)","student_id":"s1","name":"Ann"}"#)
        XCTAssertEqual(joined.status, 200, joined.bodyText)
        let studentToken = try XCTUnwrap(json(joined)["access_token"]?.string)
        XCTAssertEqual(json(joined)["status"], "unmarked")

        // What the projector shows: the QR image encodes the check-in URL with the current token.
        let shown = json(request("GET", "/v1/classes/\(classId)/qr", token: teacher))
        let qr = try XCTUnwrap(shown["qr"]?.string)
        XCTAssertEqual(shown["url"]?.string, "\(publicURL)/checkin?qr=\(qr)")
        XCTAssertEqual(request("GET", "/v1/classes/\(classId)/qr?format=svg", token: teacher).status, 200)
        XCTAssertEqual(request("GET", "/checkin?qr=\(qr)").status, 200, "the page the QR opens")

        let checkin = request("POST", "/v1/classes/\(classId)/checkins", token: studentToken, json: #"{"qr":"\#(qr)"}"#)
        XCTAssertEqual(checkin.status, 200, checkin.bodyText)
        XCTAssertEqual(json(checkin)["status"], "present")

        let list = json(request("GET", "/v1/classes/\(classId)/attendance", token: teacher))["students"]!.array!
        let s1 = try XCTUnwrap(list.first { $0["student_id"] == "s1" })
        XCTAssertEqual(s1["status"], "present")
        XCTAssertEqual(s1["name"], "Ann")
        XCTAssertEqual(s1["method"], "qr")
        XCTAssertEqual(s1["at_ms"], json(checkin)["at_ms"])
        XCTAssertEqual(list.first { $0["student_id"] == "s2" }?["status"], "unmarked")
        let info = json(request("GET", "/v1/classes/\(classId)", token: teacher))
        XCTAssertEqual(info["counts"]?["present"], 1)
        XCTAssertEqual(info["counts"]?["unmarked"], 1)

        let closed = json(request("POST", "/v1/classes/\(classId)/close", token: teacher))
        XCTAssertEqual(closed["marked_absent"], 1)
        let csv = request("GET", "/v1/classes/\(classId)/attendance?format=csv", token: teacher).bodyText
        XCTAssertNotNil(csv.firstRange(of: try Regex(#"s1,Ann,present,\#(s1["at_ms"]!.int!),qr,,,,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\r\n"#)), csv)
        XCTAssertTrue(csv.contains("s2,,absent,"), csv)
    }

    /// The dashboard's view: REST writes reach a teacher subscribed on a real hub, and a reconnect
    /// with `since` resumes without losing or repeating events.
    func testRESTWritesReachTheDashboardThroughTheHub() throws {
        let hub = try AttendanceProcess("hub", redis: RedisServer.shared)
        defer { hub.stop() }
        let created = createClass(#"{"name":"Live"}"#)
        let classId = try XCTUnwrap(created["class_id"]?.string)

        let dashboard = TestClient.connect(loop: loop, port: hub.port, token: teacher)
        defer { dashboard.client?.disconnect() }
        XCTAssertTrue(runLoop(loop) { dashboard.isConnected || dashboard.closeCode != nil })
        dashboard.send(["type": "subscribe", "class_id": classId, "id": "sub"])
        XCTAssertTrue(runLoop(loop) { !dashboard.messages(type: "subscribed").isEmpty })
        XCTAssertEqual(dashboard.messages(type: "subscribed").first?["snapshot"]?["students"], [])

        let joined = json(join(#""code":"\#(created["code"]!.string!)""#, student: "s1", name: "Ann"))
        let studentToken = try XCTUnwrap(joined["access_token"]?.string)
        XCTAssertTrue(runLoop(loop) { !dashboard.messages(type: "event", event: "joined").isEmpty })
        let joinedEvent = try XCTUnwrap(dashboard.messages(type: "event", event: "joined").first)
        XCTAssertEqual(joinedEvent["student_id"], "s1")
        XCTAssertEqual(joinedEvent["name"], "Ann")

        // The dashboard drops; meanwhile the student checks in; it resumes after its last offset.
        dashboard.client?.disconnect()
        XCTAssertTrue(runLoop(loop) { dashboard.closeCode != nil })
        let checkin = request("POST", "/v1/classes/\(classId)/checkins", token: studentToken, json: #"{"qr":"\#(created["qr"]!.string!)"}"#)
        XCTAssertEqual(checkin.status, 200)

        let resumed = TestClient.connect(loop: loop, port: hub.port, token: teacher)
        defer { resumed.client?.disconnect() }
        XCTAssertTrue(runLoop(loop) { resumed.isConnected || resumed.closeCode != nil })
        resumed.send(["type": "subscribe", "class_id": classId, "id": "sub", "since": joinedEvent["offset"]!.string!])
        XCTAssertTrue(runLoop(loop) { !resumed.messages(type: "event", event: "checked_in").isEmpty })
        let events = resumed.messages(type: "event").filter { $0["event"] != "qr_rotated" }
        XCTAssertEqual(events.map { $0["event"]!.string! }, ["checked_in"], "nothing lost, nothing repeated")
        XCTAssertEqual(events.first?["status"], "present")
        XCTAssertEqual(events.first?["at_ms"], json(checkin)["at_ms"])
        // The REST log holds the same events the hub sent.
        let log = json(request("GET", "/v1/classes/\(classId)/events?since=\(joinedEvent["offset"]!.string!)", token: teacher))
        XCTAssertEqual(log["events"]?.array?.first, events.first)
    }
}
