import Attendance
import EventLoop
import JSON
import TestSupport
import XCTest

/// Wrong codes over the WebSocket count against the address like REST failures do (one counter in
/// Redis for hub and api), with the default limit of the `attendance hub` command.
final class FailureLimitTests: HubTestCase {
    func testEleventhWrongCodeOverTheWebSocketIsRateLimited() throws {
        let key = Keys.failures(address: "127.0.0.1")
        RedisServer.shared.cli("DEL", key)
        // Other tests check in from 127.0.0.1 too.
        defer { RedisServer.shared.cli("DEL", key) }
        let hub = try startHub()
        let created = try createClass(allowCode: true)
        let student = try join(created, student: "s1")
        let phone = connected(hub, token: student.accessToken)
        let wrong = created.code == "000000" ? "000001" : "000000"
        for attempt in 1...10 {
            phone.send(["type": "checkin", "class_id": created.classId, "code": wrong, "id": "\(attempt)"])
            XCTAssertTrue(runLoop(loop) { phone.messages(type: "error").count == attempt })
        }
        XCTAssertEqual(Set(phone.messages(type: "error").map { $0["code"]?.string ?? "" }), ["code_invalid"])
        phone.send(["type": "checkin", "class_id": created.classId, "code": wrong, "id": "11"])
        // Over the limit even the right code is refused, or guessing would just go on.
        phone.send(["type": "checkin", "class_id": created.classId, "code": created.code, "id": "12"])
        XCTAssertTrue(runLoop(loop) { phone.messages(type: "error").count == 12 })
        let limited = phone.messages(type: "error").suffix(2)
        XCTAssertEqual(limited.map { $0["code"]?.string ?? "" }, ["rate_limited", "rate_limited"])
        XCTAssertEqual(limited.map { $0["id"]?.string ?? "" }, ["11", "12"])
        XCTAssertTrue(limited.first?["message"]?.string?.contains("try again in") == true)
        XCTAssertEqual(phone.messages(type: "ack").count, 0)
        XCTAssertEqual(RedisServer.shared.cli("GET", key), "10", "refused attempts are not counted again")
    }
}
