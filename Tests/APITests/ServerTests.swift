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

    func testTeacherPage() {
        stopServer()
        try! startServer { $0.hubURL = #"wss://hub.example.edu/ws?x="<y>""# }
        let response = request("GET", "/")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "text/html; charset=utf-8")
        let csp = response.headers["Content-Security-Policy"] ?? ""
        XCTAssertTrue(csp.contains("connect-src 'self' wss://hub.example.edu;"), csp)
        XCTAssertTrue(csp.contains("script-src 'self';"), "no inline script runs: \(csp)")
        XCTAssertFalse(csp.contains("unsafe-inline"), csp)
        XCTAssertTrue(csp.contains("frame-ancestors 'none'"))
        XCTAssertEqual(response.headers["X-Frame-Options"], "DENY")
        XCTAssertEqual(response.headers["Referrer-Policy"], "no-referrer")
        let html = response.bodyText
        XCTAssertTrue(html.hasPrefix("<!doctype html>"))
        XCTAssertTrue(html.contains(#"<meta name="hub-url" content="wss://hub.example.edu/ws?x=&quot;&lt;y&gt;&quot;">"#), "the hub URL is escaped")
        XCTAssertTrue(html.contains(#"src="/assets/teacher.js""#))
        XCTAssertFalse(html.contains("<script>"), "no inline script")
        XCTAssertFalse(html.contains("style=\""), "no inline style (the policy would block it)")
        XCTAssertFalse(html.contains("src=\"http"), "no external assets")
    }

    /// Every script and the style sheet a page names is served with its type; the hub protocol the
    /// dashboard speaks is in them.
    func testPageAssets() {
        let live = request("GET", "/assets/teacher-live.js")
        XCTAssertEqual(live.status, 200)
        XCTAssertEqual(live.headers["Content-Type"], "text/javascript; charset=utf-8")
        XCTAssertEqual(live.headers["X-Content-Type-Options"], "nosniff")
        for text in [#""subscribe""#, "since", "qr_rotated", "format=svg", "format=csv"] {
            XCTAssertTrue(live.bodyText.contains(text), text)
        }
        XCTAssertEqual(request("GET", "/assets/style.css").headers["Content-Type"], "text/css; charset=utf-8")
        XCTAssertEqual(request("GET", "/sw.js").headers["Content-Type"], "text/javascript; charset=utf-8")
        for html in ["/", "/checkin"] {
            let names = request("GET", html).bodyText.matches(of: /\/assets\/[a-z-]+\.(js|css)/).map { String($0.output.0) }
            XCTAssertFalse(names.isEmpty)
            for name in names { XCTAssertEqual(request("GET", name).status, 200, name) }
        }
        for path in ["/assets/nothing.js", "/assets/teacher.html", "/assets/sw.js", "/assets/..%2Fteacher.html"] {
            assertError(request("GET", path), 404, "not_found")
        }
    }

    /// Files carry a strong ETag; a revalidation with it answers 304 without a body, another tag 200.
    func testPagesRevalidateWithETags() {
        let first = request("GET", "/assets/student.js")
        let etag = try! XCTUnwrap(first.headers["ETag"])
        XCTAssertTrue(etag.hasPrefix("\"") && etag.hasSuffix("\""), etag)
        XCTAssertEqual(first.headers["Cache-Control"], "no-cache")
        let again = request("GET", "/assets/student.js", headers: ["If-None-Match": etag])
        XCTAssertEqual(again.status, 304)
        XCTAssertTrue(again.body.isEmpty)
        XCTAssertEqual(again.headers["ETag"], etag)
        XCTAssertEqual(request("GET", "/assets/student.js", headers: ["If-None-Match": #""other", W/\#(etag)"#]).status, 304)
        XCTAssertEqual(request("GET", "/assets/student.js", headers: ["If-None-Match": #""other""#]).status, 200)
        XCTAssertNotEqual(request("GET", "/").headers["ETag"], etag)
    }

    func testStudentPages() {
        for path in ["/j/Zm9v.YmFy", "/checkin?qr=c_abc.1.xyz", "/checkin", "/c"] {
            let response = request("GET", path)
            XCTAssertEqual(response.status, 200, path)
            XCTAssertEqual(response.headers["Content-Type"], "text/html; charset=utf-8")
            XCTAssertTrue(response.bodyText.contains(#"src="/assets/student.js""#))
            XCTAssertTrue(response.bodyText.contains(#"name="viewport""#))
            // Nothing from the URL is written into the page; the script reads it.
            XCTAssertFalse(response.bodyText.contains("Zm9v") || response.bodyText.contains("c_abc"))
        }
        let hostile = request("GET", "/checkin?qr=%3Cscript%3Ealert(1)%3C/script%3E")
        XCTAssertFalse(hostile.bodyText.contains("alert(1)"))
        let script = request("GET", "/assets/student.js").bodyText
        XCTAssertTrue(script.contains("/v1/join"))
        XCTAssertTrue(script.contains("device_sig"))
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
