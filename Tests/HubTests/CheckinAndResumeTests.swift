import Attendance
import EventLoop
import JSON
import TestSupport
import WebSocket
import XCTest

final class CheckinAndResumeTests: HubTestCase {
    private func currentQR(_ created: CreatedClass) -> String {
        QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey).qr
    }

    /// A student checks in over the WebSocket: ack to the student, `checked_in` to the dashboard,
    /// and a repeat returns the first result without a second event.
    func testCheckinAckAndDashboardEventIdempotent() throws {
        let hub = try startHub()
        let created = try createClass()
        let s1 = try join(created, student: "s1")
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)
        let phone = connected(hub, token: s1.accessToken)
        phone.send(["type": "checkin", "class_id": created.classId, "qr": currentQR(created), "id": "a"])
        XCTAssertTrue(runLoop(loop) { phone.messages(type: "ack").count == 1 })
        let ack = phone.messages(type: "ack")[0]
        XCTAssertEqual(ack["status"]?.string, "present")
        XCTAssertEqual(ack["id"]?.string, "a")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "checked_in").count == 1 })
        let event = dashboard.messages(type: "event", event: "checked_in")[0]
        XCTAssertEqual(event["student_id"]?.string, "s1")
        XCTAssertEqual(event["at_ms"]?.int, ack["at_ms"]?.int)
        XCTAssertEqual(event["method"]?.string, "qr")

        phone.send(["type": "checkin", "class_id": created.classId, "qr": currentQR(created), "id": "b"])
        XCTAssertTrue(runLoop(loop) { phone.messages(type: "ack").count == 2 })
        XCTAssertEqual(phone.messages(type: "ack")[1]["at_ms"]?.int, ack["at_ms"]?.int, "a repeat returns the first result")
        runLoop(loop, timeoutMs: 300) { false }
        XCTAssertEqual(dashboard.messages(type: "event", event: "checked_in").count, 1)

        // Bad proofs get their PROTOCOL error codes.
        let forgedQR = "\(created.classId).\(EventLoop.wallClockMs() / 1000 / Int64(created.qrPeriodS)).AAAAAAAAAAAAAAAAAAAAAA"
        let s2 = try join(created, student: "s2")
        let other = connected(hub, token: s2.accessToken)
        other.send(["type": "checkin", "class_id": created.classId, "qr": forgedQR, "id": "x"])
        let window = EventLoop.wallClockMs() / 1000 / Int64(created.qrPeriodS)
        other.send(["type": "checkin", "class_id": created.classId, "qr": QRToken.make(classId: created.classId, window: window - 2, key: qrKey), "id": "y"])
        XCTAssertTrue(runLoop(loop) { other.messages(type: "error").count == 2 })
        XCTAssertEqual(other.messages(type: "error").map { $0["code"]?.string ?? "" }, ["qr_invalid", "qr_expired"])
    }

    /// Two hub processes on one Redis: a check-in through one reaches the dashboards on both.
    func testTwoHubsBothDeliverACheckin() throws {
        let hubA = try startHub()
        let hubB = try startHub()
        let created = try createClass()
        let s1 = try join(created, student: "s1")
        let onA = connected(hubA, token: token(.teacher, "t1"))
        let onB = connected(hubB, token: token(.teacher, "t1"))
        subscribe(onA, created.classId)
        subscribe(onB, created.classId)
        let phone = connected(hubA, token: s1.accessToken)
        phone.send(["type": "checkin", "class_id": created.classId, "qr": currentQR(created), "id": "1"])
        XCTAssertTrue(runLoop(loop) { phone.messages(type: "ack").count == 1 })
        XCTAssertTrue(runLoop(loop) {
            onA.messages(type: "event", event: "checked_in").count == 1 && onB.messages(type: "event", event: "checked_in").count == 1
        })
        XCTAssertEqual(onA.raw.last, onB.raw.last, "the same event bytes")
    }

    /// A dashboard resumes with `since` after the hub restarted: it gets exactly the events it
    /// missed (published while no hub ran), then live ones, none lost, none repeated.
    func testResumeWithSinceAcrossHubRestart() throws {
        let hub = try startHub()
        let created = try createClass(roster: (1...6).map { "s\($0)" })
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        let subscribed = try XCTUnwrap(subscribe(dashboard, created.classId))
        var lastOffset = try XCTUnwrap(subscribed["offset"]?.string)
        _ = try join(created, student: "s1")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "joined").count == 1 })
        lastOffset = dashboard.messages(type: "event", event: "joined")[0]["offset"]!.string!

        hub.stop()
        XCTAssertTrue(runLoop(loop) { dashboard.closeCode != nil })
        XCTAssertEqual(dashboard.closeCode, WebSocketCloseCode.goingAway)
        // Events while no hub is running.
        for s in ["s2", "s3", "s4"] { _ = try join(created, student: s) }
        try hub.start()

        let resumed = connected(hub, token: token(.teacher, "t1"))
        let reply = try XCTUnwrap(subscribe(resumed, created.classId, since: lastOffset))
        XCTAssertEqual(reply["offset"]?.string, lastOffset)
        XCTAssertNil(reply["snapshot"])
        XCTAssertTrue(runLoop(loop) { resumed.messages(type: "event", event: "joined").count == 3 })
        // Live events after the replay.
        for s in ["s5", "s6"] { _ = try join(created, student: s) }
        XCTAssertTrue(runLoop(loop) { resumed.messages(type: "event", event: "joined").count == 5 })
        runLoop(loop, timeoutMs: 300) { false }
        let joined = resumed.messages(type: "event", event: "joined")
        XCTAssertEqual(joined.map { $0["student_id"]?.string ?? "" }, ["s2", "s3", "s4", "s5", "s6"])
        let offsets = joined.compactMap { $0["offset"]?.string.flatMap(EventOffset.init) }
        XCTAssertEqual(offsets, offsets.sorted())
        XCTAssertEqual(Set(offsets).count, 5, "no event repeated")
    }

    /// Events published while a subscription is being set up are neither lost nor repeated.
    func testEventsDuringSubscribeAreNotLostOrRepeated() throws {
        let hub = try startHub()
        let created = try createClass()
        let dashboards = (0..<20).map { _ in connect(hub, token: token(.teacher, "t1")) }
        XCTAssertTrue(runLoop(loop) { dashboards.allSatisfy(\.isConnected) })
        // Students join while the dashboards subscribe, interleaved.
        var joins = 0
        for (i, dashboard) in dashboards.enumerated() {
            dashboard.send(["type": "subscribe", "class_id": created.classId])
            store.join(.code(created.code), studentId: "s\(i)", name: nil, address: "127.0.0.1") { if case .success = $0 { joins += 1 } }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { joins == 20 && dashboards.allSatisfy { !$0.messages(type: "subscribed").isEmpty } })
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) {
            dashboards.allSatisfy { d in
                let seen = Set(d.messages(type: "event", event: "joined").compactMap { $0["student_id"]?.string })
                let snap = Set(d.messages(type: "subscribed")[0]["snapshot"]?["students"]?.array?.compactMap { $0["student_id"]?.string } ?? [])
                return seen.union(snap).count == 20
            }
        })
        for d in dashboards {
            let events = d.messages(type: "event", event: "joined").compactMap { $0["student_id"]?.string }
            let snap = Set(d.messages(type: "subscribed")[0]["snapshot"]?["students"]?.array?.compactMap { $0["student_id"]?.string } ?? [])
            XCTAssertEqual(Set(events).count, events.count, "no repeats")
            XCTAssertTrue(snap.isDisjoint(with: events), "an event in the snapshot is not sent again")
        }
    }
}

final class RedisOutageTests: HubTestCase {
    /// The hub's pub/sub connection drops; events written meanwhile are replayed from the class
    /// stream after the reconnect, in order, once; live events follow.
    func testEventsDuringPubSubOutageAreReplayed() throws {
        let hub = try startHub()
        let created = try createClass()
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        subscribe(dashboard, created.classId)
        _ = try join(created, student: "s0")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "joined").count == 1 })

        var killed: Int64 = 0
        redis.send(["CLIENT", "KILL", "TYPE", "pubsub"]) { killed = (try? $0.get().int) ?? -1 }
        XCTAssertTrue(runLoop(loop) { killed != 0 })
        XCTAssertGreaterThanOrEqual(killed, 1)
        // Written while the hub has no subscription (its reconnect waits at least 50 ms).
        _ = try join(created, student: "s1")
        _ = try join(created, student: "s2")
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { dashboard.messages(type: "event", event: "joined").count == 3 })
        _ = try join(created, student: "s3")
        XCTAssertTrue(runLoop(loop) { dashboard.messages(type: "event", event: "joined").count == 4 })
        runLoop(loop, timeoutMs: 300) { false }
        XCTAssertEqual(dashboard.messages(type: "event", event: "joined").map { $0["student_id"]?.string ?? "" }, ["s0", "s1", "s2", "s3"])
        XCTAssertGreaterThanOrEqual(metric(hub, "attendance_hub_redis_reconnects_total") ?? 0, 1)
        XCTAssertNil(dashboard.closeCode)
    }
}

final class RedisDownTests: HubTestCase {
    /// While Redis is unreachable the hub says so: /healthz 503, subscribe and check-in answer
    /// `unavailable`; connected clients stay connected and everything works again once it is back.
    func testRedisDownAnswersUnavailableAndRecovers() throws {
        let privateRedis = try RedisServer()
        defer { privateRedis.stop() }
        let hub = try AttendanceProcess("hub", redis: privateRedis)
        hubs.append(hub)
        let client = connected(hub, token: token(.teacher, "t1"))
        privateRedis.stop()
        XCTAssertTrue(runLoop(loop, timeoutMs: 5000) { httpStatus(port: hub.port, path: "/healthz") == 503 })
        client.send(["type": "subscribe", "class_id": "c1", "id": "x"])
        XCTAssertTrue(runLoop(loop) { !client.messages(type: "error").isEmpty })
        XCTAssertEqual(client.messages(type: "error")[0]["code"]?.string, "unavailable")
        XCTAssertEqual(client.messages(type: "error")[0]["id"]?.string, "x")
        try privateRedis.start()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { httpStatus(port: hub.port, path: "/healthz") == 200 })
        client.send(["type": "ping", "id": "p"])
        XCTAssertTrue(runLoop(loop) { client.messages(type: "pong").count == 1 })
        XCTAssertNil(client.closeCode)
    }
}

final class SlowReplayTests: HubTestCase {
    /// A long replay to a client that reads slowly is paced by its reading instead of overflowing
    /// its send queue: the client gets every event and is not cut off.
    func testLongReplayIsPacedForASlowReader() throws {
        let hub = try startHub(extra: ["--max-queued-bytes", "262144"])
        let created = try createClass()
        // About 4 MB of events: 16 times the send-queue limit below.
        let total = 20_000
        try addJoins(created, prefix: "s", count: total)
        let dashboard = connected(hub, token: token(.teacher, "t1"))
        dashboard.send(["type": "subscribe", "class_id": created.classId, "since": "0-0", "id": "r"])
        dashboard.client!.pauseReading()
        runLoop(loop, timeoutMs: 1500) { false }
        dashboard.client!.resumeReading()
        XCTAssertTrue(runLoop(loop, timeoutMs: 30000) { dashboard.messages(type: "event", event: "joined").count == total || dashboard.closeCode != nil })
        XCTAssertNil(dashboard.closeCode)
        XCTAssertEqual(dashboard.messages(type: "event", event: "joined").count, total)
        XCTAssertEqual(metric(hub, "attendance_hub_send_queue_drops_total"), 0)
    }
}
