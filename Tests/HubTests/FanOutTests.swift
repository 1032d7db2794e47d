import Attendance
import EventLoop
import JSON
import TestSupport
import WebSocket
import XCTest

final class FanOutTests: HubTestCase {
    /// 200 clients on 10 classes: events published on one class's channel reach exactly its 20
    /// subscribers, each event once, in order.
    func testPublishReachesExactlyTheClassSubscribersOnceInOrder() throws {
        let hub = try startHub()
        var classes: [String] = []
        for _ in 0..<10 { classes.append(try createClass().classId) }
        let teacher = token(.teacher, "t1")
        var byClass: [String: [TestClient]] = [:]
        for i in 0..<200 {
            let classId = classes[i % 10]
            byClass[classId, default: []].append(connect(hub, token: teacher))
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { self.clients.allSatisfy(\.isConnected) })
        for (classId, members) in byClass { for client in members { client.send(["type": "subscribe", "class_id": classId]) } }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { self.clients.allSatisfy { $0.messages(type: "subscribed").count == 1 } })

        let target = classes[3]
        let base = EventLoop.wallClockMs() + 60_000  // offsets beyond anything the class has
        let payloads = (0..<5).map { i in
            #"{"type":"event","class_id":"\#(target)","offset":"\#(base)-\#(i)","event":"checked_in","student_id":"s\#(i)","status":"present","at_ms":\#(base),"method":"qr"}"#
        }
        for payload in payloads { publish(liveChannel(target), payload) }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { byClass[target]!.allSatisfy { $0.messages(type: "event", event: "checked_in").count == 5 } })
        runLoop(loop, timeoutMs: 300) { false }  // anything extra or misrouted would arrive now
        for client in byClass[target]! {
            XCTAssertEqual(client.messages(type: "event").filter { $0["event"]?.string != "qr_rotated" }.count, 5)
            XCTAssertEqual(client.raw.filter { !$0.elementsEqual(#"{"type":"subscribed""#.utf8.prefix(0)) }.compactMap { bytes in
                payloads.firstIndex { Array($0.utf8) == bytes }
            }, [0, 1, 2, 3, 4], "each event once, in order, byte for byte")
        }
        for (classId, members) in byClass where classId != target {
            for client in members { XCTAssertTrue(client.messages(type: "event", event: "checked_in").isEmpty) }
        }
        XCTAssertEqual(metric(hub, "attendance_hub_connections"), 200)
        XCTAssertEqual(metric(hub, "attendance_hub_rooms"), 10)
    }

    /// A burst published in one pipeline arrives in one pub/sub read and is written per turn:
    /// teachers get every event once, in order; students (and a dashboard still loading) get
    /// exactly what their filters allow.
    func testBurstIsDeliveredInOrderToTeachersAndFilteredForStudents() throws {
        let hub = try startHub()
        let created = try createClass()
        let s1 = try join(created, student: "s1")
        let teachers = (0..<5).map { _ in connected(hub, token: token(.teacher, "t1")) }
        for teacher in teachers { subscribe(teacher, created.classId) }
        let student = connected(hub, token: s1.accessToken)
        subscribe(student, created.classId)
        let base = EventLoop.wallClockMs() + 60_000
        var done = 0
        for i in 0..<200 {
            let sid = i % 10 == 0 ? "s1" : "x\(i)"
            let payload = #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(base)-\#(i)","event":"checked_in","student_id":"\#(sid)","status":"present","at_ms":\#(base),"method":"qr"}"#
            redis.send(["SPUBLISH", liveChannel(created.classId), payload]) { _ in done += 1 }
        }
        XCTAssertTrue(runLoop(loop) { done == 200 })
        XCTAssertTrue(runLoop(loop) { teachers.allSatisfy { $0.messages(type: "event", event: "checked_in").count == 200 } })
        XCTAssertTrue(runLoop(loop) { student.messages(type: "event", event: "checked_in").count == 20 })
        runLoop(loop, timeoutMs: 300) { false }
        for teacher in teachers {
            let seqs = teacher.messages(type: "event", event: "checked_in").compactMap { $0["offset"]?.string?.split(separator: "-").last.flatMap { Int($0) } }
            XCTAssertEqual(seqs, Array(0..<200))
        }
        XCTAssertEqual(student.messages(type: "event", event: "checked_in").count, 20)
        XCTAssertTrue(student.messages(type: "event", event: "checked_in").allSatisfy { $0["student_id"]?.string == "s1" })
    }

    /// A student sees only its own events; class-wide ones reach everyone.
    func testStudentsSeeOnlyTheirOwnEvents() throws {
        let hub = try startHub()
        let created = try createClass()
        let s1 = try join(created, student: "s1")
        _ = try join(created, student: "s2")
        let teacher = connected(hub, token: token(.teacher, "t1"))
        let student = connected(hub, token: s1.accessToken)
        let teacherSub = subscribe(teacher, created.classId)
        let studentSub = subscribe(student, created.classId)
        XCTAssertEqual(teacherSub?["snapshot"]?["students"]?.array?.count, 2)
        XCTAssertEqual(studentSub?["snapshot"]?["students"]?.array?.map { $0["student_id"]?.string }, ["s1"])

        let qr = QRToken.current(classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey).qr
        let s2Token = try join(created, student: "s2").accessToken
        let other = connected(hub, token: s2Token)
        other.send(["type": "checkin", "class_id": created.classId, "qr": qr, "id": "c2"])
        XCTAssertTrue(runLoop(loop) { other.messages(type: "ack").count == 1 })
        student.send(["type": "checkin", "class_id": created.classId, "qr": qr, "id": "c1"])
        XCTAssertTrue(runLoop(loop) { student.messages(type: "ack").count == 1 })
        XCTAssertTrue(runLoop(loop) { teacher.messages(type: "event", event: "checked_in").count == 2 })
        runLoop(loop, timeoutMs: 200) { false }
        XCTAssertEqual(student.messages(type: "event", event: "checked_in").map { $0["student_id"]?.string }, ["s1"])
        XCTAssertTrue(student.messages(type: "event", event: "qr_rotated").isEmpty, "QR tokens go to teachers only")

        _ = try wait { store.close(classId: created.classId, actor: Actor(id: "t1", role: .teacher), address: "127.0.0.1", completion: $0) }
        XCTAssertTrue(runLoop(loop) { student.messages(type: "event", event: "class_closed").count == 1 })
        XCTAssertTrue(runLoop(loop) { teacher.messages(type: "event", event: "class_closed").count == 1 })
    }

    /// Teachers get the current QR when they subscribe to an open class.
    func testTeacherReceivesCurrentQR() throws {
        let hub = try startHub()
        let created = try createClass()
        let teacher = connected(hub, token: token(.teacher, "t1"))
        subscribe(teacher, created.classId)
        XCTAssertTrue(runLoop(loop) { !teacher.messages(type: "event", event: "qr_rotated").isEmpty })
        let event = teacher.messages(type: "event", event: "qr_rotated")[0]
        let qr = try XCTUnwrap(event["qr"]?.string)
        XCTAssertEqual(QRToken.verify(qr, classId: created.classId, periodS: created.qrPeriodS, nowMs: EventLoop.wallClockMs(), key: qrKey), .ok)
        XCTAssertGreaterThan(event["expires_ms"]?.int ?? 0, EventLoop.wallClockMs())
        // Ephemeral: no offset, so a client de-duplicating by offset never drops it.
        XCTAssertNil(event["offset"], "qr_rotated carries no offset")
    }

    /// A client that stops reading is cut off with 1013 once its send queue passes the limit;
    /// the hub keeps serving the others.
    func testSlowConsumerIsClosedAndOthersKeepReceiving() throws {
        let hub = try startHub(extra: ["--max-queued-bytes", "65536"])
        let created = try createClass()
        let slow = connected(hub, token: token(.teacher, "t1"))
        let fast = connected(hub, token: token(.teacher, "t1"))
        subscribe(slow, created.classId)
        subscribe(fast, created.classId)
        slow.client!.pauseReading()
        let filler = String(repeating: "x", count: 30_000)
        let base = EventLoop.wallClockMs() + 60_000
        for i in 0..<400 {
            publish(liveChannel(created.classId),
                    #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(base)-\#(i)","event":"joined","student_id":"s\#(i)","name":"\#(filler)"}"#)
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 15000) { fast.messages(type: "event", event: "joined").count == 400 })
        XCTAssertTrue(runLoop(loop, timeoutMs: 5000) { self.metric(hub, "attendance_hub_send_queue_drops_total") == 1 })
        slow.client!.resumeReading()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { slow.closeCode != nil })
        XCTAssertLessThan(slow.messages(type: "event", event: "joined").count, 400)
        XCTAssertEqual(metric(hub, "attendance_hub_connections"), 1)
    }
}
