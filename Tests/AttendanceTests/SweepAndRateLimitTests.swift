@testable import Attendance
import RedisClient
import TestSupport
import XCTest

final class SweepAndRateLimitTests: StoreTestCase {
    func testSweepClosesExpiredClassesOnce() throws {
        let due = try create(durationS: 60)
        let notDue = try create(durationS: 3600)
        _ = try checkin("s1", due).get()

        // A second store stands in for a second process sweeping at the same moment.
        let other = ClassStore(redis: redis, signer: signer, qrKey: qrKey, logger: logger, clock: { [clock] in clock!.nowMs })
        clock.nowMs = due.closesAtMs + 1
        var results: [Result<[String], AttendanceError>] = []
        store.sweepExpiredClasses(nowMs: clock.nowMs) { results.append($0) }
        other.sweepExpiredClasses(nowMs: clock.nowMs) { results.append($0) }
        XCTAssertTrue(runLoop(loop) { results.count == 2 })
        let closedBy = results.compactMap { try? $0.get() }
        XCTAssertEqual(closedBy.count, 2)
        XCTAssertEqual(closedBy.filter { $0.contains(due.classId) }.count, 1, "closed exactly once")
        XCTAssertFalse(closedBy.contains { $0.contains(notDue.classId) })

        let events = storedEvents(due.classId)
        XCTAssertEqual(events.filter { $0.value["event"]?.string == "class_closed" }.count, 1)
        XCTAssertEqual(events.last?.value["by"]?.string, "system")
        XCTAssertEqual(events.filter { $0.value["status"]?.string == "absent" }.count, 2)
        XCTAssertTrue(runLoop(loop) {
            self.command("ZSCORE", Keys.closing, due.classId)?.isNull == true && self.command("EXISTS", Keys.code(due.code))?.int == 0
        })
        XCTAssertNotNil(command("ZSCORE", Keys.closing, notDue.classId)?.int)
        let again = try succeed { store.sweepExpiredClasses(nowMs: clock.nowMs, completion: $0) }
        XCTAssertFalse(again.contains(due.classId))
    }

    func testSweepCleansUpEntriesOfMissingOrClosedClasses() throws {
        let ghost = Identifier.newClassId()
        _ = command("ZADD", Keys.closing, "1", ghost)
        let closed = try create()
        _ = try succeed { store.close(classId: closed.classId, actor: teacher, address: "x", completion: $0) }
        // As if the closing process died before its cleanup.
        _ = command("ZADD", Keys.closing, "1", closed.classId)
        let swept = try succeed { store.sweepExpiredClasses(nowMs: 2, completion: $0) }
        XCTAssertFalse(swept.contains(ghost))
        XCTAssertFalse(swept.contains(closed.classId))
        XCTAssertTrue(runLoop(loop) {
            self.command("ZSCORE", Keys.closing, ghost)?.isNull == true && self.command("ZSCORE", Keys.closing, closed.classId)?.isNull == true
        })
    }

    func testRateLimiterTripsAtTheLimit() throws {
        let key = "10.0.0.\(UInt32.random(in: 0...UInt32.max))"
        let other = ClassStore(redis: redis, signer: signer, qrKey: qrKey, logger: logger)
        for attempt in 1...3 {
            let limiter = attempt == 2 ? other : store!
            let decision = try succeed { limiter.rateLimit(scope: "join-addr", key: key, limit: 3, windowS: 60, completion: $0) }
            XCTAssertEqual(decision, RateLimitDecision(allowed: true, retryAfterS: 0), "attempt \(attempt)")
        }
        let refused = try succeed { store.rateLimit(scope: "join-addr", key: key, limit: 3, windowS: 60, completion: $0) }
        XCTAssertFalse(refused.allowed)
        XCTAssertTrue((1...60).contains(refused.retryAfterS), "\(refused.retryAfterS)")
        let ttl = command("PTTL", Keys.rateLimit(scope: "join-addr", key: key))?.int ?? -1
        XCTAssertTrue((1...60_000).contains(ttl))
        // Another scope or key is counted apart.
        XCTAssertTrue(try succeed { store.rateLimit(scope: "join-code", key: key, limit: 3, windowS: 60, completion: $0) }.allowed)

        // The window ends: counting starts again.
        let short = "short-\(UInt32.random(in: 0...UInt32.max))"
        XCTAssertTrue(try succeed { store.rateLimit(scope: "t", key: short, limit: 1, windowS: 1, completion: $0) }.allowed)
        XCTAssertFalse(try succeed { store.rateLimit(scope: "t", key: short, limit: 1, windowS: 1, completion: $0) }.allowed)
        _ = command("PEXPIRE", Keys.rateLimit(scope: "t", key: short), "1")
        XCTAssertTrue(runLoop(loop) { self.command("EXISTS", Keys.rateLimit(scope: "t", key: short))?.int == 0 })
        XCTAssertTrue(try succeed { store.rateLimit(scope: "t", key: short, limit: 1, windowS: 1, completion: $0) }.allowed)
    }
}

final class SweepFailureTests: StoreTestCase {
    /// A class whose close script errors (a key of the wrong type planted in Redis) is retried later;
    /// the classes behind it in the due list still close.
    func testSweepContinuesPastAClassThatFailsToClose() throws {
        let broken = try create(durationS: 60)
        let healthy = try create(durationS: 120)
        _ = command("DEL", Keys.known(broken.classId))
        _ = command("SET", Keys.known(broken.classId), "not a set")
        let now = healthy.closesAtMs + 1
        let closed = try succeed { store.sweepExpiredClasses(nowMs: now, completion: $0) }
        XCTAssertEqual(closed, [healthy.classId])
        XCTAssertEqual(storedEvents(healthy.classId).last?.value["event"]?.string, "class_closed")
        XCTAssertEqual(command("ZSCORE", Keys.closing, broken.classId)?.text, String(now + ClassStore.sweepRetryMs),
                       "the broken class waits behind the others")
        XCTAssertEqual(command("HGET", Keys.meta(broken.classId), "state")?.text, "open")
        _ = command("DEL", Keys.known(broken.classId))
        _ = command("ZREM", Keys.closing, broken.classId)
    }
}
