@testable import API
import Attendance
import EventLoop
import HTTP
import JSON
import TestSupport
import XCTest

final class ServerTests: APITestCase {
    func testHealthz() {
        let response = request("GET", "/healthz")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(json(response), ["status": "ok", "redis": "ok"])
    }

    func testHealthzIs503WhileRedisIsDown() throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        stopServer()
        try startServer(redis: redis)
        XCTAssertEqual(request("GET", "/healthz").status, 200)
        redis.stop()
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { !self.server.redis.isConnected })
        let down = request("GET", "/healthz")
        XCTAssertEqual(down.status, 503)
        XCTAssertEqual(json(down)["redis"], "down")
        // Requests that need Redis say so instead of hanging or blaming the client.
        assertError(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A"}"#), 503, "unavailable")
        assertError(request("POST", "/v1/join", json: #"{"code":"123456","student_id":"s1"}"#), 503, "unavailable")

        try redis.start()
        XCTAssertTrue(runLoop(loop, timeoutMs: 15_000) { self.server.redis.isConnected }, "reconnects after Redis is back")
        XCTAssertEqual(request("GET", "/healthz").status, 200)
        XCTAssertEqual(request("POST", "/v1/classes", token: teacher, json: #"{"name":"A"}"#).status, 201)
        XCTAssertTrue(request("GET", "/metrics").bodyText.contains("attendance_api_redis_reconnects_total 1"))
    }

    func testMetrics() {
        _ = request("GET", "/healthz")
        _ = request("GET", "/v1/classes/c_x", token: teacher)
        _ = request("GET", "/nowhere")
        let response = request("GET", "/metrics")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        let text = response.bodyText
        XCTAssertTrue(text.contains(#"attendance_api_requests_total{code="2xx"} 1"#), text)
        XCTAssertTrue(text.contains(#"attendance_api_requests_total{code="4xx"} 2"#), text)
        XCTAssertTrue(text.contains(#"attendance_api_request_duration_seconds_bucket{le="+Inf"} 3"#), text)
        XCTAssertTrue(text.contains("attendance_api_request_duration_seconds_count 3"), text)
        XCTAssertTrue(text.contains("# TYPE attendance_api_request_duration_seconds histogram"))
        XCTAssertTrue(text.contains("attendance_api_redis_reconnects_total 0"))
        XCTAssertTrue(text.contains("attendance_api_redis_connected 1"))
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            XCTAssertNotNil(Double(line.split(separator: " ").last ?? ""), "sample line: \(line)")
        }
    }

    func testUnknownRoutesUseTheErrorShape() {
        assertError(request("GET", "/v1/nothing"), 404, "not_found")
        let wrongMethod = request("DELETE", "/v1/classes")
        assertError(wrongMethod, 405, "bad_request")
        XCTAssertEqual(wrongMethod.headers["Allow"], "GET, HEAD, POST")
    }

    func testDashboardPage() {
        stopServer()
        try! startServer { $0.hubURL = #"wss://hub.example.edu/ws?x="<y>""# }
        let response = request("GET", "/")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "text/html; charset=utf-8")
        let csp = response.headers["Content-Security-Policy"] ?? ""
        XCTAssertTrue(csp.contains("connect-src 'self' wss://hub.example.edu;"), csp)
        XCTAssertTrue(csp.contains("frame-ancestors 'none'"))
        XCTAssertEqual(response.headers["X-Frame-Options"], "DENY")
        XCTAssertEqual(response.headers["Referrer-Policy"], "no-referrer")
        let html = response.bodyText
        XCTAssertTrue(html.hasPrefix("<!doctype html>"))
        XCTAssertTrue(html.contains(#"<meta name="hub-url" content="wss://hub.example.edu/ws?x=&quot;&lt;y&gt;&quot;">"#), "the hub URL is escaped")
        XCTAssertTrue(html.contains("/v1/classes"))
        XCTAssertTrue(html.contains(#""subscribe""#))
        XCTAssertTrue(html.contains("since"))
        XCTAssertTrue(html.contains("qr_rotated"))
        XCTAssertTrue(html.contains("format=svg"))
        XCTAssertTrue(html.contains("format=csv"))
        XCTAssertTrue(html.contains(#"name="viewport""#))
        XCTAssertFalse(html.contains("src=\"http"), "no external assets")
    }

    func testStudentPages() {
        for path in ["/j/Zm9v.YmFy", "/checkin?qr=c_abc.1.xyz", "/checkin"] {
            let response = request("GET", path)
            XCTAssertEqual(response.status, 200, path)
            XCTAssertEqual(response.headers["Content-Type"], "text/html; charset=utf-8")
            XCTAssertTrue(response.bodyText.contains("/v1/join"))
            XCTAssertTrue(response.bodyText.contains("localStorage"))
            // Nothing from the URL is written into the page; the script reads it.
            XCTAssertFalse(response.bodyText.contains("Zm9v") || response.bodyText.contains("c_abc"))
        }
        let hostile = request("GET", "/checkin?qr=%3Cscript%3Ealert(1)%3C/script%3E")
        XCTAssertFalse(hostile.bodyText.contains("alert(1)"))
    }

    /// Classes close by themselves at the end of their duration, marking the unmarked absent.
    func testClassesCloseAtTheEndOfTheirDuration() throws {
        stopServer()
        try startServer { $0.sweepIntervalMs = 20 }
        let created = createClass(#"{"name":"Short","duration_s":60,"roster":["s1"]}"#)
        let classId = created["class_id"]!.string!
        XCTAssertEqual(json(request("GET", "/v1/classes/\(classId)", token: teacher))["state"], "open")
        clock.offsetMs = 61_000
        XCTAssertTrue(runLoop(loop) { self.server.metrics.classesSwept > 0 && (self.attendanceRow(classId, "s1")?["status"] == "absent") })
        let events = json(request("GET", "/v1/classes/\(classId)/events", token: teacher))["events"]!.array!
        XCTAssertEqual(events.last?["event"], "class_closed")
        XCTAssertEqual(events.last?["by"], "system")
        XCTAssertEqual(json(request("GET", "/v1/classes/\(classId)", token: teacher))["state"], "closed")
    }

    func testGracefulShutdownAnswersRequestsInFlight() {
        let created = createClass()
        let classId = created["class_id"]!.string!
        var result: Result<HTTPClientResponse, HTTPClientError>?
        HTTPClient.connect(loop: loop, address: server.address!) { connected in
            guard case .success(let client) = connected else { return }
            client.send(method: "GET", path: "/v1/classes/\(classId)", headers: ["Authorization": "Bearer \(self.teacher)"]) { result = $0 }
        }
        // Shut down while the handler waits for its Redis reply.
        XCTAssertTrue(runLoop(loop) { self.server.metrics.inFlight == 1 })
        XCTAssertNil(result)
        server.shutdown()
        XCTAssertTrue(runLoop(loop) { result != nil })
        guard case .success(let response)? = result else { return XCTFail("\(String(describing: result))") }
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Connection"], "close")
        XCTAssertTrue(runLoop(loop) { self.server.hasStopped })
        // No longer accepting.
        var refused: HTTPClientError?
        HTTPClient.connect(loop: loop, address: server.address!) { if case .failure(let error) = $0 { refused = error } }
        XCTAssertTrue(runLoop(loop) { refused != nil })
    }
}
