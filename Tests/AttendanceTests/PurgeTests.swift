@testable import Attendance
import Foundation
import RedisClient
import TestSupport
import XCTest

final class PurgeTests: StoreTestCase {
    static let dayMs: Int64 = 86_400_000

    /// A class created, joined, checked in and closed `daysAgo` days ago (the store's clock moved back).
    func closedClass(daysAgo: Int64) throws -> CreatedClass {
        let now = clock.nowMs
        defer { clock.nowMs = now }
        clock.nowMs = now - daysAgo * Self.dayMs
        let created = try create(roster: [], allowCode: true)
        _ = try succeed { store.join(.code(created.code), studentId: "s1", name: "Ann", address: "10.0.0.9", completion: $0) }
        _ = try checkin("s1", created).get()
        _ = try succeed { store.rateLimit(scope: "checkin-code", key: "\(created.classId):s1", limit: 10, windowS: 60, completion: $0) }
        _ = try succeed { store.close(classId: created.classId, actor: teacher, address: "10.0.0.1", completion: $0) }
        XCTAssertTrue(runLoop(loop) { self.command("ZSCORE", Keys.retained, created.classId)?.int != nil })
        return created
    }

    func keys(of classId: String) -> [String] {
        (command("KEYS", "*\(classId)*")?.array ?? []).compactMap(\.text).sorted()
    }

    /// The tombstone of a purged class, as field → value.
    func tombstone(_ classId: String) -> [String: String] {
        let flat = (command("HGETALL", Keys.purged(classId))?.array ?? []).compactMap(\.text)
        return Dictionary(uniqueKeysWithValues: stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) })
    }

    func testSweepPurgesOnlyClassesClosedLongerThanTheRetentionAndLeavesOnlyTheAuditTombstone() throws {
        let old = try closedClass(daysAgo: 401)
        let recent = try closedClass(daysAgo: 10)
        clock.nowMs -= 401 * Self.dayMs
        let open = try create(durationS: 86_400)
        clock.nowMs += 401 * Self.dayMs
        // An open class must never be purged, even when an index entry says it is due.
        _ = command("ZADD", Keys.retained, "1", open.classId)
        XCTAssertGreaterThan(keys(of: old.classId).count, 4)

        let cutoff = clock.nowMs - 400 * Self.dayMs
        let purged = try succeed { store.sweepRetainedClasses(closedBeforeMs: cutoff, completion: $0) }
        XCTAssertEqual(purged, [old.classId])

        // Only the tombstone and the rate-limit counter (which expires within its window) remain.
        XCTAssertTrue(runLoop(loop) { self.command("ZSCORE", Keys.retained, old.classId)?.isNull == true })
        let left = keys(of: old.classId)
        XCTAssertEqual(left.filter { !$0.hasPrefix("att:rl:") }, [Keys.purged(old.classId)])
        for key in left where key.hasPrefix("att:rl:") {
            XCTAssertGreaterThan(command("PTTL", key)?.int ?? -1, 0, "\(key) expires by itself")
        }
        XCTAssertEqual(command("EXISTS", Keys.code(old.code))?.int, 0)
        XCTAssertTrue(command("ZSCORE", Keys.closing, old.classId)?.isNull == true)
        let stone = tombstone(old.classId)
        XCTAssertEqual(stone["by"], "system")
        XCTAssertEqual(stone["teacher_id"], teacher.id)
        XCTAssertEqual(stone["students"], "1")
        XCTAssertEqual(stone["closed_at_ms"].flatMap(Int64.init), clock.nowMs - 401 * Self.dayMs)
        XCTAssertEqual(stone["purged_at_ms"].flatMap(Int64.init), clock.nowMs)
        XCTAssertGreaterThan(stone["audit_entries"].flatMap(Int.init) ?? 0, 3)

        XCTAssertEqual(command("HGET", Keys.meta(recent.classId), "state")?.text, "closed")
        XCTAssertEqual(command("HGET", Keys.meta(open.classId), "state")?.text, "open")
        XCTAssertEqual(streamLength(Keys.events(open.classId)), 0)
        XCTAssertGreaterThan(command("ZSCORE", Keys.retained, open.classId)?.int ?? 0, cutoff, "pushed out of the way")

        // Reading a purged class answers not_found, like a class that never existed.
        fail(.classNotFound) { store.snapshot(classId: old.classId, actor: teacher, completion: $0) }
    }

    func testTwoProcessesPurgingAtOncePurgeEachClassOnce() throws {
        let classes = try (0..<3).map { _ in try closedClass(daysAgo: 500) }
        let other = ClassStore(redis: redis, signer: signer, qrKey: qrKey, logger: logger, clock: { [clock] in clock!.nowMs })
        var results: [Result<[String], AttendanceError>] = []
        let cutoff = clock.nowMs - 400 * Self.dayMs
        store.sweepRetainedClasses(closedBeforeMs: cutoff) { results.append($0) }
        other.sweepRetainedClasses(closedBeforeMs: cutoff) { results.append($0) }
        XCTAssertTrue(runLoop(loop) { results.count == 2 })
        let purged = results.compactMap { try? $0.get() }.flatMap { $0 }
        XCTAssertEqual(Set(purged), Set(classes.map(\.classId)))
        XCTAssertEqual(purged.count, classes.count, "each class purged by one process only")
        for created in classes { XCTAssertEqual(tombstone(created.classId)["by"], "system") }
    }

    func testFullWalkFindsClassesMissingFromTheIndex() throws {
        let legacy = try closedClass(daysAgo: 800)
        let recent = try closedClass(daysAgo: 1)
        // As if closed before the retention index existed.
        _ = command("ZREM", Keys.retained, legacy.classId, recent.classId)
        let open = try create()

        let summary = try succeed { store.purgeAllClasses(closedBeforeMs: clock.nowMs - 400 * Self.dayMs, address: "cli", completion: $0) }
        XCTAssertGreaterThanOrEqual(summary.purged, 1)
        XCTAssertGreaterThanOrEqual(summary.retained, 1)
        XCTAssertGreaterThanOrEqual(summary.open, 1)
        XCTAssertEqual(keys(of: legacy.classId).filter { !$0.hasPrefix("att:rl:") }, [Keys.purged(legacy.classId)])
        XCTAssertEqual(command("HGET", Keys.meta(open.classId), "state")?.text, "open")
        // The recent class is now indexed by its real close time, for the api's sweep.
        XCTAssertTrue(runLoop(loop) {
            self.command("ZSCORE", Keys.retained, recent.classId)?.int == self.clock.nowMs - 1 * Self.dayMs
        })
    }

    /// `attendance purge --older-than …` against the same Redis, as an operator runs it.
    func testPurgeCommand() throws {
        let old = try closedClass(daysAgo: 30)
        let open = try create()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AttendanceProcess.executable)
        process.arguments = ["purge", "--older-than", "29d", "--redis", server.url, "--log-level", "warning"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(text.hasPrefix("purged "), text)
        XCTAssertEqual(tombstone(old.classId)["addr"], "purge command")
        XCTAssertEqual(command("HGET", Keys.meta(open.classId), "state")?.text, "open")

        let bad = Process()
        bad.executableURL = process.executableURL
        bad.arguments = ["purge", "--older-than", "400", "--redis", server.url]
        bad.standardError = FileHandle.nullDevice
        try bad.run()
        bad.waitUntilExit()
        XCTAssertNotEqual(bad.terminationStatus, 0, "an age without a unit is refused")
    }
}
