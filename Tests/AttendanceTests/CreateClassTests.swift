@testable import Attendance
import RedisClient
import TestSupport
import XCTest

final class CreateClassTests: StoreTestCase {
    func testCreateWritesClassCodeAndCloseEntry() throws {
        let created = try create(roster: ["s1", "s2", "s2", "s3"])
        XCTAssertTrue(created.classId.hasPrefix("c_"))
        XCTAssertTrue(JoinCode.isWellFormed(created.code))
        XCTAssertEqual(created.teacherId, "t1")
        XCTAssertEqual(created.rosterSize, 3)
        XCTAssertEqual(created.startMs, clock.nowMs)
        XCTAssertEqual(created.closesAtMs, clock.nowMs + 3_600_000)
        XCTAssertEqual([created.lateAfterS, created.durationS, created.qrPeriodS], [600, 3600, 15])
        XCTAssertFalse(created.allowCodeCheckin)
        XCTAssertEqual(created.link, "/j/" + created.linkToken)
        XCTAssertEqual(JoinLink.verify(created.linkToken, key: qrKey, nowS: clock.nowMs / 1000), .success(created.classId))
        XCTAssertEqual(QRToken.verify(created.qr, classId: created.classId, periodS: 15, nowMs: clock.nowMs, key: qrKey), .ok)
        XCTAssertGreaterThan(created.qrExpiresMs, clock.nowMs)
        XCTAssertLessThanOrEqual(created.qrExpiresMs, clock.nowMs + 15_000)

        XCTAssertEqual(command("GET", Keys.code(created.code))?.text, created.classId)
        let ttl = command("TTL", Keys.code(created.code))?.int ?? 0
        XCTAssertGreaterThan(ttl, 3600)
        XCTAssertEqual(command("ZSCORE", Keys.closing, created.classId)?.int, created.closesAtMs)
        XCTAssertEqual(Set(command("SMEMBERS", Keys.roster(created.classId))?.array?.compactMap(\.text) ?? []), ["s1", "s2", "s3"])
        XCTAssertEqual(command("HGET", Keys.meta(created.classId), "state")?.text, "open")
        XCTAssertEqual(streamLength(Keys.audit(created.classId)), 1)
        XCTAssertEqual(streamLength(eventsKey(created.classId)), 0)
    }

    func testClassInfoWithCounts() throws {
        let created = try create()
        _ = checkin("s1", created)
        let info = try succeed { store.classInfo(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(info.name, "Math 101")
        XCTAssertTrue(info.isOpen)
        XCTAssertEqual(info.code, created.code)
        XCTAssertNotNil(info.linkToken)
        XCTAssertEqual(info.rosterSize, 3)
        XCTAssertEqual(info.counts.present, 1)
        XCTAssertEqual(info.counts.unmarked, 2)
        XCTAssertEqual(info.counts.total, 3)
        XCTAssertNil(info.closedAtMs)
        XCTAssertEqual(info.offset.description, storedEvents(created.classId).last?.id)
        XCTAssertNoThrow(try succeed { store.classInfo(classId: created.classId, actor: admin, completion: $0) })
        fail(.forbidden("Only the class's teacher or an admin may do this")) {
            store.classInfo(classId: created.classId, actor: Actor(id: "t2", role: .teacher), completion: $0)
        }
        fail(.notFound("No such class")) { store.classInfo(classId: "c_nope", actor: teacher, completion: $0) }
        fail(.notFound("No such class")) { store.classInfo(classId: "c_{x}", actor: teacher, completion: $0) }
    }

    func testCurrentQRForTeacherOnly() throws {
        let created = try create()
        clock.nowMs += 40_000
        let qr = try succeed { store.currentQR(classId: created.classId, actor: teacher, completion: $0) }
        XCTAssertEqual(qr.qr, currentQR(created))
        XCTAssertEqual(qr.periodS, 15)
        XCTAssertNotEqual(qr.qr, created.qr)
        fail(AttendanceError.notTeacherOfClass) { store.currentQR(classId: created.classId, actor: Actor(id: "t2", role: .teacher), completion: $0) }
        fail(AttendanceError.notTeacherOfClass) {
            store.currentQR(classId: created.classId, actor: student("s1", in: created.classId), completion: $0)
        }
    }

    func testValidation() {
        func rejects(_ request: CreateClassRequest, actor: Actor? = nil, file: StaticString = #filePath, line: UInt = #line) {
            switch wait(file: file, line: line, { store.createClass(request, actor: actor ?? teacher, address: "x", completion: $0) }) {
            case .success: XCTFail("accepted", file: file, line: line)
            case .failure(.badRequest), .failure(.forbidden): break
            case .failure(let error): XCTFail("\(error)", file: file, line: line)
            }
        }
        rejects(CreateClassRequest(name: ""))
        rejects(CreateClassRequest(name: String(repeating: "x", count: 201)))
        rejects(CreateClassRequest(name: "a\u{0}b"))
        rejects(CreateClassRequest(name: "ok", roster: ["s1", "bad id"]))
        rejects(CreateClassRequest(name: "ok", roster: (0...5000).map { "s\($0)" }))
        rejects(CreateClassRequest(name: "ok", lateAfterS: -1))
        rejects(CreateClassRequest(name: "ok", durationS: 10))
        rejects(CreateClassRequest(name: "ok", qrPeriodS: 0))
        rejects(CreateClassRequest(name: "ok", qrPeriodS: 61))
        rejects(CreateClassRequest(name: "ok"), actor: Actor(id: "s1", role: .student, classId: "c_1"))
    }

    func testLargeRosterIsWrittenInChunks() throws {
        let roster = (0..<1200).map { "s\($0)" }
        let created = try create(roster: roster)
        XCTAssertEqual(command("SCARD", Keys.roster(created.classId))?.int, 1200)
    }

    func testJoinCodesAreUniqueAmongOpenClasses() throws {
        let taken = JoinCode.random()
        var free = JoinCode.random()
        while free == taken { free = JoinCode.random() }
        store.makeJoinCode = { taken }
        let first = try create()
        XCTAssertEqual(first.code, taken)
        var draws = [taken, taken, free]
        store.makeJoinCode = { draws.removeFirst() }
        let second = try create()
        XCTAssertEqual(second.code, free)
        XCTAssertTrue(draws.isEmpty)
        XCTAssertEqual(command("GET", Keys.code(taken))?.text, first.classId)

        store.makeJoinCode = { taken }
        store.codeAttempts = 3
        fail(.unavailable) { store.createClass(CreateClassRequest(name: "x"), actor: teacher, address: "x", completion: $0) }

        // Once the first class closes, its code is free again.
        _ = try succeed { store.close(classId: first.classId, actor: teacher, address: "x", completion: $0) }
        _ = runLoop(loop, timeoutMs: 1000) { self.command("EXISTS", Keys.code(taken))?.int == 0 }
        let third = try create()
        XCTAssertEqual(third.code, taken)
    }

    func testRedisDownIsUnavailable() throws {
        let private_ = try RedisServer()
        defer { private_.stop() }
        let client = RedisClient(loop: loop, configuration: RedisConfiguration(host: private_.host, port: private_.port), logger: logger)
        client.connect()
        XCTAssertTrue(runLoop(loop) { client.isConnected })
        let downStore = ClassStore(redis: client, signer: signer, qrKey: qrKey, logger: logger)
        private_.stop()
        XCTAssertTrue(runLoop(loop) { !client.isConnected })
        fail(.unavailable) { downStore.createClass(CreateClassRequest(name: "x"), actor: teacher, address: "x", completion: $0) }
        fail(.unavailable) { downStore.join(.code("123456"), studentId: "s1", name: nil, address: "x", completion: $0) }
        fail(.unavailable) { downStore.rateLimit(scope: "t", key: "k", limit: 1, windowS: 1, completion: $0) }
        client.close()
    }
}
