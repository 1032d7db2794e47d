@testable import Attendance
import JSON
import RedisClient
import TestSupport
import XCTest

final class EventStreamTests: StoreTestCase {
    /// Runs a busy class: joins, check-ins, overrides, bulk, close.
    private func runClass(_ created: CreatedClass) throws {
        for id in ["s1", "s2"] { _ = try succeed { store.join(.code(created.code), studentId: id, name: "N \(id)", address: "x", completion: $0) } }
        _ = try checkin("s1", created).get()
        _ = try succeed { store.override(classId: created.classId, studentId: "s2", status: .excused, note: "ill", actor: teacher, address: "x", completion: $0) }
        _ = try succeed { store.bulk(classId: created.classId, target: .students(["s1", "s3"]), status: .late, actor: teacher, address: "x", completion: $0) }
        _ = try succeed { store.close(classId: created.classId, actor: teacher, address: "x", completion: $0) }
    }

    func testOffsetsIncreaseAndMatchTheStoredJSON() throws {
        let created = try create(roster: ["s1", "s2", "s3", "s4"])
        try runClass(created)
        let events = storedEvents(created.classId)
        XCTAssertEqual(events.map { $0.value["event"]?.string ?? "?" },
                       ["joined", "joined", "checked_in", "status_changed", "status_changed", "status_changed", "status_changed", "class_closed"])
        var previous = EventOffset.zero
        for event in events {
            let offset = try XCTUnwrap(EventOffset(event.id))
            XCTAssertGreaterThan(offset, previous)
            previous = offset
            XCTAssertEqual(event.value["offset"]?.string, event.id)
            XCTAssertEqual(event.value["type"]?.string, "event")
            XCTAssertEqual(event.value["class_id"]?.string, created.classId)
            let header = try XCTUnwrap(EventHeader.parse(event.json))
            XCTAssertEqual(header.offset, offset)
            XCTAssertEqual(header.studentId, event.value["student_id"]?.string)
        }
        // The stream's own last id and the one kept in meta agree.
        XCTAssertEqual(command("HGET", Keys.meta(created.classId), "last_id")?.text, events.last?.id)
        let override = events[3].value
        XCTAssertEqual(override["by"]?.string, "t1")
        XCTAssertEqual(override["method"]?.string, "override")
        XCTAssertEqual(events[6].value["student_id"]?.string, "s4")
        XCTAssertEqual(events[6].value["method"]?.string, "close")
        XCTAssertEqual(events[7].value["by"]?.string, "t1")
    }

    func testPublishedBytesEqualTheStreamEntries() throws {
        let created = try create(roster: ["s1", "s2", "s3", "s4"])
        let subscriber = RedisSubscriber(loop: loop, configuration: RedisConfiguration(host: server.host, port: server.port), logger: logger)
        var messages: [[UInt8]] = []
        subscriber.onMessage = { channel, payload in
            if channel == liveChannel(created.classId) { messages.append(Array(payload)) }
        }
        var confirmed = false
        subscriber.subscribe(liveChannel(created.classId)) { confirmed = true }
        subscriber.connect()
        XCTAssertTrue(runLoop(loop) { confirmed })
        defer { subscriber.close() }

        try runClass(created)
        XCTAssertTrue(runLoop(loop) { messages.count == 8 })
        XCTAssertEqual(messages, storedEvents(created.classId).map(\.json))
    }

    func testSnapshotAndEventsSince() throws {
        let created = try create(roster: ["s1", "s2", "s3"])
        _ = try succeed { store.join(.code(created.code), studentId: "s1", name: "Ann", address: "x", completion: $0) }
        _ = try checkin("s1", created).get()
        let snapshot = try succeed { store.snapshot(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(snapshot.offset.description, storedEvents(created.classId).last?.id)
        XCTAssertFalse(snapshot.isClosed)
        XCTAssertEqual(snapshot.students, [
            StudentRecord(studentId: "s1", name: "Ann", status: .present, atMs: clock.nowMs, method: "qr", by: nil, note: nil),
            StudentRecord(studentId: "s2", name: nil, status: .unmarked, atMs: nil, method: nil, by: nil, note: nil),
            StudentRecord(studentId: "s3", name: nil, status: .unmarked, atMs: nil, method: nil, by: nil, note: nil),
        ])

        _ = try checkin("s2", created).get()
        _ = try succeed { store.close(classId: created.classId, actor: teacher, address: "x", completion: $0) }
        let all = storedEvents(created.classId)
        let after = try succeed { store.events(classId: created.classId, since: snapshot.offset, actor: teacher, completion: $0) }
        XCTAssertEqual(after.events.map(\.json), all.dropFirst(2).map(\.json))
        XCTAssertEqual(after.next?.description, all.last?.id)
        XCTAssertFalse(after.mayHaveMore)
        let everything = try succeed { store.events(classId: created.classId, since: nil, actor: admin, completion: $0) }
        XCTAssertEqual(everything.events.count, all.count)
        let paged = try succeed { store.events(classId: created.classId, since: .zero, limit: 2, actor: teacher, completion: $0) }
        XCTAssertEqual(paged.events.map(\.offset.description), all.prefix(2).map(\.id))
        XCTAssertTrue(paged.mayHaveMore)
        let end = try succeed { store.events(classId: created.classId, since: after.next, actor: teacher, completion: $0) }
        XCTAssertEqual(end, EventPage(events: [], next: nil, mayHaveMore: false))
        let maxed = try succeed { store.events(classId: created.classId, since: EventOffset(ms: 1, seq: .max), actor: teacher, completion: $0) }
        XCTAssertEqual(maxed.events.count, all.count)

        // A student sees its own events and the class-wide ones, and only its own row.
        let mine = try succeed { store.events(classId: created.classId, since: nil, actor: student("s2", in: created.classId), completion: $0) }
        XCTAssertEqual(mine.events.compactMap { EventHeader.parse($0.json)?.studentId ?? "class" }, ["s2", "class"])
        let ownRow = try succeed { store.snapshot(classId: created.classId, actor: student("s2", in: created.classId), completion: $0) }
        XCTAssertEqual(ownRow.students.map(\.studentId), ["s2"])
        XCTAssertTrue(ownRow.isClosed)
        fail(.forbidden("This token is for another class")) {
            store.events(classId: created.classId, since: nil, actor: student("s2", in: "c_other"), completion: $0)
        }
        fail(AttendanceError.notTeacherOfClass) {
            store.events(classId: created.classId, since: nil, actor: Actor(id: "t2", role: .teacher), completion: $0)
        }
    }

    func testAttendanceList() throws {
        let created = try create(roster: ["s2", "s1"])
        _ = try checkin("s1", created).get()
        let rows = try succeed { store.attendance(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(rows.map(\.studentId), ["s1", "s2"])
        XCTAssertEqual(rows.map(\.status), [.present, .unmarked])
        fail(AttendanceError.notTeacherOfClass) { store.attendance(classId: created.classId, actor: student("s1", in: created.classId), completion: $0) }
    }
}
