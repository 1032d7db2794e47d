@testable import API
import Attendance
import EventLoop
import HTTP
import JSON
import TestSupport
import XCTest

/// The api when its Redis stalls or refuses writes: 503 `unavailable`, never a hang, a 500 or a crash.
final class APIRedisFaultTests: APITestCase {
    /// SIGSTOP: a request in flight answers 503 within the command timeout, /healthz turns 503, and
    /// both recover after SIGCONT. Before, the request hung as long as Redis did and /healthz stayed 200.
    func testStalledRedisAnswers503AndHealthzFollows() throws {
        let redis = try RedisServer()
        addTeardownBlock { redis.stop() }
        stopServer()
        try startServer(redis: redis) { $0.redis.commandTimeoutMs = 1000 }
        XCTAssertEqual(request("GET", "/healthz").status, 200)

        redis.pause()
        addTeardownBlock { redis.resume() }
        assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A"}"#), 503, "unavailable")
        var health = 0
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) {
            health = self.request("GET", "/healthz").status
            return health == 503
        })
        assertError(request("POST", "/v1/join", json: #"{"code":"123456","student_id":"s1"}"#), 503, "unavailable")

        redis.resume()
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { self.request("GET", "/healthz").status == 200 })
        XCTAssertEqual(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A"}"#).status, 201)
    }

    /// Redis at its memory limit refuses writes with -OOM: writes answer 503 `unavailable`, reads
    /// still work, the process keeps serving, and all is well once memory is available again.
    func testRedisRefusingWritesAnswersUnavailable() throws {
        let redis = try RedisServer()
        addTeardownBlock { redis.stop() }
        stopServer()
        try startServer(redis: redis)
        let created = createClass()
        let classId = created["class_id"]?.string ?? ""

        XCTAssertEqual(redis.cli("CONFIG", "SET", "maxmemory", "1"), "OK")
        addTeardownBlock { redis.cli("CONFIG", "SET", "maxmemory", "0") }
        assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"B"}"#), 503, "unavailable")
        assertError(join(#""code":"\#(created["code"]?.string ?? "")""#, student: "s1"), 503, "unavailable")
        XCTAssertEqual(request("GET", "/v1/classes/\(classId)", token: teacher).status, 200, "reads still work")
        XCTAssertEqual(request("GET", "/healthz").status, 200, "Redis is up; only writes are refused")

        XCTAssertEqual(redis.cli("CONFIG", "SET", "maxmemory", "0"), "OK")
        XCTAssertEqual(join(#""code":"\#(created["code"]?.string ?? "")""#, student: "s1").status, 200)
    }
}
