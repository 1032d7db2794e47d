@testable import API
import Attendance
import EventLoop
import Foundation
import HTTP
import JSON
import RedisClient
import TestSupport
import XCTest

/// Absence webhooks end to end: a real local receiver that answers 500, never answers, resets the
/// connection, refuses it, or accepts; an HTTPS receiver (Python's ssl, a CA made by openssl)
/// trusted or not; real Redis; real api processes killed with SIGKILL.
final class WebhookTests: APITestCase {
    let secret = Array("webhook-secret-for-tests-0123456789abcdef".utf8)
    static let certificates = try! TestCertificates(names: ["localhost"])
    var receiver: WebhookReceiver!

    override func setUpWithError() throws {
        loop = try EventLoop()
        receiver = try WebhookReceiver(loop: loop)
        // The queue is global: start every test from an empty one.
        let redis = RedisClient(loop: loop, configuration: RedisConfiguration(host: RedisServer.shared.host, port: RedisServer.shared.port),
                                logger: .init(label: "test"))
        redis.connect()
        XCTAssertTrue(runLoop(loop) { redis.isConnected })
        var done = false
        redis.send(["DEL", WebhookQueue.stream, WebhookQueue.retries, WebhookQueue.failures]) { _ in done = true }
        XCTAssertTrue(runLoop(loop) { done })
        redis.close()
    }

    override func tearDown() {
        stopServer()
        receiver.close()
        receiver = nil
        loop = nil
    }

    private func startServer(urls: [String], timeoutMs: UInt64 = 2000, windowMs: Int64 = 60_000, caFile: String? = nil) throws {
        try startServer { configuration in
            configuration.webhooks.urls = urls
            configuration.webhooks.caFile = caFile
            configuration.webhooks.secret = self.secret
            configuration.webhooks.timeoutMs = timeoutMs
            configuration.webhooks.firstRetryMs = 100
            configuration.webhooks.retryWindowMs = windowMs
            configuration.webhooks.claimIdleMs = 30_000
            configuration.webhooks.pollMs = 50
        }
    }

    /// A class with `students` on the roster, closed at once (everyone absent) unless `before` marks some.
    private func closedClass(_ students: [String], before: (String) -> Void = { _ in }) -> String {
        let roster = students.map { "\"\($0)\"" }.joined(separator: ",")
        let classId = createClass(#"{"name":"Webhooks","roster":[\#(roster)]}"#)["class_id"]?.string ?? ""
        before(classId)
        XCTAssertEqual(request("POST", "/v1/classes/\(classId)/close", token: teacher).status, 200)
        return classId
    }

    func testSignedNotificationsForAbsentAndLateStudentsSurviveAFailingReceiver() throws {
        receiver.failuresBeforeSuccess = 3
        try startServer(urls: [receiver.url("/flaky")])
        let classId = closedClass(["w1", "w2", "w3"]) { classId in
            XCTAssertEqual(self.join(#""qr":"\#(self.qr(classId: classId, window: self.currentWindow()))""#, student: "w1").status, 200)
            XCTAssertEqual(self.request("PATCH", "/v1/classes/\(classId)/attendance/w2", token: self.teacher,
                                        json: #"{"status":"late"}"#).status, 200)
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { self.receiver.accepted.count == 2 }, "delivered: \(receiver.accepted.count)")
        XCTAssertEqual(receiver.served, 5, "three 500s, then the two notifications")

        var statuses: [String: String] = [:]
        for request in receiver.accepted {
            let timestamp = try XCTUnwrap(request.headers["X-Attendance-Timestamp"].flatMap { Int64($0) })
            XCTAssertLessThan(abs(timestamp - clock.now() / 1000), 300, "inside the documented 5-minute replay window")
            XCTAssertEqual(request.headers["X-Attendance-Signature"],
                           WebhookDeliverer.signature(secret: secret, timestamp: timestamp, body: request.body))
            XCTAssertEqual(request.headers["Content-Type"], "application/json")
            let body = try JSON.parse(request.body)
            XCTAssertEqual(body["class_id"]?.string, classId)
            XCTAssertEqual(request.headers["X-Attendance-Delivery"], body["delivery_id"]?.string)
            statuses[body["student_id"]?.string ?? ""] = body["status"]?.string
            XCTAssertEqual(body["event"]?.string, body["status"]?.string == "late" ? "attendance.late" : "attendance.absent")
            XCTAssertNotNil(body["closed_at_ms"]?.int)
        }
        XCTAssertEqual(statuses, ["w2": "late", "w3": "absent"], "present students are not notified")

        // Acknowledged and gone from the stream; retries counted; closing again adds nothing.
        XCTAssertTrue(runLoop(loop) { self.queueLength() == 0 })
        XCTAssertEqual(server.metrics.webhooksDelivered, 2)
        XCTAssertEqual(server.metrics.webhooksRetried, 3)
        assertError(request("POST", "/v1/classes/\(classId)/close", token: teacher), 409, "class_closed")
        server.runAfterClose(classId)
        XCTAssertFalse(runLoop(loop, timeoutMs: 500) { self.receiver.served > 5 }, "a class notifies once")
    }

    func testTimeoutsResetsAndRefusalsAreRetriedThenListedAsFailed() throws {
        let refused = try WebhookReceiver(loop: loop)
        let refusedURL = refused.url("/gone")
        refused.close()
        try startServer(urls: [receiver.url("/hang"), receiver.resetURL, refusedURL], timeoutMs: 300, windowMs: 1500)
        _ = closedClass(["f1"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { self.server.metrics.webhooksFailed == 3 })
        XCTAssertGreaterThanOrEqual(receiver.hung, 2, "the hanging receiver was tried again")
        XCTAssertGreaterThanOrEqual(receiver.resets, 2, "the resetting receiver was tried again")

        let response = request("GET", "/v1/webhooks/failures", token: admin)
        XCTAssertEqual(response.status, 200, response.bodyText)
        let failures = json(response)["failures"]?.array ?? []
        XCTAssertEqual(failures.count, 3)
        var errors: [String: String] = [:]
        for failure in failures {
            errors[failure["url"]?.string ?? ""] = failure["last_error"]?.string
            XCTAssertGreaterThanOrEqual(failure["attempts"]?.int ?? 0, 2)
            XCTAssertEqual(try JSON.parse(Array((failure["body"]?.string ?? "").utf8))["student_id"]?.string, "f1")
        }
        XCTAssertEqual(errors[receiver.url("/hang")], "no response within the timeout")
        XCTAssertTrue(errors[receiver.resetURL]?.hasPrefix("connection closed before the response") == true, "\(errors)")
        XCTAssertTrue(errors[refusedURL]?.hasPrefix("connect failed") == true, "\(errors)")
        XCTAssertTrue(String(decoding: request("GET", "/metrics").body, as: UTF8.self).contains("attendance_api_webhooks_failed_total 3"))
        XCTAssertEqual(json(request("GET", "/v1/webhooks/failures?limit=1", token: admin))["failures"]?.array?.count, 1)
        assertError(request("GET", "/v1/webhooks/failures", token: teacher), 403, "forbidden")
        assertError(request("GET", "/v1/webhooks/failures?limit=0", token: admin), 400, "bad_request")
        XCTAssertEqual(queueLength(), 0)
    }

    func testDeliversSignedOverVerifiedHTTPS() throws {
        let https = try TestTLSServer(certificates: Self.certificates, body: "")
        defer { https.stop() }
        try startServer(urls: ["https://localhost:\(https.port)/hook"], caFile: Self.certificates.caFile)
        let classId = closedClass(["h1"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { https.receivedRequests.count == 1 })
        var parser = HTTPRequestParser()
        let raw = try XCTUnwrap(https.receivedRequests.first)
        let request = try XCTUnwrap(try raw.withUnsafeBytes { try parser.parse($0).request })
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.path, "/hook")
        XCTAssertEqual(request.headers["Host"], "localhost:\(https.port)")
        let timestamp = try XCTUnwrap(request.headers["X-Attendance-Timestamp"].flatMap { Int64($0) })
        XCTAssertEqual(request.headers["X-Attendance-Signature"],
                       WebhookDeliverer.signature(secret: secret, timestamp: timestamp, body: request.body))
        XCTAssertEqual(request.headers["X-Attendance-Delivery"], "\(classId).h1.0")
        XCTAssertEqual(try JSON.parse(request.body)["student_id"]?.string, "h1")
        XCTAssertTrue(runLoop(loop) { self.server.metrics.webhooksDelivered == 1 && self.queueLength() == 0 })
        XCTAssertEqual(server.metrics.webhooksRetried, 0)
    }

    func testAnUntrustedCertificateIsRetriedAndNeverDelivered() throws {
        let https = try TestTLSServer(certificates: Self.certificates)
        defer { https.stop() }
        // No CA file: the system's trust store, which does not know the test CA.
        try startServer(urls: ["https://localhost:\(https.port)/hook"], windowMs: 1000)
        _ = closedClass(["u1"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { self.server.metrics.webhooksFailed == 1 })
        XCTAssertGreaterThanOrEqual(server.metrics.webhooksRetried, 1)
        XCTAssertEqual(server.metrics.webhooksDelivered, 0)
        XCTAssertEqual(https.receivedRequests.count, 0, "nothing was sent over the unverified connection")
        // The counter rises before the failure is recorded.
        var failure: JSONValue?
        XCTAssertTrue(runLoop(loop) {
            failure = self.json(self.request("GET", "/v1/webhooks/failures", token: self.admin))["failures"]?.array?.first
            return failure != nil
        })
        XCTAssertTrue(failure?["last_error"]?.string?.contains("certificate verification failed") == true, "\(String(describing: failure))")
    }

    func testWhereWebhooksMayGo() {
        for url in ["https://sis.example.edu/hook", "https://10.0.0.5:8443/h?x=1", "http://127.0.0.1:9/h", "http://localhost/h",
                    "http://[::1]:9/h"] {
            XCTAssertNoThrow(try OutboundWebhookTransport.validate(url).get(), url)
        }
        for url in ["http://sis.example.edu/hook", "http://10.0.0.5/h", "ftp://sis.example.edu/", "https://user@sis.example.edu/",
                    "https://sis.example.edu/#f", "https://sis example.edu/", "sis.example.edu/hook"] {
            XCTAssertThrowsError(try OutboundWebhookTransport.validate(url).get(), url)
        }
    }

    func testAnApiKilledMidDeliveryLosesNothing() throws {
        let url = receiver.url("/slow")
        let flags = ["--webhook-url", url, "--webhook-timeout-ms", "1000", "--webhook-claim-idle-ms", "1500",
                     "--webhook-first-retry-ms", "100"]
        let first = try AttendanceProcess("api", redis: .shared, extra: flags)
        defer { first.stop() }
        // Hold the first request open and kill the api that sent it, mid-delivery.
        receiver.holdFirst = true
        receiver.onHold = { first.kill9() }
        // A teacher of its own: the api process keeps the default limit of 30 class creations a
        // minute per teacher, which the suite's shared teacher may have used up.
        let owner = token(.teacher, "webhook-kill-\(UInt32.random(in: 0...UInt32.max))")
        let classId = createClass(#"{"name":"Kill","roster":["k1","k2"]}"#, port: first.port, token: owner)
        XCTAssertEqual(httpPost(port: first.port, path: "/v1/classes/\(classId)/close", token: owner), 200)
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { self.receiver.hung == 1 && !first.isRunning })

        // Its replacement takes the pending job over once it has been idle long enough.
        let second = try AttendanceProcess("api", redis: .shared, extra: flags)
        defer { second.stop() }
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { Set(self.receiver.accepted.map(\.deliveryId)).count == 2 },
                      "delivered: \(receiver.accepted.map(\.deliveryId))")
        XCTAssertEqual(Set(receiver.accepted.map(\.deliveryId)), ["\(classId).k1.0", "\(classId).k2.0"])
        XCTAssertTrue(runLoop(loop, timeoutMs: 5000) { self.queueLength() == 0 })
    }

    func testSeveralApisShareTheQueueAndDeliverEachNotificationOnce() throws {
        let flags = ["--webhook-url", receiver.url("/ok"), "--webhook-first-retry-ms", "100"]
        let apis = [try AttendanceProcess("api", redis: .shared, extra: flags), try AttendanceProcess("api", redis: .shared, extra: flags)]
        defer { apis.forEach { $0.stop() } }
        let owner = token(.teacher, "webhook-share-\(UInt32.random(in: 0...UInt32.max))")
        let students = (1...40).map { "\"sh\($0)\"" }.joined(separator: ",")
        var expected = Set<String>()
        for api in apis {
            let classId = createClass(#"{"name":"Share","roster":[\#(students)]}"#, port: api.port, token: owner)
            XCTAssertEqual(httpPost(port: api.port, path: "/v1/classes/\(classId)/close", token: owner), 200)
            expected.formUnion((1...40).map { "\(classId).sh\($0).0" })
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 20_000) { self.receiver.accepted.count >= 80 }, "delivered \(receiver.accepted.count)")
        XCTAssertFalse(runLoop(loop, timeoutMs: 1000) { self.receiver.accepted.count > 80 }, "nothing is delivered twice")
        XCTAssertEqual(Set(receiver.accepted.map(\.deliveryId)), expected)
        XCTAssertEqual(queueLength(), 0)
    }

    func testApiRefusesWebhookSettingsItCannotUse() throws {
        func refusal(_ flags: [String], environment: [String: String] = [:]) throws -> String {
            let result = try runAttendance(["api", "--listen", "127.0.0.1:0"] + flags, environment: environment, timeoutS: 10)
            XCTAssertNotEqual(result.status, 0, "started with \(flags)")
            XCTAssertNotEqual(result.status, -1, "still running with \(flags)")
            return result.stderr
        }
        let secrets = ["ATTENDANCE_JWT_SECRET": String(repeating: "j", count: 32), "ATTENDANCE_QR_KEY": String(repeating: "q", count: 32)]
        XCTAssertTrue(try refusal(["--dev", "--webhook-url", "http://sis.example.edu/hook"])
            .contains("invalid webhook URL: http://sis.example.edu/hook: plain http is allowed only to a loopback host"))
        XCTAssertTrue(try refusal(["--dev", "--webhook-url", "https://user@sis.example.edu/hook"])
            .contains("https://user@sis.example.edu/hook is not an absolute https:// URL"))
        XCTAssertTrue(try refusal(["--dev", "--webhook-url", "https://sis.example.edu/hook", "--webhook-ca-file", "/nonexistent.pem"])
            .contains("webhook_ca_file /nonexistent.pem cannot be loaded as PEM certificates"))
        XCTAssertTrue(try refusal(["--webhook-url", "http://127.0.0.1:9/hook"], environment: secrets).contains("need ATTENDANCE_WEBHOOK_SECRET"))
        var short = secrets
        short["ATTENDANCE_WEBHOOK_SECRET"] = "short"
        XCTAssertTrue(try refusal(["--webhook-url", "http://127.0.0.1:9/hook"], environment: short).contains("ATTENDANCE_WEBHOOK_SECRET is 5 bytes"))
        XCTAssertTrue(try refusal(["--dev", "--webhook-url", "http://127.0.0.1:9/h", "--webhook-timeout-ms", "5000",
                                   "--webhook-claim-idle-ms", "4000"]).contains("must exceed --webhook-timeout-ms"))
    }

    // MARK: - Helpers

    private func queueLength() -> Int {
        var length: Int?
        let redis = RedisClient(loop: loop, configuration: RedisConfiguration(host: RedisServer.shared.host, port: RedisServer.shared.port),
                                logger: .init(label: "test"))
        redis.connect()
        _ = runLoop(loop) { redis.isConnected }
        redis.send(["XLEN", WebhookQueue.stream]) { length = (try? $0.get())?.int.map(Int.init) }
        _ = runLoop(loop) { length != nil }
        redis.close()
        return length ?? -1
    }

    private func createClass(_ body: String, port: Int, token: String) -> String {
        var result: String?
        HTTPClient.connect(loop: loop, address: try! SocketAddress(parsing: "127.0.0.1:\(port)")) { connected in
            guard case .success(let client) = connected else { return result = "" }
            client.send(method: "POST", path: "/v1/classes", headers: ["Authorization": "Bearer \(token)"], body: Array(body.utf8)) {
                result = (try? JSON.parse((try? $0.get())?.body ?? []))?["class_id"]?.string ?? ""
                client.close()
            }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { result != nil })
        return result ?? ""
    }

    private func httpPost(port: Int, path: String, token: String) -> Int {
        var status: Int?
        HTTPClient.connect(loop: loop, address: try! SocketAddress(parsing: "127.0.0.1:\(port)")) { connected in
            guard case .success(let client) = connected else { return status = 0 }
            client.send(method: "POST", path: path, headers: ["Authorization": "Bearer \(token)"]) {
                status = (try? $0.get())?.status ?? 0
                client.close()
            }
        }
        XCTAssertTrue(runLoop(loop, timeoutMs: 10_000) { status != nil })
        return status ?? 0
    }
}

/// A real HTTP receiver on the test's loop. `/flaky` answers 500 `failuresBeforeSuccess` times, then
/// 200; `/hang` never answers; `/slow` holds the first request when `holdFirst` (calling `onHold`)
/// and accepts later ones; `resetURL` is a listener that accepts and closes without reading, which
/// the kernel turns into a reset; everything else is accepted.
final class WebhookReceiver {
    struct Received {
        let headers: HTTPHeaders
        let body: [UInt8]
        var deliveryId: String { headers["X-Attendance-Delivery"] ?? "" }
    }

    private var server: HTTPServer?
    private var resetServer: TCPServer?
    let port: Int
    let resetPort: Int
    var failuresBeforeSuccess = 0
    var holdFirst = false
    var onHold: (() -> Void)?
    private(set) var accepted: [Received] = []
    private(set) var served = 0
    private(set) var hung = 0
    private(set) var resets = 0
    private var held: [HTTPResponder] = []

    init(loop: EventLoop) throws {
        var dispatch: ((HTTPRequest, HTTPResponder) -> Void)?
        let server = try HTTPServer(loop: loop, address: try SocketAddress(parsing: "127.0.0.1:0")) { dispatch?($0, $1) }
        self.server = server
        port = server.address.port
        var connections: [TCPConnection] = []
        var onReset: (() -> Void)?
        let resetServer = try TCPServer(loop: loop, address: try SocketAddress(parsing: "127.0.0.1:0")) { connection in
            connections.append(connection)
            onReset?()
            let timer = LoopTimer(loop: loop)
            // Closing with the request unread makes the kernel send a reset, not a FIN.
            timer.start(timeoutMs: 100) { connection.close(); timer.close() }
        }
        self.resetServer = resetServer
        resetPort = resetServer.address.port
        onReset = { [unowned self] in self.resets += 1 }
        dispatch = { [unowned self] request, responder in self.handle(request, responder) }
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
    var resetURL: String { "http://127.0.0.1:\(resetPort)/reset" }

    private func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch request.path {
        case "/hang":
            hung += 1
            held.append(responder)
        case "/slow" where holdFirst:
            holdFirst = false
            hung += 1
            held.append(responder)
            onHold?()
        case "/flaky" where failuresBeforeSuccess > 0:
            failuresBeforeSuccess -= 1
            served += 1
            responder.send(HTTPResponse(status: 500, body: Array("try later".utf8)))
        default:
            served += 1
            accepted.append(Received(headers: request.headers, body: request.body))
            responder.send(HTTPResponse(status: 204))
        }
    }

    func close() {
        server?.close()
        resetServer?.close()
        server = nil
        resetServer = nil
        held.removeAll()
    }
}
