import Attendance
import EventLoop
import TestSupport
import XCTest

/// After a Redis outage the pub/sub connection can come back before the command connection; the
/// room's replay then fails at first and must be retried until the dashboard has every event.
final class ReplayRetryTests: HubTestCase {
    func testRoomReplayIsRetriedUntilTheCommandConnectionWorksAgain() throws {
        let hub = try startHub()
        let created = try createClass()
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)
        _ = try join(created, student: "s0")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "joined").count == 1 })

        // Both hub connections drop (this test's own is skipped); events are written while the hub
        // is not subscribed; then script calls are refused until the hub has resubscribed and its
        // replay failed, as when the command connection comes back after the pub/sub one.
        defer { _ = RedisServer.shared.cli("ACL", "SETUSER", "default", "+@all") }
        send(["CLIENT", "KILL", "TYPE", "pubsub"])
        send(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"])
        _ = try join(created, student: "s1")
        _ = try join(created, student: "s2")
        send(["ACL", "SETUSER", "default", "-evalsha", "-eval"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { (self.metric(hub, "attendance_hub_replay_retries_total") ?? 0) >= 2 },
                      "the replay did not fail and retry")
        send(["ACL", "SETUSER", "default", "+@all"])
        _ = try join(created, student: "s3")

        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { dashboard.messages(type: "event", event: "joined").count >= 4 })
        runLoop(loop, timeoutMs: 300) { dashboard.messages(type: "event", event: "joined").count > 4 }
        XCTAssertEqual(dashboard.messages(type: "event", event: "joined").map { $0["student_id"]?.string ?? "" }, ["s0", "s1", "s2", "s3"],
                       "every event exactly once, in order")
        XCTAssertNil(dashboard.closeCode)
    }

    private func send(_ command: [String]) {
        var done = false
        redis.send(command) { _ in done = true }
        XCTAssertTrue(runLoop(loop) { done })
    }
}
