@testable import Attendance
import XCTest

final class CheckinTests: StoreTestCase {
    func testRepeatReturnsFirstResultWithoutEvent() throws {
        let created = try create()
        let first = try checkin("s1", created).get()
        XCTAssertEqual(first.status, .present)
        XCTAssertEqual(first.atMs, clock.nowMs)
        XCTAssertFalse(first.repeated)
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 1)
        let auditLength = streamLength(Keys.audit(created.classId))

        clock.nowMs += 700_000 // past the late threshold: the repeat still answers the first result
        let again = try checkin("s1", created).get()
        XCTAssertEqual(again, CheckinResult(status: .present, atMs: first.atMs, repeated: true))
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 1)
        XCTAssertEqual(streamLength(Keys.audit(created.classId)), auditLength)
    }

    func testLateRule() throws {
        let created = try create(lateAfterS: 600)
        clock.nowMs = created.startMs + 600_000 - 1
        XCTAssertEqual(try checkin("s1", created).get().status, .present)
        clock.nowMs = created.startMs + 600_000
        XCTAssertEqual(try checkin("s2", created).get().status, .late)
        let event = try XCTUnwrap(storedEvents(created.classId).last)
        XCTAssertEqual(String(decoding: event.json, as: UTF8.self),
                       #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(event.id)","event":"checked_in","student_id":"s2","status":"late","at_ms":\#(clock.nowMs),"method":"qr"}"#)
        let immediate = try create(lateAfterS: 0)
        XCTAssertEqual(try checkin("s1", immediate).get().status, .late)
    }

    func testProofErrors() throws {
        let created = try create()
        let stale = currentQR(created)
        clock.nowMs += 31_000
        XCTAssertEqual(checkin("s1", created, proof: .qr(stale)), .failure(.qrExpired))
        XCTAssertEqual(checkin("s1", created, proof: .qr(stale + "x")), .failure(.qrInvalid))
        let other = try create()
        XCTAssertEqual(checkin("s1", created, proof: .qr(currentQR(other))), .failure(.qrInvalid))
        XCTAssertEqual(checkin("s1", created, proof: .code(created.code)), .failure(.forbidden("This class does not accept check-in by code")))
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 0)
    }

    func testWhoMayCheckIn() throws {
        let created = try create()
        let other = try create()
        fail(.forbidden("This token is for another class")) {
            store.checkin(classId: created.classId, actor: student("s1", in: other.classId), proof: .qr(currentQR(created)), address: "x", completion: $0)
        }
        fail(.forbidden("Only students check in")) {
            store.checkin(classId: created.classId, actor: teacher, proof: .qr(currentQR(created)), address: "x", completion: $0)
        }
        XCTAssertEqual(checkin("s9", created), .failure(.notOnRoster))
        fail(.notFound("No such class")) {
            store.checkin(classId: "c_missing", actor: student("s1", in: "c_missing"), proof: .qr("c_missing.1.AAAAAAAAAAAAAAAAAAAAAA"), address: "x", completion: $0)
        }
    }

    func testCodeCheckin() throws {
        let created = try create(allowCode: true)
        var wrong = JoinCode.random()
        while wrong == created.code { wrong = JoinCode.random() }
        XCTAssertEqual(checkin("s1", created, proof: .code(wrong)), .failure(.codeInvalid))
        XCTAssertEqual(checkin("s1", created, proof: .code("abc")), .failure(.codeInvalid))
        XCTAssertEqual(try checkin("s1", created, proof: .code(created.code)).get().status, .present)
        XCTAssertEqual(storedEvents(created.classId).last?.value["method"]?.string, "code")
    }

    func testCheckinAfterTeacherDecisions() throws {
        let created = try create()
        func set(_ id: String, _ status: AttendanceStatus) throws {
            _ = try succeed { store.override(classId: created.classId, studentId: id, status: status, note: nil, actor: teacher, address: "x", completion: $0) }
        }
        try set("s1", .absent)
        try set("s2", .excused)
        try set("s3", .present)
        let setAt = clock.nowMs
        clock.nowMs += 700_000
        let events = streamLength(eventsKey(created.classId))
        // Marked absent before arriving: the arrival counts.
        XCTAssertEqual(try checkin("s1", created).get(), CheckinResult(status: .late, atMs: clock.nowMs, repeated: false))
        // Excused stays excused.
        XCTAssertEqual(checkin("s2", created), .failure(.alreadyCheckedIn))
        // Marked present by the teacher: answered as it is, nothing written.
        XCTAssertEqual(try checkin("s3", created).get(), CheckinResult(status: .present, atMs: setAt, repeated: true))
        XCTAssertEqual(streamLength(eventsKey(created.classId)), events + 1)
    }

    func testResetToUnmarkedAllowsAFreshCheckin() throws {
        let created = try create()
        let first = try checkin("s1", created).get()
        _ = try succeed { store.override(classId: created.classId, studentId: "s1", status: .unmarked, note: nil, actor: teacher, address: "x", completion: $0) }
        let rows = try succeed { store.attendance(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(rows.first?.status, .unmarked)
        XCTAssertNil(rows.first?.atMs)
        clock.nowMs += 700_000
        let second = try checkin("s1", created).get()
        XCTAssertEqual(second, CheckinResult(status: .late, atMs: clock.nowMs, repeated: false))
        XCTAssertNotEqual(second.atMs, first.atMs)
    }

    func testCheckinAfterTheClassEnded() throws {
        let created = try create(durationS: 60)
        clock.nowMs = created.closesAtMs
        XCTAssertEqual(checkin("s1", created), .failure(.classClosed))
        let closed = try create()
        _ = try succeed { store.close(classId: closed.classId, actor: teacher, address: "x", completion: $0) }
        XCTAssertEqual(checkin("s1", closed), .failure(.classClosed))
    }
}
