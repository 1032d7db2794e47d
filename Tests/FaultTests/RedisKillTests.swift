import Foundation
import Glibc
import TestSupport
import XCTest

/// Redis `kill -9` and a restart from its AOF (`appendfsync always`): nothing acknowledged is lost,
/// and requests during the outage are refused at once. (`make chaos` runs the long version: 1,000
/// check-ins at 200/s, two hubs.)
final class RedisKillTests: FaultTestCase {
    func testKill9DuringCheckinsLosesNoAcknowledgedCheckin() throws {
        // The production shape: two hubs with two workers each on one address, so four pairs of
        // Redis connections race to come back (a replay that loses the race must be retried).
        let hub = try startHub(extra: ["--workers", "2", "--reuse-port"])
        _ = try startHub(port: hub.port, extra: ["--workers", "2", "--reuse-port"])
        let api = try startAPI()
        // 200 check-ins over 4 s, half by REST and half by WebSocket, 8 dashboards spread over both
        // hubs; Redis dies 1.5 s in and is restarted 1 s later from the same AOF.
        let result = try runLoad(["classroom", "--classes", "8", "--students", "25", "--window-s", "4",
                                  "--hub", "ws://\(hub.address)", "--api", "http://\(api.address)",
                                  "--chaos", "kill-redis@1.5s+1s", "--redis-pid-file", redis.pidFile,
                                  "--redis-restart", redis.restartCommand, "--ack-timeout-s", "15"])
        try assertNothingLost(result, checkins: 200)
        let record = fault(result.json)
        XCTAssertEqual(record?["fault"] as? String, "kill-redis")
        XCTAssertNotNil(record?["recover_ms"] as? Int, "the processes reconnected to the restarted Redis\n" + result.stderr)
    }

    func testRequestsDuringTheOutageAnswerUnavailableAtOnceAndRecoverAfterRestart() throws {
        let hub = try startHub()
        let api = try startAPI()
        let (classId, code, _, student) = try classWithStudent(api: api)
        let ws = connect(port: hub.port, token: student)
        XCTAssertTrue(ws.isConnected)

        redis.kill9()
        // REST: refused at once ("at once" read as under a second), never left hanging.
        let rest = try XCTUnwrap(httpRequest(port: api.port, method: "POST", path: "/v1/classes/\(classId)/checkins",
                                             token: student, json: #"{"code":"\#(code)"}"#, timeout: 10), "no answer during the outage")
        XCTAssertEqual(rest.status, 503, rest.body)
        XCTAssertEqual(rest.errorCode, "unavailable", rest.body)
        XCTAssertLessThan(rest.seconds, 1, "a request during the outage is refused at once")
        // WebSocket: the same, as an error message on the open connection.
        let sent = Date()
        ws.send(["type": "checkin", "class_id": classId, "code": code, "id": "c1"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { !ws.messages(type: "error").isEmpty || !ws.messages(type: "ack").isEmpty })
        XCTAssertEqual(ws.messages(type: "error").first?["code"]?.string, "unavailable")
        XCTAssertLessThan(Date().timeIntervalSince(sent), 1, "a WebSocket check-in during the outage is refused at once")
        XCTAssertEqual(httpStatus(port: api.port, path: "/healthz"), 503)
        XCTAssertEqual(httpStatus(port: hub.port, path: "/healthz"), 503)

        try redis.start()
        // Reconnect backoff is at most 5 s (docs/OPERATIONS.md); allow for a loaded machine.
        XCTAssertTrue(waitUntil(timeout: 20) { httpStatus(port: api.port, path: "/healthz") == 200 }, "the api reconnects to the restarted Redis")
        XCTAssertTrue(waitUntil(timeout: 20) { httpStatus(port: hub.port, path: "/healthz") == 200 }, "the hub reconnects to the restarted Redis")
        let after = try XCTUnwrap(httpRequest(port: api.port, method: "POST", path: "/v1/classes/\(classId)/checkins",
                                              token: student, json: #"{"code":"\#(code)"}"#, timeout: 10))
        XCTAssertEqual(after.status, 200, after.body)
    }
}
