import Attendance
import EventLoop
import JSON
import TestSupport
import XCTest

/// Live events held back while a subscription or a room loads are bounded; past the bound they are
/// dropped and read again from the class stream, so nothing is lost and nothing repeats.
final class HeldEventsBoundTests: HubTestCase {
    /// A `since` replay paused for a client that does not read, while live events keep coming.
    func testSubscriptionPendingOverflowRereadsFromTheStream() throws {
        let hub = try startHub(extra: ["--max-held-events", "5"])
        let created = try createClass()
        let history = 20_000
        try addJoins(created, prefix: "h", count: history)
        let reader = try XCTUnwrap(RawWebSocketClient(port: hub.port, token: token(.teacher, "t1"), receiveBuffer: 4096))
        reader.sendText(#"{"type":"subscribe","class_id":"\#(created.classId)","since":"0-0","id":"r"}"#)
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { (self.metric(hub, "attendance_hub_replay_pauses_total") ?? 0) >= 1 })
        try addJoins(created, prefix: "live", count: 12)
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { (self.metric(hub, "attendance_hub_held_overflows_total") ?? 0) >= 1 },
                      "pending live events were not bounded")

        var students: [String] = []
        var offsets: [String] = []
        let deadline = Date().addingTimeInterval(120)
        while students.count < history + 12, Date() < deadline, let message = reader.readMessage(timeoutMs: 5000) {
            guard let json = try? JSON.parse(message.payload), json["type"]?.string == "event" else { continue }
            students.append(json["student_id"]?.string ?? "")
            offsets.append(json["offset"]?.string ?? "")
        }
        XCTAssertEqual(students.count, history + 12)
        XCTAssertEqual(Set(students).count, students.count, "no event twice")
        XCTAssertEqual(Array(students.suffix(12)), (0..<12).map { "live\($0)" })
        let parsed = offsets.compactMap { EventOffset($0) }
        XCTAssertEqual(parsed.count, offsets.count)
        XCTAssertTrue(zip(parsed, parsed.dropFirst()).allSatisfy { $0 < $1 }, "in stream order")
        reader.close()
    }

    /// A room replay after a Redis reconnect that cannot finish (script calls refused) while live
    /// events keep arriving on pub/sub.
    func testRoomHeldOverflowRereadsFromTheStream() throws {
        let hub = try startHub(extra: ["--max-held-events", "5"])
        let created = try createClass()
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)
        _ = try join(created, student: "s0")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "joined").count == 1 })

        defer { _ = RedisServer.shared.cli("ACL", "SETUSER", "default", "+@all") }
        send(["CLIENT", "KILL", "TYPE", "pubsub"])
        send(["ACL", "SETUSER", "default", "-evalsha", "-eval"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { (self.metric(hub, "attendance_hub_replay_retries_total") ?? 0) >= 1 })
        // Events as the class scripts write them (stream entry + publish), without a script call.
        let base = UInt64(EventLoop.wallClockMs())
        for i in 0..<12 {
            let offset = "\(base)-\(i)"
            let json = #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(offset)","event":"joined","student_id":"x\#(i)","name":"X","status":"unmarked"}"#
            send(["XADD", Keys.events(created.classId), offset, "e", json, "s", "x\(i)"])
            send(["SPUBLISH", Keys.live(created.classId), json])
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { (self.metric(hub, "attendance_hub_held_overflows_total") ?? 0) >= 1 },
                      "held live events were not bounded")
        send(["ACL", "SETUSER", "default", "+@all"])

        let expected = ["s0"] + (0..<12).map { "x\($0)" }
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { dashboard.messages(type: "event", event: "joined").count >= expected.count })
        runLoop(loop, timeoutMs: 300) { dashboard.messages(type: "event", event: "joined").count > expected.count }
        XCTAssertEqual(dashboard.messages(type: "event", event: "joined").map { $0["student_id"]?.string ?? "" }, expected,
                       "every event exactly once, in order")
    }

    // MARK: helpers

    private func send(_ command: [String]) {
        var done = false
        redis.send(command) { _ in done = true }
        XCTAssertTrue(runLoop(loop) { done })
    }
}
