import Attendance
import EventLoop
import JSON
import TestSupport
import XCTest

/// A replay paced for a client that stopped reading must end with its subscription: no callback of
/// a closed room (or a later room of another class) may run it.
final class ReplayLifetimeTests: HubTestCase {
    func testUnsubscribeDuringPacedReplayNeitherCrashesNorReplaysAnotherClass() throws {
        let hub = try startHub()
        let paced = try createClass()
        try addJoins(paced, prefix: "s", count: 20_000)
        // A client with a small receive window that reads nothing: its replay fills the hub's queue.
        let reader = try XCTUnwrap(RawWebSocketClient(port: hub.port, token: token(.teacher, "t1"), receiveBuffer: 4096))
        reader.sendText(#"{"type":"subscribe","class_id":"\#(paced.classId)","since":"0-0","id":"r"}"#)
        XCTAssertTrue(waitFor { (self.metric(hub, "attendance_hub_replay_pauses_total") ?? 0) >= 1 }, "the replay was never paced")
        reader.sendText(#"{"type":"unsubscribe","class_id":"\#(paced.classId)"}"#)
        XCTAssertTrue(waitFor { self.metric(hub, "attendance_hub_rooms") == 0 }, "the room did not close")

        // A new room (likely in the freed room's memory) for another class with a stored history.
        let other = try createClass()
        try addJoins(other, prefix: "s", count: 3)
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        XCTAssertNotNil(subscribe(dashboard, other.classId))
        let scriptCalls = evalshaCalls()

        // The reader drains its queue; the hub must not resume the cancelled replay.
        reader.sendText(#"{"type":"ping","id":"after"}"#)
        let read = reader.readUntil(#""id":"after""#, timeoutMs: 60_000)
        XCTAssertNotNil(read, "the reader never got its pong (hub crashed?)")
        XCTAssertFalse(read?.contains { $0.contains(other.classId) } ?? true)
        // Nothing to wait for but the absence of a resumed replay: give a stray one time to show.
        runLoop(loop, timeoutMs: 1000) { self.evalshaCalls() != scriptCalls }
        XCTAssertEqual(evalshaCalls(), scriptCalls, "a cancelled replay read from Redis")
        XCTAssertEqual(httpStatus(port: hub.port, path: "/healthz"), 200, "the hub died")
        dashboard.send(["type": "ping", "id": "alive"])
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "pong").count == 1 })
        reader.close()
    }

    /// subscribe → unsubscribe → subscribe in one burst: the first room closes and a new one is made
    /// for the same class; nothing of the first (its confirmation, its snapshot) reaches the second.
    func testResubscribeToTheSameClassGetsOneAnswerAndEveryEventOnce() throws {
        let hub = try startHub()
        let created = try createClass()
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        for round in 0..<20 {
            dashboard.send(["type": "subscribe", "class_id": created.classId, "id": "a\(round)"])
            dashboard.send(["type": "unsubscribe", "class_id": created.classId])
        }
        dashboard.send(["type": "subscribe", "class_id": created.classId, "id": "last"])
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "subscribed").contains { $0["id"]?.string == "last" } })
        _ = try join(created, student: "s0")
        _ = try join(created, student: "s1")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "joined").count >= 2 })
        dashboard.send(["type": "ping", "id": "end"])
        XCTAssertTrue(runLoop(loop) { !dashboard.messages(type: "pong").isEmpty })
        XCTAssertEqual(dashboard.messages(type: "event", event: "joined").map { $0["student_id"]?.string ?? "" }, ["s0", "s1"])
        XCTAssertTrue(dashboard.messages(type: "error").isEmpty, "\(dashboard.messages(type: "error"))")
        XCTAssertEqual(metric(hub, "attendance_hub_rooms"), 1)
        XCTAssertNil(dashboard.closeCode)
    }

    // MARK: helpers


    func waitFor(timeoutMs: Int = 20_000, _ condition: @escaping () -> Bool) -> Bool {
        runLoop(loop, timeoutMs: timeoutMs) { condition() }
    }

    func evalshaCalls() -> Int {
        let info = RedisServer.shared.cli("INFO", "commandstats")
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_evalsha:calls=") {
            return Int(line.dropFirst("cmdstat_evalsha:calls=".count).prefix { $0.isNumber }) ?? -1
        }
        return 0
    }
}
