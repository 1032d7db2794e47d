import Foundation
import Glibc
import TestSupport
import XCTest

/// Redis stalls (SIGSTOP: connections stay open, nothing answers): commands time out (2 s by default)
/// and answer `unavailable`; `/healthz` turns 503 within 3 s and back to 200 after SIGCONT; no REST
/// request hangs for the length of the stall. (`make chaos` stops Redis for 10 s under load.)
final class RedisStallTests: FaultTestCase {
    /// Long enough that a request waiting for Redis would visibly hang past the command timeout.
    static let stallSeconds = 6.0

    func testStalledRedisTimesOutRequestsAndTurnsHealthzUnavailableUntilItContinues() throws {
        let hub = try startHub()
        let api = try startAPI()
        let (classId, code, _, student) = try classWithStudent(api: api)

        let stopped = Date()
        redis.signal(SIGSTOP)
        let rest = httpRequest(port: api.port, method: "POST", path: "/v1/classes/\(classId)/checkins",
                               token: student, json: #"{"code":"\#(code)"}"#, timeout: Self.stallSeconds + 5)
        // The bound is the command timeout (2 s); 4 s leaves room for a loaded CI machine while a
        // request that waits for the stall to end (6 s) still fails here.
        let answered = try XCTUnwrap(rest, "no answer while Redis was stopped")
        XCTAssertLessThan(answered.seconds, 4, "a request must not hang for the whole stall")
        XCTAssertEqual(answered.status, 503, answered.body)
        XCTAssertEqual(answered.errorCode, "unavailable", answered.body)

        // The issue's bound is 3 s; a loaded 2-core CI machine gets 5 s.
        let within = max(0, 5 - Date().timeIntervalSince(stopped))
        XCTAssertTrue(waitUntil(timeout: within) { httpStatus(port: api.port, path: "/healthz") == 503 }, "api /healthz turns 503 during the stall")
        XCTAssertTrue(waitUntil(timeout: max(0, 5 - Date().timeIntervalSince(stopped))) { httpStatus(port: hub.port, path: "/healthz") == 503 },
                      "hub /healthz turns 503 during the stall")

        // Stay stopped for the rest of the stall, then continue.
        usleep(useconds_t(max(0, Self.stallSeconds - Date().timeIntervalSince(stopped)) * 1_000_000))
        redis.signal(SIGCONT)
        XCTAssertTrue(waitUntil(timeout: 20) { httpStatus(port: api.port, path: "/healthz") == 200 }, "api /healthz back after SIGCONT")
        XCTAssertTrue(waitUntil(timeout: 20) { httpStatus(port: hub.port, path: "/healthz") == 200 }, "hub /healthz back after SIGCONT")
        let after = try XCTUnwrap(httpRequest(port: api.port, method: "POST", path: "/v1/classes/\(classId)/checkins",
                                              token: student, json: #"{"code":"\#(code)"}"#, timeout: 10))
        XCTAssertEqual(after.status, 200, after.body)
    }
}
