import Attendance
import EventLoop
import JSON
import TestSupport
import WebSocket
import XCTest

final class AuthAndProtocolTests: HubTestCase {
    func testBadTokensAreClosedWith1008() throws {
        let hub = try startHub()
        let expired = token(.teacher, "t1", ttlS: -120)
        let forged = TokenSigner(secret: "another-secret").sign(AccessClaims(sub: "t1", role: .teacher, iat: 0, exp: Int64.max / 2))
        for bad in [nil, "garbage", expired, forged] {
            let client = connected(hub, token: bad)
            XCTAssertTrue(runLoop(loop) { client.closeCode != nil })
            XCTAssertEqual(client.closeCode, WebSocketCloseCode.policyViolation, "token \(bad ?? "none")")
        }
        XCTAssertEqual(metric(hub, "attendance_hub_auth_failures_total"), 4)
    }

    func testForbiddenClassAndRoles() throws {
        let hub = try startHub()
        let mine = try createClass(teacher: "t1")
        let other = try createClass(teacher: "t2")
        // A teacher may not watch another teacher's class.
        let teacher = connected(hub, token: token(.teacher, "t1"))
        subscribe(teacher, other.classId)
        XCTAssertTrue(runLoop(loop) { teacher.closeCode != nil })
        XCTAssertEqual(teacher.closeCode, WebSocketCloseCode.policyViolation)
        // A student may subscribe only to the class in its token.
        let s = try join(mine, student: "s1")
        let student = connected(hub, token: s.accessToken)
        subscribe(student, other.classId)
        XCTAssertTrue(runLoop(loop) { student.closeCode != nil })
        XCTAssertEqual(student.closeCode, WebSocketCloseCode.policyViolation)
        // An admin may watch any class; a teacher may not check in.
        let admin = connected(hub, token: token(.admin, "root"))
        XCTAssertNotNil(subscribe(admin, other.classId))
        admin.send(["type": "checkin", "class_id": other.classId, "qr": "x.1.y", "id": "9"])
        XCTAssertTrue(runLoop(loop) { !admin.messages(type: "error").isEmpty })
        XCTAssertEqual(admin.messages(type: "error")[0]["code"]?.string, "forbidden")
        XCTAssertEqual(admin.messages(type: "error")[0]["id"]?.string, "9")
    }

    func testBadMessagesGetErrorsAndChangeNothing() throws {
        let hub = try startHub()
        let client = connected(hub, token: token(.teacher, "t1"))
        client.client!.sendText("{not json")
        client.client!.sendText(#"["type","ping"]"#)
        client.send(["type": "dance", "id": "1"])
        client.send(["type": "subscribe", "class_id": "bad id!", "id": "2"])
        client.send(["type": "subscribe", "class_id": "c1", "since": "yesterday", "id": "3"])
        client.send(["type": "subscribe", "class_id": "no-such-class", "id": "4"])
        client.send(["type": "ping", "id": "5"])
        XCTAssertTrue(runLoop(loop) { client.messages(type: "pong").count == 1 && client.messages(type: "error").count == 6 })
        XCTAssertEqual(client.messages(type: "error").map { $0["code"]?.string ?? "" },
                       ["invalid_json", "bad_request", "bad_request", "bad_request", "bad_request", "not_found"])
        XCTAssertEqual(client.messages(type: "pong")[0]["id"]?.string, "5")
        XCTAssertNil(client.closeCode)
    }

    /// Violations of RFC 6455 get the close codes of PROTOCOL.md.
    func testMalformedFramesGetTheirCloseCodes() throws {
        let hub = try startHub()
        let cases: [(String, [UInt8], UInt16)] = [
            ("unmasked frame", [0x81, 0x02, 0x68, 0x69], WebSocketCloseCode.protocolError),
            ("reserved bit", [0xC1, 0x80, 0, 0, 0, 0], WebSocketCloseCode.protocolError),
            ("unknown opcode", [0x83, 0x80, 0, 0, 0, 0], WebSocketCloseCode.protocolError),
            ("invalid UTF-8", [0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28], WebSocketCloseCode.invalidPayload),
            ("too big", [0x81, 0xFF, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0], WebSocketCloseCode.messageTooBig),
            ("binary", [0x82, 0x80, 0, 0, 0, 0], WebSocketCloseCode.unsupportedData),
        ]
        for (name, bytes, code) in cases {
            let client = connected(hub, token: token(.teacher, "t1"))
            client.client!.sendRaw(bytes)
            XCTAssertTrue(runLoop(loop) { client.closeCode != nil }, name)
            XCTAssertEqual(client.closeCode, code, name)
        }
        XCTAssertEqual(httpStatus(port: hub.port, path: "/healthz"), 200, "the hub keeps serving")
    }

    func testHandshakeErrorsAndHealth() throws {
        let hub = try startHub()
        XCTAssertEqual(httpStatus(port: hub.port, path: "/ws"), 426)
        XCTAssertEqual(httpStatus(port: hub.port, path: "/nope"), 404)
        let health = try XCTUnwrap(httpGet(port: hub.port, path: "/healthz"))
        XCTAssertEqual(try JSON.parse(health.body), ["status": "ok", "redis": "ok"])
        let metrics = try XCTUnwrap(httpGet(port: hub.port, path: "/metrics")).body
        for name in ["attendance_hub_connections", "attendance_hub_messages_in_total", "attendance_hub_messages_out_total",
                     "attendance_hub_fanout_latency_seconds_bucket", "attendance_hub_send_queue_drops_total",
                     "attendance_hub_redis_reconnects_total"] {
            XCTAssertTrue(metrics.contains(name), name)
        }
    }

    /// Idle clients are pinged; one that never answers is dropped after missing two.
    func testSilentClientIsDroppedAfterTwoMissedPings() throws {
        let hub = try startHub(extra: ["--ping-interval-ms", "200"])
        let silent = connected(hub, token: token(.teacher, "t1"))
        let lively = connected(hub, token: token(.teacher, "t1"))
        silent.client!.pauseReading()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10000) { self.metric(hub, "attendance_hub_connections") == 1 })
        XCTAssertNil(lively.closeCode, "a client that answers pings stays")
        silent.client!.resumeReading()
        XCTAssertTrue(runLoop(loop) { silent.closeCode != nil })
    }

    /// The sweep closes a connection whose access token expired while it was open.
    func testConnectionIsClosedWhenItsTokenExpires() throws {
        let hub = try startHub()
        let shortLived = connected(hub, token: token(.teacher, "t1", ttlS: 2))
        let longLived = connected(hub, token: token(.teacher, "t2"))
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { shortLived.closeCode != nil })
        XCTAssertEqual(shortLived.closeCode, 1008)
        XCTAssertEqual(shortLived.closeReason, "access token expired")
        XCTAssertNil(longLived.closeCode, "a token valid for an hour keeps its connection")
    }

    func testGracefulShutdownClosesWith1001() throws {
        let hub = try startHub()
        let client = connected(hub, token: token(.teacher, "t1"))
        XCTAssertEqual(hub.stop(), 0)
        XCTAssertTrue(runLoop(loop) { client.closeCode != nil })
        XCTAssertEqual(client.closeCode, WebSocketCloseCode.goingAway)
    }
}
