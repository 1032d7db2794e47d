@testable import Attendance
import JSON
import TestSupport
import XCTest

final class JoinTests: StoreTestCase {
    func testJoinByCodeIssuesStudentTokenAndOneJoinedEvent() throws {
        let created = try create()
        let joined = try succeed { store.join(.code(created.code), studentId: "s1", name: "Ann \"A\" / é", address: "10.0.0.9", completion: $0) }
        XCTAssertEqual(joined.classId, created.classId)
        XCTAssertEqual(joined.status, .unmarked)
        XCTAssertNil(joined.atMs)
        let claims = try signer.verify(joined.accessToken, nowS: clock.nowMs / 1000).get()
        XCTAssertEqual(claims.sub, "s1")
        XCTAssertEqual(claims.role, .student)
        XCTAssertEqual(claims.cls, created.classId)
        XCTAssertGreaterThan(claims.exp, created.closesAtMs / 1000)

        let events = storedEvents(created.classId)
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(String(decoding: events[0].json, as: UTF8.self),
                       #"{"type":"event","class_id":"\#(created.classId)","offset":"\#(events[0].id)","event":"joined","student_id":"s1","name":"Ann \"A\" \/ é","status":"unmarked","at_ms":\#(clock.nowMs)}"#)
        XCTAssertEqual(events[0].value["name"]?.string, "Ann \"A\" / é")

        // Rejoining: a fresh token, no second event.
        let again = try succeed { store.join(.code(created.code), studentId: "s1", name: nil, address: "x", completion: $0) }
        XCTAssertEqual(again.status, .unmarked)
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 1)
        let audit = command("XRANGE", Keys.audit(created.classId), "-", "+")?.array ?? []
        XCTAssertTrue(audit.contains { $0.array?[1].array?.contains(.string(Array("10.0.0.9".utf8))) == true })
    }

    func testJoinErrors() throws {
        let created = try create()
        fail(.codeInvalid) { store.join(.code("12345"), studentId: "s1", name: nil, address: "x", completion: $0) }
        var unknown = JoinCode.random()
        while command("EXISTS", Keys.code(unknown))?.int == 1 { unknown = JoinCode.random() }
        fail(.codeInvalid) { store.join(.code(unknown), studentId: "s1", name: nil, address: "x", completion: $0) }
        // No roster oracle: an unknown id answers like a wrong code.
        fail(.codeInvalid) { store.join(.code(created.code), studentId: "s9", name: nil, address: "x", completion: $0) }
        switch wait({ store.join(.code(created.code), studentId: "bad id", name: nil, address: "x", completion: $0) }) {
        case .failure(.badRequest): break
        default: XCTFail("an invalid student_id must be a bad request")
        }
        switch wait({ store.join(.code(created.code), studentId: "s1", name: "a\nb", address: "x", completion: $0) }) {
        case .failure(.badRequest): break
        default: XCTFail("a name with control characters must be a bad request")
        }
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 0)
    }

    func testJoinByLink() throws {
        let created = try create()
        let joined = try succeed { store.join(.linkToken(created.linkToken), studentId: "s2", name: nil, address: "x", completion: $0) }
        XCTAssertEqual(joined.classId, created.classId)
        fail(.badRequest("The join link is not valid")) {
            store.join(.linkToken(created.linkToken + "x"), studentId: "s2", name: nil, address: "x", completion: $0)
        }
        let forged = JoinLink.makeToken(classId: created.classId, expiresS: 9_999_999_999, key: Array("wrong".utf8))
        fail(.badRequest("The join link is not valid")) { store.join(.linkToken(forged), studentId: "s2", name: nil, address: "x", completion: $0) }
        clock.nowMs = created.closesAtMs + 1000
        fail(.classClosed) { store.join(.linkToken(created.linkToken), studentId: "s2", name: nil, address: "x", completion: $0) }
    }

    func testJoinWithQRChecksIn() throws {
        let created = try create()
        let joined = try succeed { store.join(.qr(currentQR(created)), studentId: "s3", name: "Cy", address: "x", completion: $0) }
        XCTAssertEqual(joined.status, .present)
        XCTAssertEqual(joined.atMs, clock.nowMs)
        XCTAssertEqual(storedEvents(created.classId).map { $0.value["event"]?.string }, ["joined", "checked_in"])
        XCTAssertEqual(storedEvents(created.classId).last?.value["method"]?.string, "qr")

        clock.nowMs += 60_000
        fail(.qrExpired) { store.join(.qr(created.qr), studentId: "s1", name: nil, address: "x", completion: $0) }
        fail(.qrInvalid) { store.join(.qr("garbage"), studentId: "s1", name: nil, address: "x", completion: $0) }
        let foreign = QRToken.current(classId: "c_doesnotexist", periodS: 15, nowMs: clock.nowMs, key: qrKey).qr
        fail(.qrInvalid) { store.join(.qr(foreign), studentId: "s1", name: nil, address: "x", completion: $0) }
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 2)
    }

    func testExcusedStudentStillJoinsWithQR() throws {
        let created = try create()
        _ = try succeed { store.override(classId: created.classId, studentId: "s1", status: .excused, note: nil, actor: teacher, address: "x", completion: $0) }
        let joined = try succeed { store.join(.qr(currentQR(created)), studentId: "s1", name: nil, address: "x", completion: $0) }
        XCTAssertEqual(joined.status, .excused)
    }

    func testOpenClassWithoutRoster() throws {
        let created = try create(roster: [])
        fail(.notOnRoster) { store.checkin(classId: created.classId, actor: student("walkin", in: created.classId),
                                           proof: .qr(currentQR(created)), address: "x", completion: $0) }
        _ = try succeed { store.join(.code(created.code), studentId: "walkin", name: nil, address: "x", completion: $0) }
        XCTAssertEqual(try checkin("walkin", created).get().status, .present)
        let snapshot = try succeed { store.snapshot(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(snapshot.students.map(\.studentId), ["walkin"])
    }

    func testJoinClosedClass() throws {
        let created = try create()
        _ = try succeed { store.close(classId: created.classId, actor: teacher, address: "x", completion: $0) }
        fail(.classClosed) { store.join(.linkToken(created.linkToken), studentId: "s1", name: nil, address: "x", completion: $0) }
        _ = runLoop(loop, timeoutMs: 1000) { self.command("EXISTS", Keys.code(created.code))?.int == 0 }
        fail(.codeInvalid) { store.join(.code(created.code), studentId: "s1", name: nil, address: "x", completion: $0) }
    }

    /// The token a join issues for the longest class passes the servers' lifetime check.
    func testJoinTokenOfTheLongestClassIsAccepted() throws {
        let created = try create(durationS: CreateClassRequest.durationRange.upperBound)
        let joined = try succeed { store.join(.code(created.code), studentId: "s1", name: nil, address: "x", completion: $0) }
        XCTAssertNoThrow(try signer.verify(joined.accessToken, nowS: clock.nowMs / 1000).get())
    }

    /// A re-join answers a token for the student but keeps the first name, and counts.
    func testRejoinNeverRenames() throws {
        let created = try create(roster: [])
        _ = try succeed { store.join(.code(created.code), studentId: "s1", name: "Ann", address: "x", completion: $0) }
        _ = try succeed { store.join(.code(created.code), studentId: "s1", name: "Mallory", address: "y", completion: $0) }
        _ = try succeed { store.join(.code(created.code), studentId: "s1", name: nil, address: "y", completion: $0) }
        let snapshot = try succeed { store.snapshot(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(snapshot.students.map(\.name), ["Ann"])
        XCTAssertEqual(snapshot.students.map(\.rejoins), [2])
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 1)
    }
}
