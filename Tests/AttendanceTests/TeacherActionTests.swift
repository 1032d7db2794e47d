@testable import Attendance
import TestSupport
import XCTest

final class TeacherActionTests: StoreTestCase {
    func testOverride() throws {
        let created = try create()
        let result = try succeed { store.override(classId: created.classId, studentId: "s1", status: .excused, note: "doctor", actor: teacher, address: "x", completion: $0) }
        XCTAssertEqual(result, OverrideResult(studentId: "s1", status: .excused, atMs: clock.nowMs, changed: true))
        let event = try XCTUnwrap(storedEvents(created.classId).last)
        XCTAssertEqual(String(decoding: event.json, as: UTF8.self),
                       #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(event.id)","event":"status_changed","student_id":"s1","status":"excused","at_ms":\#(clock.nowMs),"by":"t1","method":"override"}"#)
        // Same status again: no event; a note alone is still saved.
        let same = try succeed { store.override(classId: created.classId, studentId: "s1", status: .excused, note: "note 2", actor: teacher, address: "x", completion: $0) }
        XCTAssertFalse(same.changed)
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 1)
        let rows = try succeed { store.attendance(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(rows.first { $0.studentId == "s1" }?.note, "note 2")
        XCTAssertEqual(rows.first { $0.studentId == "s1" }?.by, "t1")

        fail(.notOnRoster) { store.override(classId: created.classId, studentId: "s9", status: .present, note: nil, actor: teacher, address: "x", completion: $0) }
        fail(AttendanceError.notTeacherOfClass) {
            store.override(classId: created.classId, studentId: "s1", status: .present, note: nil, actor: Actor(id: "t2", role: .teacher), address: "x", completion: $0)
        }
        fail(AttendanceError.notTeacherOfClass) {
            store.override(classId: created.classId, studentId: "s1", status: .present, note: nil, actor: student("s1", in: created.classId), address: "x", completion: $0)
        }
        fail(.notFound("No such class")) { store.override(classId: "c_none", studentId: "s1", status: .present, note: nil, actor: teacher, address: "x", completion: $0) }
        XCTAssertNoThrow(try succeed { store.override(classId: created.classId, studentId: "s1", status: .present, note: nil, actor: admin, address: "x", completion: $0) })
        XCTAssertEqual(storedEvents(created.classId).last?.value["by"]?.string, "root")

        // Corrections after the class closed are allowed.
        _ = try succeed { store.close(classId: created.classId, actor: teacher, address: "x", completion: $0) }
        let corrected = try succeed { store.override(classId: created.classId, studentId: "s2", status: .excused, note: nil, actor: teacher, address: "x", completion: $0) }
        XCTAssertTrue(corrected.changed)
    }

    func testBulk() throws {
        let created = try create(roster: ["s1", "s2", "s3", "s4"])
        _ = try checkin("s1", created).get()
        let before = streamLength(eventsKey(created.classId))
        fail(.notOnRoster) { store.bulk(classId: created.classId, target: .students(["s2", "nobody"]), status: .excused, actor: teacher, address: "x", completion: $0) }
        XCTAssertEqual(streamLength(eventsKey(created.classId)), before, "nothing is half-written")
        switch wait({ store.bulk(classId: created.classId, target: .students([]), status: .excused, actor: teacher, address: "x", completion: $0) }) {
        case .failure(.badRequest): break
        default: XCTFail("an empty list is a bad request")
        }

        let listed = try succeed { store.bulk(classId: created.classId, target: .students(["s3", "s2", "s2"]), status: .excused, actor: teacher, address: "x", completion: $0) }
        XCTAssertEqual(listed.changed, ["s2", "s3"])
        let unmarked = try succeed { store.bulk(classId: created.classId, target: .allUnmarked, status: .absent, actor: teacher, address: "x", completion: $0) }
        XCTAssertEqual(unmarked.changed, ["s4"])
        let methods = storedEvents(created.classId).dropFirst(Int(before)).map { $0.value["method"]?.string }
        XCTAssertEqual(methods, ["bulk", "bulk", "bulk"])
        let again = try succeed { store.bulk(classId: created.classId, target: .allUnmarked, status: .absent, actor: teacher, address: "x", completion: $0) }
        XCTAssertEqual(again.changed, [])
    }

    func testCloseMarksUnmarkedAbsent() throws {
        let created = try create(roster: ["s1", "s2", "s3"])
        _ = try checkin("s1", created).get()
        clock.nowMs += 1000
        let closed = try succeed { store.close(classId: created.classId, actor: teacher, address: "x", completion: $0) }
        XCTAssertEqual(closed.markedAbsent, 2)
        XCTAssertEqual(closed.closedAtMs, clock.nowMs)
        let events = storedEvents(created.classId)
        XCTAssertEqual(closed.offset.description, events.last?.id)
        XCTAssertEqual(events.map { $0.value["event"]?.string ?? "" }, ["checked_in", "status_changed", "status_changed", "class_closed"])
        XCTAssertEqual(events[1...2].map { $0.value["student_id"]?.string ?? "" }, ["s2", "s3"])
        XCTAssertEqual(events[1...2].map { $0.value["status"]?.string ?? "" }, ["absent", "absent"])
        XCTAssertEqual(String(decoding: events[3].json, as: UTF8.self),
                       #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(events[3].id)","event":"class_closed","at_ms":\#(clock.nowMs),"by":"t1"}"#)

        let rows = try succeed { store.attendance(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(rows.map(\.status), [.present, .absent, .absent])
        let info = try succeed { store.classInfo(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertFalse(info.isOpen)
        XCTAssertNil(info.code)
        XCTAssertEqual(info.closedAtMs, clock.nowMs)
        XCTAssertEqual(info.counts.absent, 2)

        XCTAssertTrue(runLoop(loop) {
            self.command("EXISTS", Keys.code(created.code))?.int == 0 && self.command("ZSCORE", Keys.closing, created.classId)?.isNull == true
        })
        fail(.classClosed) { store.close(classId: created.classId, actor: teacher, address: "x", completion: $0) }
        fail(AttendanceError.notTeacherOfClass) { store.close(classId: created.classId, actor: Actor(id: "t2", role: .teacher), address: "x", completion: $0) }
        XCTAssertEqual(storedEvents(created.classId).count, 4)
    }
}
