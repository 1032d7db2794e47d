import Foundation
import TestSupport
import XCTest

/// Several api processes (two here) share one Redis: their rate limits are one budget, and their
/// auto-close sweeps close each class exactly once.
final class SharedAPITests: FaultTestCase {
    /// Failures from one address are one budget, whichever api process answers them: wrong codes
    /// sent to the first and the second alternately are refused together after the sixth.
    func testFailureLimitPerAddressIsOneBudgetAcrossTwoAPIs() throws {
        let limits = ["--failure-limit-per-address", "6"]
        let first = try startAPI(extra: limits)
        let second = try startAPI(extra: limits)
        let teacher = try token(role: "teacher", sub: "t1")
        let created = try XCTUnwrap(httpRequest(port: first.port, method: "POST", path: "/v1/classes", token: teacher, json: #"{"name":"Shared"}"#))
        let code = try XCTUnwrap(created.json?["code"] as? String)
        let wrong = code == "000000" ? "000001" : "000000"
        func join(_ api: AttendanceProcess, _ student: String, _ code: String) -> Int {
            httpRequest(port: api.port, method: "POST", path: "/v1/join", json: #"{"code":"\#(code)","student_id":"\#(student)"}"#)?.status ?? 0
        }
        // Successes are not counted: a whole class joins through both processes.
        for i in 0..<20 { XCTAssertEqual(join(i % 2 == 0 ? first : second, "s\(i)", code), 200, "join \(i)") }
        // Six wrong codes from 127.0.0.1, alternating between the processes, use up the one budget.
        for i in 0..<6 { XCTAssertEqual(join(i % 2 == 0 ? first : second, "g\(i)", wrong), 422, "guess \(i)") }
        XCTAssertEqual(join(first, "g6", wrong), 429)
        XCTAssertEqual(join(second, "s20", code), 429, "over the limit even a correct code is refused")
    }

    func testTwoAPIsSweepingCloseEachClassExactlyOnce() throws {
        let first = try startAPI()
        let second = try startAPI()
        let teacher = try token(role: "teacher", sub: "t1")
        var classIds: [String] = []
        for i in 0..<6 {
            let created = try XCTUnwrap(httpRequest(port: (i % 2 == 0 ? first : second).port, method: "POST", path: "/v1/classes",
                                                    token: teacher, json: #"{"name":"Sweep \#(i)"}"#))
            classIds.append(try XCTUnwrap(created.json?["class_id"] as? String, created.body))
        }
        // Make every class due now (its planned end is an hour away): both sweeps (every 5 s) race for them.
        for classId in classIds { redis.cli("ZADD", "att:closing", "0", classId) }
        func closedEvents(_ classId: String) -> Int {
            redis.cli("XRANGE", "att:{\(classId)}:events", "-", "+").components(separatedBy: "\"event\":\"class_closed\"").count - 1
        }
        XCTAssertTrue(waitUntil(timeout: 20) { classIds.allSatisfy { closedEvents($0) >= 1 } }, "the sweep closes every due class")
        // One more sweep interval, so both processes have swept past the due classes.
        usleep(6_000_000)
        XCTAssertEqual(classIds.map(closedEvents), Array(repeating: 1, count: classIds.count), "one class_closed per class")
        XCTAssertEqual(redis.cli("ZCARD", "att:closing"), "0")
        func swept(_ api: AttendanceProcess) -> Int {
            let metrics = httpGet(port: api.port, path: "/metrics")?.body ?? ""
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("attendance_api_classes_swept_total ") }
            return Int(line?.split(separator: " ").last ?? "") ?? -1
        }
        XCTAssertEqual(swept(first) + swept(second), classIds.count, "each class counted as swept by exactly one process")
    }
}
