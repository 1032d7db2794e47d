import Attendance
import EventLoop
import Glibc
import JSON
import TestSupport
import XCTest

/// The hub when Redis misbehaves: a stall, and a stream whose last id is ahead of the clock.
final class RedisFailoverTests: HubTestCase {
    /// After a fail-over to a replica whose clock is behind, the stream's last id (written by the old
    /// primary) is ahead of this server's TIME. Simulated by an XADD with a far-future id, published
    /// as the old primary would have: the next check-in must get a larger offset, and the room that
    /// already delivered the far-future event must deliver it too. Before, the check-in failed
    /// (XADD refused the smaller id) after writing the student's record.
    func testOffsetsKeepIncreasingWhenTheStreamIsAheadOfTheClock() throws {
        let hub = try startHub()
        let created = try createClass()
        let s1 = try join(created, student: "s1")
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)

        let ahead = EventOffset(ms: UInt64(EventLoop.wallClockMs()) + 3_600_000, seq: 5)
        let json = #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(ahead)","event":"status_changed","student_id":"s9","status":"absent","at_ms":1,"by":null,"method":"teacher"}"#
        var added = false
        redis.send(["XADD", Keys.events(created.classId), ahead.description, "e", json, "s", "s9"]) { added = (try? $0.get()) != nil }
        XCTAssertTrue(runLoop(loop) { added })
        publish(Keys.live(created.classId), json)
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "status_changed").count == 1 })

        let phone = connected(hub, token: s1.accessToken)
        let qr = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey).qr
        phone.send(["type": "checkin", "class_id": created.classId, "qr": qr, "id": "a"])
        XCTAssertTrue(runLoop(loop) { !phone.messages(type: "ack").isEmpty || !phone.messages(type: "error").isEmpty })
        XCTAssertEqual(phone.messages(type: "ack").count, 1, "\(phone.messages(type: "error"))")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "checked_in").count == 1 }, "the room delivers it")
        let offset = try XCTUnwrap(EventOffset(dashboard.messages(type: "event", event: "checked_in").first?["offset"]?.string ?? ""))
        XCTAssertGreaterThan(offset, ahead)
    }

    /// SIGSTOP on Redis: /healthz turns 503 within a few seconds (keep-alive + timeout), a
    /// subscribe answers `unavailable` rather than hanging, and after SIGCONT all is back to 200.
    func testHealthzFollowsARedisStall() throws {
        let server = try RedisServer()
        defer { server.stop() }
        let hub = try AttendanceProcess("hub", redis: server, extra: ["--redis-timeout-ms", "1000", "--workers", "1"])
        hubs.append(hub)
        XCTAssertEqual(httpStatus(port: hub.port, path: "/healthz"), 200)

        server.pause()
        defer { server.resume() }
        let deadline = Date().addingTimeInterval(20)
        while httpStatus(port: hub.port, path: "/healthz") != 503, Date() < deadline { usleep(50_000) }
        XCTAssertEqual(httpStatus(port: hub.port, path: "/healthz"), 503)
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        dashboard.send(["type": "subscribe", "class_id": "c_whatever", "id": "s"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { !dashboard.messages(type: "error").isEmpty }, "a subscribe during the stall is answered")
        XCTAssertEqual(dashboard.messages(type: "error").first?["code"]?.string, "unavailable")

        server.resume()
        while httpStatus(port: hub.port, path: "/healthz") != 200, Date() < deadline.addingTimeInterval(20) { usleep(50_000) }
        XCTAssertEqual(httpStatus(port: hub.port, path: "/healthz"), 200)
    }
}
